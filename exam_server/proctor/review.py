"""Review after the exam: attempts with violations, each attempt's timeline, confirming or
dismissing a violation, and voiding an attempt (the result recomputed through the state machine)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.errors import ConcurrentUpdate, IllegalTransition, InvalidInput, NotFound, PermissionDenied
from registry.messages import notify_physicians
from registry.models import Account, AuditLog, Institution, Physician, Registration, StoredFile
from registry.registrations import apply_move
from registry.roles import Role
from registry.scope import Actor
from registry.states import STATE_WORDS, Action, State

from ..exam import attempts as exam_attempts
from ..exam.lifecycle import AttemptAction, AttemptState, next_attempt_state
from ..exam.models import Attempt, ExamSchedule
from . import events
from .models import ProctorEvent, Violation
from .rules import CONSEQUENCE_WORDS, KIND_WORDS

DECISIONS = ("confirmed", "dismissed")


async def schedule_review(session: AsyncSession, actor: Actor, schedule: ExamSchedule) -> list[dict[str, Any]]:
    """Per attempt of the schedule with violations (in the actor's scope): counts by status."""
    rows = (await session.execute(
        select(Attempt, Physician.name, Institution.name, Violation)
        .join(Violation, Violation.attempt_id == Attempt.id)
        .join(Physician, Attempt.physician_id == Physician.id)
        .join(Institution, Physician.institution_id == Institution.id)
        .where(Attempt.schedule_id == schedule.id, exam_attempts.institution_clause(actor))
        .order_by(Attempt.id, Violation.id))).all()
    out: dict[int, dict[str, Any]] = {}
    for a, name, inst, v in rows:
        item = out.setdefault(a.id, {"attempt_id": a.id, "name": name, "institution": inst, "state": a.state,
                                     "score": a.score, "passed": a.passed, "violations": 0, "open": 0,
                                     "confirmed": 0, "dismissed": 0, "kinds": []})
        item["violations"] += 1
        item[v.status] += 1
        words = KIND_WORDS.get(v.kind, v.kind)
        if words not in item["kinds"]:
            item["kinds"].append(words)
    return list(out.values())


def violation_json(v: Violation) -> dict[str, Any]:
    return {"id": v.id, "attempt_id": v.attempt_id, "kind": v.kind, "words": KIND_WORDS.get(v.kind, v.kind),
            "consequence": v.consequence, "consequence_words": CONSEQUENCE_WORDS.get(v.consequence, v.consequence),
            "started_at": v.started_at.isoformat() + "Z", "detected_at": v.detected_at.isoformat() + "Z",
            "evidence_event_ids": v.evidence_event_ids, "median_distance": v.median_distance, "status": v.status,
            "review_note": v.review_note, "reviewed_at": v.reviewed_at.isoformat() + "Z" if v.reviewed_at else None}


ACTION_WORDS = {"attempt.start": "开始考试", "attempt.submit": "交卷", "attempt.score": "评分",
                "attempt.extra_time": "延长考试时间", "attempt.warn": "监考员发送提醒", "attempt.takeover": "换设备继续作答",
                "attempt.end": "监考员结束考试", "attempt.void": "作废本次考试", "violation.confirmed": "确认违规",
                "violation.dismissed": "排除违规"}


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() + "Z" if at else None


async def timeline(session: AsyncSession, attempt: Attempt) -> dict[str, Any]:
    """Events (frames only when they carry evidence or a thumbnail), violations, staff actions, and
    ``entries``: events and actions together in time order, in words, for the page to list."""
    rows = (await session.scalars(select(ProctorEvent).where(ProctorEvent.attempt_id == attempt.id)
                                  .order_by(ProctorEvent.id))).all()
    shown = [events.event_json(e) for e in rows if e.kind != "frame" or e.severity > 0 or e.thumb_key]
    actions = (await session.execute(select(AuditLog, Account.display_name)
                                     .outerjoin(Account, AuditLog.actor_account_id == Account.id)
                                     .where(AuditLog.entity == "attempt", AuditLog.entity_id == str(attempt.id))
                                     .order_by(AuditLog.id))).all()
    violations = (await session.scalars(select(Violation).where(Violation.attempt_id == attempt.id)
                                        .order_by(Violation.id))).all()
    entries = [{"at": e["at"], "words": e["words"],
                "severity": e["severity"], "thumb": e["thumb"], "frame": e["frame"]} for e in shown]
    entries += [{"at": _iso(a.at), "words": ACTION_WORDS.get(a.action, "其他操作") + (f"（{who}）" if who else ""),
                 "severity": 0, "thumb": None, "frame": None} for a, who in actions]
    entries.sort(key=lambda x: x["at"] or "")
    return {"events": shown, "violations": [violation_json(v) for v in violations], "entries": entries,
            "actions": [{"at": _iso(a.at), "action": a.action, "words": ACTION_WORDS.get(a.action, "其他操作"),
                         "actor_id": a.actor_account_id, "actor_name": who, "detail": a.detail} for a, who in actions]}


async def attempt_facts(session: AsyncSession, attempt: Attempt) -> dict[str, Any]:
    """Whom the review is about, for the page and its confirmations: name, institution, paper, which
    attempt, and the registration photo (if one was uploaded)."""
    physician = await session.get(Physician, attempt.physician_id)
    institution = await session.get(Institution, physician.institution_id) if physician else None
    schedule = await session.get(ExamSchedule, attempt.schedule_id)
    photo = await registration_photo(session, attempt)
    return {"name": physician.name if physician else "", "institution": institution.name if institution else "",
            "paper": schedule.title if schedule else "", "attempt_no": attempt.attempt_no,
            "attempts_allowed": schedule.attempts_allowed if schedule else None,
            "photo": f"/api/v1/attempts/{attempt.id}/registration-photo" if photo else None}


async def registration_photo(session: AsyncSession, attempt: Attempt) -> StoredFile | None:
    """The photo of the registration the attempt belongs to (the enrolled face), newest first."""
    return await session.scalar(select(StoredFile).where(StoredFile.registration_id == attempt.registration_id,
                                                         StoredFile.kind == "photo")
                                .order_by(StoredFile.id.desc()).limit(1))


async def result_words(session: AsyncSession, attempt: Attempt) -> str:
    reg = await session.get(Registration, attempt.registration_id)
    return STATE_WORDS.get(State(reg.state), "") if reg else ""


async def decide(session: AsyncSession, actor: Actor, violation_id: int, decision: str, note: str, *, void: bool,
                 now: dt.datetime, request_id: str | None = None) -> tuple[Violation, Attempt]:
    if actor.role not in (Role.BODY, Role.ADMIN):
        raise PermissionDenied("只有考核机构可以复核违规记录")
    if decision not in DECISIONS:
        raise InvalidInput("复核结论的取值无效", fields={"decision": "复核结论的取值无效"})
    v = await session.get(Violation, violation_id, with_for_update=True)
    if v is None:
        raise NotFound("违规记录不存在")
    attempt = await exam_attempts.attempt_in_scope(session, actor, v.attempt_id)
    if void and decision != "confirmed":
        raise InvalidInput("只有确认的违规才能作废考试", fields={"void": "只有确认的违规才能作废考试"})
    if void and attempt.state != AttemptState.SCORED:
        raise IllegalTransition("考试尚未评分或已作废，不能作废")
    before = v.status
    v.status, v.review_note, v.reviewed_by, v.reviewed_at = decision, note, actor.account_id, now
    audit.record(session, actor_id=actor.account_id, action=f"violation.{decision}", entity="attempt",
                 entity_id=attempt.id, detail={"violation_id": v.id, "kind": v.kind, "before": before, "note": note},
                 request_id=request_id)
    if void:
        await void_attempt(session, actor, attempt, reason=note, now=now, request_id=request_id)
    return v, attempt


async def void_attempt(session: AsyncSession, actor: Actor, attempt: Attempt, *, reason: str, now: dt.datetime,
                       request_id: str | None = None) -> None:
    """The attempt counts as used and not passed; a pass it gave is revoked, then rule 10 decides again."""
    target = next_attempt_state(AttemptState(attempt.state), AttemptAction.VOID)
    result = await session.execute(update(Attempt).where(Attempt.id == attempt.id, Attempt.version == attempt.version)
                                   .values(state=target, passed=False, version=Attempt.version + 1)
                                   .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ConcurrentUpdate()
    was_passed = attempt.passed
    attempt.state, attempt.passed, attempt.version = target, False, attempt.version + 1
    audit.record(session, actor_id=actor.account_id, action="attempt.void", entity="attempt", entity_id=attempt.id,
                 detail={"reason": reason, "was_passed": was_passed}, request_id=request_id)
    reg = await session.get(Registration, attempt.registration_id)  # apply_move compares-and-sets the version
    assert reg is not None
    if reg.state == State.PASSED:
        await apply_move(session, reg, Action.REVOKE_PASS, actor, detail={"attempt_id": attempt.id, "reason": reason})
    sit = await exam_attempts.situation_of(session, reg, now=now)
    result_now = await exam_attempts.decide_result(session, sit, now=now)
    await notify_physicians(session, [attempt.physician_id],
                            f"您的考试（第 {attempt.attempt_no} 次）经考核机构复核确认存在违规，已作废。原因：{reason}"
                            + ("" if result_now is None else "。考核结果已重新判定，请查看我的考试。"))
