"""免考: applied for after submission, reviewed by the institution then the body (domain rule 7)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit
from .codes import REASON_MAX
from .db import utcnow
from .exemption_review import PAPER_WAIVED, EXEMPTION_WORDS, ExemptionState, waived_paper  # noqa: F401  (re-exported)
from .errors import ConcurrentUpdate, IllegalTransition, InvalidInput, NotFound
from .messages import notify_physicians
from .models import Exemption, ExemptionCondition, Registration, StoredFile
from .roles import Role
from .scope import Actor, ensure_role, ensure_sees_physician
from .states import State
from .workflow import own_registration

# (from, by) -> to on approval; refusal always ends in REFUSED.
_REVIEWS = {
    (ExemptionState.SUBMITTED, Role.INSTITUTION): ExemptionState.INSTITUTION_APPROVED,
    (ExemptionState.INSTITUTION_APPROVED, Role.BODY): ExemptionState.GRANTED,
}
_SUBMITTED_OR_LATER = {State.SUBMITTED, State.INSTITUTION_APPROVED, State.APPROVED}


async def condition_names(session: AsyncSession) -> dict[str, str]:
    """Every condition's Chinese name by code, retired ones too (old applications still name them)."""
    return dict((await session.execute(select(ExemptionCondition.code, ExemptionCondition.name))).all())


async def all_conditions(session: AsyncSession) -> list[ExemptionCondition]:
    """Retired ones too, for the admin's code-table page."""
    return list((await session.scalars(select(ExemptionCondition).order_by(ExemptionCondition.id))).all())


async def active_conditions(session: AsyncSession) -> list[ExemptionCondition]:
    return list((await session.scalars(select(ExemptionCondition).where(ExemptionCondition.active.is_(True))
                                       .order_by(ExemptionCondition.id))).all())


async def apply(session: AsyncSession, actor: Actor, *, condition_codes: list[str], proof_file_ids: list[int],
                note: str, request_id: str | None = None) -> Exemption:
    reg = await own_registration(session, actor, for_update=True)
    if State(reg.state) not in _SUBMITTED_OR_LATER:
        raise IllegalTransition("请先提交报名信息，再申请免考")
    existing = await session.scalar(select(Exemption).where(Exemption.registration_id == reg.id))
    if existing is not None and existing.state != ExemptionState.REFUSED:
        raise IllegalTransition(f"已有免考申请（{EXEMPTION_WORDS[ExemptionState(existing.state)]}），不能重复申请")
    codes = {c.code for c in await active_conditions(session)}
    chosen = list(dict.fromkeys(condition_codes))
    errors: dict[str, str] = {}
    if not chosen:
        errors["condition_codes"] = "请至少勾选一项免考条件"
    elif any(c not in codes for c in chosen):
        errors["condition_codes"] = "免考条件的取值无效"
    own_proofs = set((await session.scalars(select(StoredFile.id).where(
        StoredFile.registration_id == reg.id, StoredFile.kind == "exemption_proof"))).all())
    proofs = list(dict.fromkeys(proof_file_ids))
    if not proofs:
        errors["proof_file_ids"] = "请上传免考证明材料"
    elif len(proofs) > 10:
        errors["proof_file_ids"] = "证明材料最多 10 份"
    elif any(p not in own_proofs for p in proofs):
        errors["proof_file_ids"] = "证明材料的取值无效"
    if len(note or "") > REASON_MAX:
        errors["note"] = f"说明不能超过 {REASON_MAX} 个字"
    if errors:
        raise InvalidInput("；".join(errors.values()), fields=errors)
    if existing is None:
        existing = Exemption(registration_id=reg.id, state=ExemptionState.SUBMITTED)
        session.add(existing)
    existing.state = ExemptionState.SUBMITTED
    existing.condition_codes = chosen
    existing.proof_file_ids = proofs
    existing.note = (note or "").strip() or None
    existing.decision_reason = None
    existing.version = (existing.version or 0) + 1
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="exemption_apply", entity="exemption",
                 entity_id=existing.id, detail={"conditions": chosen}, request_id=request_id)
    return existing


