"""Attempts in the database: what a physician may take, starting, submitting, scoring, extra time,
and the assessment result that follows (rules 8 and 10). Plain async functions on a session;
the decisions themselves come from :mod:`.rules`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Protocol, Sequence, TypeVar

from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from question_bank import score_paper
from question_bank.drawing import DrawnPaper
from registry import audit
from registry.errors import ConcurrentUpdate, IllegalTransition, InvalidInput, NotFound, PermissionDenied
from registry.exemptions import ExemptionState, exemption_of
from registry.messages import notify_physicians
from registry.models import Institution, Physician, Registration
from registry.registrations import apply_move, current_cycle, registration_of
from registry.roles import Role
from registry.scope import Actor, can_see_physician, institution_clause
from registry.states import STATE_WORDS, Action, State

from ..banks.models import Paper
from . import invigilators, papers, predraw, rules
from .answers import TakenOver
from .lifecycle import SUBMIT_WORDS, AttemptAction, AttemptState, SubmitReason, next_attempt_state
from .models import Answer, Attempt, ExamSchedule

class _ScheduleLike(Protocol):
    kind: str
    body_id: int | None


S = TypeVar("S", bound=_ScheduleLike)

# Whether the body has published a registration's result. Results own the publication and sit above the
# exam (they read attempts), so the exam asks through this port; app.py wires results' answer to it.
ResultPublished = Callable[[AsyncSession, int], Awaitable[bool]]

SYSTEM = Actor(account_id=None, role=Role.ADMIN)  # type: ignore[arg-type]  # automatic moves
MAX_EXTRA_MINUTES = 240


class StartRefused(IllegalTransition):
    """The paper cannot be started now; ``lock`` says why (its words are the message)."""

    def __init__(self, lock: rules.Lock, attempt_id: int | None = None) -> None:
        super().__init__(lock.words)
        self.lock = lock
        self.attempt_id = attempt_id


def window_of(s: ExamSchedule) -> rules.Window:
    return rules.Window(s.window_start, s.window_end, s.time_limit_minutes, s.attempts_allowed, s.pass_mark)


def _fact(a: Attempt) -> rules.AttemptFact:
    return rules.AttemptFact(a.state, a.score, a.passed)


@dataclass(slots=True)
class Situation:
    """Everything the rules need about one physician's registration, loaded once.

    ``attempts`` holds every attempt of each paper in the cycle, under whichever schedule it was sat
    (attempts used, limits and results are per physician, cycle and paper, never per schedule);
    ``schedules`` the schedule that applies to each paper now (:func:`rules.applicable`), for the
    window and attempt limit shown; ``by_id`` every schedule an attempt or the physician refers to."""

    registration: Registration
    candidate: rules.Candidate
    schedules: dict[str, ExamSchedule]
    attempts: dict[str, list[Attempt]]
    by_id: dict[int, ExamSchedule] = field(default_factory=dict)

    def situations(self) -> list[rules.PaperSituation]:
        return [rules.PaperSituation(kind, window_of(self.schedules[kind]) if kind in self.schedules else None,
                                     tuple(_fact(a) for a in self.attempts.get(kind, [])))
                for kind in rules.required_papers(self.candidate.procedure)]

    def statuses(self, now: dt.datetime) -> list[rules.PaperStatus]:
        return rules.paper_statuses(self.candidate, self.situations(), now=now)

    def in_progress(self) -> Attempt | None:
        return next((a for k in self.attempts for a in self.attempts[k] if a.state == AttemptState.IN_PROGRESS), None)


async def schedules_for(session: AsyncSession, cycle_id: int, physician: Physician) -> list[ExamSchedule]:
    """Every schedule of the cycle that reaches this physician: the admin's and their body's."""
    return list((await session.scalars(select(ExamSchedule).where(
        ExamSchedule.cycle_id == cycle_id,
        (ExamSchedule.body_id == physician.institution.body_id) | ExamSchedule.body_id.is_(None),
        (ExamSchedule.kind == rules.HUMANITIES) | (ExamSchedule.practice_category == physician.practice_category),
    ).order_by(ExamSchedule.id))).all())


def pick_schedules(rows: Iterable[S], now: dt.datetime, window: Callable[[S], rules.Window]) -> dict[str, S]:
    """Of the schedules that reach a physician, the one of each paper that applies at ``now``."""
    by_kind: dict[str, list[S]] = {}
    for s in rows:
        by_kind.setdefault(s.kind, []).append(s)
    out: dict[str, S] = {}
    for kind, group in by_kind.items():
        i = rules.applicable([window(s) for s in group], now)
        if i is not None:
            out[kind] = group[i]
    return out


async def situation_of(session: AsyncSession, registration: Registration, *, now: dt.datetime) -> Situation:
    physician = registration.physician
    exemption = await exemption_of(session, registration.id)
    candidate = rules.Candidate(registration.state, registration.procedure,
                                exemption is not None and exemption.state == ExemptionState.GRANTED,
                                registration.work_rating, registration.ethics_rating)
    reaching = await schedules_for(session, registration.cycle_id, physician)
    by_id = {s.id: s for s in reaching}
    rows = (await session.execute(select(Attempt, ExamSchedule).join(ExamSchedule, Attempt.schedule_id == ExamSchedule.id)
                                  .where(Attempt.registration_id == registration.id).order_by(Attempt.id))).all()
    attempts: dict[str, list[Attempt]] = {}
    for a, s in rows:
        by_id.setdefault(s.id, s)
        attempts.setdefault(s.kind, []).append(a)
    return Situation(registration, candidate, pick_schedules(reaching, now, window_of), attempts, by_id)


async def own_registration(session: AsyncSession, actor: Actor) -> Registration:
    if actor.role is not Role.PHYSICIAN or actor.physician_id is None:
        raise PermissionDenied("只有医师本人可以参加考试")
    cycle = await current_cycle(session)
    reg = await registration_of(session, actor.physician_id, cycle.id)
    if reg is None:
        raise StartRefused(rules.Lock.NOT_APPROVED)
    return reg


def status_json(status: rules.PaperStatus, schedule: ExamSchedule | None, attempts: Sequence[Attempt]) -> dict[str, Any]:
    current = next((a for a in attempts if a.state == AttemptState.IN_PROGRESS), None)
    return {
        "kind": status.kind,
        "name": status.name,
        "title": schedule.title if schedule else status.name,
        "outcome": status.outcome.value,
        "outcome_words": rules.OUTCOME_WORDS[status.outcome],
        "window_start": schedule.window_start if schedule else None,
        "window_end": schedule.window_end if schedule else None,
        "time_limit_minutes": schedule.time_limit_minutes if schedule else None,
        "pass_mark": schedule.pass_mark if schedule else None,
        "attempts_allowed": status.attempts_allowed,
        "attempts_used": status.attempts_used,
        "attempts_left": status.attempts_left,
        "best_score": status.best_score,
        "can_start": status.lock is None and not status.in_progress,
        "attempt_in_progress": current.id if current else None,
        "locked": status.lock.value if status.lock else None,
        "locked_words": status.lock.words if status.lock else None,
        "attempts": [{"id": a.id, "attempt_no": a.attempt_no, "state": a.state, "score": a.score, "passed": a.passed,
                      "started_at": a.started_at, "submitted_at": a.submitted_at,
                      "submit_words": SUBMIT_WORDS[SubmitReason(a.submit_reason)] if a.submit_reason else None}
                     for a in attempts],
    }


async def my_exams(session: AsyncSession, actor: Actor, *, now: dt.datetime,
                   is_published: ResultPublished) -> dict[str, Any]:
    """我的考试: each required paper with its window, attempts and, when locked, why in words."""
    reg = await own_registration(session, actor)
    sit = await situation_of(session, reg, now=now)
    # A GET never writes: results are decided where the state changes (submission, sweep, window close).
    result = reg.state if reg.state in (State.PASSED, State.FAILED) else None
    statuses = sit.statuses(now)
    state = State(reg.state)
    # The assessment's result is the physician's to read once the body has published it.
    published = result is not None and await is_published(session, reg.id)
    return {
        "registration_state": state.value,
        "registration_words": STATE_WORDS[state] if result is None or published else "待公布",
        "procedure": reg.procedure,
        "result": result if published else None,
        "decided": result is not None,
        "papers": [status_json(s, sit.schedules.get(s.kind), sit.attempts.get(s.kind, [])) for s in statuses],
    }


def _deadline(schedule: ExamSchedule, started_at: dt.datetime, extra: int) -> dt.datetime:
    return rules.deadline(started_at, schedule.time_limit_minutes, extra, schedule.window_end)


async def start_attempt(session: AsyncSession, actor: Actor, kind: str, *, device_id: str, now: dt.datetime,
                        cache: papers.PaperCache, request_id: str | None = None) -> Attempt:
    """Start ``kind`` if the rules allow it. The unique indexes make this atomic: of concurrent
    starts by one physician exactly one inserts, the others are refused."""
    if kind not in (rules.HUMANITIES, rules.PROFESSIONAL):
        raise InvalidInput("试卷类型的取值无效", fields={"kind": "试卷类型的取值无效"})
    reg = await own_registration(session, actor)
    sit = await situation_of(session, reg, now=now)
    refusal = rules.start_refusal(sit.candidate, sit.situations(), kind, now=now)
    if refusal is not None:
        current = sit.in_progress()
        raise StartRefused(refusal, current.id if current else None)
    schedule = sit.schedules[kind]
    # Hold the schedule while starting: a window edit waits for this start, then moves its deadline too.
    await session.refresh(schedule, with_for_update={"read": True})
    if not rules.open_at(window_of(schedule), now):
        raise StartRefused(rules.Lock.NOT_OPEN if now < schedule.window_start else rules.Lock.CLOSED)
    paper = await session.get(Paper, schedule.paper_id)
    if paper is None:  # pragma: no cover - schedules reference existing papers
        raise NotFound("试卷不存在")
    earlier = [a.paper for k in sit.attempts for a in sit.attempts[k]]
    claimed: predraw.Claimed | None = None
    drawn: DrawnPaper | None = None
    if not sit.attempts.get(kind):  # a first sitting: the paper drawn ahead, when its basis is still the schedule's
        basis = papers.draw_basis(cache, await cache.pool(session, paper), paper.blueprint,
                                  time_limit_minutes=schedule.time_limit_minutes, pass_mark=schedule.pass_mark)
        claimed = await predraw.claim(session, schedule_id=schedule.id, registration_id=reg.id, basis=basis, now=now,
                                      seen=papers.seen_fingerprints(earlier))
    if claimed is not None:
        record, count = claimed.paper, claimed.question_count
    else:
        blueprint = papers.blueprint_for(paper, time_limit_minutes=schedule.time_limit_minutes,
                                         pass_mark=schedule.pass_mark)
        record, drawn = await papers.draw(session, cache, paper, blueprint, seed=secrets.token_hex(16),
                                          seen=papers.seen_fingerprints(earlier))
        count = len(drawn.items)
    attempt = Attempt(schedule_id=schedule.id, registration_id=reg.id, physician_id=reg.physician_id,
                      attempt_no=len(sit.attempts.get(kind, [])) + 1, state=AttemptState.IN_PROGRESS,
                      started_at=now, deadline=_deadline(schedule, now, 0), extra_minutes=0, device_id=device_id,
                      paper=record, question_count=count, version=1)
    session.add(attempt)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent start won the unique index; this transaction rolls back whole
        raise StartRefused(rules.Lock.OTHER_IN_PROGRESS) from None
    if claimed is not None:
        await predraw.claimed_by(session, claimed.id, attempt.id)
    elif drawn is not None:
        kept = drawn
        # Cached only once committed: a rolled-back id can be handed out again (SQLite reuses rowids).
        event.listen(session.sync_session, "after_commit", lambda _s: cache.remember(attempt.id, kept), once=True)
    audit.record(session, actor_id=actor.account_id, action="attempt.start", entity="attempt", entity_id=attempt.id,
                 detail={"schedule_id": schedule.id, "attempt_no": attempt.attempt_no, "deadline": attempt.deadline.isoformat()},
                 request_id=request_id)
    return attempt


async def attempt_in_scope(session: AsyncSession, actor: Actor, attempt_id: int) -> Attempt:
    """The physician's own attempt, or one a member of staff oversees; anything else reads as missing."""
    attempt = await session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound("考试记录不存在")
    if actor.role is Role.PHYSICIAN:
        if attempt.physician_id != actor.physician_id:
            raise NotFound("考试记录不存在")
        return attempt
    if actor.role is Role.INVIGILATOR:
        # An invigilator oversees only the candidates assigned to it.
        if not await invigilators.invigilates(session, actor, attempt):
            raise NotFound("考试记录不存在")
        return attempt
    physician = await session.get(Physician, attempt.physician_id)
    if physician is None or not can_see_physician(actor, physician):
        raise NotFound("考试记录不存在")
    return attempt


