"""Deleting evidence after the retention period (PIPL): frames and thumbnails older than
``Settings.proctor_retention_days`` leave the file storage; the events stay, without pictures."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from sqlalchemy import null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import audit

from ..infra.livestate import LiveState, LockNotAcquired
from ..identity.models import IdentityCheck
from ..infra.storage import FileStorage
from .models import ProctorEvent

log = logging.getLogger("dingkao.proctor.retention")
BATCH = 500


async def delete_expired(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, *, now: dt.datetime,
                         retention_days: int) -> int:
    """Delete every expired evidence file; returns how many events lost their pictures."""
    cutoff = now - dt.timedelta(days=retention_days)
    done = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = (await session.scalars(select(ProctorEvent).where(
                ProctorEvent.at < cutoff, or_(ProctorEvent.frame_key.is_not(None), ProctorEvent.thumb_key.is_not(None)))
                .order_by(ProctorEvent.id).limit(BATCH))).all()
            if not rows:
                break
            for e in rows:
                for key in (e.frame_key, e.thumb_key):
                    if key:
                        await storage.delete(key)
            ids = [e.id for e in rows]
            await session.execute(update(ProctorEvent).where(ProctorEvent.id.in_(ids))
                                  .values(frame_key=None, thumb_key=None))
            audit.record(session, actor_id=None, action="evidence.expire", entity="proctor_events",
                         entity_id=f"{ids[0]}-{ids[-1]}", detail={"count": len(ids), "retention_days": retention_days})
            done += len(ids)
    while True:  # the failed identity checks' captures, kept for the body's manual verification
        async with sessionmaker() as session, session.begin():
            checks = (await session.scalars(select(IdentityCheck).where(
                IdentityCheck.decided_at < cutoff, IdentityCheck.captures.is_not(None))
                .order_by(IdentityCheck.id).limit(BATCH))).all()
            if not checks:
                break
            for c in checks:
                for key in c.captures or []:
                    await storage.delete(str(key))
                c.captures = null()  # SQL NULL (None would store a JSON null and match again)
            audit.record(session, actor_id=None, action="evidence.expire", entity="proctor_identity_checks",
                         entity_id=f"{checks[0].id}-{checks[-1].id}",
                         detail={"count": len(checks), "retention_days": retention_days})
            done += len(checks)
    return done


async def run_retention(sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState, *,
                        retention_days: int, stop: asyncio.Event, interval: float = 3600.0,
                        first_delay: float = 60.0) -> None:
    """Every process runs this; a live-state lock lets one of them do each round. ``stop`` ends it
    between rounds (a round is never cut off mid-transaction)."""
    from registry.db import utcnow

    delay = first_delay
    while True:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        if stop.is_set():
            return
        delay = interval
        try:
            async with live.lock("proctor-retention", ttl=600):
                count = await delete_expired(sessionmaker, storage, now=utcnow(), retention_days=retention_days)
                if count:
                    log.info("deleted evidence of %d proctoring events older than %d days", count, retention_days)
        except LockNotAcquired:
            pass
        except Exception:
            log.warning("evidence retention round failed", exc_info=True)
