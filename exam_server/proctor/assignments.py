"""Invigilation assignment: which of a schedule's candidates each invigilator follows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.models import Account, Institution, Physician, Registration
from registry.roles import Role
from registry.scope import Actor, can_oversee_institution
from registry.states import State

from ..exam import rules as exam_rules
from ..exam.models import Attempt, ExamSchedule
from .models import InvigilatorAssignment

MAX_BLOCK = 1000


async def candidates_of(session: AsyncSession, schedule: ExamSchedule) -> list[tuple[int, int]]:
    """(physician id, institution id) of everyone who may sit the schedule, in physician order:
    approved (or already decided) registrations of the cycle under the schedule's body."""
    stmt = (select(Physician.id, Physician.institution_id)
            .join(Registration, Registration.physician_id == Physician.id)
            .join(Institution, Physician.institution_id == Institution.id)
            .where(Registration.cycle_id == schedule.cycle_id,
                   Registration.state.in_([State.APPROVED, State.PASSED, State.FAILED])))
    if schedule.body_id is not None:
        stmt = stmt.where(Institution.body_id == schedule.body_id)
    if schedule.kind == exam_rules.PROFESSIONAL:
        stmt = stmt.where(Physician.practice_category == schedule.practice_category)
    rows = [(p, i) for p, i in (await session.execute(stmt.order_by(Physician.id))).all()]
    # Physicians who already have an attempt stay in the group even if their registration moved on.
    have = set(p for p, _ in rows)
    extra = (await session.execute(select(Physician.id, Physician.institution_id)
                                   .join(Attempt, Attempt.physician_id == Physician.id)
                                   .where(Attempt.schedule_id == schedule.id))).all()
    rows += [(p, i) for p, i in extra if p not in have]
    return sorted(set(rows))


def members(assignment: InvigilatorAssignment, candidates: list[tuple[int, int]]) -> set[int]:
    if assignment.institution_id is not None:
        return {p for p, i in candidates if i == assignment.institution_id}
    if assignment.block_no is not None and assignment.block_size:
        start = assignment.block_no * assignment.block_size
        return {p for p, _ in candidates[start:start + assignment.block_size]}
    return {p for p, _ in candidates}


async def followed_physicians(session: AsyncSession, actor: Actor, schedule: ExamSchedule) -> set[int] | None:
    """The physicians an invigilator follows in this schedule; None for staff who see all in scope."""
    if actor.role is not Role.INVIGILATOR:
        return None
    rows = (await session.scalars(select(InvigilatorAssignment).where(
        InvigilatorAssignment.schedule_id == schedule.id,
        InvigilatorAssignment.invigilator_id == actor.account_id))).all()
    if not rows:
        return set()
    candidates = await candidates_of(session, schedule)
    out: set[int] = set()
    for a in rows:
        out |= members(a, candidates)
    return out


async def invigilates(session: AsyncSession, actor: Actor, attempt: Attempt) -> bool:
    schedule = await session.get(ExamSchedule, attempt.schedule_id)
    if schedule is None:
        return False
    followed = await followed_physicians(session, actor, schedule)
    return followed is not None and attempt.physician_id in followed


async def my_schedules(session: AsyncSession, actor: Actor) -> list[int]:
    return list((await session.scalars(select(InvigilatorAssignment.schedule_id).where(
        InvigilatorAssignment.invigilator_id == actor.account_id).distinct())).all())


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
    if actor.role is Role.BODY and (schedule is None or schedule.body_id not in (None, actor.body_id)):
        raise NotFound("分配记录不存在")
    await session.delete(row)
    audit.record(session, actor_id=actor.account_id, action="invigilation.unassign", entity="exam_schedule",
                 entity_id=row.schedule_id, detail={"invigilator_id": row.invigilator_id}, request_id=request_id)


async def assignments_json(session: AsyncSession, schedule_id: int) -> list[dict[str, object]]:
    rows = (await session.execute(select(InvigilatorAssignment, Account.display_name, Institution.name)
                                  .join(Account, InvigilatorAssignment.invigilator_id == Account.id)
                                  .outerjoin(Institution, InvigilatorAssignment.institution_id == Institution.id)
                                  .where(InvigilatorAssignment.schedule_id == schedule_id)
                                  .order_by(InvigilatorAssignment.id))).all()
    return [{"id": a.id, "invigilator_id": a.invigilator_id, "invigilator_name": name, "institution_id": a.institution_id,
             "institution_name": inst, "block_no": a.block_no, "block_size": a.block_size,
             "group_words": (f"机构：{inst}" if a.institution_id else
                             f"第 {a.block_no + 1} 组（每组 {a.block_size} 人）" if a.block_size else "全部考生")}
            for a, name, inst in rows]


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
