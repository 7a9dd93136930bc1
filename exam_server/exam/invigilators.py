"""Which candidates an invigilator oversees: the exam's own scope rule (an invigilator sees only the attempts
of the candidates assigned to it), kept beside the attempts it guards. Proctoring manages the assignments
(proctor/assignments.py) and reads the same rule."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Institution, Physician, Registration
from registry.roles import Role
from registry.scope import Actor
from registry.states import State

from . import rules
from .models import Attempt, ExamSchedule, InvigilatorAssignment


async def candidates_of(session: AsyncSession, schedule: ExamSchedule, *, body_id: int | None = None) -> list[tuple[int, int]]:
    """(physician id, institution id) of everyone who may sit the schedule, in physician order:
    approved (or already decided) registrations of the cycle under the schedule's body. On a schedule
    made for every body, `body_id` keeps one body's candidates (a body assigns and watches only its own)."""
    stmt = (select(Physician.id, Physician.institution_id)
            .join(Registration, Registration.physician_id == Physician.id)
            .join(Institution, Physician.institution_id == Institution.id)
            .where(Registration.cycle_id == schedule.cycle_id,
                   Registration.state.in_([State.APPROVED, State.PASSED, State.FAILED])))
    only = schedule.body_id if schedule.body_id is not None else body_id
    if only is not None:
        stmt = stmt.where(Institution.body_id == only)
    if schedule.kind == rules.PROFESSIONAL:
        stmt = stmt.where(Physician.practice_category == schedule.practice_category)
    rows = [(p, i) for p, i in (await session.execute(stmt.order_by(Physician.id))).all()]
    # Physicians who already have an attempt stay in the group even if their registration moved on.
    have = set(p for p, _ in rows)
    extra_stmt = (select(Physician.id, Physician.institution_id)
                  .join(Attempt, Attempt.physician_id == Physician.id)
                  .join(Institution, Physician.institution_id == Institution.id)
                  .where(Attempt.schedule_id == schedule.id))
    if only is not None:
        extra_stmt = extra_stmt.where(Institution.body_id == only)
    extra = (await session.execute(extra_stmt)).all()
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
    candidates = await candidates_of(session, schedule, body_id=actor.body_id)
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


async def physician_body(session: AsyncSession, physician_id: int) -> int | None:
    """The assessment body over a physician's institution."""
    return await session.scalar(select(Institution.body_id).join(Physician, Physician.institution_id == Institution.id)
                                .where(Physician.id == physician_id))


async def my_schedules(session: AsyncSession, actor: Actor) -> list[int]:
    return list((await session.scalars(select(InvigilatorAssignment.schedule_id).where(
        InvigilatorAssignment.invigilator_id == actor.account_id).distinct())).all())
