"""Attempt events: stored in the database (the timeline), published on the live state to every
process's dashboards (see live.py)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra.livestate import LiveState
from .models import ProctorEvent
from .rules import BROWSER_EVENTS

CHANNEL = "proctor-events"


KIND_WORDS = {"frame": "摄像头画面", "violation": "违规", "warning_sent": "监考员提醒", "analysis_delayed": "画面分析延迟"}


def words_of(kind: str, detail: dict[str, Any] | None = None) -> str:
    """What a person reads for an event: its own words, else its kind's; never the raw kind."""
    own = (detail or {}).get("words")
    if isinstance(own, str) and own:
        return own
    return KIND_WORDS.get(kind) or BROWSER_EVENTS.get(kind, ("监考事件", 0, None))[0]


def event_json(e: ProctorEvent) -> dict[str, Any]:
    return {"id": e.id, "attempt_id": e.attempt_id, "at": e.at.isoformat() + "Z", "kind": e.kind,
            "words": words_of(e.kind, e.detail), "severity": e.severity, "detail": e.detail, "actor_id": e.actor_id,
            "frame": f"/api/v1/proctor-events/{e.id}/frame" if e.frame_key else None,
            "thumb": f"/api/v1/proctor-events/{e.id}/thumb" if e.thumb_key else None}


async def add(session: AsyncSession, attempt_id: int, kind: str, *, now: dt.datetime, severity: int = 0,
              detail: dict[str, Any] | None = None, frame_key: str | None = None, thumb_key: str | None = None,
              actor_id: int | None = None) -> ProctorEvent:
    e = ProctorEvent(attempt_id=attempt_id, at=now, kind=kind, severity=severity, detail=detail or {},
                     frame_key=frame_key, thumb_key=thumb_key, actor_id=actor_id)
    session.add(e)
    await session.flush()
    return e


async def publish(live: LiveState, *, schedule_id: int, physician_id: int, event: dict[str, Any],
                  candidate: dict[str, Any] | None = None) -> None:
    """To dashboards on every process; ``candidate`` carries changed grid fields (thumbnail ...)."""
    await live.publish(CHANNEL, json.dumps({"schedule_id": schedule_id, "physician_id": physician_id,
                                            "event": event, "candidate": candidate or {}}, default=str))


async def since(session: AsyncSession, attempt_ids: list[int], after_id: int, *, limit: int = 500) -> list[ProctorEvent]:
    if not attempt_ids:
        return []
    return list((await session.scalars(select(ProctorEvent).where(
        ProctorEvent.attempt_id.in_(attempt_ids), ProctorEvent.id > after_id)
        .order_by(ProctorEvent.id).limit(limit))).all())
