"""Manual identity verification by the assessment body (rule 9's way out): the queue of physicians the
face check sent to the body, what the body looks at (the registration photo beside the failed captures),
and its decision (verified or refused), recorded with who decided and how."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.idcard import mask_id_number
from registry.models import Account, AssessmentBody, Institution, Physician, Registration, StoredFile
from registry.registrations import current_cycle
from registry.roles import Role
from registry.scope import Actor, can_see_physician, institution_clause
from registry.states import State

from .checks import KINDS, MAX_FAILURES, _kind, enrolment_of
from .models import IdentityCheck

# How the body checked the person; the words are what every page shows.
MANUAL_METHODS = {
    "in_person": "现场核对身份证件与本人",
    "video": "视频通话核对身份证件与本人",
    "photo_review": "比对报名照片与核验画面",
}
KIND_WORDS = {"humanities": "医学人文测评", "professional": "业务水平测评"}
DECISION_WORDS = {"passed": "核验通过", "refused": "核验不通过"}
REASON_LOCKED = f"人脸核验连续 {MAX_FAILURES} 次未通过"
REASON_UNENROLLED = "报名照片未能登记人脸信息"
STAFF = (Role.BODY, Role.ADMIN)
MANUAL_VALID = dt.timedelta(days=1)  # as checks.valid_pass: a manual pass opens a paper within a day


@dataclass
class QueueEntry:
    """One physician waiting for the body: for one paper (``kind``), or for whichever paper is next (None)."""

    physician: Physician
    kind: str | None
    reason: str
    since: dt.datetime | None
    photo_file_id: int | None
    failed: list[IdentityCheck] = field(default_factory=list)


def _ensure_staff(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise PermissionDenied("只有考核机构可以人工核验身份")


async def _photo_ids(session: AsyncSession, physician_ids: list[int]) -> dict[int, int]:
    """Each physician's newest registration photo (the enrolled face)."""
    if not physician_ids:
        return {}
    rows = (await session.execute(
        select(Registration.physician_id, func.max(StoredFile.id))
        .join(StoredFile, StoredFile.registration_id == Registration.id)
        .where(Registration.physician_id.in_(physician_ids), StoredFile.kind == "photo")
        .group_by(Registration.physician_id))).all()
    return {pid: fid for pid, fid in rows}


async def queue(session: AsyncSession, actor: Actor, *, now: dt.datetime) -> list[QueueEntry]:
    """Physicians of the actor's scope whose registration is approved (the tests are open to them) and
    who cannot pass the face check: locked after MAX_FAILURES failures with no manual decision since,
    or whose registration photo has no enrolled face. Oldest first."""
    _ensure_staff(actor)
    cycle = await current_cycle(session)
    physicians = (await session.scalars(
        select(Physician).join(Institution, Physician.institution_id == Institution.id)
        .join(Registration, Registration.physician_id == Physician.id)
        .where(institution_clause(actor), Registration.cycle_id == cycle.id, Registration.state == State.APPROVED)
        .order_by(Physician.id))).all()
    if not physicians:
        return []
    ids = [p.id for p in physicians]
    checks = (await session.scalars(select(IdentityCheck).where(
        IdentityCheck.physician_id.in_(ids), IdentityCheck.state.in_(("passed", "failed", "refused")))
        .order_by(IdentityCheck.id))).all()
    by_physician: dict[tuple[int, str], list[IdentityCheck]] = {}
    for c in checks:
        by_physician.setdefault((c.physician_id, c.kind), []).append(c)
    photos = await _photo_ids(session, ids)
    out: list[QueueEntry] = []
    for p in physicians:
        waiting = False
        for kind in KINDS:
            rows = by_physician.get((p.id, kind), [])
            # Failures since the last pass (live or manual) or manual refusal: the same count the check uses.
            tail: list[IdentityCheck] = []
            for c in rows:
                tail = [] if c.state == "passed" or c.state == "refused" else [*tail, c]
            if len(tail) >= MAX_FAILURES:
                out.append(QueueEntry(p, kind, REASON_LOCKED, tail[-1].decided_at, photos.get(p.id), tail[-MAX_FAILURES:]))
                waiting = True
        # No enrolled face: every paper needs the body, so the physician waits again once the last
        # manual pass has opened an attempt (and not after a refusal).
        manual = [c for c in checks if c.physician_id == p.id and c.manual_by is not None]
        settled = bool(manual) and (manual[-1].state == "refused" or (
            manual[-1].used_by_attempt_id is None and (manual[-1].decided_at or now) >= now - MANUAL_VALID))
        if not waiting and not settled and await enrolment_of(session, p.id) is None:
            out.append(QueueEntry(p, None, REASON_UNENROLLED, None, photos.get(p.id)))
    out.sort(key=lambda e: (e.since or dt.datetime.min, e.physician.id))
    return out


