"""The pre-exam identity check (rule 9): a server-picked liveness challenge judged across frames
against the enrolment, up to MAX_FAILURES tries, or a manual verification by the body."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from typing import Any, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import proctoring
from proctoring.challenge import (
    REJECT_MARGIN, Challenge, ChallengeVerdict, Failure, Pose, TaggedFrame, identity_aggregates, judge_challenge,
    own_mean_phases, phase_distance, pick_challenge, same_person_throughout,
)
from registry import audit
from registry.errors import IllegalTransition, NotFound, PermissionDenied
from registry.models import Physician, Registration, StoredFile
from registry.roles import Role
from registry.scope import Actor, can_see_physician

from ..infra.storage import FileStorage
from . import consent
from .models import IdentityCheck, LiveEnrolment
from ..infra.livestate import LiveState
from .rules import (  # the decisions; re-exported for the pages, the start and the frame worker
    CHECK_SECONDS, KINDS, MAX_FAILURES, MAX_FRAMES_PER_PHASE, PHASE_SECONDS, VALID_SECONDS, Progress, SubmittedFrame,
    decode_frames, expected_phase, failures_left, first_valid, is_locked, one_phase, paper_kind as _kind, phase_late,
    timed_out,
)


class ConsentRequired(IllegalTransition):
    pass


class CheckLocked(IllegalTransition):
    pass


async def enrolment_of(session: AsyncSession, physician_id: int) -> proctoring.Enrolment | None:
    """The live enrolment, else the registration photo's (the enrolled face)."""
    live = await session.get(LiveEnrolment, physician_id)
    data: dict[str, Any] | None = live.enrolment if live else None
    if data is None:
        meta = await session.scalar(select(StoredFile.meta).join(Registration, StoredFile.registration_id == Registration.id)
                                    .where(Registration.physician_id == physician_id, StoredFile.kind == "photo")
                                    .order_by(StoredFile.id.desc()).limit(1))
        data = (meta or {}).get("enrolment")
    if not data:
        return None
    try:
        enrolment = proctoring.Enrolment.from_dict(data)
    except proctoring.EnrolmentFormatError:
        return None
    return None if proctoring.is_stale(enrolment) else enrolment


async def failures_since_success(session: AsyncSession, physician_id: int, kind: str) -> int:
    last_ok = await session.scalar(select(func.max(IdentityCheck.id)).where(
        IdentityCheck.physician_id == physician_id, IdentityCheck.kind == kind, IdentityCheck.state == "passed"))
    return await session.scalar(select(func.count()).select_from(IdentityCheck).where(
        IdentityCheck.physician_id == physician_id, IdentityCheck.kind == kind, IdentityCheck.state == "failed",
        IdentityCheck.id > (last_ok or 0))) or 0


async def status(session: AsyncSession, physician_id: int, kind: str, *, now: dt.datetime) -> dict[str, Any]:
    """What the check page needs: consent, enrolment, failures left, a still valid pass."""
    has_consent = await consent.current_consent(session, physician_id) is not None
    failures = await failures_since_success(session, physician_id, _kind(kind))
    valid = await valid_pass(session, physician_id, kind, now=now)
    return {"consent": has_consent, "enrolled": await enrolment_of(session, physician_id) is not None,
            "failures": failures, "failures_left": failures_left(failures),
            "locked": is_locked(failures), "passed_check_id": valid.id if valid else None,
            "manual": bool(valid and valid.manual_by)}


async def start_check(session: AsyncSession, actor: Actor, kind: str, *, now: dt.datetime,
                      request_id: str | None = None) -> tuple[IdentityCheck, Challenge]:
    if actor.role is not Role.PHYSICIAN or actor.physician_id is None:
        raise PermissionDenied("只有医师本人可以进行身份核验")
    kind = _kind(kind)
    if await consent.current_consent(session, actor.physician_id) is None:
        raise ConsentRequired("请先阅读并同意《人脸信息采集授权》，或联系考核机构人工核验")
    if await enrolment_of(session, actor.physician_id) is None:
        raise IllegalTransition("您的报名照片尚未登记人脸信息，请联系考核机构人工核验身份")
    if is_locked(await failures_since_success(session, actor.physician_id, kind)):
        raise CheckLocked(f"身份核验已连续 {MAX_FAILURES} 次未通过，请联系考核机构人工核验身份")
    # An unanswered earlier challenge is abandoned (counts as nothing: it was never judged).
    await session.execute(update(IdentityCheck).where(
        IdentityCheck.physician_id == actor.physician_id, IdentityCheck.state == "open")
        .values(state="abandoned", decided_at=now))
    challenge = pick_challenge()
    check = IdentityCheck(physician_id=actor.physician_id, kind=kind, steps=challenge.to_list(), state="open",
                          created_at=now)
    session.add(check)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="identity_check.start", entity="identity_check",
                 entity_id=check.id, detail={"kind": kind, "steps": challenge.to_list()}, request_id=request_id)
    return check, challenge


