"""Counts of registrations by state, per institution, within an actor's scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Institution, Physician, Registration
from .publication import published_column, shown_state
from .scope import Actor, institution_clause
from .states import State


@dataclass(slots=True)
class InstitutionCounts:
    institution_id: int
    code: str
    name: str
    physicians: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


async def counts_by_institution(session: AsyncSession, actor: Actor, cycle_id: int,
                                published: Select | None = None) -> list[InstitutionCounts]:
    """`published`: the published registrations' ids; for the roles that see unpublished outcomes as
    待公布, those are counted under UNPUBLISHED instead of 考核合格/考核不合格 (publication.py)."""
    insts = (await session.execute(
        select(Institution.id, Institution.code, Institution.name).where(institution_clause(actor)).order_by(Institution.code)
    )).all()
    result = {i: InstitutionCounts(i, c, n) for i, c, n in insts}
    if not result:
        return []
    for inst_id, count in (await session.execute(
        select(Physician.institution_id, func.count()).where(Physician.institution_id.in_(result))
        .group_by(Physician.institution_id)
    )).all():
        result[inst_id].physicians = count
    flag = published_column(published)
    grouped = (Physician.institution_id, Registration.state) + (() if published is None else (flag,))
    for inst_id, state, is_published, count in (await session.execute(
        select(Physician.institution_id, Registration.state, flag, func.count())
        .join(Registration, Registration.physician_id == Physician.id)
        .where(Registration.cycle_id == cycle_id, Physician.institution_id.in_(result))
        .group_by(*grouped)
    )).all():
        shown, _ = shown_state(actor.role, state, bool(is_published))
        by_state = result[inst_id].by_state
        by_state[shown] = by_state.get(shown, 0) + count
    for item in result.values():
        item.by_state[State.NOT_OPENED] = item.physicians - sum(item.by_state.values())
    return list(result.values())
