"""The registration workflow: the physician's steps and submission, institution and body reviews.

Every state change goes through states.next_state (via registrations.apply_move or the batch
path below), is checked for role and scope, writes the audit log and tells the physician.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit, code_tables
from .application import FIELDS, STEPS, StepContext, clean_step, incomplete_steps
from .codes import RATINGS, REASON_MAX
from .db import utcnow
from .eligibility import simple_procedure_flag
from .exemption_review import reopen_on_procedure_change
from .errors import ConcurrentUpdate, IllegalTransition, InvalidInput, NotFound
from .idcard import mask_id_number
from .messages import notify_physicians
from .models import AuditLog, Department, Institution, Physician, Registration, StoredFile
from .publication import published_column, shown_state, state_filter
from .registrations import apply_move, current_cycle
from .roles import Role
from .scope import Actor, ensure_role, ensure_sees_physician, institution_clause
from .states import STATE_WORDS, Action, State, next_state, physician_may_edit, staff_see_contents


async def own_registration(session: AsyncSession, actor: Actor, *, for_update: bool = False) -> Registration:
    ensure_role(actor, Role.PHYSICIAN)
    cycle = await current_cycle(session)
    stmt = select(Registration).where(Registration.physician_id == actor.physician_id,
                                      Registration.cycle_id == cycle.id)
    if for_update:
        stmt = stmt.with_for_update(of=Registration)  # PostgreSQL refuses FOR UPDATE on the joined physician
    reg = await session.scalar(stmt)
    if reg is None:
        raise IllegalTransition("所在医疗卫生机构尚未为您开通本周期报名")
    return reg


async def step_context(session: AsyncSession, reg: Registration) -> StepContext:
    physician = reg.physician
    departments = frozenset((await session.scalars(
        select(Department.id).where(Department.institution_id == physician.institution_id))).all())
    files = (await session.execute(select(StoredFile.id, StoredFile.kind).where(
        StoredFile.registration_id == reg.id))).all()
    tables = await code_tables.load(session)
    return StepContext(
        scopes=tables.scopes,
        titles=tables.titles,
        department_ids=departments,
        photo_ids=frozenset(i for i, k in files if k == "photo"),
        proof_ids=frozenset(i for i, k in files if k == "proof"),
    )


def _prefill(physician: Physician) -> dict[str, Any]:
    """What the e-registration import already knows, offered on first open."""
    return {
        "basic": {"name": physician.name, "gender": physician.gender,
                  "birth_date": physician.birth_date.isoformat() if physician.birth_date else None},
        "practice": {"practice_category": physician.practice_category, "practice_scope": physician.practice_scope},
    }


def names_differ(master: str | None, typed: str | None) -> bool:
    """Whether the name typed in step 1 differs from the e-registration name (spacing and width aside)."""
    def norm(name: str | None) -> str:
        return "".join(unicodedata.normalize("NFKC", name or "").split())

    return bool(norm(typed)) and norm(typed) != norm(master)


def form_view(reg: Registration) -> dict[str, Any]:
    data = reg.data or {}
    base = _prefill(reg.physician)
    return {step: {**dict.fromkeys(FIELDS[step]), **base.get(step, {}), **data.get(step, {})} for step in STEPS}


async def save_step(session: AsyncSession, actor: Actor, step: str, payload: object, *, complete: bool,
                    request_id: str | None = None) -> Registration:
    reg = await own_registration(session, actor, for_update=True)
    if not physician_may_edit(State(reg.state)):
        raise IllegalTransition(f"报名信息已提交（{STATE_WORDS[State(reg.state)]}），不能再修改")
    cleaned = clean_step(step, payload, await step_context(session, reg), complete=complete)
    data = dict(reg.data or {})
    data[step] = cleaned
    done = set(data.get("_complete", []))
    done.add(step) if complete else done.discard(step)
    data["_complete"] = sorted(done)
    changes: dict[str, object] = {"data": data}
    old_procedure = reg.procedure
    if step == "procedure":
        changes["procedure"] = cleaned["procedure"]
    await apply_move(session, reg, Action.SAVE, actor, changes=changes, detail={"step": step},
                     request_id=request_id)
    if step == "procedure":
        await reopen_on_procedure_change(session, reg, actor_id=actor.account_id, old_procedure=old_procedure,
                                         new_procedure=reg.procedure, request_id=request_id)
    return reg


async def submit(session: AsyncSession, actor: Actor, *, request_id: str | None = None) -> Registration:
    reg = await own_registration(session, actor, for_update=True)
    state = State(reg.state)
    next_state(state, Action.SUBMIT, actor.role)  # refuse early with the state's own reason
    problems = incomplete_steps(reg.data or {}, await step_context(session, reg))
    if problems:
        from .application import STEP_TITLES

        first = next(iter(problems))
        raise InvalidInput(f"请先完善“{STEP_TITLES[first]}”：" + "；".join(problems[first].values()),
                           fields={f"{s}.{k}": v for s, p in problems.items() for k, v in p.items()})
    await apply_move(session, reg, Action.SUBMIT, actor, changes={"submitted_at": utcnow(), "return_reason": None,
                                                                   "returned_by": None}, request_id=request_id)
    return reg


async def registration_in_scope(session: AsyncSession, actor: Actor, registration_id: int) -> Registration:
    reg = await session.get(Registration, registration_id)
    if reg is None:
        raise NotFound("报名记录不存在")
    ensure_sees_physician(actor, reg.physician, missing="报名记录不存在")
    return reg


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写退回原因", fields={"reason": "请填写退回原因"})
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"退回原因不能超过 {REASON_MAX} 个字", fields={"reason": f"退回原因不能超过 {REASON_MAX} 个字"})
    return reason


def _rating(value: str, field: str, title: str) -> str:
    if value not in RATINGS:
        raise InvalidInput(f"请评定{title}（合格/不合格）", fields={field: f"请评定{title}（合格/不合格）"})
    return value


async def institution_return(session: AsyncSession, actor: Actor, registration_id: int, *, reason: str,
                             version: int, request_id: str | None = None) -> Registration:
    ensure_role(actor, Role.INSTITUTION)
    reason = _reason(reason)
    reg = await registration_in_scope(session, actor, registration_id)
    await apply_move(session, reg, Action.INSTITUTION_RETURN, actor, expected_version=version,
                     changes={"return_reason": reason, "returned_by": "institution"}, detail={"reason": reason},
                     request_id=request_id)
    await notify_physicians(session, [reg.physician_id], f"您的报名信息被所在机构退回，原因：{reason}")
    return reg


async def institution_approve(session: AsyncSession, actor: Actor, registration_id: int, *, work_rating: str,
                              ethics_rating: str, comment: str, version: int,
                              request_id: str | None = None) -> Registration:
    ensure_role(actor, Role.INSTITUTION)
    work = _rating(work_rating, "work_rating", "工作成绩")
    ethics = _rating(ethics_rating, "ethics_rating", "职业道德")
    comment = (comment or "").strip()
    if len(comment) > REASON_MAX:
        raise InvalidInput(f"评定意见不能超过 {REASON_MAX} 个字", fields={"comment": f"评定意见不能超过 {REASON_MAX} 个字"})
    if "不合格" in (work, ethics) and not comment:
        raise InvalidInput("评定为不合格时须填写评定意见", fields={"comment": "评定为不合格时须填写评定意见"})
    reg = await registration_in_scope(session, actor, registration_id)
    # A 不合格 rating decides the result whatever the tests say (rule 6), once the body confirms it.
    action = Action.INSTITUTION_FAIL if "不合格" in (work, ethics) else Action.INSTITUTION_APPROVE
    await apply_move(session, reg, action, actor, expected_version=version, changes={
        "work_rating": work, "ethics_rating": ethics, "rating_comment": comment or None,
        "institution_reviewed_at": utcnow(), "institution_reviewed_by": actor.account_id, "return_reason": None,
    }, detail={"work_rating": work, "ethics_rating": ethics}, request_id=request_id)
    text = ("所在机构已审核通过您的报名信息，待考核机构复核" if action is Action.INSTITUTION_APPROVE
            else f"所在机构评定您的工作成绩为{work}、职业道德为{ethics}，待考核机构复核")
    await notify_physicians(session, [reg.physician_id], text)
    return reg


async def batch_approve(session: AsyncSession, actor: Actor, registration_ids: list[int], *,
                        request_id: str | None = None) -> int:
    """Approve many SUBMITTED records at once, all rated 合格; all or nothing."""
    ensure_role(actor, Role.INSTITUTION)
    ids = sorted(set(registration_ids))
    if not ids:
        raise InvalidInput("请选择要审核的记录", fields={"registration_ids": "请至少选择一条记录"})
    if len(ids) > 5000:
        raise InvalidInput("一次最多批量审核 5000 条", fields={"registration_ids": "一次最多批量审核 5000 条"})
    rows = (await session.execute(
        select(Registration.id, Registration.state, Registration.physician_id, Physician.institution_id)
        .join(Physician, Physician.id == Registration.physician_id).where(Registration.id.in_(ids))
    )).all()
    # Another institution's records answer as missing ones do: ids reveal nothing.
    if len(rows) != len(ids) or any(inst != actor.institution_id for _, _, _, inst in rows):
        raise NotFound("部分记录不存在")
    not_ready = [rid for rid, state, _, _ in rows if state != State.SUBMITTED]
    if not_ready:
        raise IllegalTransition(f"有 {len(not_ready)} 条记录不是“待机构审核”状态，请刷新后重试")
    for _, state, _, _ in rows:
        next_state(State(state), Action.INSTITUTION_APPROVE, actor.role)
    now = utcnow()
    result = await session.execute(
        update(Registration).where(Registration.id.in_(ids), Registration.state == State.SUBMITTED).values(
            state=State.INSTITUTION_APPROVED, version=Registration.version + 1, work_rating="合格",
            ethics_rating="合格", institution_reviewed_at=now, institution_reviewed_by=actor.account_id,
            return_reason=None, updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != len(ids):
        raise ConcurrentUpdate()
    await session.execute(insert(AuditLog), [
        {"at": now, "actor_account_id": actor.account_id, "action": Action.INSTITUTION_APPROVE,
         "entity": "registration", "entity_id": str(rid), "request_id": request_id,
         "detail": {"from": State.SUBMITTED, "to": State.INSTITUTION_APPROVED, "work_rating": "合格",
                    "ethics_rating": "合格", "batch": True}} for rid, *_ in rows])
    await notify_physicians(session, [pid for _, _, pid, _ in rows], "所在机构已审核通过您的报名信息，待考核机构复核")
    return len(ids)


async def body_return(session: AsyncSession, actor: Actor, registration_id: int, *, reason: str, version: int,
                      request_id: str | None = None) -> Registration:
    ensure_role(actor, Role.BODY)
    reason = _reason(reason)
    reg = await registration_in_scope(session, actor, registration_id)
    await apply_move(session, reg, Action.BODY_RETURN, actor, expected_version=version,
                     changes={"return_reason": reason, "returned_by": "body", "work_rating": None,
                              "ethics_rating": None}, detail={"reason": reason}, request_id=request_id)
    await notify_physicians(session, [reg.physician_id], f"您的报名信息被考核机构退回，原因：{reason}")
    return reg


async def body_approve(session: AsyncSession, actor: Actor, registration_id: int, *, version: int,
                       request_id: str | None = None) -> Registration:
    ensure_role(actor, Role.BODY)
    reg = await registration_in_scope(session, actor, registration_id)
    await apply_move(session, reg, Action.BODY_APPROVE, actor, expected_version=version,
                     changes={"body_reviewed_at": utcnow(), "body_reviewed_by": actor.account_id},
                     request_id=request_id)
    await notify_physicians(session, [reg.physician_id], "考核机构已复核通过您的报名信息，请按时参加测评")
    return reg


async def body_confirm_fail(session: AsyncSession, actor: Actor, registration_id: int, *, version: int,
                            request_id: str | None = None) -> Registration:
    """The body confirms the institution's 不合格 rating: the cycle's result is 不合格 (rule 6)."""
    ensure_role(actor, Role.BODY)
    reg = await registration_in_scope(session, actor, registration_id)
    await apply_move(session, reg, Action.BODY_CONFIRM_FAIL, actor, expected_version=version,
                     changes={"body_reviewed_at": utcnow(), "body_reviewed_by": actor.account_id},
                     detail={"work_rating": reg.work_rating, "ethics_rating": reg.ethics_rating},
                     request_id=request_id)
    await notify_physicians(session, [reg.physician_id], f"考核机构已确认所在机构的评定（工作成绩{reg.work_rating}、"
                                                         f"职业道德{reg.ethics_rating}），本周期考核结果为不合格")
    return reg


async def body_return_to_institution(session: AsyncSession, actor: Actor, registration_id: int, *, reason: str,
                                     version: int, request_id: str | None = None) -> Registration:
    """The body does not confirm a 不合格 rating: the institution reviews and rates the record again."""
    ensure_role(actor, Role.BODY)
    reason = _reason(reason)
    reg = await registration_in_scope(session, actor, registration_id)
    await apply_move(session, reg, Action.BODY_RETURN_TO_INSTITUTION, actor, expected_version=version,
                     changes={"return_reason": reason, "returned_by": "body", "work_rating": None,
                              "ethics_rating": None}, detail={"reason": reason,
                                                              "work_rating": reg.work_rating,
                                                              "ethics_rating": reg.ethics_rating},
                     request_id=request_id)
    await notify_physicians(session, [reg.physician_id], "考核机构已将所在机构的评定退回，待所在机构重新审核评定")
    return reg


@dataclass(frozen=True, slots=True)
class ReviewRow:
    registration_id: int
    version: int
    physician_id: int
    name: str
    id_number_masked: str
    institution_name: str
    department: str | None
    procedure: str | None
    state: str
    state_words: str
    submitted_at: dt.datetime | None
    eligibility: str | None
    eligible: bool | None
    name_typed: str | None = None
    name_differs: bool = False


async def review_queue(session: AsyncSession, actor: Actor, *, state: str | None, department_id: int | None,
                       procedure: str | None, query: str, institution_id: int | None = None, limit: int = 100,
                       offset: int = 0, published: Select | None = None) -> tuple[int, list[ReviewRow]]:
    """`published`: the published registrations' ids, so unpublished outcomes show as 待公布 (publication.py)."""
    ensure_role(actor, Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)
    cycle = await current_cycle(session)
    stmt = (select(Registration, Physician, Institution, published_column(published))
            .join(Physician, Physician.id == Registration.physician_id)
            .join(Institution, Institution.id == Physician.institution_id)
            .where(Registration.cycle_id == cycle.id, institution_clause(actor)))
    if state:
        stmt = stmt.where(state_filter(actor.role, state, published))
    if institution_id:
        stmt = stmt.where(Institution.id == institution_id)
    if procedure:
        stmt = stmt.where(Registration.procedure == procedure)
    if department_id:
        stmt = stmt.where(Registration.data["practice"]["department_id"].as_integer() == department_id)
    if query:
        like = f"%{query}%"
        stmt = stmt.where(Physician.name.like(like) | Physician.id_number.like(like))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    result = (await session.execute(stmt.order_by(Registration.submitted_at, Registration.id).limit(limit)
                                    .offset(offset))).all()
    dept_ids = {(r.data or {}).get("practice", {}).get("department_id") for r, _, _, _ in result} - {None}
    names = dict((await session.execute(select(Department.id, Department.name).where(Department.id.in_(dept_ids)))).all()) if dept_ids else {}
    today = dt.date.today()
    rows = []
    for reg, physician, inst, is_published in result:
        shown, words = shown_state(actor.role, reg.state, bool(is_published))
        if not staff_see_contents(State(reg.state)):  # an unsubmitted draft shows its state only
            rows.append(ReviewRow(reg.id, reg.version, physician.id, physician.name,
                                  mask_id_number(physician.id_number), inst.name, None, None, shown, words,
                                  None, None, None))
            continue
        flag = simple_procedure_flag(physician.practice_start_date, on=today) if reg.procedure == "simple" else None
        dept = (reg.data or {}).get("practice", {}).get("department_id")
        typed = ((reg.data or {}).get("basic") or {}).get("name")
        rows.append(ReviewRow(reg.id, reg.version, physician.id, physician.name, mask_id_number(physician.id_number),
                              inst.name, names.get(dept), reg.procedure, shown, words, reg.submitted_at, flag.message if flag else None, flag.eligible if flag else None,
                              typed, names_differ(physician.name, typed)))
    return int(total or 0), rows


async def history(session: AsyncSession, registration_id: int) -> list[AuditLog]:
    return list((await session.scalars(select(AuditLog).where(
        AuditLog.entity == "registration", AuditLog.entity_id == str(registration_id)).order_by(AuditLog.id))).all())