async def clock_of(conn: AsyncConnection, physician_id: int, attempt_id: int) -> Row[Any]:
    """The physician's own attempt's deadline, state and device (the page's heartbeat), nothing else."""
    row = (await conn.execute(select(Attempt.physician_id, Attempt.deadline, Attempt.state, Attempt.device_id)
                              .where(Attempt.id == attempt_id))).first()
    if row is None or row.physician_id != physician_id:
        raise NotFound("考试记录不存在")
    return row


async def answers_of(session: AsyncSession, attempt_id: int) -> dict[int, Answer]:
    rows = (await session.scalars(select(Answer).where(Answer.attempt_id == attempt_id))).all()
    return {a.item_number: a for a in rows}


async def attempt_view(sessionmaker: async_sessionmaker[AsyncSession], actor: Actor, attempt_id: int,
                       cache: papers.PaperCache, *, now: dt.datetime, device_id: str | None) -> dict[str, Any]:
    """The attempt page's data: for its physician the paper without keys, saved answers and the
    server's clock; for staff the attempt alone. The connection goes back to the pool before the
    paper is rebuilt and shaped (CPU): a crowd opening its papers at once held every connection
    through that work, and the requests behind them waited for one until they got 503."""
    async with sessionmaker() as session:
        attempt = await attempt_in_scope(session, actor, attempt_id)
        schedule = await session.get(ExamSchedule, attempt.schedule_id)
        assert schedule is not None
        if actor.role is not Role.PHYSICIAN:
            return {"attempt": attempt_json(attempt, schedule, now=now)}
        body: dict[str, Any] = {"attempt": attempt_json(attempt, schedule, now=now, device_id=device_id)}
        if attempt.state != AttemptState.IN_PROGRESS:
            return body
        record = attempt.paper
        body["answers"] = {str(n): {"choice": a.choice, "flagged": a.flagged, "seq": a.seq}
                           for n, a in (await answers_of(session, attempt.id)).items()}

    async def fetch(keys: set[str]) -> Sequence[tuple[str, dict[str, Any]]]:
        async with sessionmaker() as session:
            return await papers.fetch_snapshots(session, keys)

    paper = await papers.rebuild_with(fetch, cache, attempt_id, record)
    body["paper"] = papers.candidate_view(paper)
    return body


