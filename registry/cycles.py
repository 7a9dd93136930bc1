"""Assessment cycles (考核周期): the admin creates them and makes exactly one current.

`registrations.current_cycle` stays the one lookup everything else uses.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .errors import InvalidInput, NotFound
from .models import Cycle, Registration
from .registrations import current_cycle
from .roles import Role
from .scope import Actor, ensure_role

__all__ = ["create_cycle", "current_cycle", "cycle_problems", "list_cycles", "make_current"]

MAX_YEARS = 5


def cycle_problems(name: str, starts_on: dt.date, ends_on: dt.date) -> dict[str, str]:
    """What is wrong with a new cycle's fields, by field, in Chinese."""
    problems: dict[str, str] = {}
    if not name.strip():
        problems["name"] = "请填写周期名称"
    elif len(name.strip()) > 64:
        problems["name"] = "周期名称不能超过 64 个字"
    if ends_on <= starts_on:
        problems["ends_on"] = "结束日期应晚于开始日期"
    elif (ends_on - starts_on).days > MAX_YEARS * 366:
        problems["ends_on"] = f"考核周期不能超过 {MAX_YEARS} 年"
    return problems


async def list_cycles(session: AsyncSession) -> list[tuple[Cycle, int]]:
    """Every cycle, newest first, with how many registrations it holds."""
    counts = (select(Registration.cycle_id, func.count().label("n")).group_by(Registration.cycle_id).subquery())
    rows = (await session.execute(
        select(Cycle, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.cycle_id == Cycle.id)
        .order_by(Cycle.starts_on.desc()))).all()
    return [(c, int(n)) for c, n in rows]


async def create_cycle(session: AsyncSession, actor: Actor, *, name: str, starts_on: dt.date, ends_on: dt.date,
                       make_it_current: bool = False, request_id: str | None = None) -> Cycle:
    ensure_role(actor, Role.ADMIN)
    name = name.strip()
    problems = cycle_problems(name, starts_on, ends_on)
    if not problems and await session.scalar(select(Cycle.id).where(Cycle.name == name)):
        problems["name"] = f"周期名称“{name}”已存在"
    if not problems:
        overlap = await session.scalar(select(Cycle).where(Cycle.starts_on <= ends_on, Cycle.ends_on >= starts_on))
        if overlap is not None:
            problems["starts_on"] = (f"与周期“{overlap.name}”（{overlap.starts_on} 至 {overlap.ends_on}）的日期重叠")
    if problems:
        raise InvalidInput("；".join(problems.values()), fields=problems)
    cycle = Cycle(name=name, starts_on=starts_on, ends_on=ends_on, is_current=False)
    session.add(cycle)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="create_cycle", entity="cycle", entity_id=cycle.id,
                 detail={"name": name, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
                 request_id=request_id)
    if make_it_current:
        await make_current(session, actor, cycle.id, request_id=request_id)
    return cycle


async def make_current(session: AsyncSession, actor: Actor, cycle_id: int, *, request_id: str | None = None) -> Cycle:
    ensure_role(actor, Role.ADMIN)
    cycle = await session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound("考核周期不存在")
    previous = await session.scalar(select(Cycle.id).where(Cycle.is_current.is_(True)))
    # One statement flips every row, so no moment has two current cycles or none.
    await session.execute(update(Cycle).values(is_current=case((Cycle.id == cycle_id, True), else_=False))
                          .execution_options(synchronize_session=False))
    await session.refresh(cycle)
    if previous != cycle_id:
        audit.record(session, actor_id=actor.account_id, action="make_cycle_current", entity="cycle",
                     entity_id=cycle_id, detail={"previous": previous}, request_id=request_id)
    return cycle
