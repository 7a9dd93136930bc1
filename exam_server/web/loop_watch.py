"""The event loop watched: how late it wakes up (a histogram in /metrics) and what ran when it stalled.

Every candidate on a process shares its one event loop: a request that computes for a second on it
(an export that loaded a province's rows did for 20 s) holds up every save, clock sync and event
stream there. A ticker task sleeps `INTERVAL` and records how late it woke. A watchdog thread notices
a loop that has not ticked for longer than `STALL` and samples the loop thread's stack and current
task while the stall is still going on; when the loop wakes, the ticker logs the stall's length with
that sample, so the log names the code that held the loop, not whichever code ran next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
import traceback

from prometheus_client import Counter, Histogram

_log = logging.getLogger(__name__)

INTERVAL = 0.05  # seconds between ticks
STALL = 0.1  # a wake-up later than this is logged as a stall
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
STACK_FRAMES = 12


class LoopWatch:
    def __init__(self, lag: Histogram, stalls: Counter, *, interval: float = INTERVAL, stall: float = STALL) -> None:
        self.lag, self.stalls, self.interval, self.stall = lag, stalls, interval, stall
        self.sample: str | None = None  # what the watchdog saw running during the current stall
        self.last_stall: tuple[float, str] | None = None  # (seconds, what ran) of the last one logged
        self._beat = time.monotonic()
        self._stop = threading.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._beat = time.monotonic()
        self._ticker = loop.create_task(self._tick(), name="loop-watch")
        self._thread = threading.Thread(target=self._watchdog, args=(loop, threading.get_ident()),
                                        name="loop-watchdog", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)

    async def _tick(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            now = time.monotonic()
            late = max(0.0, now - before - self.interval)
            self._beat = now
            self.lag.observe(late)
            if late > self.stall:
                what = self.sample or "（未取到样本）"
                self.sample = None
                self.last_stall = (late, what)
                self.stalls.inc()
                _log.warning("event loop stalled %.0f ms; running: %s", late * 1000, what)

    def _watchdog(self, loop: asyncio.AbstractEventLoop, loop_thread: int) -> None:
        sampled_beat = None
        while not self._stop.wait(self.stall / 4):
            beat = self._beat
            if time.monotonic() - beat > self.interval + self.stall and sampled_beat != beat:
                sampled_beat = beat  # one sample per stall, taken while it lasts
                self.sample = _running(loop, loop_thread)


def _running(loop: asyncio.AbstractEventLoop, loop_thread: int) -> str:
    """The loop's current task and the innermost frames of its thread, read from another thread."""
    task = asyncio.tasks._current_tasks.get(loop)  # type: ignore[attr-defined]  # no public way from outside the loop
    frame = sys._current_frames().get(loop_thread)
    stack = "".join(traceback.format_stack(frame)[-STACK_FRAMES:]) if frame is not None else ""
    name = task.get_name() if task is not None else "-"
    coro = getattr(task, "get_coro", lambda: None)() if task is not None else None
    return f"task {name} ({getattr(coro, '__qualname__', '-')})\n{stack}"