def attempt_json(attempt: Attempt, schedule: ExamSchedule, *, now: dt.datetime, device_id: str | None = None) -> dict[str, Any]:
    reason = SubmitReason(attempt.submit_reason) if attempt.submit_reason else None
    return {
        "id": attempt.id, "kind": schedule.kind, "title": schedule.title, "attempt_no": attempt.attempt_no,
        "state": attempt.state, "started_at": attempt.started_at, "deadline": attempt.deadline,
        "extra_minutes": attempt.extra_minutes, "now": now, "question_count": attempt.question_count,
        "remaining_seconds": max(0.0, (attempt.deadline - now).total_seconds()),
        "device_current": device_id is None or device_id == attempt.device_id,
        "submitted_at": attempt.submitted_at, "submit_reason": attempt.submit_reason,
        "submit_words": SUBMIT_WORDS[reason] if reason else None,
        "score": attempt.score, "max_score": attempt.max_score, "passed": attempt.passed,
        "pass_mark": schedule.pass_mark,
    }


async def claim(session: AsyncSession, actor: Actor, attempt_id: int, device_id: str, *,
                request_id: str | None = None) -> tuple[Attempt, bool]:
    """This device becomes the one that answers; returns (attempt, whether another device lost it)."""
    attempt = await attempt_in_scope(session, actor, attempt_id)
    if actor.role is not Role.PHYSICIAN:
        raise PermissionDenied("只有考生本人可以作答")
    if attempt.state != AttemptState.IN_PROGRESS or attempt.device_id == device_id:
        return attempt, False
    previous = attempt.device_id
    result = await session.execute(update(Attempt).where(Attempt.id == attempt.id, Attempt.version == attempt.version)
                                   .values(device_id=device_id, version=Attempt.version + 1)
                                   .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ConcurrentUpdate()
    attempt.device_id, attempt.version = device_id, attempt.version + 1
    audit.record(session, actor_id=actor.account_id, action="attempt.takeover", entity="attempt", entity_id=attempt.id,
                 detail={"from_device": previous[:12], "to_device": device_id[:12]}, request_id=request_id)
    return attempt, True


async def submit(session: AsyncSession, attempt: Attempt, reason: SubmitReason, *, now: dt.datetime,
                 cache: papers.PaperCache, by: int | None = None, note: str | None = None,
                 request_id: str | None = None) -> bool:
    """Submit then score; False when another request or process submitted it first."""
    target = next_attempt_state(AttemptState(attempt.state), AttemptAction.SUBMIT)
    result = await session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS)
        .values(state=target, submitted_at=now, submit_reason=reason, submitted_by=by, submit_note=note,
                version=Attempt.version + 1).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    attempt.state, attempt.submitted_at, attempt.submit_reason = target, now, reason
    attempt.submitted_by, attempt.submit_note, attempt.version = by, note, attempt.version + 1
    audit.record(session, actor_id=by, action="attempt.submit", entity="attempt", entity_id=attempt.id,
                 detail={"reason": reason.value, **({"note": note} if note else {})}, request_id=request_id)
    await _score(session, attempt, cache, now=now)
    return True


