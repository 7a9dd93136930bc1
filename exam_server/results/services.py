"""Results after the registration and the tests: publication by the body, what the physician
sees, review requests (复核申请), and certificates (issue, revoke, verify).

Plain use-case functions over an AsyncSession, called by handlers inside a transaction; state
changes of a registration go through registry.registrations.apply_move (the state machine).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

import reports
from registry import audit
from registry.db import utcnow
from registry.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied
from registry.exemptions import ExemptionState, exemption_of, waived_paper
from registry.idcard import mask_id_number
from registry.messages import notify_physicians
from registry.models import Account, AssessmentBody, Cycle, ExemptionCondition, Institution, Physician, Registration
from registry.registrations import apply_move, current_cycle
from registry.roles import Role
from registry.scope import Actor, ensure_role, institution_clause
from registry.states import Action, State

from ..exam import attempts
from ..exam.models import Attempt, ExamSchedule
from .models import BodySeal, Certificate, PublishedResult, PublishedSchedule, ResultReview

PASS, FAIL = "合格", "不合格"
RESULT_OF_STATE = {State.PASSED: PASS, State.FAILED: FAIL}
PROCEDURE_WORDS = {"simple": "简易程序", "general": "一般程序"}
REVIEW_DAYS = 30
PENDING, UPHELD, CHANGED = "pending", "upheld", "changed"
REVIEW_WORDS = {PENDING: "复核中", UPHELD: "复核维持原结论", CHANGED: "复核后结论变更为合格"}


@dataclass(frozen=True, slots=True)
class Notice:
    """An SMS to send once the transaction has committed."""

    phone: str
    text: str


async def _phones(session: AsyncSession, physician_ids: list[int]) -> dict[int, str]:
    rows = (await session.execute(select(Account.physician_id, Account.phone).where(
        Account.physician_id.in_(physician_ids), Account.phone.is_not(None), Account.phone_verified_at.is_not(None)))).all()
    return {pid: phone for pid, phone in rows}


# -- certificates ------------------------------------------------------------------------------


async def issue_certificate(session: AsyncSession, reg: Registration, *, key: bytes, actor_id: int | None) -> Certificate:
    """The registration's certificate, signed over its key facts; an existing one is returned."""
    existing = await session.scalar(select(Certificate).where(Certificate.registration_id == reg.id,
                                                              Certificate.revoked_at.is_(None)))
    if existing is not None:
        return existing
    physician: Physician = reg.physician
    institution = physician.institution
    body = await session.get(AssessmentBody, institution.body_id)
    cycle = await session.get(Cycle, reg.cycle_id)
    assert body is not None and cycle is not None
    today = dt.date.today()
    while True:  # 50 random bits: a collision is practically impossible, but never silently reused
        number = reports.new_certificate_number(today.year)
        if not await session.scalar(select(Certificate.id).where(Certificate.number == number)):
            break
    facts = {
        "number": number, "name": physician.name, "id": mask_id_number(physician.id_number),
        "category": physician.practice_category, "scope": physician.practice_scope or "",
        "cycle": cycle.name, "procedure": PROCEDURE_WORDS.get(reg.procedure or "", ""), "result": PASS,
        "body": body.name, "issued": today.isoformat(),
    }
    cert = Certificate(number=number, registration_id=reg.id, physician_id=physician.id, body_id=body.id,
                       institution_id=institution.id, facts=facts, signature=reports.sign(facts, key),
                       issued_by=actor_id)
    session.add(cert)
    audit.record(session, actor_id=actor_id, action="issue_certificate", entity="registration", entity_id=reg.id,
                 detail={"number": number})
    return cert


async def certificate_in_scope(session: AsyncSession, actor: Actor, number: str) -> Certificate:
    cert = await session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        raise NotFound("证书不存在")
    if actor.role is Role.PHYSICIAN:
        if cert.physician_id != actor.physician_id:
            raise NotFound("证书不存在")
        return cert
    institution = await session.get(Institution, cert.institution_id)
    from registry.scope import can_oversee_institution

    if institution is None or not can_oversee_institution(actor, institution):
        raise PermissionDenied("无权查看其他机构的证书")
    return cert


