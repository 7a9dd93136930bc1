"""The FrameAnalyzer port and its in-process implementation (embedded default)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing.connection import wait
from typing import Protocol, runtime_checkable

from proctoring.faces import limit_native_threads, warm_up
from proctoring.jobs import FrameJob, FrameResult, analyze_job_bytes
from proctoring.settings import DEFAULT_SETTINGS, AnalysisSettings


@runtime_checkable
class FrameAnalyzer(Protocol):
    """Analyses frames without blocking the caller's event loop."""

    async def analyze(self, job: FrameJob) -> FrameResult: ...

    async def aclose(self) -> None: ...


def _exit_with_parent() -> None:
    """A pool process ends when the process that started it is gone (killed, or stopped without
    shutting the pool down): it would otherwise wait on the pool's queue forever, an orphan holding
    the face models in memory. The parent's sentinel becomes readable when the parent exits."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def init_analysis_process() -> None:
    """Pool initializer: ends with its parent; one native thread per process, models loaded up front."""
    _exit_with_parent()
    limit_native_threads()
    warm_up()


def _process_id() -> int:
    return os.getpid()


def make_pool(processes: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent may hold Redis connections, event loops and OpenCV
    # thread pools that must not be duplicated into children.
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_analysis_process,
    )


class LocalPoolAnalyzer:
    """Analyses frames in a local process pool; tracking state stays in this process.

    For one machine (``dingkao demo``). Frames of one subject must come to the same
    instance, since the tracking state is kept here, keyed by ``subject_id``.
    """

    def __init__(
        self,
        *,
        processes: int = 1,
        settings: AnalysisSettings = DEFAULT_SETTINGS,
        tracking_ttl: float = 3 * 3600.0,
        executor: Executor | None = None,
    ) -> None:
        self._settings = settings
        self._processes = processes
        self._executor = executor or make_pool(processes)
        self._owns_executor = executor is None
        self._tracking: dict[str, tuple[float, bytes]] = {}
        self._tracking_ttl = tracking_ttl

    async def analyze(self, job: FrameJob) -> FrameResult:
        now = time.monotonic()
        entry = self._tracking.get(job.subject_id)
        state = entry[1] if entry and now - entry[0] < self._tracking_ttl else None
        loop = asyncio.get_running_loop()
        result_bytes, new_state = await loop.run_in_executor(
            self._executor, analyze_job_bytes, job.to_bytes(), state, self._settings
        )
        if new_state is not None:
            self._tracking[job.subject_id] = (now, new_state)
        if len(self._tracking) > 1000:
            self._tracking = {k: v for k, v in self._tracking.items() if now - v[0] < self._tracking_ttl}
        return FrameResult.from_bytes(result_bytes)

    async def warm(self) -> list[int]:
        """Start every pool process now (models loaded) rather than on the first frame; their ids."""
        loop = asyncio.get_running_loop()
        return sorted(set(await asyncio.gather(*(loop.run_in_executor(self._executor, _process_id)
                                                 for _ in range(self._processes)))))

    def forget(self, subject_id: str) -> None:
        """Drop a subject's tracking state (e.g. when the attempt ends)."""
        self._tracking.pop(subject_id, None)

    async def aclose(self) -> None:
        if self._owns_executor:
            # Queued frames are dropped (their callers are gone); a frame in progress finishes.
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: self._executor.shutdown(wait=True, cancel_futures=True))

    async def __aenter__(self) -> LocalPoolAnalyzer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