async def submit_own(session: AsyncSession, attempt_id: int, physician_id: int, device_id: str, *, now: dt.datetime,
                     grace_seconds: float, cache: papers.PaperCache, by: int | None = None,
                     request_id: str | None = None) -> Attempt:
    """The physician presses 交卷. Past the deadline and its grace the clock ended it, whoever presses;
    a paper the server already submitted (the sweeper, staff, a proctoring rule) answers with its result."""
    attempt = await session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None or attempt.physician_id != physician_id:
        raise NotFound("考试记录不存在")
    if attempt.state != AttemptState.IN_PROGRESS:
        return attempt
    if attempt.device_id != device_id:
        raise TakenOver("本场考试已在另一台设备上继续，请在该设备上交卷")
    if overdue(attempt.deadline, now, grace_seconds):
        await submit(session, attempt, SubmitReason.TIME_UP, now=now, cache=cache, request_id=request_id)
    else:
        await submit(session, attempt, SubmitReason.PHYSICIAN, now=now, cache=cache, by=by, request_id=request_id)
    return attempt


async def _score(session: AsyncSession, attempt: Attempt, cache: papers.PaperCache, *, now: dt.datetime) -> None:
    target = next_attempt_state(AttemptState(attempt.state), AttemptAction.SCORE)
    paper = await papers.rebuild(session, cache, attempt.id, attempt.paper)
    answers = {n: tuple(a.choice) for n, a in (await answers_of(session, attempt.id)).items() if a.choice}
    report = score_paper(paper, answers)
    attempt.state, attempt.score, attempt.max_score = target, report.total, report.max_total
    attempt.passed, attempt.scored_at = report.passed, now
    await session.flush()
    cache.forget(attempt.id)
    audit.record(session, actor_id=None, action="attempt.score", entity="attempt", entity_id=attempt.id,
                 detail={"score": report.total, "max": report.max_total, "passed": report.passed,
                         "answered": report.answered})
    reg = await session.get(Registration, attempt.registration_id)
    assert reg is not None
    await decide_result(session, await situation_of(session, reg, now=now), now=now)