CERTIFICATE_LIST_MAX = 50


async def certificates_of_body(session: AsyncSession, actor: Actor, *, q: str = "") -> list[dict[str, object]]:
    """The certificates of physicians in the body's scope, newest first, found by the physician's name
    (part of it) or the certificate number; what 撤销证书 on the results page lists."""
    ensure_role(actor, Role.BODY)
    stmt = (select(Certificate, Physician.name, Institution.name)
            .join(Physician, Certificate.physician_id == Physician.id)
            .join(Institution, Certificate.institution_id == Institution.id)
            .where(institution_clause(actor)))
    q = q.strip()
    if q:
        try:
            number = reports.normalise_number(q)
        except reports.TokenError:
            number = None
        found_by = Physician.name.contains(q, autoescape=True)
        stmt = stmt.where(found_by | (Certificate.number == number) if number else found_by)
    rows = (await session.execute(stmt.order_by(Certificate.issued_at.desc(), Certificate.id.desc())
                                  .limit(CERTIFICATE_LIST_MAX))).all()
    return [{"number": c.number, "name": name, "institution": inst, "issued_at": c.issued_at,
             "revoked_at": c.revoked_at, "revoked_reason": c.revoked_reason,
             "revoked_words": reports.REVOCATION_CATEGORIES.get(c.revoked_category or "") if c.revoked_at else None}
            for c, name, inst in rows]


async def revoke_certificate(session: AsyncSession, actor: Actor, number: str, *, reason: str, category: str,
                             request_id: str | None = None) -> Certificate:
    ensure_role(actor, Role.BODY)
    cert = await certificate_in_scope(session, actor, number)
    if cert.revoked_at is not None:
        raise IllegalTransition("该证书已撤销")
    cert.revoked_at = utcnow()
    cert.revoked_reason, cert.revoked_category = reason, category
    audit.record(session, actor_id=actor.account_id, action="revoke_certificate", entity="registration",
                 entity_id=cert.registration_id, detail={"number": number, "reason": reason, "category": category},
                 request_id=request_id)
    words = reports.REVOCATION_CATEGORIES[category]
    await notify_physicians(session, [cert.physician_id], f"您的合格证书（编号 {number}）已被考核机构撤销（{words}）：{reason}")
    return cert


@dataclass(frozen=True)
class Verification:
    verdict: reports.Verdict
    masked_name: str | None
    revoked_reason: str | None


async def verify_certificate(session: AsyncSession, text: str, *, key: bytes) -> Verification:
    """Public verification by number or QR URL; raises reports.TokenError on junk input."""
    number, signature = reports.parse_verification_input(text)
    cert = await session.scalar(select(Certificate).where(Certificate.number == number))
    # The PDF prints the body's seal at download time and says 本证书无效 without one: so does this.
    sealed = cert is not None and await session.get(BodySeal, cert.body_id) is not None
    verdict = reports.judge(number=number, stored=cert.facts if cert else None,
                            stored_signature=cert.signature if cert else None,
                            revoked=bool(cert and cert.revoked_at), signature=signature, key=key,
                            revoked_category=cert.revoked_category if cert else None, sealed=sealed)
    name = reports.mask_name(str(cert.facts.get("name", ""))) if cert else None
    return Verification(verdict, name, cert.revoked_reason if cert and cert.revoked_at else None)


# -- publication --------------------------------------------------------------------------------


NO_SEAL = ("尚未上传考核机构印章：未盖章的合格证书无效。请先在本页“考核机构印章”处上传印章，再公布含合格者的结果")


@dataclass(frozen=True)
class Publication:
    """What a publication does (before: the preview the confirmation shows; after: the report)."""

    scope: str
    passed: list[str]
    failed: list[str]
    sealed: bool
    sms: int = 0

    @property
    def count(self) -> int:
        return len(self.passed) + len(self.failed)

    @property
    def refusal(self) -> str | None:
        return NO_SEAL if self.passed and not self.sealed else None


