"""Live invigilation: the process's live-state follower hands each proctoring event to the hub, which fans it
out to the dashboards connected to this process by the physicians they follow; and the dashboard's grid
snapshot."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Institution, Physician, StoredFile

from ..exam.lifecycle import AttemptState
from ..exam.models import Attempt, ExamSchedule
from ..exam.push import online_key
from ..infra.livestate import LiveFollower, LiveState
from . import events
from .models import ProctorEvent, Violation
from .rules import BROWSER_EVENTS

OFFLINE_AFTER = 45  # seconds without a frame or a heartbeat


class Dashboard:
    """One connected dashboard: the physicians it follows and a bounded outbox."""

    def __init__(self, schedule_id: int, physicians: set[int] | None) -> None:
        self.schedule_id = schedule_id
        self.physicians = physicians  # None: every candidate of the schedule (body staff)
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=5000)
        self.overflowed = False

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True  # the client resynchronises from its last event id


class InvigilationHub:
    def __init__(self) -> None:
        self._by_physician: dict[tuple[int, int], set[Dashboard]] = defaultdict(set)
        self._whole: dict[int, set[Dashboard]] = defaultdict(set)
        self.dispatched = 0

    def connect(self, board: Dashboard) -> None:
        if board.physicians is None:
            self._whole[board.schedule_id].add(board)
        else:
            for p in board.physicians:
                self._by_physician[(board.schedule_id, p)].add(board)

    def disconnect(self, board: Dashboard) -> None:
        self._whole[board.schedule_id].discard(board)
        for p in board.physicians or ():
            boards = self._by_physician.get((board.schedule_id, p))
            if boards is not None:
                boards.discard(board)
                if not boards:
                    del self._by_physician[(board.schedule_id, p)]

    def start(self, follower: LiveFollower) -> None:
        # While the live state is down, dashboards catch up from the database when they reconnect.
        follower.follow(events.CHANNEL, self.dispatch)

    def dispatch(self, raw: str) -> None:
        try:
            msg = json.loads(raw)
            schedule, physician = int(msg["schedule_id"]), int(msg["physician_id"])
        except (ValueError, KeyError, TypeError):
            return
        out = {"type": "event", "event": msg.get("event"), "candidate": msg.get("candidate") or {},
               "physician_id": physician}
        boards = set(self._by_physician.get((schedule, physician), ())) | self._whole.get(schedule, set())
        for board in boards:
            board.offer(out)
            self.dispatched += 1


async def grid(session: AsyncSession, live: LiveState, schedule: ExamSchedule, physicians: set[int] | None, *,
               now: dt.datetime) -> list[dict[str, Any]]:
    """The candidates in progress with what the grid shows; thumbnails and presence from the live state."""
    stmt = (select(Attempt, Physician.name, Institution.name).join(Physician, Attempt.physician_id == Physician.id)
            .join(Institution, Physician.institution_id == Institution.id)
            .where(Attempt.schedule_id == schedule.id, Attempt.state == AttemptState.IN_PROGRESS))
    if physicians is not None:
        stmt = stmt.where(Attempt.physician_id.in_(sorted(physicians)))
    rows = (await session.execute(stmt.order_by(Attempt.id))).all()
    ids = [a.id for a, _, _ in rows]
    counts: dict[int, int] = {}
    if ids:
        counts = {a: n for a, n in (await session.execute(
            select(Violation.attempt_id, func.count()).where(Violation.attempt_id.in_(ids))
            .group_by(Violation.attempt_id))).all()}
    photos: set[int] = set()
    if rows:
        photos = set((await session.scalars(select(StoredFile.registration_id).where(
            StoredFile.kind == "photo", StoredFile.registration_id.in_([a.registration_id for a, _, _ in rows])))).all())
    out = []
    for a, name, inst in rows:
        seen, thumb, verdict, delayed, hidden, page_open = (
            await live.get(f"proctor:seen:{a.id}"), await live.get(f"proctor:thumb:{a.id}"),
            await live.get(f"proctor:verdict:{a.id}"), await live.get(f"proctor:delayed:{a.id}"),
            await live.get(f"proctor:hidden:{a.id}"), await live.get(online_key(a.id)))
        out.append(candidate_json(a, name, inst, now=now, seen=latest(seen, page_open), thumb=thumb, verdict=verdict,
                                  delayed=delayed is not None, hidden=hidden == "1", violations=counts.get(a.id, 0),
                                  photo=a.registration_id in photos))
    return out


def latest(*stamps: str | None) -> str | None:
    """The most recent of some ISO timestamps (a camera frame or event, the exam page's open stream)."""
    known = [s for s in stamps if s]
    return max(known, key=dt.datetime.fromisoformat) if known else None


def connection(seen: str | None, hidden: bool, *, now: dt.datetime) -> dict[str, Any]:
    if seen is None:
        return {"state": "offline", "words": "考试页面未打开", "since": None}
    at = dt.datetime.fromisoformat(seen)
    if (now - at).total_seconds() > OFFLINE_AFTER:
        return {"state": "offline", "words": "离线", "since": at.isoformat() + "Z"}
    if hidden:
        return {"state": "hidden", "words": "页面已隐藏", "since": None}
    return {"state": "online", "words": "在线", "since": None}


VERDICT_WORDS = {"ok": "本人", "no_face": "无人", "several_faces": "多人", "another_person": "疑似他人",
                 "poor_image": "画面不清"}


def candidate_json(a: Attempt, name: str, inst: str, *, now: dt.datetime, seen: str | None, thumb: str | None,
                   verdict: str | None, delayed: bool, hidden: bool, violations: int, photo: bool = False) -> dict[str, Any]:
    return {"attempt_id": a.id, "physician_id": a.physician_id, "name": name, "institution": inst,
            "photo": f"/api/v1/attempts/{a.id}/registration-photo" if photo else None,
            "deadline": a.deadline.isoformat() + "Z", "remaining_seconds": max(0.0, (a.deadline - now).total_seconds()),
            "extra_minutes": a.extra_minutes, "thumb": thumb, "verdict": verdict,
            "identity_words": VERDICT_WORDS.get(verdict or "", "待分析"), "analysis_delayed": delayed,
            "violations": violations, "connection": connection(seen, hidden, now=now)}


async def alerts(session: AsyncSession, attempt_ids: list[int], *, limit: int = 100) -> list[dict[str, Any]]:
    """Recent warnings and violations, most severe first, then newest."""
    if not attempt_ids:
        return []
    rows = (await session.scalars(select(ProctorEvent).where(
        ProctorEvent.attempt_id.in_(attempt_ids), ProctorEvent.severity >= 1)
        .order_by(ProctorEvent.severity.desc(), ProctorEvent.id.desc()).limit(limit))).all()
    return [events.event_json(e) for e in rows]


def browser_event_words(kind: str) -> str:
    return BROWSER_EVENTS.get(kind, (kind, 0, None))[0]
