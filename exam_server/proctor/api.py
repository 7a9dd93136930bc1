"""Proctoring's JSON API: frames and browser events during an attempt, invigilation (assignment,
dashboard, actions) and review."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from aiohttp import web
from registry.codes import REASON_MAX
from pydantic import Field
from sqlalchemy import select

from registry import audit
from registry.db import utcnow
from registry.errors import NotFound
from registry.models import Account
from registry.roles import Role

from ..exam import attempts as exam_attempts, invigilators
from ..exam import schedules as exam_schedules
from ..exam.keys import attempt_hub_key, paper_cache_key
from ..exam.lifecycle import AttemptState
from ..banks.models import Paper
from ..exam.models import Attempt, ExamSchedule
from ..web.api import json_ok, parse_body
from ..web.edge import DB_INT_MAX
from ..web.errors import ApiError, TooManyRequests
from ..web.keys import live_key, sessionmaker_key, settings_key, storage_key
from ..web.params import path_id
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.schemas import Body, ConfirmBody
from ..web.sessions import current_actor
from ..web.sessions import caller_physician
from . import assignments, events, live as live_view, review
from .frames import MAX_FRAME_BYTES, QueuedFrame, is_image
from .keys import frame_service_key
from .models import ProctorEvent
from .rules import (
    BROWSER_EVENTS, CONSEQUENCE_WORDS, KIND_WORDS, KINDS, MAX_FRAME_SECONDS, MIN_FRAME_SECONDS, ScheduleRules,
    schedule_rules, with_rules,
)

PHYSICIAN = (Role.PHYSICIAN,)
BODY_STAFF = (Role.BODY, Role.ADMIN)
WATCHERS = (Role.INVIGILATOR, Role.BODY, Role.ADMIN)


class RulesBody(Body):
    frame_seconds: int = Field(default=15, title="拍照间隔（秒）", ge=MIN_FRAME_SECONDS, le=MAX_FRAME_SECONDS)
    actions: dict[str, Literal["flag", "warn", "end_attempt"]] = Field(default_factory=dict, title="违规处理")


class AssignBody(Body):
    invigilator_id: int = Field(title="监考员", ge=1, le=DB_INT_MAX)
    institution_id: int | None = Field(default=None, title="机构", ge=1, le=DB_INT_MAX)
    block_no: int | None = Field(default=None, title="组号", ge=0, le=10_000)
    block_size: int | None = Field(default=None, title="每组人数", ge=1, le=assignments.MAX_BLOCK)


class InvigilatorBody(Body):
    username: str = Field(title="用户名", min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(title="姓名", min_length=1, max_length=64)
    password: str = Field(title="初始密码", min_length=8, max_length=128)
    body_id: int | None = Field(default=None, title="考核机构", ge=1, le=DB_INT_MAX)


class BrowserEventBody(Body):
    kind: str = Field(title="事件", min_length=1, max_length=32)
    detail: str = Field(default="", title="说明", max_length=200)


class WarnBody(Body):
    message: str = Field(title="提醒内容", min_length=1, max_length=200)


class ReviewBody(Body):
    decision: Literal["confirmed", "dismissed"] = Field(title="复核结论")
    note: str = Field(title="复核意见", min_length=1, max_length=REASON_MAX)
    void: bool = Field(default=False, title="作废考试")


# ---------------------------------------------------------------- schedule rules and assignment


async def _schedule(session: Any, request: web.Request, *, change: bool = False) -> ExamSchedule:
    return await exam_schedules.schedule_in_scope(session, current_actor(request), path_id(request, "schedule_id"),
                                                  change=change)


def _rules_body(actor: Any, schedule: ExamSchedule) -> int | None:
    """Whose rules a staff member sets: a body on a schedule made for every body sets its own."""
    return actor.body_id if actor.role is Role.BODY and schedule.body_id is None else None


@routes.get("/api/v1/schedules/{schedule_id}/proctoring", summary="本场考试的监考规则与监考员分配", roles=BODY_STAFF,
            tags=("invigilation",))
async def get_schedule_proctoring(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        s = await _schedule(session, request)
        own = _rules_body(actor, s)
        items = [a for a in await assignments.assignments_json(session, s.id)
                 if actor.role is not Role.BODY or a["invigilator_body_id"] == actor.body_id]
        candidates = await invigilators.candidates_of(session, s, body_id=actor.body_id if actor.role is Role.BODY else None)
        institutions = await assignments.institution_options(session, actor, candidates)
        paper = await session.get(Paper, s.paper_id)
        bodies = await exam_schedules.body_names(session)
    rules_words = ("本场考试面向全部考核机构；这里的监考规则只对本机构的考生生效。" if own is not None else
                   "这里的监考规则对本场考试的全部考生生效。")
    return json_ok({"rules": schedule_rules(s.violation_policy, own).to_dict(), "rules_words": rules_words,
                    "assignments": items, "candidates": len(candidates), "institutions": institutions,
                    "candidates_words": f"{len(candidates)} 人" + ("（本机构）" if own is not None else ""),
                    "schedule": {**exam_schedules.schedule_json(s, bodies=bodies),
                                 "paper_title": paper.title if paper else s.title},
                    "kinds": [{"kind": k, "words": KIND_WORDS[k]} for k in KINDS],
                    "consequences": CONSEQUENCE_WORDS})


@routes.post("/api/v1/schedules/{schedule_id}/proctoring", summary="设置拍照间隔与各类违规的处理方式（全部考核机构的考试：只对本机构考生）",
             roles=BODY_STAFF, body=RulesBody, tags=("invigilation",))
async def set_schedule_proctoring(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: RulesBody = await parse_body(request, RulesBody)
    unknown = [k for k in body.actions if k not in KINDS]
    if unknown:
        raise ApiError(f"不认识的违规类型“{unknown[0]}”", fields={"actions": f"不认识的违规类型“{unknown[0]}”"})
    async with request.app[sessionmaker_key]() as session, session.begin():
        s = await _schedule(session, request)
        own = _rules_body(actor, s)
        before = dict(s.violation_policy or {})
        rules = ScheduleRules(body.frame_seconds, dict(body.actions))
        s.violation_policy = with_rules(s.violation_policy, rules, own)
        audit.record(session, actor_id=actor.account_id, action="schedule.proctoring", entity="exam_schedule",
                     entity_id=s.id, detail={"before": before, "after": s.violation_policy, "body_id": own},
                     request_id=request_id(request))
    return json_ok({"rules": schedule_rules(s.violation_policy, own).to_dict()})


@routes.post("/api/v1/schedules/{schedule_id}/assignments", summary="分配监考员（按机构、按考生分组或全部考生）",
             roles=BODY_STAFF, body=AssignBody, tags=("invigilation",))
async def assign_invigilator(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: AssignBody = await parse_body(request, AssignBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        s = await _schedule(session, request)
        if actor.role is Role.BODY and s.body_id not in (None, actor.body_id):
            raise ApiError("考试安排不存在", code="not_found", status=404)
        row = await assignments.assign(session, actor, s, invigilator_id=body.invigilator_id,
                                       institution_id=body.institution_id, block_no=body.block_no,
                                       block_size=body.block_size, now=utcnow(), request_id=request_id(request))
    return json_ok({"id": row.id}, status=201)


@routes.post("/api/v1/assignments/{assignment_id}/delete", summary="取消监考员分配", roles=BODY_STAFF,
             body=ConfirmBody, tags=("invigilation",))
async def unassign_invigilator(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    await parse_body(request, ConfirmBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        await assignments.remove(session, actor, path_id(request, "assignment_id"), request_id=request_id(request))
    return json_ok({"deleted": True})


@routes.get("/api/v1/invigilators", summary="监考员账号（本考核机构）", roles=BODY_STAFF, tags=("invigilation",))
async def list_invigilators(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    stmt = select(Account).where(Account.role == Role.INVIGILATOR)
    if actor.role is Role.BODY:
        stmt = stmt.where(Account.body_id == actor.body_id)
    async with request.app[sessionmaker_key]() as session:
        rows = (await session.scalars(stmt.order_by(Account.id))).all()
    return json_ok({"items": [{"id": a.id, "username": a.username, "display_name": a.display_name,
                               "body_id": a.body_id} for a in rows]})


@routes.post("/api/v1/invigilators", summary="创建监考员账号（系统管理员）", roles=(Role.ADMIN,), body=InvigilatorBody,
             tags=("invigilation",))
async def create_invigilator(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: InvigilatorBody = await parse_body(request, InvigilatorBody)
    if body.body_id is None:
        raise ApiError("请选择监考员所属的考核机构", fields={"body_id": "请选择监考员所属的考核机构"})
    async with request.app[sessionmaker_key]() as session, session.begin():
        account = await assignments.create_invigilator(session, actor, username=body.username,
                                                       display_name=body.display_name, password=body.password,
                                                       body_id=body.body_id, request_id=request_id(request))
    return json_ok({"id": account.id, "username": account.username}, status=201)


# ---------------------------------------------------------------- during the attempt


async def _attempt_of_caller(request: web.Request) -> tuple[Attempt, ExamSchedule, ScheduleRules]:
    attempt_id = path_id(request, "attempt_id")
    physician_id = caller_physician(request, attempt_id)
    async with request.app[sessionmaker_key]() as session:
        attempt = await session.get(Attempt, attempt_id)
        if attempt is None or attempt.physician_id != physician_id:
            raise ApiError("考试记录不存在", code="not_found", status=404)
        schedule = await session.get(ExamSchedule, attempt.schedule_id)
        assert schedule is not None
        rules = await assignments.attempt_rules(session, schedule, attempt.physician_id)
    if attempt.state != AttemptState.IN_PROGRESS:
        raise ApiError("考试已结束", code="attempt_over", status=409)
    return attempt, schedule, rules


@routes.get("/api/v1/attempts/{attempt_id}/proctoring", summary="考试中的监考设置（拍照间隔）", roles=PHYSICIAN,
            tags=("proctoring",), attempt_token=True)
async def attempt_proctoring(request: web.Request) -> web.StreamResponse:
    _attempt, _schedule_row, rules = await _attempt_of_caller(request)
    return json_ok({"frame_seconds": rules.frame_seconds, "events": sorted(BROWSER_EVENTS)})


async def _rate_limit(request: web.Request, key: str, *, per: float, limit: int) -> None:
    window = int(utcnow().timestamp() // per)
    count = await request.app[live_key].incr(f"{key}:{window}", ttl=per * 2)
    if count > limit:
        raise TooManyRequests("发送过于频繁，请稍后再试")


@routes.post("/api/v1/attempts/{attempt_id}/frames", summary="考试中上传一帧摄像头画面（JPEG/PNG，立即返回，后台分析）",
             roles=PHYSICIAN, tags=("proctoring",), attempt_token=True, raw_body=True)
async def upload_frame(request: web.Request) -> web.StreamResponse:
    if request.content_type not in ("image/jpeg", "image/png"):
        raise ApiError("画面应为 JPEG 或 PNG 图片", code="unsupported_media_type", status=415)
    if request.content_length is not None and request.content_length > MAX_FRAME_BYTES:
        raise ApiError(f"画面不能超过 {MAX_FRAME_BYTES // 1000} KB", code="too_large", status=413)
    attempt, schedule, rules = await _attempt_of_caller(request)
    data = await request.content.read(MAX_FRAME_BYTES + 1)
    if len(data) > MAX_FRAME_BYTES:
        raise ApiError(f"画面不能超过 {MAX_FRAME_BYTES // 1000} KB", code="too_large", status=413)
    if not await asyncio.to_thread(is_image, data):
        raise ApiError("画面不是有效的 JPEG 或 PNG 图片", fields={"frame": "画面不是有效的图片"})
    # Twice the schedule's rate, so a retried upload still fits.
    await _rate_limit(request, f"proctor:frames:{attempt.id}", per=rules.frame_seconds, limit=2)
    now = utcnow()
    live = request.app[live_key]
    await live.set(f"proctor:seen:{attempt.id}", now.isoformat(), ttl=live_view.OFFLINE_AFTER * 20)
    service = request.app[frame_service_key]
    service.accept(QueuedFrame(attempt.id, schedule.id, attempt.physician_id, data, now))
    return json_ok({"accepted": True, "waiting": service.waiting, "next_in": rules.frame_seconds}, status=202)


@routes.post("/api/v1/attempts/{attempt_id}/proctor-events", summary="考试页面报告浏览器事件（切换页面、失焦、复制粘贴、摄像头、断网）",
             roles=PHYSICIAN, body=BrowserEventBody, tags=("proctoring",), attempt_token=True)
async def report_browser_event(request: web.Request) -> web.StreamResponse:
    body: BrowserEventBody = await parse_body(request, BrowserEventBody)
    if body.kind not in BROWSER_EVENTS:
        raise ApiError(f"不认识的事件“{body.kind[:32]}”", fields={"kind": "不认识的事件"})
    attempt, schedule, rules = await _attempt_of_caller(request)
    await _rate_limit(request, f"proctor:events:{attempt.id}", per=60, limit=120)
    words, severity, finding = BROWSER_EVENTS[body.kind]
    live = request.app[live_key]
    now = utcnow()
    await live.set(f"proctor:seen:{attempt.id}", now.isoformat(), ttl=live_view.OFFLINE_AFTER * 20)
    if body.kind in ("page_hidden", "page_visible"):
        await live.set(f"proctor:hidden:{attempt.id}", "1" if body.kind == "page_hidden" else "0", ttl=3600)
    published: list[dict[str, Any]] = []
    consequence = None
    async with request.app[sessionmaker_key]() as session, session.begin():
        locked = await session.get(Attempt, attempt.id, with_for_update=True)
        if locked is None or locked.state != AttemptState.IN_PROGRESS:
            raise ApiError("考试已结束", code="attempt_over", status=409)
        if body.kind != "heartbeat":
            e = await events.add(session, attempt.id, body.kind, now=now, severity=severity,
                                 detail={"words": words, **({"note": body.detail} if body.detail else {})})
            published.append(events.event_json(e))
            if finding is not None and await live.set(f"proctor:finding:{attempt.id}:{finding}", "1", ttl=300,
                                                      only_if_absent=True):
                # One violation per kind per five minutes: repeated tab switches add evidence, not noise.
                from .frames import raise_violation

                consequence = rules.consequence(finding)
                _v, ev = await raise_violation(session, locked, finding, consequence, now=now, started_at=now,
                                               evidence=[e.id])
                published.append(ev)
                if consequence == "end_attempt":
                    await exam_attempts.end_by_rule(session, locked, f"监考规则：{KIND_WORDS[finding]}", now=now,
                                                    cache=request.app[paper_cache_key])
    hidden = await live.get(f"proctor:hidden:{attempt.id}") == "1"
    candidate = {"attempt_id": attempt.id, "connection": live_view.connection(now.isoformat(), hidden, now=now)}
    for p in published or [None]:
        await events.publish(live, schedule_id=schedule.id, physician_id=attempt.physician_id,
                             event=p or {"kind": "heartbeat", "attempt_id": attempt.id}, candidate=candidate)
    hub = request.app[attempt_hub_key]
    if consequence == "warn":
        await hub.publish(attempt.id, "warning", message=f"监考提醒：{KIND_WORDS[finding or '']}，请端正考试行为")
    elif consequence == "end_attempt":
        await hub.publish(attempt.id, "submitted", reason=f"监考规则：{KIND_WORDS[finding or '']}")
    return json_ok({"recorded": body.kind != "heartbeat"})


# ---------------------------------------------------------------- invigilation


@routes.get("/api/v1/invigilation", summary="监考工作台：我负责的考试场次", roles=WATCHERS, tags=("invigilation",))
async def my_invigilation(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        if actor.role is Role.INVIGILATOR:
            ids = await invigilators.my_schedules(session, actor)
            rows = [s for s in (await exam_schedules.list_schedules(session, actor)) if s.id in ids]
            if not rows and ids:
                rows = list((await session.scalars(select(ExamSchedule).where(ExamSchedule.id.in_(ids)))).all())
        else:
            rows = await exam_schedules.list_schedules(session, actor)
        names = await exam_schedules.body_names(session)
        items = [exam_schedules.schedule_json(s, bodies=names, in_progress=await exam_attempts.in_progress_count(session, s.id))
                 for s in rows]
    return json_ok({"items": items})


async def dashboard_scope(request: web.Request, session: Any, schedule_id: int) -> tuple[ExamSchedule, set[int] | None]:
    actor = current_actor(request)
    schedule = await session.get(ExamSchedule, schedule_id)
    if schedule is None:
        raise NotFound("考试安排不存在")
    if actor.role is Role.INVIGILATOR:
        followed = await invigilators.followed_physicians(session, actor, schedule)
        if not followed and schedule.id not in await invigilators.my_schedules(session, actor):
            raise NotFound("考试安排不存在")
        return schedule, followed
    schedule = await exam_schedules.schedule_in_scope(session, actor, schedule_id)
    if actor.role is Role.ADMIN:
        return schedule, None
    candidates = await invigilators.candidates_of(session, schedule)
    from registry.models import Institution, Physician

    inst = {i for (i,) in (await session.execute(select(Institution.id).where(Institution.body_id == actor.body_id))).all()}
    return schedule, {p for p, i in candidates if i in inst}


async def snapshot(request: web.Request, schedule_id: int) -> tuple[dict[str, Any], set[int] | None]:
    now = utcnow()
    async with request.app[sessionmaker_key]() as session:
        schedule, followed = await dashboard_scope(request, session, schedule_id)
        grid = await live_view.grid(session, request.app[live_key], schedule, followed, now=now)
        ids = [c["attempt_id"] for c in grid]
        feed = await live_view.alerts(session, ids)
        last = max([0] + [e["id"] for e in feed])
        if ids:
            from sqlalchemy import func

            last = await session.scalar(select(func.max(ProctorEvent.id)).where(ProctorEvent.attempt_id.in_(ids))) or 0
    return {"type": "snapshot", "schedule": {"id": schedule.id, "title": schedule.title}, "now": now,
            "camera": request.app[settings_key].exam_face_check,
            "candidates": grid, "alerts": feed, "last_event_id": last}, followed


@routes.get("/api/v1/invigilation/{schedule_id}", summary="监考工作台快照：考生网格与按严重程度排序的提醒", roles=WATCHERS,
            tags=("invigilation",))
async def invigilation_snapshot(request: web.Request) -> web.StreamResponse:
    body, _ = await snapshot(request, path_id(request, "schedule_id"))
    return json_ok(body)


@routes.get("/api/v1/attempts/{attempt_id}/timeline", summary="考生时间线：事件、证据画面、监考操作", roles=WATCHERS,
            tags=("invigilation",))
async def attempt_timeline(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        attempt = await exam_attempts.attempt_in_scope(session, actor, path_id(request, "attempt_id"))
        body = await review.timeline(session, attempt)
        schedule = await session.get(ExamSchedule, attempt.schedule_id)
        body["attempt"] = exam_attempts.attempt_json(attempt, schedule, now=utcnow())  # type: ignore[arg-type]
        body["who"] = await review.attempt_facts(session, attempt)
    return json_ok(body)


@routes.get("/api/v1/attempts/{attempt_id}/registration-photo", summary="考生的报名照片（与监考画面比对）",
            roles=WATCHERS, tags=("invigilation",))
async def attempt_registration_photo(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        attempt = await exam_attempts.attempt_in_scope(session, actor, path_id(request, "attempt_id"))
        photo = await review.registration_photo(session, attempt)
    if photo is None:
        raise NotFound("该考生没有报名照片")
    try:
        data = await request.app[storage_key].get(photo.storage_key)
    except FileNotFoundError:
        raise NotFound("报名照片已删除") from None
    return web.Response(body=data, content_type=photo.mime, headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@routes.post("/api/v1/attempts/{attempt_id}/warn", summary="向考生发送提醒（立即显示在考生页面）", roles=WATCHERS,
             body=WarnBody, tags=("invigilation",))
async def warn_candidate(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: WarnBody = await parse_body(request, WarnBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        attempt = await exam_attempts.attempt_in_scope(session, actor, path_id(request, "attempt_id"))
        if attempt.state != AttemptState.IN_PROGRESS:
            raise ApiError("考试已结束", code="attempt_over", status=409)
        e = await events.add(session, attempt.id, "warning_sent", now=utcnow(), severity=1, actor_id=actor.account_id,
                             detail={"message": body.message, "words": "监考员提醒"})
        audit.record(session, actor_id=actor.account_id, action="attempt.warn", entity="attempt", entity_id=attempt.id,
                     detail={"message": body.message}, request_id=request_id(request))
        payload = events.event_json(e)
    await request.app[attempt_hub_key].publish(attempt.id, "warning", message=body.message)
    await events.publish(request.app[live_key], schedule_id=attempt.schedule_id, physician_id=attempt.physician_id,
                         event=payload)
    return json_ok({"sent": True, "event_id": payload["id"]})


async def _evidence(request: web.Request, which: str) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        e = await session.get(ProctorEvent, path_id(request, "event_id"))
        if e is None:
            raise NotFound("画面不存在")
        try:
            await exam_attempts.attempt_in_scope(session, actor, e.attempt_id)
        except NotFound:  # another body's candidate: answered exactly as a missing event (issue 21)
            raise NotFound("画面不存在") from None
    key = e.frame_key if which == "frame" else e.thumb_key
    if key is None:
        raise ApiError("画面已按保存期限删除或未保存", code="not_found", status=404)
    try:
        data = await request.app[storage_key].get(key)
    except FileNotFoundError:
        raise ApiError("画面已删除", code="not_found", status=404) from None
    ctype = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return web.Response(body=data, content_type=ctype, headers={"Cache-Control": "private, no-store"})


@routes.get("/api/v1/proctor-events/{event_id}/frame", summary="证据画面", roles=WATCHERS, tags=("invigilation",))
async def evidence_frame(request: web.Request) -> web.StreamResponse:
    return await _evidence(request, "frame")


@routes.get("/api/v1/proctor-events/{event_id}/thumb", summary="缩略图", roles=WATCHERS, tags=("invigilation",))
async def evidence_thumb(request: web.Request) -> web.StreamResponse:
    return await _evidence(request, "thumb")


# ---------------------------------------------------------------- review


@routes.get("/api/v1/schedules/{schedule_id}/review", summary="考后复核：有违规记录的考试", roles=BODY_STAFF,
            tags=("review",))
async def schedule_review(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        s = await _schedule(session, request)
        items = await review.schedule_review(session, actor, s)
    return json_ok({"schedule": {"id": s.id, "title": s.title}, "items": items})


@routes.post("/api/v1/violations/{violation_id}/review", summary="复核违规：确认或排除（可作废考试并重新判定结果）",
             roles=BODY_STAFF, body=ReviewBody, tags=("review",))
async def review_violation(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: ReviewBody = await parse_body(request, ReviewBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        v, attempt = await review.decide(session, actor, path_id(request, "violation_id"), body.decision, body.note,
                                         void=body.void, now=utcnow(), request_id=request_id(request))
        who = await review.attempt_facts(session, attempt)
        out = {"violation": review.violation_json(v), "attempt_state": attempt.state, "passed": attempt.passed,
               "name": who["name"], "attempt_no": attempt.attempt_no,
               "result_words": await review.result_words(session, attempt)}
    return json_ok(out)
