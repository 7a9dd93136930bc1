"""Webcam frames during an attempt: accepted at once, analysed in the background through the
analyser port, each result an event of the attempt; the policy turns persistent findings into
violations and the schedule's rules say what each does.

Rule for frames that cannot be analysed in time (no worker, a worker killed mid-frame, a backlog):
a frame waits at most ``RESULT_TIMEOUT`` seconds for its result, then it is given up and the attempt
gets an "analysis delayed" event (shown to the invigilator; never a violation). At most
``QUEUE_LIMIT`` frames wait in a process; when full, the oldest waiting frame is dropped the same way.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import io
import logging
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import proctoring
from registry.db import utcnow

from ..exam import attempts as exam_attempts
from ..exam.lifecycle import AttemptState
from ..exam.models import Attempt, ExamSchedule
from ..exam.papers import PaperCache
from ..identity import checks as identity
from ..infra.livestate import LiveState
from ..infra.storage import FileStorage
from . import events
from .live import VERDICT_WORDS
from .models import ProctorEvent, Violation
from .assignments import attempt_rules
from .rules import KIND_WORDS

log = logging.getLogger("dingkao.proctor.frames")
RESULT_TIMEOUT = 30.0
QUEUE_LIMIT = 1000
THUMB_EVERY = 60  # seconds between thumbnails kept for the strip
THUMB_WIDTH = 160
MAX_FRAME_BYTES = 400_000
LIVE_TTL = 600


@dataclass(slots=True)
class QueuedFrame:
    attempt_id: int
    schedule_id: int
    physician_id: int
    image: bytes
    received_at: dt.datetime


def thumbnail(image: bytes) -> bytes:
    from PIL import Image

    img = Image.open(io.BytesIO(image))
    img.draft("RGB", (THUMB_WIDTH * 2, THUMB_WIDTH * 2))  # JPEG: decode at a fraction of the size
    img = img.convert("RGB")
    img.thumbnail((THUMB_WIDTH, THUMB_WIDTH))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def is_image(data: bytes) -> bool:
    """A real JPEG or PNG (decoded header and structure), before anything is stored or queued."""
    from PIL import Image, UnidentifiedImageError

    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        return False
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("JPEG", "PNG") or img.width * img.height > 4096 * 4096:
                return False
            img.verify()
        return True
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False


AnalyzerFactory = Callable[[], proctoring.FrameAnalyzer]


class FrameService:
    """One per process: a bounded queue of frames and a few tasks feeding the analyser."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: FileStorage, live: LiveState,
                 cache: PaperCache, push: Callable[..., Awaitable[None]], make_analyzer: AnalyzerFactory,
                 *, concurrency: int = 4, result_timeout: float = RESULT_TIMEOUT) -> None:
        self.sessionmaker, self.storage, self.live, self.cache, self.push = sessionmaker, storage, live, cache, push
        self._make_analyzer = make_analyzer
        self._analyzer: proctoring.FrameAnalyzer | None = None
        self._queue: collections.deque[QueuedFrame] = collections.deque()
        self._wake = asyncio.Event()
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.concurrency = concurrency
        self.result_timeout = result_timeout
        self.analysed = 0
        self.delayed = 0

    @property
    def analyzer(self) -> proctoring.FrameAnalyzer:
        if self._analyzer is None:
            self._analyzer = self._make_analyzer()
        return self._analyzer

    def start(self, *, warm: bool = False) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"frames-{i}") for i in range(self.concurrency)]
        if warm:
            self._tasks.append(asyncio.create_task(self._warm(), name="frames-warm"))

    async def _warm(self) -> None:
        warm = getattr(self.analyzer, "warm", None)  # the local pool has it; the Redis queue needs none
        if warm is not None:
            try:
                log.info("analysis pool started: processes %s", await warm())
            except Exception:  # the first frame starts it again
                log.exception("analysis pool could not be started")

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
        if self._analyzer is not None:
            await self._analyzer.aclose()

    def accept(self, frame: QueuedFrame) -> None:
        """Queue a frame; never waits (the web tier does not wait for face analysis)."""
        if len(self._queue) >= QUEUE_LIMIT:
            dropped = self._queue.popleft()
            asyncio.get_running_loop().create_task(self._delayed(dropped, "queue_full"))
        self._queue.append(frame)
        self._wake.set()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            frame = self._queue.popleft()
            lock = self._locks.setdefault(frame.attempt_id, asyncio.Lock())
            try:
                async with lock:  # one attempt's frames in order (tracking state)
                    await self._process(frame)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("frame of attempt %s could not be processed", frame.attempt_id)

    async def _process(self, frame: QueuedFrame) -> None:
        async with self.sessionmaker() as session:
            attempt = await session.get(Attempt, frame.attempt_id)
            if attempt is None or attempt.state != AttemptState.IN_PROGRESS:
                return
            enrolment = await identity.enrolment_of(session, frame.physician_id)
        frame_id = f"a{frame.attempt_id}-{frame.received_at.timestamp():.3f}"
        if enrolment is None:
            await self._delayed(frame, "no_enrolment")
            return
        job = proctoring.FrameJob(subject_id=f"attempt-{frame.attempt_id}", frame_id=frame_id, image=frame.image,
                                  enrolment=enrolment, captured_at=frame.received_at.timestamp())
        try:
            result = await asyncio.wait_for(self.analyzer.analyze(job), timeout=self.result_timeout)
        except BrokenProcessPool:
            # A pool process died mid-frame: a fresh pool for the next frame, the broken one shut down.
            broken, self._analyzer = self._analyzer, None
            if broken is not None:
                asyncio.get_running_loop().create_task(broken.aclose())
            await self._delayed(frame, "worker_lost")
            return
        except (asyncio.TimeoutError, proctoring.QueueError, proctoring.ResultTimeout):
            await self._delayed(frame, "timeout")
            return
        if result.analysis is None:
            await self._delayed(frame, "analysis_error")
            return
        await self.record(frame, result.analysis)

    async def _delayed(self, frame: QueuedFrame, why: str) -> None:
        self.delayed += 1
        await self.live.set(f"proctor:delayed:{frame.attempt_id}", why, ttl=90)
        async with self.sessionmaker() as session, session.begin():
            e = await events.add(session, frame.attempt_id, "analysis_delayed", now=utcnow(), severity=1,
                                 detail={"reason": why, "words": "画面分析延迟"})
            payload = events.event_json(e)
        await events.publish(self.live, schedule_id=frame.schedule_id, physician_id=frame.physician_id,
                             event=payload, candidate={"attempt_id": frame.attempt_id, "analysis_delayed": True})

    async def record(self, frame: QueuedFrame, analysis: proctoring.FrameAnalysis) -> None:
        """The analysis becomes an event; evidence is kept only when it may be needed."""
        self.analysed += 1
        await self.live.delete(f"proctor:delayed:{frame.attempt_id}")
        bad = analysis.verdict != proctoring.Verdict.OK
        thumb_due = await self.live.set(f"proctor:thumbat:{frame.attempt_id}", "1", ttl=THUMB_EVERY, only_if_absent=True)
        thumb = await asyncio.to_thread(thumbnail, frame.image)
        frame_key = await self.storage.put(frame.image, prefix=f"evidence/{frame.attempt_id}") if bad else None
        thumb_key = await self.storage.put(thumb, prefix=f"evidence/{frame.attempt_id}") if bad or thumb_due else None
        thumb_url = "data:image/jpeg;base64," + base64.b64encode(thumb).decode()
        await self.live.set(f"proctor:thumb:{frame.attempt_id}", thumb_url, ttl=LIVE_TTL)
        await self.live.set(f"proctor:verdict:{frame.attempt_id}", str(analysis.verdict), ttl=LIVE_TTL)
        now = utcnow()
        published: list[dict[str, Any]] = []
        warnings: list[str] = []
        end_reason: str | None = None
        async with self.sessionmaker() as session, session.begin():
            attempt = await session.get(Attempt, frame.attempt_id, with_for_update=True)
            if attempt is None or attempt.state != AttemptState.IN_PROGRESS:
                for key in (frame_key, thumb_key):
                    if key:
                        await self.storage.delete(key)
                return
            schedule = await session.get(ExamSchedule, attempt.schedule_id)
            assert schedule is not None
            rules = await attempt_rules(session, schedule, attempt.physician_id)
            e = await events.add(session, attempt.id, "frame", now=now, severity=1 if bad else 0,
                                 detail={"verdict": str(analysis.verdict), "analysis": analysis.to_dict(),
                                         "words": "画面：" + VERDICT_WORDS.get(str(analysis.verdict), "")},
                                 frame_key=frame_key, thumb_key=thumb_key)
            published.append(events.event_json(e))
            policy = rules.policy()
            rows = (await session.scalars(select(ProctorEvent).where(
                ProctorEvent.attempt_id == attempt.id, ProctorEvent.kind == "frame")
                .order_by(ProctorEvent.id.desc()).limit(proctoring.history_needed(policy)))).all()
            history = [proctoring.FrameAnalysis.from_dict(r.detail["analysis"]) for r in reversed(rows)]
            by_frame = {r.detail["analysis"]["frame_id"]: r.id for r in rows}
            for found in proctoring.new_violations(history, policy=policy):
                kind, consequence = str(found.kind), str(found.consequence)
                v, ev = await raise_violation(
                    session, attempt, kind, consequence, now=now,
                    started_at=dt.datetime.fromtimestamp(found.started_at, dt.UTC).replace(tzinfo=None),
                    evidence=[by_frame[f] for f in found.evidence_frame_ids if f in by_frame],
                    median_distance=found.median_distance)
                published.append(ev)
                if consequence == "warn":
                    warnings.append(f"监考提醒：{KIND_WORDS.get(kind, kind)}，请端正考试行为")
                elif consequence == "end_attempt":
                    end_reason = f"监考规则：{KIND_WORDS.get(kind, kind)}"
            if end_reason:
                await exam_attempts.end_by_rule(session, attempt, end_reason, now=now, cache=self.cache)
        await self.live.set(f"proctor:seen:{frame.attempt_id}", now.isoformat(), ttl=LIVE_TTL)
        candidate = {"attempt_id": frame.attempt_id, "thumb": thumb_url, "verdict": str(analysis.verdict),
                     "analysis_delayed": False}
        for p in published:
            await events.publish(self.live, schedule_id=frame.schedule_id, physician_id=frame.physician_id,
                                 event=p, candidate=candidate)
        for message in warnings:
            await self.push(frame.attempt_id, "warning", message=message)
        if end_reason:
            await self.push(frame.attempt_id, "submitted", reason=end_reason)


async def raise_violation(session: AsyncSession, attempt: Attempt, kind: str, consequence: str, *, now: dt.datetime,
                          started_at: dt.datetime, evidence: list[int],
                          median_distance: float | None = None) -> tuple[Violation, dict[str, Any]]:
    v = Violation(attempt_id=attempt.id, schedule_id=attempt.schedule_id, kind=kind, consequence=consequence,
                  started_at=started_at, detected_at=now, evidence_event_ids=evidence, median_distance=median_distance,
                  status="open")
    session.add(v)
    await session.flush()
    e = await events.add(session, attempt.id, "violation", now=now, severity=3,
                         detail={"violation_id": v.id, "violation": kind, "consequence": consequence,
                                 "words": KIND_WORDS.get(kind, kind), "evidence": evidence,
                                 "median_distance": median_distance})
    return v, events.event_json(e)