async def decide_result(session: AsyncSession, sit: Situation, *, now: dt.datetime) -> str | None:
    """Record PASSED / FAILED through the state machine once rule 10 decides it."""
    reg = sit.registration
    if reg.state != State.APPROVED:
        return reg.state if reg.state in (State.PASSED, State.FAILED) else None
    result = rules.assessment_result(sit.candidate, sit.statuses(now))
    if result is None:
        return None
    action = Action.PASS if result == "PASSED" else Action.FAIL
    try:
        async with session.begin_nested():
            await apply_move(session, reg, action, SYSTEM, detail={"by": "exam_engine", "papers": {
                s.kind: s.outcome.value for s in sit.statuses(now)}})
    except ConcurrentUpdate:
        await session.refresh(reg)
        return reg.state if reg.state in (State.PASSED, State.FAILED) else None
    statuses = sit.statuses(now)
    never_sat = [s.name for s in statuses if s.outcome is rules.Outcome.FAILED and s.attempts_used == 0]
    if never_sat:
        message = f"您未在考试开放时间内参加{'、'.join(never_sat)}，本周期考核结果待考核机构公布"
    else:
        message = "您已完成本周期考核的全部测评，考核结果待考核机构公布"
    await notify_physicians(session, [reg.physician_id], message)
    return result


