"""Papers drawn ahead: a synchronised opening's starts claim papers instead of drawing them.

A province's sitting opens with thousands of starts within seconds, and drawing a paper is most of
a start's CPU. So while a schedule's window is near (``DINGKAO_PREDRAW_AHEAD_MINUTES`` before it
opens, and while it is open) every process's background job draws, in small batches, the first
attempt's paper of each physician the schedule covers who has not sat that paper yet and whose
procedure requires it, writes its question snapshots, and stores the paper in
``exam_predrawn_papers``. The job runs when a schedule is created (woken by the handler) and every
``PREDRAW_INTERVAL`` seconds, which picks up physicians approved since (the roster grows); a
schedule found complete is not searched again until the approved roster or its basis changes.

A start whose rules pass claims its paper in its own transaction (``claimed_at IS NULL`` in the
UPDATE's condition: of concurrent starts one claims it) when the paper's ``basis``
(:func:`papers.draw_basis`: the pool's questions and enemies, the blueprint, time limit, pass mark)
is the schedule's current one and the paper holds none of the questions the physician saw in
earlier attempts (drawing then avoids those); any other start draws then, as before. Papers whose basis changed
(a bank edited, an enemy pair added) are never claimed and are deleted on the job's next pass.
Processes may draw the same physician at once; the unique key keeps one paper and drops the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from question_bank.drawing import draw_paper
from registry.db import utcnow
from registry.models import Institution, Physician, Registration
from registry.states import State

from ..banks.models import Paper
from . import papers, rules
from .models import Attempt, ExamSchedule, PredrawnPaper, QuestionSnapshot

log = logging.getLogger("dingkao.exam.predraw")
PREDRAW_INTERVAL = 30.0
FULL_PASS_EVERY = 600.0  # s: complete schedules searched again whatever the roster says
BATCH = 100  # papers per transaction; the loop yields between papers
FIRST_ATTEMPT = 1
SIMPLE = "simple"
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    paper: dict[str, Any]
    question_count: int


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def schedules_due(session: AsyncSession, *, now: dt.datetime, ahead: dt.timedelta) -> list[int]:
    """Schedules open now or opening within ``ahead``, not yet closed."""
    return list((await session.scalars(select(ExamSchedule.id).where(
        ExamSchedule.closed_at.is_(None), ExamSchedule.window_end > now, ExamSchedule.window_start <= now + ahead)
        .order_by(ExamSchedule.window_start, ExamSchedule.id))).all())


def _undrawn(schedule: ExamSchedule, limit: int) -> Any:
    """Approved registrations the schedule covers, with no attempt in the cycle and no paper drawn
    ahead yet; in random order, so processes filling at once rarely draw the same physician."""
    stmt = select(Registration.id).join(Physician, Registration.physician_id == Physician.id)
    sat = (select(Attempt.id).join(ExamSchedule, Attempt.schedule_id == ExamSchedule.id)
           .where(Attempt.registration_id == Registration.id, ExamSchedule.kind == schedule.kind))
    where = [Registration.cycle_id == schedule.cycle_id, Registration.state == State.APPROVED, ~sat.exists(),
             ~exists().where(PredrawnPaper.registration_id == Registration.id,
                             PredrawnPaper.schedule_id == schedule.id, PredrawnPaper.attempt_no == FIRST_ATTEMPT)]
    if schedule.body_id is not None:
        stmt = stmt.join(Institution, Physician.institution_id == Institution.id)
        where.append(Institution.body_id == schedule.body_id)
    if schedule.kind == rules.PROFESSIONAL:
        where.append(Physician.practice_category == schedule.practice_category)
    if schedule.kind not in rules.required_papers(SIMPLE):  # the simple procedure never sits it
        where.append(or_(Registration.procedure.is_(None), Registration.procedure != SIMPLE))
    return stmt.where(*where).order_by(func.random()).limit(limit)


async def roster_mark(session: AsyncSession) -> tuple[int, int]:
    """Which registrations are approved, in two numbers (how many, the sum of their ids): unchanged,
    no schedule has gained a physician to draw for. One index scan, where searching a schedule for
    its undrawn physicians (anti-joins over every registration and attempt) cost PostgreSQL ~0.2 s
    for 20,000 of them, every pass, in every process, while candidates were saving."""
    row = (await session.execute(select(func.count(), func.coalesce(func.sum(Registration.id), 0))
                                 .where(Registration.state == State.APPROVED))).one()
    return int(row[0]), int(row[1])


async def fill_schedule(sessionmaker: async_sessionmaker[AsyncSession], cache: papers.PaperCache, schedule_id: int,
                        *, clock: Clock = utcnow, batch: int = BATCH, roster: tuple[int, int] | None = None,
                        complete: dict[int, tuple[str, tuple[int, int]]] | None = None) -> int:
    """Draw ahead every missing paper of the schedule; returns how many this call stored. No
    connection is held while drawing. With ``complete`` (schedule -> the basis and ``roster`` it was
    last found complete for) a schedule with the same basis and roster is not searched again."""
    stored = 0
    first = True
    while True:
        async with sessionmaker() as session:
            schedule = await session.get(ExamSchedule, schedule_id)
            if schedule is None or schedule.closed_at is not None or schedule.window_end <= clock():
                return stored
            paper = await session.get(Paper, schedule.paper_id)
            if paper is None:  # pragma: no cover - schedules reference existing papers
                return stored
            pool = await cache.pool(session, paper)
            blueprint = papers.blueprint_for(paper, time_limit_minutes=schedule.time_limit_minutes,
                                             pass_mark=schedule.pass_mark)
            basis = papers.draw_basis(cache, pool, paper.blueprint, time_limit_minutes=schedule.time_limit_minutes,
                                      pass_mark=schedule.pass_mark)
            if first:  # papers drawn on another basis go first, so their physicians are drawn again below
                first = False
                if complete is not None and roster is not None and complete.get(schedule_id) == (basis, roster):
                    return stored
                await session.execute(_stale(schedule_id, keep_basis=basis))
                await session.commit()
            registrations = list((await session.scalars(_undrawn(schedule, batch))).all())
        if not registrations:
            if complete is not None and roster is not None:
                complete[schedule_id] = (basis, roster)
            return stored
        rows, snapshots = [], {}
        for registration_id in registrations:
            drawn = draw_paper(pool, blueprint, seed=secrets.token_hex(16), seen=())
            snaps = [cache.snapshot_of(it.question) for it in drawn.items]
            snapshots.update((k, p) for k, p in snaps if k not in cache.snapshots_known)
            record = drawn.to_record()
            record["snaps"] = [k for k, _ in snaps]
            rows.append({"schedule_id": schedule_id, "registration_id": registration_id, "attempt_no": FIRST_ATTEMPT,
                         "basis": basis, "paper": record, "question_count": len(drawn.items), "drawn_at": clock()})
            await asyncio.sleep(0)  # one paper at a time: the requests in between are served
        async with sessionmaker() as session, session.begin():
            insert = _insert(session)
            if snapshots:
                await session.execute(insert(QuestionSnapshot).values(
                    [{"fingerprint": k, "payload": snapshots[k]} for k in sorted(snapshots)]).on_conflict_do_nothing())
            result = await session.execute(insert(PredrawnPaper).values(rows).on_conflict_do_nothing())
        cache.snapshots_known.update(snapshots)
        stored += max(result.rowcount, 0)


async def invalidate(sessionmaker: async_sessionmaker[AsyncSession], schedule_id: int, *,
                     keep_basis: str | None = None) -> int:
    """Delete the schedule's unclaimed papers (all, or those not drawn on ``keep_basis``)."""
    async with sessionmaker() as session, session.begin():
        result = await session.execute(_stale(schedule_id, keep_basis=keep_basis))
    return max(result.rowcount, 0)


