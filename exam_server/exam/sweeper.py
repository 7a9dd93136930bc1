"""The deadline sweeper: every process submits and scores overdue attempts, whether or not a browser
is connected, and decides the physicians of windows that have ended. An attempt is overdue once its
deadline plus the grace (``DINGKAO_EXAM_GRACE_SECONDS``) has passed: answers sent just before the
deadline that arrive within the grace are still saved, then scored. The compare-and-set in
``attempts.submit`` and ``attempts.close_window`` makes each happen exactly once, however many
processes sweep; the state is all in the database, so a restart loses nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.db import utcnow

from . import attempts
from .papers import PaperCache

log = logging.getLogger("dingkao.exam.sweeper")
Publish = Callable[[int, str], Awaitable[None]]
Clock = Callable[[], dt.datetime]


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession], cache: PaperCache, publish: Publish, *,
                     grace_seconds: float = 0, clock: Clock = utcnow) -> int:
    """Submit every attempt overdue by more than the grace; returns how many this process submitted."""
    submitted = 0
    async with sessionmaker() as session:
        ids = await attempts.overdue_attempt_ids(session, now=clock(), grace_seconds=grace_seconds)
    for attempt_id in ids:
        async with sessionmaker() as session, session.begin():
            attempt = await session.get(attempts.Attempt, attempt_id, with_for_update=True)
            if attempt is None or not await attempts.time_up(session, attempt, now=clock(), cache=cache,
                                                              grace_seconds=grace_seconds):
                continue
        submitted += 1
        await publish(attempt_id, "submitted")
    async with sessionmaker() as session:
        ended = await attempts.ended_open_schedules(session, now=clock())
    for schedule in ended:
        async with sessionmaker() as session, session.begin():
            if await attempts.in_progress_count(session, schedule.id):
                continue  # their sweep comes first; the window closes on a later pass
            fresh = await session.get(attempts.ExamSchedule, schedule.id)
            if fresh is not None and fresh.window_end <= clock():  # not reopened meanwhile
                await attempts.close_window(session, fresh, now=clock())
    return submitted


async def run_sweeper(sessionmaker: async_sessionmaker[AsyncSession], cache: PaperCache, publish: Publish, *,
                      interval: float, grace_seconds: float = 0) -> None:
    while True:
        try:
            await sweep_once(sessionmaker, cache, publish, grace_seconds=grace_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database is briefly down: try again on the next tick
            log.warning("deadline sweep failed; retrying", exc_info=True)
        await asyncio.sleep(interval)