async def _publishable(session: AsyncSession, actor: Actor, institution_id: int | None) -> tuple[Cycle, str, list[Registration]]:
    """The decided, unpublished registrations of the current cycle in the body's scope (or one institution)."""
    ensure_role(actor, Role.BODY)
    cycle = await current_cycle(session)
    scope = "本考核机构辖区全部机构"
    if institution_id is not None:
        institution = await session.get(Institution, institution_id)
        if institution is None or institution.body_id != actor.body_id:  # another body's: as a missing one
            raise NotFound("机构不存在")
        scope = institution.name
    published = select(PublishedResult.registration_id)
    stmt = (select(Registration).join(Physician, Registration.physician_id == Physician.id)
            .join(Institution, Physician.institution_id == Institution.id)
            .where(Registration.cycle_id == cycle.id, Registration.state.in_([State.PASSED, State.FAILED]),
                   Institution.body_id == actor.body_id, Registration.id.not_in(published))
            .order_by(Registration.id))
    if institution_id is not None:
        stmt = stmt.where(Institution.id == institution_id)
    return cycle, scope, list((await session.scalars(stmt)).all())


def _names(regs: list[Registration], result: str) -> list[str]:
    return [r.physician.name for r in regs if RESULT_OF_STATE[State(r.state)] == result]


async def preview_publication(session: AsyncSession, actor: Actor, *, institution_id: int | None) -> Publication:
    _, scope, regs = await _publishable(session, actor, institution_id)
    sealed = await session.get(BodySeal, actor.body_id or 0) is not None
    return Publication(scope, _names(regs, PASS), _names(regs, FAIL), sealed)


async def publish_results(session: AsyncSession, actor: Actor, *, institution_id: int | None, key: bytes,
                          request_id: str | None = None) -> tuple[Publication, list[Notice]]:
    """Publish every decided, unpublished result of the current cycle in the body's scope (or of
    one of its institutions); passes get their certificates. Refused when passes would get a
    certificate without the body's seal (it would print 本证书无效). Returns what was published and
    the SMS to send."""
    cycle, scope, regs = await _publishable(session, actor, institution_id)
    sealed = await session.get(BodySeal, actor.body_id or 0) is not None
    done = Publication(scope, _names(regs, PASS), _names(regs, FAIL), sealed)
    if done.refusal:
        raise IllegalTransition(done.refusal)
    if not regs:
        return done, []
    by_result: dict[str, list[int]] = {PASS: [], FAIL: []}
    for reg in regs:
        result = RESULT_OF_STATE[State(reg.state)]
        session.add(PublishedResult(registration_id=reg.id, body_id=actor.body_id, result=result,
                                    published_by=actor.account_id))
        by_result[result].append(reg.physician_id)
        if result == PASS:
            await issue_certificate(session, reg, key=key, actor_id=actor.account_id)
    audit.record(session, actor_id=actor.account_id, action="publish_results", entity="cycle", entity_id=cycle.id,
                 detail={"registration_ids": [r.id for r in regs], "institution_id": institution_id},
                 request_id=request_id)
    notices: list[Notice] = []
    phones = await _phones(session, [r.physician_id for r in regs])
    for result, ids in by_result.items():
        if not ids:
            continue
        extra = "，可下载合格证书" if result == PASS else "；如有异议，可在公布后 30 日内申请复核"
        text = f"{cycle.name}医师定期考核结果已公布：{result}。请登录定考通查看结果通知书{extra}。"
        await notify_physicians(session, ids, text)
        notices += [Notice(phones[i], f"【定考通】{text}") for i in ids if i in phones]
    return Publication(scope, done.passed, done.failed, sealed, sms=len(notices)), notices


async def schedules_in_scope(session: AsyncSession, actor: Actor) -> list[tuple[ExamSchedule, PublishedSchedule | None]]:
    """The current cycle's schedules the body's physicians sit (its own and the admin's for every
    body), each with the body's publication of its scores if any."""
    ensure_role(actor, Role.BODY)
    cycle = await current_cycle(session)
    rows = (await session.execute(
        select(ExamSchedule, PublishedSchedule)
        .outerjoin(PublishedSchedule, (PublishedSchedule.schedule_id == ExamSchedule.id)
                   & (PublishedSchedule.body_id == actor.body_id))
        .where(ExamSchedule.cycle_id == cycle.id,
               (ExamSchedule.body_id.is_(None)) | (ExamSchedule.body_id == actor.body_id))
        .order_by(ExamSchedule.window_start, ExamSchedule.id))).all()
    return [(schedule, pub) for schedule, pub in rows]