async def decisions(session: AsyncSession, actor: Actor, *, limit: int = 50) -> list[tuple[IdentityCheck, Physician, str]]:
    """The latest manual decisions in the actor's scope, with the deciding staff member's name."""
    _ensure_staff(actor)
    rows = (await session.execute(
        select(IdentityCheck, Physician, Account.display_name)
        .join(Physician, IdentityCheck.physician_id == Physician.id)
        .join(Institution, Physician.institution_id == Institution.id)
        .join(Account, IdentityCheck.manual_by == Account.id)
        .where(IdentityCheck.manual_by.is_not(None), institution_clause(actor))
        .order_by(IdentityCheck.id.desc()).limit(limit))).all()
    return [(c, p, name) for c, p, name in rows]


async def decide(session: AsyncSession, actor: Actor, physician_id: int, kind: str, *, verified: bool, method: str,
                 note: str, now: dt.datetime, request_id: str | None = None) -> IdentityCheck:
    """人工核验: the body overseeing the physician verifies (the paper may start, consent not needed) or
    refuses (the physician stays locked out and is told why). Recorded with who did it and how."""
    _ensure_staff(actor)
    physician = await session.get(Physician, physician_id)
    if physician is None or not can_see_physician(actor, physician):
        raise NotFound("医师不存在")
    if method not in MANUAL_METHODS:
        raise InvalidInput("请选择核验方式", fields={"method": "请选择核验方式"})
    check = IdentityCheck(physician_id=physician_id, kind=_kind(kind), steps=[], state="passed" if verified else "refused",
                          created_at=now, decided_at=now, manual_by=actor.account_id, note=note, method=method)
    session.add(check)
    await session.flush()
    audit.record(session, actor_id=actor.account_id, action="identity_check.manual", entity="identity_check",
                 entity_id=check.id, detail={"physician_id": physician_id, "kind": kind, "note": note,
                                             "method": method, "verified": verified}, request_id=request_id)
    return check


async def capture_key(session: AsyncSession, actor: Actor, check_id: int, index: int) -> str:
    """The storage key of a failed check's capture, for staff who oversee the physician."""
    _ensure_staff(actor)
    check = await session.get(IdentityCheck, check_id)
    physician = await session.get(Physician, check.physician_id) if check else None
    if check is None or physician is None or not can_see_physician(actor, physician):
        raise NotFound("核验画面不存在")
    captures = check.captures or []
    if not 0 <= index < len(captures):
        raise NotFound("核验画面不存在")
    return str(captures[index])


@dataclass(frozen=True)
class PhysicianView:
    """What the physician's check page says about the manual route: whom to contact, and the body's
    latest refusal if it came after the last failure."""

    body_name: str | None
    contact: str | None
    refused_note: str | None
    refused_at: dt.datetime | None


async def physician_view(session: AsyncSession, physician_id: int, kind: str) -> PhysicianView:
    physician = await session.get(Physician, physician_id)
    body = await session.get(AssessmentBody, physician.institution.body_id) if physician else None
    last = await session.scalar(select(IdentityCheck).where(
        IdentityCheck.physician_id == physician_id, IdentityCheck.kind == kind,
        IdentityCheck.state.in_(("passed", "failed", "refused"))).order_by(IdentityCheck.id.desc()).limit(1))
    refused = last if last is not None and last.state == "refused" else None
    return PhysicianView(body.name if body else None, body.contact if body else None,
                         refused.note if refused else None, refused.decided_at if refused else None)


def masked(physician: Physician) -> str:
    return mask_id_number(physician.id_number)