async def exemption_in_scope(session: AsyncSession, actor: Actor, exemption_id: int) -> tuple[Exemption, Registration]:
    exemption = await session.get(Exemption, exemption_id)
    if exemption is None:
        raise NotFound("免考申请不存在")
    reg = await session.get(Registration, exemption.registration_id)
    assert reg is not None
    ensure_sees_physician(actor, reg.physician, missing="免考申请不存在")
    return exemption, reg


async def decide(session: AsyncSession, actor: Actor, exemption_id: int, *, approve: bool, reason: str,
                 version: int, request_id: str | None = None) -> Exemption:
    ensure_role(actor, Role.INSTITUTION, Role.BODY)
    exemption, reg = await exemption_in_scope(session, actor, exemption_id)
    current = ExemptionState(exemption.state)
    target = _REVIEWS.get((current, actor.role))
    if target is None:
        raise IllegalTransition(f"免考申请当前为“{EXEMPTION_WORDS[current]}”，不能执行此操作")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidInput("不予批准时须填写原因", fields={"reason": "不予批准时须填写原因"})
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"原因不能超过 {REASON_MAX} 个字", fields={"reason": f"原因不能超过 {REASON_MAX} 个字"})
    new_state = target if approve else ExemptionState.REFUSED
    by_field = "institution_decided_by" if actor.role is Role.INSTITUTION else "body_decided_by"
    result = await session.execute(
        update(Exemption).where(Exemption.id == exemption.id, Exemption.version == version,
                                Exemption.state == current)
        .values(state=new_state, version=version + 1, decision_reason=reason or None,
                updated_at=utcnow(), **{by_field: actor.account_id}).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ConcurrentUpdate()
    exemption.state, exemption.version, exemption.decision_reason = new_state, version + 1, reason or None
    audit.record(session, actor_id=actor.account_id, action=f"exemption_{'approve' if approve else 'refuse'}",
                 entity="exemption", entity_id=exemption.id, detail={"from": current, "to": new_state,
                                                                     "reason": reason}, request_id=request_id)
    who = "所在机构" if actor.role is Role.INSTITUTION else "考核机构"
    if new_state is ExemptionState.GRANTED:
        text = f"您的免考申请已批准，免考{waived_paper(reg.procedure)}"
    elif new_state is ExemptionState.REFUSED:
        text = f"您的免考申请未获{who}批准，原因：{reason}"
    else:
        text = "所在机构已审核通过您的免考申请，待考核机构审核"
    await notify_physicians(session, [reg.physician_id], text)
    return exemption


async def exemption_of(session: AsyncSession, registration_id: int) -> Exemption | None:
    return await session.scalar(select(Exemption).where(Exemption.registration_id == registration_id))


async def save_condition(session: AsyncSession, actor: Actor, *, code: str, name: str, active: bool) -> ExemptionCondition:
    ensure_role(actor, Role.ADMIN)
    code, name = code.strip().upper(), name.strip()
    errors = {}
    if not code or len(code) > 32 or not code.replace("_", "").isalnum() or not code.isascii():
        errors["code"] = "代码应为 1-32 位字母、数字或下划线"
    if not name or len(name) > 255:
        errors["name"] = "请填写条件名称（不超过 255 个字）"
    if errors:
        raise InvalidInput("；".join(errors.values()), fields=errors)
    condition = await session.scalar(select(ExemptionCondition).where(ExemptionCondition.code == code))
    if condition is None:
        condition = ExemptionCondition(code=code, name=name, active=active)
        session.add(condition)
    else:
        condition.name, condition.active = name, active
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="save_exemption_condition", entity="exemption_condition",
                 entity_id=condition.id, detail={"code": code, "active": active})
    return condition