async def open_check(session: AsyncSession, actor: Actor, check_id: int, *, now: dt.datetime) -> IdentityCheck:
    check = await session.get(IdentityCheck, check_id, with_for_update=True)
    if check is None or check.physician_id != actor.physician_id:
        raise NotFound("核验记录不存在")
    if check.state != "open":
        raise IllegalTransition("本次核验已结束，请重新开始")
    if timed_out(check.created_at, now):
        raise IllegalTransition("本次核验已超时，请重新开始")
    return check


# ---------------------------------------------------------------- the phases of an open check
# Between requests an open check keeps, in live state (Redis when configured), which phase is due and
# when its prompt was sent, and the frames of the phases already sent; all expire with the check.
_HELD_SECONDS = CHECK_SECONDS + 60


def _progress_key(check_id: int) -> str:
    return f"proctor:check:{check_id}:progress"


def _frames_key(check_id: int, phase: int) -> str:
    return f"proctor:check:{check_id}:frames:{phase}"


async def show_prompt(live: LiveState, check_id: int, phase: int, *, at: float) -> None:
    """Record that the prompt of ``phase`` is being sent now (``at``, the server's clock)."""
    await live.set(_progress_key(check_id), Progress(phase, at).to_json(), ttl=_HELD_SECONDS)


async def progress_of(live: LiveState, check_id: int) -> Progress | None:
    return Progress.from_json(await live.get(_progress_key(check_id)))


async def hold_frames(live: LiveState, check_id: int, frames: Sequence[SubmittedFrame]) -> None:
    images = [base64.b64encode(f.image).decode() for f in frames]
    await live.set(_frames_key(check_id, frames[0].phase), json.dumps(images), ttl=_HELD_SECONDS)


async def held_frames(live: LiveState, check_id: int, phases: int) -> list[SubmittedFrame]:
    """Every phase's frames, in order (a phase whose frames expired contributes none)."""
    out: list[SubmittedFrame] = []
    for phase in range(phases):
        text = await live.get(_frames_key(check_id, phase))
        out += [SubmittedFrame(phase, base64.b64decode(i)) for i in json.loads(text or "[]")]
    return out


async def forget_phases(live: LiveState, check_id: int, phases: int) -> None:
    await live.delete(_progress_key(check_id), *(_frames_key(check_id, p) for p in range(phases)))


async def judge(analyzer: proctoring.FrameAnalyzer, enrolment: proctoring.Enrolment, check_id: int,
                challenge: Challenge, frames: Sequence[SubmittedFrame]) -> tuple[ChallengeVerdict, dict[str, bytes]]:
    """Analyse the frames in order (one subject, so detection follows the face; identity is compared on
    every frame) through the analyser port. A frame that decides the check on its own (several faces,
    another person) ends it there: the rest would not change the verdict.

    The first (frontal) phase is judged against the enrolment as stored. Once it has passed, its best
    frame joins the references for the later phases (``proctoring.add_capture``, which itself refuses a
    capture beyond the tolerance): the turns are then compared with the registration photo and the face
    seen a few seconds earlier in the same light, by the enrolment's calibrated mean-of-references rule
    (``enrolment.identity_distance``), as an accepted capture is at the next check. Each phase is judged
    on a mean encoding (``identity_aggregates``: a turn on its own frames' against its references, the
    first phase on the whole check's against the registration photo); each frame still on itself
    against ``reject`` (the tolerance in a phase judged on its own mean)."""
    tolerance = proctoring.AnalysisSettings().tolerance
    reject = tolerance + REJECT_MARGIN
    tagged: list[TaggedFrame] = []
    images: dict[str, bytes] = {}
    best: float | None = None
    references = enrolment
    phase_references: dict[int, proctoring.Enrolment] = {}
    for i, frame in enumerate(frames):
        if frame.phase > 0 and references is enrolment:
            references = await _with_session_capture(enrolment, tagged, images, tolerance=tolerance, reject=reject)
        phase_references[frame.phase] = references
        frame_id = f"check{check_id}-{i}"
        images[frame_id] = frame.image
        result = await analyzer.analyze(proctoring.FrameJob(subject_id=f"check-{check_id}", frame_id=frame_id,
                                                            image=frame.image, enrolment=references, liveness=True,
                                                            verify_identity=True, captured_at=float(i)))
        a = result.analysis
        if a is None:
            return ChallengeVerdict(False, Failure.NO_FACE, best), images
        if a.distance is not None:
            best = a.distance if best is None else min(best, a.distance)
        if a.verdict == proctoring.Verdict.SEVERAL_FACES:
            return ChallengeVerdict(False, Failure.SEVERAL_FACES, best), images
        if a.distance is not None and a.distance > reject:
            return ChallengeVerdict(False, Failure.ANOTHER_PERSON, best), images
        tagged.append(TaggedFrame(frame.phase, a))
    session_capture = references is not enrolment
    aggregates = identity_aggregates(challenge.phases, tagged, registration=enrolment,
                                     phase_references=phase_references, session_capture=session_capture)
    return judge_challenge(challenge, tagged, tolerance=tolerance, reject=reject, phase_distances=aggregates,
                           capped_at_tolerance=own_mean_phases(challenge.phases, session_capture=session_capture)), images


