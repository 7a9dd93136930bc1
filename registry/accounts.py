"""Accounts: finding one to log in, passwords, phone binding, resets by the institution."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .errors import InvalidInput, NotFound
from .idcard import mask_id_number, normalise_id_number
from .messages import notify_physicians
from .models import Account, Physician
from .passwords import hash_password, password_problem, verify_password
from .roles import Role
from .scope import Actor, ensure_role, ensure_sees_physician
from .db import utcnow

PHONE = re.compile(r"^1[3-9]\d{9}$")


async def find_for_login(session: AsyncSession, *, kind: str, login: str) -> Account | None:
    if kind == "physician":
        number = normalise_id_number(login)
        return await session.scalar(
            select(Account).join(Physician, Account.physician_id == Physician.id).where(Physician.id_number == number)
        )
    return await session.scalar(select(Account).where(Account.username == login.strip(), Account.role != Role.PHYSICIAN))


async def change_password(
    session: AsyncSession, account: Account, *, old: str, new: str, confirm: str, initial_password: str
) -> None:
    if not verify_password(account.password_hash, old):
        raise InvalidInput("原密码不正确", fields={"old_password": "原密码不正确"})
    if new != confirm:
        raise InvalidInput("两次输入的新密码不一致", fields={"confirm_password": "两次输入的新密码不一致"})
    id_number = account.physician.id_number if account.physician else None
    problem = password_problem(new, id_number=id_number, initial_password=initial_password)
    if problem is None and new == old:
        problem = "新密码不能与原密码相同"
    if problem:
        raise InvalidInput(problem, fields={"new_password": problem})
    account.password_hash = hash_password(new)
    account.must_change_password = False
    account.password_version += 1
    audit.record(session, actor_id=account.id, action="change_password", entity="account", entity_id=account.id)


def phone_problem(phone: str) -> str | None:
    return None if PHONE.match(phone) else "请输入 11 位中国大陆手机号码"


async def bind_phone(session: AsyncSession, account: Account, phone: str) -> None:
    account.phone = phone
    account.phone_verified_at = utcnow()
    audit.record(session, actor_id=account.id, action="bind_phone", entity="account", entity_id=account.id,
                 detail={"phone": phone[:3] + "****" + phone[-4:]})


async def reset_physician_password(
    session: AsyncSession, actor: Actor, physician_id: int, *, initial_password: str
) -> Account:
    """The physician's institution sets the password back to the initial one, forcing a change."""
    ensure_role(actor, Role.INSTITUTION)
    physician = await session.get(Physician, physician_id)
    if physician is None:
        raise NotFound("医师不存在")
    ensure_sees_physician(actor, physician, missing="医师不存在")
    account = await session.scalar(select(Account).where(Account.physician_id == physician.id))
    if account is None:
        raise NotFound("该医师尚无账户")
    account.password_hash = hash_password(initial_password)
    account.must_change_password = True
    account.password_version += 1  # ends every open session of the account
    audit.record(session, actor_id=actor.account_id, action="reset_password", entity="account", entity_id=account.id)
    await notify_physicians(session, [physician.id], "所在机构已将您的登录密码重置为初始密码，请登录后修改")
    return account


def next_step_after_login(account: Account) -> str:
    if account.must_change_password:
        return "password"
    if account.phone_verified_at is None:
        return "phone"
    return "home"


@dataclass(frozen=True, slots=True)
class PhysicianAccountRow:
    physician_id: int
    name: str
    id_number_masked: str
    # The login subject's lock lives in live state; the caller looks it up by this (never shown).
    id_number: str
    has_account: bool
    is_active: bool
    must_change_password: bool
    phone_bound: bool


async def physician_accounts(session: AsyncSession, actor: Actor, *, query: str = "", limit: int = 50,
                             offset: int = 0) -> tuple[int, list[PhysicianAccountRow]]:
    """The institution officer's own physicians and the state of their accounts."""
    ensure_role(actor, Role.INSTITUTION)
    stmt = (select(Physician, Account).outerjoin(Account, Account.physician_id == Physician.id)
            .where(Physician.institution_id == actor.institution_id))
    if query:
        q = query.replace("%", "").replace("_", "")
        stmt = stmt.where(or_(Physician.name.contains(q), Physician.id_number == normalise_id_number(q)))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = (await session.execute(stmt.order_by(Physician.name, Physician.id).limit(limit).offset(offset))).all()
    return total, [PhysicianAccountRow(
        p.id, p.name, mask_id_number(p.id_number), p.id_number, a is not None, bool(a and a.is_active),
        bool(a and a.must_change_password), bool(a and a.phone_verified_at)) for p, a in rows]


async def record_physician_unlock(session: AsyncSession, actor: Actor, physician_id: int, *,
                                  request_id: str | None = None) -> Physician:
    """Scope-check and audit lifting a physician's login lock; the caller clears it in live state."""
    ensure_role(actor, Role.INSTITUTION)
    physician = await session.get(Physician, physician_id)
    if physician is None:
        raise NotFound("医师不存在")
    ensure_sees_physician(actor, physician, missing="医师不存在")
    account = await session.scalar(select(Account).where(Account.physician_id == physician.id))
    if account is None:
        raise NotFound("该医师尚无账户")
    audit.record(session, actor_id=actor.account_id, action="unlock_account", entity="account", entity_id=account.id,
                 request_id=request_id)
    return physician
