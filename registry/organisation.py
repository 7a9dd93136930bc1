"""Departments maintained by institutions, and moving a physician between institutions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .codes import REASON_MAX
from .errors import IllegalTransition, InvalidInput, NotFound
from .messages import notify_physicians
from .models import Account, Department, Institution, Physician, Registration, Transfer
from .roles import Role
from .scope import Actor, can_oversee_institution, ensure_role, ensure_sees_physician


async def departments(session: AsyncSession, institution_id: int) -> list[Department]:
    return list((await session.scalars(select(Department).where(Department.institution_id == institution_id)
                                       .order_by(Department.id))).all())


async def add_department(session: AsyncSession, actor: Actor, name: str) -> Department:
    ensure_role(actor, Role.INSTITUTION)
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("科室名称应为 1-64 个字", fields={"name": "科室名称应为 1-64 个字"})
    exists = await session.scalar(select(Department).where(Department.institution_id == actor.institution_id,
                                                           Department.name == name))
    if exists:
        raise InvalidInput(f"科室“{name}”已存在", fields={"name": f"科室“{name}”已存在"})
    dept = Department(institution_id=actor.institution_id, name=name)
    session.add(dept)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="add_department", entity="department",
                 entity_id=dept.id, detail={"name": name})
    return dept


async def remove_department(session: AsyncSession, actor: Actor, department_id: int) -> None:
    ensure_role(actor, Role.INSTITUTION)
    dept = await session.get(Department, department_id)
    if dept is None or dept.institution_id != actor.institution_id:
        raise NotFound("科室不存在")
    used = await session.scalar(select(func.count()).select_from(Registration).where(
        Registration.data["practice"]["department_id"].as_integer() == dept.id))
    if used:
        raise IllegalTransition(f"科室“{dept.name}”已被 {used} 名医师的报名信息使用，不能删除")
    await session.delete(dept)
    audit.record(session, actor_id=actor.account_id, action="remove_department", entity="department",
                 entity_id=department_id, detail={"name": dept.name})


async def transfer_physician(session: AsyncSession, actor: Actor, physician_id: int, *, to_institution_id: int,
                             reason: str, request_id: str | None = None) -> Transfer:
    """The health administration moves a physician; their registration and history follow them."""
    ensure_role(actor, Role.HEALTH_ADMIN)
    physician = await session.get(Physician, physician_id)
    if physician is None:
        raise NotFound("医师不存在")
    ensure_sees_physician(actor, physician, missing="医师不存在")
    target = await session.get(Institution, to_institution_id)
    if target is None or not can_oversee_institution(actor, target):
        raise InvalidInput("调入机构不存在或不在本辖区", fields={"institution_id": "调入机构不存在或不在本辖区"})
    if target.id == physician.institution_id:
        raise InvalidInput("调入机构与现所在机构相同", fields={"institution_id": "调入机构与现所在机构相同"})
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        message = f"请填写调整原因（不超过 {REASON_MAX} 个字）"
        raise InvalidInput(message, fields={"reason": message})
    transfer = Transfer(physician_id=physician.id, from_institution_id=physician.institution_id,
                        to_institution_id=target.id, reason=reason, by_account_id=actor.account_id)
    session.add(transfer)
    physician.institution_id = target.id
    account = await session.scalar(select(Account).where(Account.physician_id == physician.id))
    if account is not None:
        account.institution_id = target.id
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="transfer_physician", entity="physician",
                 entity_id=physician.id, detail={"from": transfer.from_institution_id, "to": target.id,
                                                 "reason": reason}, request_id=request_id)
    await notify_physicians(session, [physician.id], f"卫生健康行政部门已将您的所在机构调整为“{target.name}”")
    return transfer


async def transfers_of(session: AsyncSession, physician_id: int) -> list[Transfer]:
    return list((await session.scalars(select(Transfer).where(Transfer.physician_id == physician_id)
                                       .order_by(Transfer.id))).all())