async def _schedule_scored(session: AsyncSession, actor: Actor, schedule_id: int) -> tuple[ExamSchedule, list[Physician]]:
    """The schedule (refused when it is another body's or already published) and the body's physicians
    with a scored attempt in it."""
    ensure_role(actor, Role.BODY)
    schedule = await session.get(ExamSchedule, schedule_id)
    if schedule is None or schedule.body_id not in (None, actor.body_id):  # another body's: as missing
        raise NotFound("测评场次不存在")
    if await session.scalar(select(PublishedSchedule.id).where(PublishedSchedule.schedule_id == schedule.id,
                                                               PublishedSchedule.body_id == actor.body_id)):
        raise IllegalTransition("该测评场次的成绩已公布")
    ids = select(Attempt.physician_id).join(Physician, Attempt.physician_id == Physician.id) \
        .join(Institution, Physician.institution_id == Institution.id) \
        .where(Attempt.schedule_id == schedule.id, Attempt.score.is_not(None), Institution.body_id == actor.body_id)
    physicians = list((await session.scalars(select(Physician).where(Physician.id.in_(ids)).order_by(Physician.id))).all())
    return schedule, physicians


async def preview_schedule(session: AsyncSession, actor: Actor, schedule_id: int) -> tuple[ExamSchedule, list[str]]:
    schedule, physicians = await _schedule_scored(session, actor, schedule_id)
    return schedule, [p.name for p in physicians]


async def publish_schedule(session: AsyncSession, actor: Actor, schedule_id: int, *,
                           request_id: str | None = None) -> tuple[int, list[Notice]]:
    """Publish one schedule's (one paper's) scores for the body's physicians; returns how many
    physicians with a scored attempt were told, and the SMS to send after commit."""
    schedule, physicians = await _schedule_scored(session, actor, schedule_id)
    session.add(PublishedSchedule(schedule_id=schedule.id, body_id=actor.body_id, published_by=actor.account_id))
    ids = [p.id for p in physicians]
    audit.record(session, actor_id=actor.account_id, action="publish_schedule", entity="exam_schedule",
                 entity_id=schedule.id, detail={"physicians": len(ids)}, request_id=request_id)
    if not ids:
        return 0, []
    text = f"{schedule.title}成绩已公布，请登录定考通查看。"
    await notify_physicians(session, ids, text)
    phones = await _phones(session, ids)
    return len(ids), [Notice(phones[i], f"【定考通】{text}") for i in ids if i in phones]


@dataclass(frozen=True)
class PaperView:
    """One paper as the physician sees it: the score only once its schedule or the whole result
    is published."""

    title: str
    published: bool
    score: float | None
    pass_mark: float | None
    full_mark: float | None
    outcome: str


def _best_attempts(sit: attempts.Situation) -> Iterator[tuple[ExamSchedule, Attempt]]:
    """Each required paper the physician sat, with its best scored attempt."""
    for status in sit.statuses(utcnow()):
        scored = [a for a in sit.attempts.get(status.kind, []) if a.score is not None]
        if scored:  # the best attempt under whichever schedule it was sat, with that schedule's marks
            best = max(scored, key=lambda a: a.score or 0.0)
            yield sit.by_id[best.schedule_id], best


async def paper_views(session: AsyncSession, reg: Registration) -> list[PaperView]:
    sit = await attempts.situation_of(session, reg, now=utcnow())
    whole = await published_result(session, reg) is not None
    body_id = reg.physician.institution.body_id
    released = set((await session.scalars(select(PublishedSchedule.schedule_id)
                                          .where(PublishedSchedule.body_id == body_id))).all())
    out = []
    for schedule, best in _best_attempts(sit):
        shown = whole or schedule.id in released
        paper = reports.PaperResult(title=schedule.title, score=best.score, pass_mark=schedule.pass_mark,
                                    full_mark=best.max_score)
        out.append(PaperView(schedule.title, shown, best.score if shown else None, schedule.pass_mark,
                             best.max_score, paper.outcome if shown else "待公布"))
    return out


