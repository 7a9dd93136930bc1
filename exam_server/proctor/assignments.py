"""Invigilation assignment: giving an invigilator a group of a schedule's candidates (who follows whom is read
by exam/invigilators.py, the attempts' scope rule)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.models import Account, Institution
from registry.roles import Role
from registry.scope import Actor, can_oversee_institution

from ..exam.invigilators import physician_body
from ..exam.models import ExamSchedule, InvigilatorAssignment
from .rules import ScheduleRules, schedule_rules

MAX_BLOCK = 1000


async def assign(session: AsyncSession, actor: Actor, schedule: ExamSchedule, *, invigilator_id: int,
                 institution_id: int | None, block_no: int | None, block_size: int | None,
                 now: dt.datetime, request_id: str | None = None) -> InvigilatorAssignment:
    if actor.role not in (Role.BODY, Role.ADMIN):
        raise PermissionDenied("只有考核机构可以分配监考员")
    inv = await session.get(Account, invigilator_id)
    if inv is None or inv.role != Role.INVIGILATOR or (actor.role is Role.BODY and inv.body_id != actor.body_id):
        raise InvalidInput("监考员不存在或不属于本考核机构", fields={"invigilator_id": "监考员不存在或不属于本考核机构"})
    if institution_id is not None and (block_no is not None or block_size is not None):
        raise InvalidInput("按机构或按考生分组只能选一种", fields={"institution_id": "按机构或按考生分组只能选一种"})
    if institution_id is not None:
        inst = await session.get(Institution, institution_id)
        if inst is None or not can_oversee_institution(actor, inst) or (
                schedule.body_id is not None and inst.body_id != schedule.body_id):
            raise InvalidInput("机构不存在或不在本场考试范围内", fields={"institution_id": "机构不存在或不在本场考试范围内"})
    if (block_no is None) != (block_size is None):
        raise InvalidInput("按考生分组须同时填写组号和每组人数", fields={"block_size": "按考生分组须同时填写组号和每组人数"})
    row = InvigilatorAssignment(schedule_id=schedule.id, invigilator_id=inv.id, institution_id=institution_id,
                                block_no=block_no, block_size=block_size, created_by=actor.account_id, created_at=now)
    session.add(row)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="invigilation.assign", entity="exam_schedule",
                 entity_id=schedule.id, detail={"invigilator_id": inv.id, "institution_id": institution_id,
                                                "block_no": block_no, "block_size": block_size},
                 request_id=request_id)
    return row


async def remove(session: AsyncSession, actor: Actor, assignment_id: int, *, request_id: str | None = None) -> None:
    row = await session.get(InvigilatorAssignment, assignment_id)
    if row is None:
        raise NotFound("分配记录不存在")
    schedule = await session.get(ExamSchedule, row.schedule_id)
    invigilator = await session.get(Account, row.invigilator_id)
    # On a schedule made for every body, each body manages only its own invigilators' assignments.
    if actor.role is Role.BODY and (schedule is None or schedule.body_id not in (None, actor.body_id)
                                    or invigilator is None or invigilator.body_id != actor.body_id):
        raise NotFound("分配记录不存在")
    await session.delete(row)
    audit.record(session, actor_id=actor.account_id, action="invigilation.unassign", entity="exam_schedule",
                 entity_id=row.schedule_id, detail={"invigilator_id": row.invigilator_id}, request_id=request_id)


async def assignments_json(session: AsyncSession, schedule_id: int) -> list[dict[str, object]]:
    rows = (await session.execute(select(InvigilatorAssignment, Account.display_name, Account.body_id, Institution.name)
                                  .join(Account, InvigilatorAssignment.invigilator_id == Account.id)
                                  .outerjoin(Institution, InvigilatorAssignment.institution_id == Institution.id)
                                  .where(InvigilatorAssignment.schedule_id == schedule_id)
                                  .order_by(InvigilatorAssignment.id))).all()
    return [{"id": a.id, "invigilator_id": a.invigilator_id, "invigilator_name": name, "invigilator_body_id": body_id,
             "institution_id": a.institution_id,
             "institution_name": inst, "block_no": a.block_no, "block_size": a.block_size,
             "group_words": (f"机构：{inst}" if a.institution_id else
                             f"第 {a.block_no + 1} 组（每组 {a.block_size} 人）" if a.block_size else "全部考生")}
            for a, name, body_id, inst in rows]


async def institution_options(session: AsyncSession, actor: Actor, candidates: list[tuple[int, int]]) -> list[dict[str, object]]:
    """The institutions an invigilator can be given in this schedule: those with candidates, in the
    actor's scope, each with its number of candidates."""
    counts: dict[int, int] = {}
    for _p, i in candidates:
        counts[i] = counts.get(i, 0) + 1
    if not counts:
        return []
    rows = (await session.scalars(select(Institution).where(Institution.id.in_(counts)).order_by(Institution.code))).all()
    return [{"id": i.id, "name": i.name, "candidates": counts[i.id]} for i in rows if can_oversee_institution(actor, i)]


async def attempt_rules(session: AsyncSession, schedule: ExamSchedule, physician_id: int) -> ScheduleRules:
    """The proctoring rules over one candidate: the candidate's body's own on a schedule made for every body."""
    if schedule.body_id is not None or not (schedule.violation_policy or {}).get("bodies"):
        return schedule_rules(schedule.violation_policy)
    return schedule_rules(schedule.violation_policy, await physician_body(session, physician_id))


async def create_invigilator(session: AsyncSession, actor: Actor, *, username: str, display_name: str, password: str,
                             body_id: int, request_id: str | None = None) -> Account:
    """The admin creates an invigilator account of one body; first login forces a password change."""
    from registry.models import AssessmentBody
    from registry.passwords import hash_password

    if actor.role is not Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以创建监考员账号")
    if await session.get(AssessmentBody, body_id) is None:
        raise InvalidInput("考核机构不存在", fields={"body_id": "考核机构不存在"})
    if await session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise InvalidInput("用户名已被使用", fields={"username": "用户名已被使用"})
    account = Account(role=Role.INVIGILATOR, username=username, display_name=display_name,
                      password_hash=hash_password(password), must_change_password=True, body_id=body_id)
    session.add(account)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="account.create", entity="account", entity_id=account.id,
                 detail={"role": "invigilator", "username": username, "body_id": body_id}, request_id=request_id)
    return account
