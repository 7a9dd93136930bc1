"""Exam schedules: the body (or the admin, for every body) offers a paper in a window of a cycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.models import AssessmentBody
from registry.registrations import current_cycle
from registry.roles import Role
from registry.scope import Actor

from ..banks.models import Paper
from ..banks.question_store import check_paper
from . import attempts, rules
from .models import Attempt, ExamSchedule

MAX_TIME_LIMIT = 600
MAX_ATTEMPTS = 10


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, fields={field: message})


def schedule_scope(actor: Actor) -> Any:
    """Schedules a member of staff may see and change: a body its own, the admin all."""
    if actor.role is Role.ADMIN:
        return None
    if actor.role in (Role.BODY, Role.INVIGILATOR):
        return ExamSchedule.body_id == actor.body_id
    raise PermissionDenied("当前角色无权管理考试安排")


async def create_schedule(session: AsyncSession, actor: Actor, *, paper_id: int, window_start: dt.datetime,
                          window_end: dt.datetime, time_limit_minutes: int, attempts_allowed: int, pass_mark: float,
                          body_id: int | None = None, request_id: str | None = None) -> ExamSchedule:
    if actor.role is Role.BODY:
        body_id = actor.body_id
    elif actor.role is not Role.ADMIN:
        raise PermissionDenied("当前角色无权安排考试")
    if body_id is not None and await session.get(AssessmentBody, body_id) is None:
        raise _refuse("body_id", "考核机构不存在")
    paper = await session.get(Paper, paper_id)
    if paper is None:
        raise _refuse("paper_id", "试卷不存在")
    fields: dict[str, str] = {}
    if window_end <= window_start:
        fields["window_end"] = "结束时间必须晚于开始时间"
    if not 1 <= time_limit_minutes <= MAX_TIME_LIMIT:
        fields["time_limit_minutes"] = f"考试时长应为 1 到 {MAX_TIME_LIMIT} 分钟"
    if not 1 <= attempts_allowed <= MAX_ATTEMPTS:
        fields["attempts_allowed"] = f"考试次数应为 1 到 {MAX_ATTEMPTS} 次"
    total = float(sum(s["count"] * s["points_each"] for s in paper.blueprint["sections"]))
    if not 0 < pass_mark <= total:
        fields["pass_mark"] = f"及格分应大于 0 且不超过试卷总分 {total:g}"
    if fields:
        raise InvalidInput("；".join(fields.values()), fields=fields)
    check = await check_paper(session, paper.blueprint, paper.bank_ids)
    if not check.ok:
        msg = "题库无法组成该试卷：" + "；".join(check.problems + [s["message"] for s in check.shortfalls])
        raise _refuse("paper_id", msg)
    cycle = await current_cycle(session)
    category = paper.practice_category if paper.kind == rules.PROFESSIONAL else None
    clash = await session.scalar(select(ExamSchedule.id).where(
        ExamSchedule.cycle_id == cycle.id, ExamSchedule.kind == paper.kind,
        ExamSchedule.body_id.is_(None) if body_id is None else ExamSchedule.body_id == body_id,
        ExamSchedule.practice_category.is_(None) if category is None else ExamSchedule.practice_category == category))
    if clash is not None:
        raise _refuse("paper_id", f"本周期已安排该类考试（编号 {clash}），请修改原安排")
    await _refuse_two_open_windows(session, rules.Offer(None, paper.kind, category, body_id, window_start, window_end),
                                   cycle.id, field="window_start")
    schedule = ExamSchedule(cycle_id=cycle.id, body_id=body_id, paper_id=paper.id, kind=paper.kind,
                            practice_category=category, title=paper.title, window_start=window_start,
                            window_end=window_end, time_limit_minutes=time_limit_minutes,
                            attempts_allowed=attempts_allowed, pass_mark=pass_mark, violation_policy={},
                            created_by=actor.account_id)
    session.add(schedule)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="schedule.create", entity="exam_schedule",
                 entity_id=schedule.id, detail={"paper_id": paper.id, "body_id": body_id,
                                                "window": [window_start.isoformat(), window_end.isoformat()]},
                 request_id=request_id)
    return schedule


def offer_of(s: ExamSchedule) -> rules.Offer:
    return rules.Offer(s.id, s.kind, s.practice_category, s.body_id, s.window_start, s.window_end)


async def _refuse_two_open_windows(session: AsyncSession, new: rules.Offer, cycle_id: int, *, field: str) -> None:
    """The one-window rule (docs/assessment-rules.md): no physician may have two open windows for one
    paper at once, so the schedule that applies to a start is never in doubt."""
    others = (await session.scalars(select(ExamSchedule).where(ExamSchedule.cycle_id == cycle_id,
                                                               ExamSchedule.kind == new.kind))).all()
    other = rules.windows_clash(new, [offer_of(o) for o in others])
    if other is None:
        return
    names = await body_names(session)
    whose = names.get(other.body_id, "考核机构") + "的" if other.body_id else "系统管理员为全部考核机构安排的"
    msg = (f"与{whose}考试安排（编号 {other.id}，{_beijing(other.start)} 至 {_beijing(other.end)}）时间重叠："
           "同一医师的同一测评同一时间只能有一个开放时间段，请调整时间或修改原安排")
    raise _refuse(field, msg)


def _beijing(t: dt.datetime) -> str:
    return (t + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")


async def list_schedules(session: AsyncSession, actor: Actor) -> list[ExamSchedule]:
    scope = schedule_scope(actor)
    cycle = await current_cycle(session)
    stmt = select(ExamSchedule).where(ExamSchedule.cycle_id == cycle.id)
    if scope is not None:
        stmt = stmt.where(scope | ExamSchedule.body_id.is_(None))
    return list((await session.scalars(stmt.order_by(ExamSchedule.window_start, ExamSchedule.id))).all())


async def schedule_in_scope(session: AsyncSession, actor: Actor, schedule_id: int, *, change: bool = False) -> ExamSchedule:
    schedule = await session.get(ExamSchedule, schedule_id)
    scope = schedule_scope(actor)
    visible = schedule is not None and (scope is None or schedule.body_id in (None, actor.body_id))
    if not visible or (change and scope is not None and schedule.body_id != actor.body_id):  # type: ignore[union-attr]
        raise NotFound("考试安排不存在")
    return schedule  # type: ignore[return-value]


async def update_window(session: AsyncSession, actor: Actor, schedule_id: int, *, window_start: dt.datetime,
                        window_end: dt.datetime, request_id: str | None = None) -> tuple[ExamSchedule, list[Attempt]]:
    """Move a window (e.g. extend it); a closed window stays closed. The attempts in progress under it
    follow: their deadlines become what the rule gives for the new window (the caller pushes them to
    the open pages once committed). Returns the schedule and the attempts whose deadline moved."""
    schedule = await schedule_in_scope(session, actor, schedule_id, change=True)
    if schedule.closed_at is not None:
        raise _refuse("window_end", "该考试已结束并已判定结果，不能再修改时间")
    if window_end <= window_start:
        raise _refuse("window_end", "结束时间必须晚于开始时间")
    await _refuse_two_open_windows(session, rules.Offer(schedule.id, schedule.kind, schedule.practice_category,
                                                        schedule.body_id, window_start, window_end),
                                   schedule.cycle_id, field="window_end")
    before = [schedule.window_start.isoformat(), schedule.window_end.isoformat()]
    # The row update comes first: on PostgreSQL it waits for starts holding the schedule (FOR SHARE)
    # and holds off new ones, so no attempt is started on the old window and missed below.
    schedule.window_start, schedule.window_end = window_start, window_end
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="schedule.window", entity="exam_schedule",
                 entity_id=schedule.id, detail={"before": before, "after": [window_start.isoformat(), window_end.isoformat()]},
                 request_id=request_id)
    moved = await attempts.follow_window(session, schedule, actor_id=actor.account_id, request_id=request_id)
    return schedule, moved


def schedule_json(s: ExamSchedule, *, bodies: dict[int, str] | None = None, in_progress: int | None = None) -> dict[str, Any]:
    return {"id": s.id, "paper_id": s.paper_id, "kind": s.kind, "kind_label": rules.PAPER_NAMES[s.kind],
            "practice_category": s.practice_category, "title": s.title, "body_id": s.body_id,
            "body_name": (bodies or {}).get(s.body_id, "全部考核机构") if s.body_id else "全部考核机构",
            "window_start": s.window_start, "window_end": s.window_end, "time_limit_minutes": s.time_limit_minutes,
            "attempts_allowed": s.attempts_allowed, "pass_mark": s.pass_mark, "closed_at": s.closed_at,
            "in_progress": in_progress}


async def body_names(session: AsyncSession) -> dict[int, str]:
    return {b.id: b.name for b in (await session.scalars(select(AssessmentBody))).all()}