# -- what the physician sees ---------------------------------------------------------------------


async def paper_results_for(session: AsyncSession, reg: Registration) -> tuple[reports.PaperResult, ...]:
    """Each required paper the physician sat: best score, pass mark and full mark, from the exam
    engine's attempts (a paper waived by a granted exemption is added by gather_result_facts)."""
    sit = await attempts.situation_of(session, reg, now=utcnow())
    out = []
    for schedule, best in _best_attempts(sit):
        out.append(reports.PaperResult(title=schedule.title, score=best.score, pass_mark=schedule.pass_mark,
                                       full_mark=best.max_score))
    return tuple(out)


async def _granted_exemption(session: AsyncSession, reg: Registration) -> tuple[str, ...]:
    exemption = await exemption_of(session, reg.id)
    if exemption is None or exemption.state != ExemptionState.GRANTED:
        return ()
    names = dict((await session.execute(select(ExemptionCondition.code, ExemptionCondition.name))).all())
    return tuple(names.get(c, c) for c in exemption.condition_codes or ())


@dataclass(frozen=True)
class ResultView:
    """A physician's result facts plus what only the service knows (publication, review)."""

    facts: reports.ResultFacts
    published_at: dt.datetime
    review: ResultReview | None
    certificate: Certificate | None


async def gather_result_facts(session: AsyncSession, reg: Registration, *, photo: bytes | None = None,
                              seal: bytes | None = None) -> reports.ResultFacts:
    """Everything a result notice states, as plain data for reports (papers from the engine)."""
    physician: Physician = reg.physician
    institution = physician.institution
    body = await session.get(AssessmentBody, institution.body_id)
    cycle = await session.get(Cycle, reg.cycle_id)
    assert body is not None and cycle is not None
    passed = State(reg.state) is State.PASSED
    exemptions = await _granted_exemption(session, reg)
    papers = list(await paper_results_for(session, reg))
    waived = waived_paper(reg.procedure) if exemptions else None
    if waived and not any(p.title.startswith(waived) for p in papers):
        papers.append(reports.PaperResult(title=waived, waived=True))
    reasons: list[str] = []
    if reg.work_rating == FAIL:
        reasons.append("工作成绩评定为不合格")
    if reg.ethics_rating == FAIL:
        reasons.append("职业道德评定为不合格")
    reasons += [f"{p.title}未达到合格分" for p in papers if p.outcome == FAIL]
    if not passed and not reasons:
        reasons.append("未在规定时间内通过全部测评")
    review = await session.scalar(select(ResultReview).where(ResultReview.registration_id == reg.id))
    note = None
    if review is not None and review.state != PENDING:
        note = REVIEW_WORDS[review.state] + (f"：{review.note}" if review.note else "")
    cert = await session.scalar(select(Certificate).where(Certificate.registration_id == reg.id,
                                                          Certificate.revoked_at.is_(None)))
    return reports.ResultFacts(
        physician=reports.Physician(name=physician.name, id_number_masked=mask_id_number(physician.id_number),
                                    practice_category=physician.practice_category,
                                    practice_scope=physician.practice_scope or "", institution=institution.name,
                                    photo_jpeg=photo),
        issuer=reports.Issuer(name=body.name, seal_png=seal), cycle=cycle.name,
        procedure=PROCEDURE_WORDS.get(reg.procedure or "", "—"), passed=passed, work_rating=reg.work_rating,
        ethics_rating=reg.ethics_rating, papers=tuple(papers), exemptions=exemptions,
        reasons=() if passed else tuple(reasons), review_note=note,
        certificate_number=cert.number if cert else None, issued_on=dt.date.today(),
    )


async def my_registration(session: AsyncSession, actor: Actor) -> Registration | None:
    ensure_role(actor, Role.PHYSICIAN)
    cycle = await current_cycle(session)
    return await session.scalar(select(Registration).where(Registration.physician_id == actor.physician_id,
                                                           Registration.cycle_id == cycle.id))