def _stale(schedule_id: int, *, keep_basis: str | None) -> Any:
    where = [PredrawnPaper.schedule_id == schedule_id, PredrawnPaper.claimed_at.is_(None)]
    if keep_basis is not None:
        where.append(PredrawnPaper.basis != keep_basis)
    return delete(PredrawnPaper).where(*where).execution_options(synchronize_session=False)


async def claim(session: AsyncSession, *, schedule_id: int, registration_id: int, basis: str, now: dt.datetime,
                seen: Sequence[str] = ()) -> Claimed | None:
    """Claim the registration's first-attempt paper drawn ahead on ``basis``, in the caller's
    transaction (which then inserts the attempt and calls :func:`claimed_by`). A paper holding a
    question the physician saw (``seen``: fingerprints of their earlier attempts) is left."""
    if seen and set(seen) & set(await _fingerprints(session, schedule_id, registration_id)):
        return None
    row = (await session.execute(
        update(PredrawnPaper).where(PredrawnPaper.schedule_id == schedule_id,
                                    PredrawnPaper.registration_id == registration_id,
                                    PredrawnPaper.attempt_no == FIRST_ATTEMPT, PredrawnPaper.basis == basis,
                                    PredrawnPaper.claimed_at.is_(None))
        .values(claimed_at=now).returning(PredrawnPaper.id, PredrawnPaper.paper, PredrawnPaper.question_count)
        .execution_options(synchronize_session=False))).first()
    return Claimed(row.id, row.paper, row.question_count) if row is not None else None