async def _with_session_capture(enrolment: proctoring.Enrolment, tagged: Sequence[TaggedFrame],
                                images: dict[str, bytes], *, tolerance: float, reject: float) -> proctoring.Enrolment:
    """The enrolment plus the first phase's closest frame, when that phase is the enrolled person
    (``same_person_throughout`` on it alone); otherwise the enrolment unchanged."""
    first = [t for t in tagged if t.phase == 0 and t.analysis.distance is not None]
    aggregate = phase_distance(enrolment, [t.analysis for t in first])
    if not first or not same_person_throughout((Pose.FRONT,), first, tolerance=tolerance, reject=reject,
                                               phase_distances=None if aggregate is None else {0: aggregate}):
        return enrolment
    closest = min(first, key=lambda t: t.analysis.distance or 0.0)
    return await add_capture(enrolment, images[closest.analysis.frame_id], source="this-check") or enrolment


async def add_capture(enrolment: proctoring.Enrolment, image: bytes, *,
                      source: str = "pre-exam") -> proctoring.Enrolment | None:
    """The passing capture joins the enrolment (in a thread: detection plus a multi-view encoding take a few hundred ms)."""
    try:
        return await asyncio.to_thread(proctoring.add_capture, enrolment, image, source=source)
    except proctoring.EnrolmentRefused:
        return None


async def keep_captures(storage: FileStorage, frames: Sequence[SubmittedFrame]) -> list[str]:
    """A failed check's first frame of each phase, stored for the body's manual verification."""
    keys: list[str] = []
    seen: set[int] = set()
    for frame in frames:
        if frame.phase not in seen:
            seen.add(frame.phase)
            keys.append(await storage.put(frame.image, prefix="identity"))
    return keys


async def record_verdict(session: AsyncSession, check: IdentityCheck, verdict: ChallengeVerdict, *, now: dt.datetime,
                         enrolment: proctoring.Enrolment | None, captures: Sequence[str] = (),
                         request_id: str | None = None) -> None:
    check.state = "passed" if verdict.passed else "failed"
    if captures:
        check.captures = list(captures)
    check.failure = None if verdict.failure is None else str(verdict.failure)
    check.distance = verdict.best_distance
    check.decided_at = now
    if enrolment is not None:
        live = await session.get(LiveEnrolment, check.physician_id)
        if live is None:
            session.add(LiveEnrolment(physician_id=check.physician_id, enrolment=enrolment.to_dict(), updated_at=now))
        else:
            live.enrolment, live.updated_at = enrolment.to_dict(), now
    audit.record(session, actor_id=None, action="identity_check.decide", entity="identity_check", entity_id=check.id,
                 detail={"state": check.state, "failure": check.failure, "distance": check.distance,
                         "capture_added": enrolment is not None}, request_id=request_id)


async def valid_pass(session: AsyncSession, physician_id: int, kind: str, *, now: dt.datetime) -> IdentityCheck | None:
    """A passed, unused check for this paper: a live one from the last VALID_SECONDS, or a manual one
    from the last day (the body verified the person; the physician may need time to start)."""
    rows = (await session.scalars(select(IdentityCheck).where(
        IdentityCheck.physician_id == physician_id, IdentityCheck.kind == kind, IdentityCheck.state == "passed",
        IdentityCheck.used_by_attempt_id.is_(None),
        IdentityCheck.decided_at >= now - dt.timedelta(days=1)).order_by(IdentityCheck.id.desc()))).all()
    return first_valid(rows, now=now)


async def use_pass(session: AsyncSession, check_id: int, attempt_id: int) -> bool:
    """Tie the passed check to the attempt it opened (once)."""
    result = await session.execute(update(IdentityCheck).where(
        IdentityCheck.id == check_id, IdentityCheck.used_by_attempt_id.is_(None)).values(used_by_attempt_id=attempt_id))
    return result.rowcount == 1