async def is_published(session: AsyncSession, registration_id: int) -> bool:
    """Whether the body has published this registration's result (the exam's my_exams asks, through a port)."""
    return await session.scalar(select(PublishedResult.id).where(
        PublishedResult.registration_id == registration_id)) is not None


def published_registrations() -> Select:
    """The ids of the published registrations (the registration lists join it, through a port)."""
    return select(PublishedResult.registration_id)


async def published_result(session: AsyncSession, reg: Registration | None) -> PublishedResult | None:
    if reg is None:
        return None
    return await session.scalar(select(PublishedResult).where(PublishedResult.registration_id == reg.id))


# -- review requests ----------------------------------------------------------------------------


async def request_review(session: AsyncSession, actor: Actor, *, reason: str, now: dt.datetime | None = None,
                         request_id: str | None = None) -> ResultReview:
    reg = await my_registration(session, actor)
    pub = await published_result(session, reg)
    if reg is None or pub is None:
        raise InvalidInput("考核结果尚未公布，不能申请复核")
    if pub.result != FAIL or State(reg.state) is not State.FAILED:
        raise InvalidInput("只有考核不合格的结果可以申请复核")
    now = now or utcnow()
    if now - pub.published_at > dt.timedelta(days=REVIEW_DAYS):
        raise InvalidInput(f"已超过结果公布后 {REVIEW_DAYS} 日的复核申请期限")
    if await session.scalar(select(ResultReview.id).where(ResultReview.registration_id == reg.id)):
        raise InvalidInput("已提交过复核申请，不能重复申请")
    review = ResultReview(registration_id=reg.id, reason=reason, state=PENDING, requested_at=now)
    session.add(review)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="request_review", entity="registration", entity_id=reg.id,
                 detail={"review_id": review.id, "reason": reason}, request_id=request_id)
    return review


async def review_in_scope(session: AsyncSession, actor: Actor, review_id: int) -> tuple[ResultReview, Registration]:
    ensure_role(actor, Role.BODY)
    review = await session.get(ResultReview, review_id)
    reg = await session.get(Registration, review.registration_id) if review else None
    if review is None or reg is None:
        raise NotFound("复核申请不存在")
    if reg.physician.institution.body_id != actor.body_id:
        raise PermissionDenied("无权处理其他考核机构辖区的复核申请")
    return review, reg


async def decide_review(session: AsyncSession, actor: Actor, review_id: int, *, change: bool, note: str, key: bytes,
                        request_id: str | None = None) -> tuple[ResultReview, list[Notice]]:
    review, reg = await review_in_scope(session, actor, review_id)
    if review.state != PENDING:
        raise IllegalTransition("该复核申请已处理")
    action = Action.REVIEW_CHANGE if change else Action.REVIEW_UPHOLD
    await apply_move(session, reg, action, actor, detail={"review_id": review.id, "note": note}, request_id=request_id)
    review.state = CHANGED if change else UPHELD
    review.note = note
    review.decided_at = utcnow()
    review.decided_by = actor.account_id
    review.version += 1
    pub = await published_result(session, reg)
    if change:
        if pub is not None:
            pub.result = PASS
        await issue_certificate(session, reg, key=key, actor_id=actor.account_id)
    text = f"您的复核申请已处理：{REVIEW_WORDS[review.state]}。{note}"
    await notify_physicians(session, [reg.physician_id], text)
    phones = await _phones(session, [reg.physician_id])
    notices = [Notice(phones[reg.physician_id], f"【定考通】{text}")] if reg.physician_id in phones else []
    return review, notices


async def list_reviews(session: AsyncSession, actor: Actor, *, state: str | None) -> list[tuple[ResultReview, Registration]]:
    ensure_role(actor, Role.BODY)
    stmt = (select(ResultReview, Registration).join(Registration, ResultReview.registration_id == Registration.id)
            .join(Physician, Registration.physician_id == Physician.id)
            .join(Institution, Physician.institution_id == Institution.id)
            .where(Institution.body_id == actor.body_id).order_by(ResultReview.id))
    if state:
        stmt = stmt.where(ResultReview.state == state)
    return [(r, g) for r, g in (await session.execute(stmt)).all()]
