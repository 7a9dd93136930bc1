"""The exam engine's JSON API: the physician's tests and attempts, schedules, staff actions on attempts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any, Literal, Sequence

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from question_bank import Pool
from registry.db import utcnow
from registry.roles import Role

from ..identity.checks import use_pass
from ..identity.gate import identity_gate
from ..web import attempt_tokens as tokens
from ..web.api import json_ok, parse_body
from ..web.edge import DB_INT_MAX
from ..web.errors import ApiError
from ..web.keys import account_key, attempt_token_key, engine_key, sessionmaker_key, settings_key
from ..web.params import path_id
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.schemas import Body
from ..web.sessions import caller_physician, current_actor
from . import answers, attempts, schedules, start_sql
from .keys import attempt_hub_key, hot_path_key, paper_cache_key, predraw_wake_key, result_published_key
from .push import KEEPALIVE

PHYSICIAN = (Role.PHYSICIAN,)
SCHEDULERS = (Role.BODY, Role.ADMIN)
STAFF_ON_ATTEMPTS = (Role.BODY, Role.ADMIN, Role.INVIGILATOR)
DEVICE = Field(title="设备标识", min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
               json_schema_extra={"pattern_words": "只能由字母、数字、下划线和短横线组成"})
# Beijing time, what staff type into the schedule form; stored times are naive UTC.
BEIJING = dt.timezone(dt.timedelta(hours=8))


class StartExamBody(Body):
    kind: Literal["humanities", "professional"] = Field(title="试卷")
    device: str = DEVICE


class DeviceBody(Body):
    device: str = DEVICE


class AnswersBody(Body):
    device: str = DEVICE
    # Items are checked against the paper by exam.rules.check_answers, which names each one.
    answers: list[Any] = Field(title="答案", max_length=answers.MAX_ANSWERS_PER_REQUEST)


class SubmitBody(Body):
    device: str = DEVICE
    confirm: bool = Field(title="确认交卷")


class ScheduleBody(Body):
    paper_id: int = Field(title="试卷", ge=1, le=DB_INT_MAX)
    window_start: dt.datetime = Field(title="开始时间")
    window_end: dt.datetime = Field(title="结束时间")
    time_limit_minutes: int = Field(title="考试时长（分钟）", ge=1, le=schedules.MAX_TIME_LIMIT)
    attempts_allowed: int = Field(default=3, title="考试次数", ge=1, le=schedules.MAX_ATTEMPTS)
    pass_mark: float = Field(default=60, title="及格分", gt=0, le=1000)
    body_id: int | None = Field(default=None, title="考核机构", ge=1, le=DB_INT_MAX)


class WindowBody(Body):
    window_start: dt.datetime = Field(title="开始时间")
    window_end: dt.datetime = Field(title="结束时间")


class ExtraTimeBody(Body):
    minutes: int = Field(title="延长时间（分钟）", ge=1, le=attempts.MAX_EXTRA_MINUTES)
    reason: str = Field(title="原因", min_length=1, max_length=500)


class EndBody(Body):
    reason: str = Field(title="原因", min_length=1, max_length=500)


def utc(value: dt.datetime) -> dt.datetime:
    """A typed time as naive UTC; a time without an offset is Beijing time."""
    aware = value if value.tzinfo else value.replace(tzinfo=BEIJING)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def _token(request: web.Request, attempt_id: int, physician_id: int, device: str) -> str:
    return tokens.issue(request.app[settings_key].secret_key, attempt_id, physician_id, device)


def _refused(exc: attempts.StartRefused) -> ApiError:
    return ApiError(exc.message, code=f"locked_{exc.lock.value}", status=409,
                    fields={"kind": exc.message, **({"attempt_id": str(exc.attempt_id)} if exc.attempt_id else {})})


@routes.get("/api/v1/exams", summary="我的考试：应考试卷、开放时间、次数、成绩与不能开考的原因", roles=PHYSICIAN, tags=("exam",))
async def exam_overview(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session, session.begin():
        try:
            body = await attempts.my_exams(session, actor, now=utcnow(),
                                           is_published=request.app[result_published_key])
        except attempts.StartRefused as exc:
            raise _refused(exc) from None
    return json_ok(body)


@routes.post("/api/v1/exams/start", summary="开始考试（原子检查：审核通过、开放时间、次数、顺序、无进行中考试）",
             roles=PHYSICIAN, body=StartExamBody, tags=("exam",))
async def start_exam(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: StartExamBody = await parse_body(request, StartExamBody)
    settings, hot, cache = request.app[settings_key], request.app[hot_path_key], request.app[paper_cache_key]
    if hot is not None and actor.physician_id is not None:  # PostgreSQL: the plain success in two statements
        async def load_pool(paper_id: int, bank_ids: Sequence[int]) -> Pool:
            cached = cache.cached_pool(paper_id)  # nearly always: a session costs ~0.1 ms to open and close
            if cached is not None:
                return cached
            async with request.app[sessionmaker_key]() as session:
                return await cache.pool_of(session, paper_id, bank_ids)

        started = await start_sql.start(hot.pool, cache, load_pool, physician_id=actor.physician_id,
                                        account_id=actor.account_id, kind=body.kind, device_id=body.device,
                                        face_check=settings.exam_face_check, now=utcnow(),
                                        request_id=request_id(request))
        if started is not None:
            return json_ok({"attempt_id": started.attempt_id, "deadline": started.deadline,
                            "token": _token(request, started.attempt_id, actor.physician_id, body.device)}, status=201)
    async with request.app[sessionmaker_key]() as session, session.begin():
        check_id = await identity_gate(settings, actor, body.kind, session=session, now=utcnow())
        try:
            attempt = await attempts.start_attempt(session, actor, body.kind, device_id=body.device, now=utcnow(),
                                                   cache=cache, request_id=request_id(request))
        except attempts.StartRefused as exc:
            raise _refused(exc) from None
        if check_id is not None and not await use_pass(session, check_id, attempt.id):
            raise ApiError("该身份核验已用于另一场考试，请重新核验", code="identity_check_required", status=409)
    return json_ok({"attempt_id": attempt.id, "deadline": attempt.deadline,
                    "token": _token(request, attempt.id, attempt.physician_id, body.device)}, status=201)


@routes.get("/api/v1/attempts/{attempt_id}", summary="考试内容（不含答案）、已保存作答与服务器时间",
            roles=PHYSICIAN + STAFF_ON_ATTEMPTS, tags=("exam",), query={"device": "设备标识"})
async def get_attempt(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    device = request.query.get("device") or None
    body = await attempts.attempt_view(request.app[sessionmaker_key], actor, path_id(request, "attempt_id"),
                                       request.app[paper_cache_key], now=utcnow(), device_id=device)
    return json_ok(body)


@routes.get("/api/v1/attempts/{attempt_id}/clock", summary="心跳与对时：服务器时间、截止时间、状态",
            roles=PHYSICIAN, tags=("exam",), query={"device": "设备标识"}, attempt_token=True)
async def attempt_clock(request: web.Request) -> web.StreamResponse:
    attempt_id = path_id(request, "attempt_id")
    physician_id = caller_physician(request, attempt_id)
    hot = request.app[hot_path_key]
    if hot is not None:  # every open page, every 30 s: the four columns only
        clock: Any = await hot.clock(physician_id, attempt_id)
    else:
        async with request.app[engine_key].connect() as conn:
            clock = await attempts.clock_of(conn, physician_id, attempt_id)
    now = utcnow()
    return json_ok({"now": now, "deadline": clock.deadline, "state": clock.state,
                    "remaining_seconds": max(0.0, (clock.deadline - now).total_seconds()),
                    "device_current": request.query.get("device") == clock.device_id})


@routes.post("/api/v1/attempts/{attempt_id}/claim", summary="在本设备继续作答（另一设备随即停止）",
             roles=PHYSICIAN, body=DeviceBody, tags=("exam",))
async def claim_attempt(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: DeviceBody = await parse_body(request, DeviceBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        attempt, took_over = await attempts.claim(session, actor, path_id(request, "attempt_id"), body.device,
                                                  request_id=request_id(request))
    if took_over:
        await request.app[attempt_hub_key].publish(attempt.id, "takeover", device=body.device)
    return json_ok({"attempt_id": attempt.id, "took_over": took_over,
                    "token": _token(request, attempt.id, attempt.physician_id, body.device)})


@routes.post("/api/v1/attempts/{attempt_id}/answers", summary="保存作答（按序号幂等，写入数据库后才答复）",
             roles=PHYSICIAN, body=AnswersBody, tags=("exam",), attempt_token=True)
async def save_attempt_answers(request: web.Request) -> web.StreamResponse:
    attempt_id = path_id(request, "attempt_id")
    physician_id = caller_physician(request, attempt_id)
    body: AnswersBody = await parse_body(request, AnswersBody)
    settings = request.app[settings_key]
    now = utcnow()
    args = dict(attempt_id=attempt_id, physician_id=physician_id, device_id=body.device, raw=body.answers,
                now=now, grace_seconds=settings.exam_grace_seconds)
    cache, hot = request.app[paper_cache_key], request.app[hot_path_key]
    try:
        # One statement when the paper is cached here and the answers fit it; else the full transaction.
        result = await hot.save(cache, **args) if hot is not None else None
        if result is None:
            async with request.app[sessionmaker_key]() as session, session.begin():
                result = await answers.save_answers(session, cache, **args)
    except answers.TimeUp as exc:
        raise ApiError(exc.message, code="time_up", status=409) from None
    except answers.TakenOver as exc:
        raise ApiError(exc.message, code="taken_over", status=409) from None
    return json_ok({"saved": result.saved, "stale": result.stale, "deadline": result.deadline, "now": now})


@routes.post("/api/v1/attempts/{attempt_id}/submit", summary="交卷并评分", roles=PHYSICIAN, body=SubmitBody,
             tags=("exam",), attempt_token=True)
async def submit_attempt(request: web.Request) -> web.StreamResponse:
    attempt_id = path_id(request, "attempt_id")
    physician_id = caller_physician(request, attempt_id)
    body: SubmitBody = await parse_body(request, SubmitBody)
    if not body.confirm:
        raise ApiError("请确认交卷", fields={"confirm": "请确认交卷"})
    account_id = request[account_key].id if request.get(account_key) else None
    async with request.app[sessionmaker_key]() as session, session.begin():
        try:
            attempt = await attempts.submit_own(session, attempt_id, physician_id, body.device, now=utcnow(),
                                                grace_seconds=request.app[settings_key].exam_grace_seconds,
                                                cache=request.app[paper_cache_key], by=account_id,
                                                request_id=request_id(request))
        except answers.TakenOver as exc:
            raise ApiError(exc.message, code="taken_over", status=409) from None
        schedule = await session.get(attempts.ExamSchedule, attempt.schedule_id)
        result = attempts.attempt_json(attempt, schedule, now=utcnow())  # type: ignore[arg-type]
    await request.app[attempt_hub_key].publish(attempt.id, "submitted")
    return json_ok({"attempt": result})


@routes.get("/api/v1/attempts/{attempt_id}/events", summary="考试事件推送（SSE）：延长时间、他处接管、交卷",
            roles=PHYSICIAN, tags=("exam",), token_in_query=True, query={"token": "考试凭证（EventSource 不能带请求头）"})
async def attempt_events(request: web.Request) -> web.StreamResponse:
    attempt_id = path_id(request, "attempt_id")
    physician_id = caller_physician(request, attempt_id)
    if request.get(attempt_token_key) is None:  # a signed token names its own attempt; a session must own it
        async with request.app[sessionmaker_key]() as session:
            owner = await session.scalar(select(attempts.Attempt.physician_id)
                                         .where(attempts.Attempt.id == attempt_id))
        if owner != physician_id:
            raise ApiError("考试记录不存在", code="not_found", status=404)
    hub = request.app[attempt_hub_key]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    queue = hub.listen(attempt_id)
    try:
        await response.write(b"retry: 2000\n\n")
        await hub.mark_online(attempt_id)
        while True:
            event = await queue.get()
            if event is KEEPALIVE:  # the hub's, so proxies keep an idle stream open
                await response.write(b": keep-alive\n\n")
                await hub.mark_online(attempt_id)
            else:
                await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unlisten(attempt_id, queue)
    return response


# ---------------------------------------------------------------- staff


@routes.get("/api/v1/schedules", summary="考试安排（本周期，按角色范围）", roles=SCHEDULERS + (Role.INVIGILATOR,),
            tags=("schedule",))
async def list_schedules(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        rows = await schedules.list_schedules(session, actor)
        names = await schedules.body_names(session)
        items = [schedules.schedule_json(s, bodies=names, in_progress=await attempts.in_progress_count(session, s.id))
                 for s in rows]
    return json_ok({"items": items})


@routes.post("/api/v1/schedules", summary="安排考试：试卷、开放时间、时长、次数、及格分", roles=SCHEDULERS,
             body=ScheduleBody, tags=("schedule",))
async def create_schedule(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: ScheduleBody = await parse_body(request, ScheduleBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        s = await schedules.create_schedule(
            session, actor, paper_id=body.paper_id, window_start=utc(body.window_start), window_end=utc(body.window_end),
            time_limit_minutes=body.time_limit_minutes, attempts_allowed=body.attempts_allowed,
            pass_mark=body.pass_mark, body_id=body.body_id, request_id=request_id(request))
        out = schedules.schedule_json(s, bodies=await schedules.body_names(session))
    if predraw_wake_key in request.app:  # draw its papers ahead if its window is near
        request.app[predraw_wake_key].set()
    return json_ok(out, status=201)


@routes.post("/api/v1/schedules/{schedule_id}/window", summary="修改考试开放时间", roles=SCHEDULERS, body=WindowBody,
             tags=("schedule",))
async def move_schedule_window(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: WindowBody = await parse_body(request, WindowBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        s, moved = await schedules.update_window(session, actor, path_id(request, "schedule_id"),
                                                 window_start=utc(body.window_start), window_end=utc(body.window_end),
                                                 request_id=request_id(request))
        out = schedules.schedule_json(s, bodies=await schedules.body_names(session))
    hub = request.app[attempt_hub_key]
    for attempt in moved:  # the open pages' countdowns follow, across processes
        await hub.publish(attempt.id, "deadline", deadline=attempt.deadline.isoformat() + "Z",
                          extra_minutes=attempt.extra_minutes, why="window")
    return json_ok({**out, "attempts_moved": len(moved)})


@routes.get("/api/v1/schedules/{schedule_id}/attempts", summary="某场考试的考生作答记录", roles=STAFF_ON_ATTEMPTS,
            tags=("schedule",))
async def schedule_attempts(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        s = await schedules.schedule_in_scope(session, actor, path_id(request, "schedule_id"))
        rows = await attempts.attempts_of_schedule(session, actor, s.id)
    now = utcnow()
    return json_ok({"items": [{**attempts.attempt_json(a, s, now=now), "physician_name": name,
                               "institution_name": inst} for a, name, inst in rows]})


@routes.post("/api/v1/attempts/{attempt_id}/extra-time", summary="为考生延长考试时间", roles=STAFF_ON_ATTEMPTS,
             body=ExtraTimeBody, tags=("schedule",))
async def grant_extra_time(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: ExtraTimeBody = await parse_body(request, ExtraTimeBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        attempt = await attempts.grant_extra_time(session, actor, path_id(request, "attempt_id"), body.minutes,
                                                  body.reason, now=utcnow(), request_id=request_id(request))
    await request.app[attempt_hub_key].publish(attempt.id, "deadline", deadline=attempt.deadline.isoformat() + "Z",
                                               extra_minutes=attempt.extra_minutes, why="extra")
    return json_ok({"attempt_id": attempt.id, "deadline": attempt.deadline, "extra_minutes": attempt.extra_minutes})


@routes.post("/api/v1/attempts/{attempt_id}/end", summary="结束考生的考试（须说明原因）", roles=STAFF_ON_ATTEMPTS,
             body=EndBody, tags=("schedule",))
async def end_attempt(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: EndBody = await parse_body(request, EndBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        attempt = await attempts.end_by_staff(session, actor, path_id(request, "attempt_id"), body.reason,
                                              now=utcnow(), cache=request.app[paper_cache_key],
                                              request_id=request_id(request))
    await request.app[attempt_hub_key].publish(attempt.id, "submitted", reason=body.reason)
    return json_ok({"attempt_id": attempt.id, "state": attempt.state, "score": attempt.score})