async def grant_extra_time(session: AsyncSession, actor: Actor, attempt_id: int, minutes: int, reason: str, *,
                           now: dt.datetime, request_id: str | None = None) -> Attempt:
    """Extra time is an accommodation: deadline = min(start + limit, window end) + extra, so it may run
    past the window's end, and a grant never makes a deadline earlier. The one implementation the
    schedule pages and the invigilators' dashboard both call (``POST /api/v1/attempts/{id}/extra-time``)."""
    if actor.role not in (Role.BODY, Role.ADMIN, Role.INVIGILATOR):
        raise PermissionDenied("当前角色无权延长考试时间")
    attempt = await attempt_in_scope(session, actor, attempt_id)
    if attempt.state != AttemptState.IN_PROGRESS or attempt.deadline <= now:
        raise IllegalTransition("该考试已结束，不能延长时间")
    total = attempt.extra_minutes + minutes
    if total > MAX_EXTRA_MINUTES:
        msg = f"累计延长时间不能超过 {MAX_EXTRA_MINUTES} 分钟"
        raise InvalidInput(msg, fields={"minutes": msg})
    schedule = await session.get(ExamSchedule, attempt.schedule_id)
    assert schedule is not None
    new_deadline = max(attempt.deadline, _deadline(schedule, attempt.started_at, total))
    result = await session.execute(
        update(Attempt).where(Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS,
                              Attempt.version == attempt.version)
        .values(extra_minutes=total, deadline=new_deadline, version=Attempt.version + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ConcurrentUpdate()
    before = attempt.deadline
    attempt.extra_minutes, attempt.deadline, attempt.version = total, new_deadline, attempt.version + 1
    audit.record(session, actor_id=actor.account_id, action="attempt.extra_time", entity="attempt", entity_id=attempt.id,
                 detail={"minutes": minutes, "reason": reason, "deadline_before": before.isoformat(),
                         "deadline_after": new_deadline.isoformat()}, request_id=request_id)
    return attempt


async def follow_window(session: AsyncSession, schedule: ExamSchedule, *, actor_id: int | None,
                        request_id: str | None = None) -> list[Attempt]:
    """After a window edit, every attempt in progress under it gets the deadline the rule gives
    (shortening moves it earlier, lengthening never past start + limit + extra); returns those moved."""
    moved = []
    for attempt in (await session.scalars(select(Attempt).where(
            Attempt.schedule_id == schedule.id, Attempt.state == AttemptState.IN_PROGRESS)
            .order_by(Attempt.id).with_for_update())).all():
        after = _deadline(schedule, attempt.started_at, attempt.extra_minutes)
        if after == attempt.deadline:
            continue
        before = attempt.deadline
        attempt.deadline, attempt.version = after, attempt.version + 1
        audit.record(session, actor_id=actor_id, action="attempt.deadline", entity="attempt", entity_id=attempt.id,
                     detail={"why": "schedule.window", "deadline_before": before.isoformat(),
                             "deadline_after": after.isoformat()}, request_id=request_id)
        moved.append(attempt)
    await session.flush()
    return moved


async def end_by_staff(session: AsyncSession, actor: Actor, attempt_id: int, reason: str, *, now: dt.datetime,
                       cache: papers.PaperCache, request_id: str | None = None) -> Attempt:
    if actor.role not in (Role.BODY, Role.ADMIN, Role.INVIGILATOR):
        raise PermissionDenied("当前角色无权结束考试")
    attempt = await attempt_in_scope(session, actor, attempt_id)
    if attempt.state != AttemptState.IN_PROGRESS:
        raise IllegalTransition("该考试已交卷")
    why = SubmitReason.INVIGILATOR if actor.role is Role.INVIGILATOR else SubmitReason.BODY
    if not await submit(session, attempt, why, now=now, cache=cache, by=actor.account_id, note=reason,
                        request_id=request_id):
        raise IllegalTransition("该考试已交卷")
    return attempt


def overdue(deadline: dt.datetime, now: dt.datetime, grace_seconds: float) -> bool:
    """Past the deadline and its grace: no answer is taken any more and the attempt is submitted."""
    return now > deadline + dt.timedelta(seconds=grace_seconds)


async def end_by_rule(session: AsyncSession, attempt: Attempt, note: str, *, now: dt.datetime,
                      cache: papers.PaperCache) -> bool:
    """A schedule's proctoring rule ends the attempt (rule 9): the frame service and the browser
    events call this, as staff call :func:`end_by_staff`; both end in :func:`submit`."""
    return await submit(session, attempt, SubmitReason.PROCTORING, now=now, cache=cache, note=note)


async def overdue_attempt_ids(session: AsyncSession, *, now: dt.datetime, grace_seconds: float = 0,
                              limit: int = 200) -> list[int]:
    cutoff = now - dt.timedelta(seconds=grace_seconds)
    return list((await session.scalars(select(Attempt.id).where(
        Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline < cutoff).order_by(Attempt.deadline)
        .limit(limit))).all())


async def time_up(session: AsyncSession, attempt: Attempt, *, now: dt.datetime, cache: papers.PaperCache,
                  grace_seconds: float) -> bool:
    """Submit an attempt whose deadline and grace have passed (the sweeper); False when it is not
    overdue any more (its window was lengthened or time granted) or was submitted meanwhile."""
    if attempt.state != AttemptState.IN_PROGRESS or not overdue(attempt.deadline, now, grace_seconds):
        return False
    return await submit(session, attempt, SubmitReason.TIME_UP, now=now, cache=cache)


async def close_window(session: AsyncSession, schedule: ExamSchedule, *, now: dt.datetime) -> int:
    """Decide, once, every physician who needed this paper and never passed it (rule 8)."""
    result = await session.execute(update(ExamSchedule).where(ExamSchedule.id == schedule.id,
                                                              ExamSchedule.closed_at.is_(None))
                                   .values(closed_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return 0
    where = [Registration.cycle_id == schedule.cycle_id, Registration.state == State.APPROVED]
    stmt = select(Registration).join(Physician, Registration.physician_id == Physician.id)
    if schedule.body_id is not None:
        stmt = stmt.join(Institution, Physician.institution_id == Institution.id)
        where.append(Institution.body_id == schedule.body_id)
    if schedule.kind == rules.PROFESSIONAL:
        where.append(Physician.practice_category == schedule.practice_category)
    decided = 0
    for reg in (await session.scalars(stmt.where(*where))).all():
        if await decide_result(session, await situation_of(session, reg, now=now), now=now):
            decided += 1
    audit.record(session, actor_id=None, action="schedule.close", entity="exam_schedule", entity_id=schedule.id,
                 detail={"decided": decided})
    return decided


async def ended_open_schedules(session: AsyncSession, *, now: dt.datetime) -> list[ExamSchedule]:
    return list((await session.scalars(select(ExamSchedule).where(
        ExamSchedule.closed_at.is_(None), ExamSchedule.window_end <= now))).all())


async def in_progress_count(session: AsyncSession, schedule_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.schedule_id == schedule_id, Attempt.state == AttemptState.IN_PROGRESS)) or 0


async def attempts_of_schedule(session: AsyncSession, actor: Actor, schedule_id: int) -> list[tuple[Attempt, str, str]]:
    """A schedule's attempts of the physicians the actor oversees (an invigilator: its body's)."""
    stmt = (select(Attempt, Physician.name, Institution.name)
            .join(Physician, Attempt.physician_id == Physician.id)
            .join(Institution, Physician.institution_id == Institution.id)
            .where(Attempt.schedule_id == schedule_id))
    if actor.role is Role.INVIGILATOR:
        schedule = await session.get(ExamSchedule, schedule_id)
        followed = await invigilators.followed_physicians(session, actor, schedule) if schedule else set()
        stmt = stmt.where(Physician.id.in_(sorted(followed or ())))
    else:
        stmt = stmt.where(institution_clause(actor))
    return [(a, n, i) for a, n, i in (await session.execute(stmt.order_by(Attempt.id))).all()]
