"""Registrations for the current cycle: opening them, and applying state-machine moves."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .db import utcnow
from .errors import ConcurrentUpdate, InvalidInput, NotFound
from .idcard import mask_id_number
from .messages import notify_physicians
from .models import Cycle, Institution, Physician, Registration
from .publication import published_column, shown_state, state_filter
from .roles import Role
from .scope import Actor, ensure_role, institution_clause
from .states import STATE_WORDS, Action, State, check_rating, next_state


async def current_cycle(session: AsyncSession) -> Cycle:
    cycle = await session.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
    if cycle is None:
        raise NotFound("尚未设置当前考核周期，请联系系统管理员")
    return cycle


async def registration_of(session: AsyncSession, physician_id: int, cycle_id: int) -> Registration | None:
    return await session.scalar(
        select(Registration).where(Registration.physician_id == physician_id, Registration.cycle_id == cycle_id)
    )


def state_of(reg: Registration | None) -> State:
    return State.NOT_OPENED if reg is None else State(reg.state)


@dataclass(frozen=True, slots=True)
class PhysicianRow:
    physician_id: int
    name: str
    id_number_masked: str
    institution_name: str
    practice_category: str
    state: str
    state_words: str


async def list_physicians(
    session: AsyncSession, actor: Actor, *, query: str = "", state: str | None = None, limit: int = 200, offset: int = 0,
    published: Select | None = None,
) -> tuple[int, list[PhysicianRow]]:
    """`published`: the published registrations' ids, so unpublished outcomes show as 待公布 (publication.py)."""
    ensure_role(actor, Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)
    cycle = await current_cycle(session)
    stmt = (
        select(Physician, Registration, published_column(published))
        .join(Institution, Physician.institution_id == Institution.id)
        .outerjoin(Registration, (Registration.physician_id == Physician.id) & (Registration.cycle_id == cycle.id))
        .where(institution_clause(actor))
    )
    if query:
        like = f"%{query}%"
        stmt = stmt.where(Physician.name.like(like) | Physician.id_number.like(like))
    if state == State.NOT_OPENED:
        stmt = stmt.where(Registration.id.is_(None))
    elif state:
        stmt = stmt.where(state_filter(actor.role, state, published))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    result = await session.execute(stmt.order_by(Physician.id).limit(limit).offset(offset))
    rows = []
    for physician, reg, is_published in result.all():
        st, words = shown_state(actor.role, state_of(reg), bool(is_published))
        rows.append(PhysicianRow(physician.id, physician.name, mask_id_number(physician.id_number),
                                 physician.institution.name, physician.practice_category, st, words))
    return int(total or 0), rows


async def open_registration(
    session: AsyncSession, actor: Actor, *, physician_ids: list[int] | None, all_physicians: bool,
    request_id: str | None = None,
) -> int:
    """Open registration in the current cycle for some or all of the actor's physicians; returns how many."""
    ensure_role(actor, Role.INSTITUTION)
    if not all_physicians and not physician_ids:
        raise InvalidInput("请选择要开通报名的医师", fields={"physician_ids": "请至少选择一名医师"})
    cycle = await current_cycle(session)
    stmt = select(Physician.id, Physician.institution_id)
    if not all_physicians:
        stmt = stmt.where(Physician.id.in_(physician_ids or []))
    else:
        stmt = stmt.where(Physician.institution_id == actor.institution_id)
    found = (await session.execute(stmt)).all()
    if not all_physicians:
        # Another institution's physicians answer as missing ones do: ids reveal nothing.
        if len(found) != len(set(physician_ids or [])) or any(inst != actor.institution_id for _, inst in found):
            raise NotFound("部分医师不存在")
    ids = [pid for pid, _ in found]
    already = set((await session.scalars(
        select(Registration.physician_id).where(Registration.cycle_id == cycle.id, Registration.physician_id.in_(ids))
    )).all())
    now = utcnow()
    opened = 0
    for pid in ids:
        if pid in already:
            continue
        next_state(State.NOT_OPENED, Action.OPEN, actor.role)
        reg = Registration(physician_id=pid, cycle_id=cycle.id, state=State.OPENED, opened_at=now,
                           opened_by=actor.account_id, data={})
        session.add(reg)
        opened += 1
    await session.flush()
    if opened:
        newly = [p for p in ids if p not in already]
        audit.record(session, actor_id=actor.account_id, action="open_registration", entity="cycle",
                     entity_id=cycle.id, detail={"physician_ids": newly}, request_id=request_id)
        await notify_physicians(session, newly, f"所在机构已为您开通{cycle.name}考核报名，请在“我要报名”中提交报名信息")
    return opened


async def apply_move(
    session: AsyncSession, reg: Registration, action: Action, actor: Actor, *, expected_version: int | None = None,
    changes: dict[str, object] | None = None, detail: dict[str, object] | None = None, request_id: str | None = None,
) -> State:
    """Move one registration; a compare-and-set on `version` makes concurrent reviewers lose cleanly."""
    before = State(reg.state)
    after = next_state(before, action, actor.role)
    check_rating(action, "不合格" in (reg.work_rating, reg.ethics_rating))
    version = reg.version if expected_version is None else expected_version
    values: dict[str, object] = {"state": after, "version": version + 1, "updated_at": utcnow(), **(changes or {})}
    result = await session.execute(
        update(Registration)
        .where(Registration.id == reg.id, Registration.version == version, Registration.state == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate()
    for key, value in values.items():
        setattr(reg, key, value)
    audit.record(session, actor_id=actor.account_id, action=action, entity="registration", entity_id=reg.id,
                 detail={"from": before, "to": after, **(detail or {})}, request_id=request_id)
    return after
