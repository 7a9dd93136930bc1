"""The two requests every open exam page repeats all sitting long, on PostgreSQL without the ORM.

A province sitting one paper sends a save about every 20 s and a clock sync every 30 s per
candidate: thousands of requests a second. Through SQLAlchemy each of these statements cost this
process about 0.4 ms of CPU (building the statement, adapting its cached form, greenlet hand-offs);
here each is one prepared statement on a small asyncpg pool of its own, which shares nothing with
the ORM but the database. The rules are the same as :func:`answers.save_answers` (which SQLite, the
embedded default, keeps using, and which reports every refusal when the one-statement save
cannot decide).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

import asyncpg
from sqlalchemy.engine import make_url

from registry.errors import NotFound

from . import rules
from .answers import MAX_ANSWERS_PER_REQUEST, SaveResult, TakenOver, TimeUp
from .lifecycle import AttemptState
from .papers import PaperCache

# The attempt row is share-locked (a submit waits for this save and scores what it acknowledged),
# checked, and the answers written only if it may still take them, keeping per item the answer with
# the highest client sequence number; the outer SELECT reports what the checks saw, so a refusal
# can be told apart. One statement text whatever the number of answers (arrays), so it stays prepared.
_SAVE = (
    "WITH att AS (SELECT physician_id, state, deadline, device_id FROM exam_attempts WHERE id = $1 FOR SHARE), "
    "w AS (INSERT INTO exam_answers (attempt_id, item_number, choice, flagged, seq, saved_at) "
    "SELECT $1, v.i, v.c, v.f, v.s, $2 FROM unnest($5::int[], $6::varchar[], $7::bool[], $8::bigint[]) AS v (i, c, f, s) "
    "WHERE EXISTS (SELECT 1 FROM att WHERE physician_id = $3 AND state = 'in_progress' AND device_id = $4 "
    "AND deadline >= $9) "
    "ON CONFLICT (attempt_id, item_number) DO UPDATE SET choice = excluded.choice, flagged = excluded.flagged, "
    "seq = excluded.seq, saved_at = excluded.saved_at WHERE exam_answers.seq < excluded.seq RETURNING item_number) "
    "SELECT att.physician_id, att.state, att.deadline, att.device_id, ARRAY(SELECT item_number FROM w) AS written "
    "FROM att")
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
        """The common case of a save in one statement: the attempt's paper is cached in this
        process and every answer fits it. Returns None otherwise, and the caller takes
        :func:`answers.save_answers`, which reports every refusal in its order."""
        options = cache.options_of(attempt_id)
        if options is None or not 0 < len(raw) <= MAX_ANSWERS_PER_REQUEST:
            return None
        check = rules.check_answers(raw, options)
        if check.problems or not check.accepted:
            return None
        items, choices, flags, seqs = (list(column) for column in zip(*check.accepted))
        cutoff = now - dt.timedelta(seconds=grace_seconds)
        row = await self._pool.fetchrow(_SAVE, attempt_id, now, physician_id, device_id, items, choices, flags,
                                        seqs, cutoff)
        if row is None or row["physician_id"] != physician_id:
            raise NotFound("考试记录不存在")
        if row["state"] != AttemptState.IN_PROGRESS or row["deadline"] < cutoff:
            raise TimeUp("考试时间已到，本次答案未能保存" if row["state"] == AttemptState.IN_PROGRESS
                         else "试卷已提交，不能再作答")
        if row["device_id"] != device_id:
            raise TakenOver("本场考试已在另一台设备上继续，此页面不再接受作答")
        written = set(row["written"])
        result = SaveResult(deadline=row["deadline"])
        for item, _choice, _flagged, seq in check.accepted:
            (result.saved if item in written else result.stale).append({"item": item, "seq": seq})
        return result