async def _fingerprints(session: AsyncSession, schedule_id: int, registration_id: int) -> list[str]:
    paper = await session.scalar(select(PredrawnPaper.paper).where(
        PredrawnPaper.schedule_id == schedule_id, PredrawnPaper.registration_id == registration_id,
        PredrawnPaper.attempt_no == FIRST_ATTEMPT))
    return [it["fp"] for it in paper["items"]] if paper else []


def unseen(paper_fps: Sequence[str] | None, seen: Sequence[str]) -> bool:
    """Whether a paper drawn ahead holds none of the questions the physician saw: then it is one
    that drawing now (which avoids those) could have given."""
    return not seen or not set(paper_fps or ()) & set(seen)


async def claimed_by(session: AsyncSession, predrawn_id: int, attempt_id: int) -> None:
    await session.execute(update(PredrawnPaper).where(PredrawnPaper.id == predrawn_id)
                          .values(claimed_by_attempt_id=attempt_id).execution_options(synchronize_session=False))


async def run_predraw(sessionmaker: async_sessionmaker[AsyncSession], cache: papers.PaperCache, *,
                      ahead: dt.timedelta, wake: asyncio.Event, interval: float = PREDRAW_INTERVAL) -> None:
    """Every ``interval`` s, or when woken (a schedule was created), fill the schedules due. A
    schedule found complete is searched again when its basis or the approved roster changes, when
    woken, and every ``FULL_PASS_EVERY`` s (a physician moved to another body, a procedure changed)."""
    complete: dict[int, tuple[str, tuple[int, int]]] = {}
    full_pass_at = 0.0
    while True:
        if wake.is_set() or asyncio.get_running_loop().time() >= full_pass_at:
            complete.clear()
            full_pass_at = asyncio.get_running_loop().time() + FULL_PASS_EVERY
        wake.clear()
        try:
            async with sessionmaker() as session:
                due = await schedules_due(session, now=utcnow(), ahead=ahead)
                roster = await roster_mark(session) if due else None
            for schedule_id in due:
                n = await fill_schedule(sessionmaker, cache, schedule_id, roster=roster, complete=complete)
                if n:
                    log.info("drew %d papers ahead for schedule %d", n, schedule_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database is briefly down, or a bank cannot fill the paper: the start draws
            log.warning("drawing papers ahead failed; retrying", exc_info=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), interval)
