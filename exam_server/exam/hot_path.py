"""The two requests every open exam page repeats all sitting long, on PostgreSQL without the ORM.

A province sitting one paper sends a save about every 20 s and a clock sync every 30 s per
candidate: thousands of requests a second. Through SQLAlchemy each of these statements cost this
process about 0.4 ms of CPU (building the statement, adapting its cached form, greenlet hand-offs);
here each is one prepared statement on a small asyncpg pool of its own, which shares nothing with
the ORM but the database, and saves arriving together share one statement and one commit. The
rules are the same as :func:`answers.save_answers` (which SQLite, the embedded default, keeps
using, and which reports every refusal when the one-statement save cannot decide).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

import asyncpg
from sqlalchemy.engine import make_url

from registry.errors import NotFound

from . import rules
from .answers import MAX_ANSWERS_PER_REQUEST, SaveResult, TakenOver, late
from .papers import PaperCache

# Saves that arrive while the lanes are busy are written together, one statement for a batch
# (group commit: one round trip and one WAL flush instead of one each). Per attempt, its row is
# share-locked (a submit waits for this save and scores what it acknowledged), checked, and its
# answers written only if it may still take them, keeping per item the answer with the highest
# client sequence number; the outer SELECT reports what the checks saw, so a refusal can be told
# apart. One statement text whatever the batch (arrays), so it stays prepared. Rows are locked in
# id order, as concurrent batches then cannot deadlock each other.
_SAVE = (
    "WITH v AS (SELECT * FROM unnest($1::int[], $2::int[], $3::varchar[], $4::int[], $5::varchar[], $6::bool[], "
    "$7::bigint[], $8::timestamp[], $9::timestamp[]) AS v (a, p, d, i, c, f, s, at, cutoff)), "
    "att AS (SELECT id, physician_id, state, deadline, device_id FROM exam_attempts WHERE id = ANY($10::int[]) "
    "ORDER BY id FOR SHARE), "
    "w AS (INSERT INTO exam_answers (attempt_id, item_number, choice, flagged, seq, saved_at) "
    "SELECT v.a, v.i, v.c, v.f, v.s, v.at FROM v JOIN att ON att.id = v.a AND att.physician_id = v.p "
    "AND att.state = 'in_progress' AND att.device_id = v.d AND att.deadline >= v.cutoff "
    "ON CONFLICT (attempt_id, item_number) DO UPDATE SET choice = excluded.choice, flagged = excluded.flagged, "
    "seq = excluded.seq, saved_at = excluded.saved_at WHERE exam_answers.seq < excluded.seq "
    "RETURNING attempt_id, item_number) "
    "SELECT att.id, att.physician_id, att.state, att.deadline, att.device_id, "
    "ARRAY(SELECT w.item_number FROM w WHERE w.attempt_id = att.id) AS written FROM att")
# Save statements in flight at once per process. A save finding both busy waits for one (a few ms)
# and goes in the next batch with the others that came meanwhile. Measured with 20,000 candidates
# (benchmarks/exam_load.py): see docs/load.md.
SAVE_LANES = 2
BATCH_ROWS = 2000  # answers per statement at most (each request brings up to MAX_ANSWERS_PER_REQUEST)
_CLOCK = "SELECT physician_id, deadline, state, device_id FROM exam_attempts WHERE id = $1"


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Clock:
    deadline: dt.datetime
    state: str
    device_id: str


class HotPath:
    """Answer saves and clock syncs straight on asyncpg (PostgreSQL only)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: list[_Pending] = []
        self._busy = 0
        self._lanes: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, database_url: str, *, size: int) -> HotPath | None:
        """A pool for ``database_url``, or None when it is not PostgreSQL. Connections are opened
        on first use, so a server starts while the database is briefly down."""
        url = make_url(database_url)
        if url.get_backend_name() != "postgresql":
            return None
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        # Each use is one autocommit statement that leaves no session state (no SET, LISTEN, cursor or
        # lock outlives it), so the pool's default reset query on release, a second round trip per
        # request, is skipped; an open transaction would still be rolled back by asyncpg itself.
        pool = await asyncpg.create_pool(dsn, min_size=0, max_size=size, command_timeout=30,
                                         max_inactive_connection_lifetime=1800, reset=_nothing_to_reset)
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    async def clock(self, physician_id: int, attempt_id: int) -> Clock:
        """The physician's own attempt's deadline, state and device (the page's heartbeat)."""
        row = await self._pool.fetchrow(_CLOCK, attempt_id)
        if row is None or row["physician_id"] != physician_id:
            raise NotFound("考试记录不存在")
        return Clock(row["deadline"], row["state"], row["device_id"])

    async def save(self, cache: PaperCache, *, attempt_id: int, physician_id: int, device_id: str,
                   raw: Sequence[Any], now: dt.datetime, grace_seconds: float) -> SaveResult | None:
        """The common case of a save: the attempt's paper is cached in this process and every
        answer fits it; written (with the other saves waiting then) before this returns. Returns
        None otherwise, and the caller takes :func:`answers.save_answers`, which reports every
        refusal in its order."""
        options = cache.options_of(attempt_id)
        if options is None or not 0 < len(raw) <= MAX_ANSWERS_PER_REQUEST:
            return None
        check = rules.check_answers(raw, options)
        if check.problems or not check.accepted:
            return None
        cutoff = now - dt.timedelta(seconds=grace_seconds)
        pending = _Pending(attempt_id, physician_id, device_id, check.accepted, now, cutoff,
                           asyncio.get_running_loop().create_future())
        self._waiting.append(pending)
        if self._busy < SAVE_LANES:
            self._busy += 1
            lane = asyncio.create_task(self._drain())
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)
        row = await pending.done
        if row is _FALL_BACK:
            return None
        if row is None or row["physician_id"] != physician_id:
            raise NotFound("考试记录不存在")
        refusal = late(row["state"], row["deadline"], now, grace_seconds)
        if refusal is not None:
            raise refusal
        if row["device_id"] != device_id:
            raise TakenOver("本场考试已在另一台设备上继续，此页面不再接受作答")
        written = set(row["written"])
        result = SaveResult(deadline=row["deadline"])
        for item, _choice, _flagged, seq in check.accepted:
            (result.saved if item in written else result.stale).append({"item": item, "seq": seq})
        return result

    async def _drain(self) -> None:
        """One lane: write batches until no save is waiting."""
        try:
            while self._waiting:
                batch, later, seen, rows = [], [], set(), 0
                for pending in self._waiting:
                    # One request per attempt in a statement: an INSERT may not update a row twice.
                    if pending.attempt_id in seen or (batch and rows + len(pending.accepted) > BATCH_ROWS):
                        later.append(pending)
                    else:
                        batch.append(pending)
                        seen.add(pending.attempt_id)
                        rows += len(pending.accepted)
                self._waiting = later
                await self._write(batch)
        finally:
            self._busy -= 1

    async def _write(self, batch: list[_Pending]) -> None:
        answers = [(p.attempt_id, p.physician_id, p.device_id, item, choice, flagged, seq, p.now, p.cutoff)
                   for p in batch for item, choice, flagged, seq in p.accepted]
        try:
            rows = await self._pool.fetch(_SAVE, *(list(column) for column in zip(*answers)),
                                          sorted({p.attempt_id for p in batch}))
        except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
            # Not expected (rows are locked in order), but never a refusal: each save retries alone.
            for p in batch:
                _settle(p.done, _FALL_BACK)
            return
        except Exception as exc:  # the database is down: every save in the batch fails as its own would
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(exc)
            return
        by_id = {row["id"]: row for row in rows}
        for p in batch:
            _settle(p.done, by_id.get(p.attempt_id))


_FALL_BACK: Any = object()


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # its request may have been cancelled meanwhile; the answers are written anyway
        future.set_result(value)


@dataclass(slots=True)
class _Pending:
    attempt_id: int
    physician_id: int
    device_id: str
    accepted: Sequence[tuple[int, str, bool, int]]
    now: dt.datetime
    cutoff: dt.datetime
    done: asyncio.Future[Any]
