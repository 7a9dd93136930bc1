"""The proctoring worker: takes frames from the Redis queue and analyses them.

Run any number of workers on any hosts (``dingkao proctor-worker`` calls
:func:`run_worker`; ``python -m proctoring.worker`` does too). Each of the
``concurrency`` slots owns a one-process pool, so a frame that crashes its analysis
process (e.g. a native fault in dlib) costs only that slot a restart.

Delivery is at least once: a job whose worker dies is requeued when its lease expires,
and may in rare cases be analysed twice; results are idempotent per job id. A job is
tried at most ``max_attempts`` times, then moved to the dead-letter list with an
``error`` result, so a poison frame cannot stall the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import redis.asyncio as aioredis

from proctoring.jobs import FrameJob, FrameResult, analyze_job_bytes, error_result
from proctoring.local_pool import make_pool
from proctoring.redis_queue import CLAIM, DEFAULT_KEY_PREFIX, DEFAULT_QUEUE, FINISH, HEARTBEAT, REAP, RETRY, QueueKeys
from proctoring.settings import DEFAULT_SETTINGS, AnalysisSettings

log = logging.getLogger(__name__)

AnalyzeFn = Callable[[bytes, bytes | None, AnalysisSettings], tuple[bytes, bytes | None]]


class _Worker:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        keys: QueueKeys,
        settings: AnalysisSettings,
        lease_seconds: float,
        max_attempts: int,
        result_ttl: int,
        tracking_ttl: int,
        analyze_fn: AnalyzeFn,
        stop: asyncio.Event,
    ) -> None:
        self.r = client
        self.keys = keys
        self.settings = settings
        self.lease_ms = int(lease_seconds * 1000)
        self.max_attempts = max_attempts
        self.result_ttl = result_ttl
        self.tracking_ttl = tracking_ttl
        self.analyze_fn = analyze_fn
        self.stop = stop
        self.held: set[str] = set()
        self.name = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._claim = client.register_script(CLAIM)
        self._heartbeat = client.register_script(HEARTBEAT)
        self._finish = client.register_script(FINISH)
        self._retry = client.register_script(RETRY)
        self._reap = client.register_script(REAP)

    async def _sleep_or_stop(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def heartbeat_and_reap(self) -> None:
        """Extend our leases and requeue other workers' expired ones, every lease/3."""
        while not self.stop.is_set():
            try:
                if self.held:
                    await self._heartbeat(keys=[self.keys.leases], args=[self.lease_ms, *self.held])
                requeued = await self._reap(
                    keys=[self.keys.processing, self.keys.leases, self.keys.pending], args=[self.lease_ms]
                )
                if requeued:
                    log.warning("requeued %s frame job(s) whose worker stopped heartbeating", requeued)
            except aioredis.RedisError:
                log.exception("heartbeat failed")
            await self._sleep_or_stop(self.lease_ms / 3000)

    async def _finish_job(self, job_id: str, result: FrameResult, tracking: bytes | None, *, dead: bool) -> None:
        subject = result.subject_id or "_"
        await self._finish(
            keys=[
                self.keys.processing, self.keys.leases, self.keys.job(job_id), self.keys.result(job_id),
                self.keys.tracking(subject), self.keys.dead,
            ],
            args=[
                job_id, result.to_bytes(), self.result_ttl, self.keys.channel,
                tracking or b"", self.tracking_ttl, "1" if dead else "0", result.error or "",
            ],
        )

    async def _dead_letter(self, job_id: str, payload: bytes | None, reason: str) -> None:
        try:
            job = FrameJob.from_bytes(payload) if payload else None
        except Exception:  # noqa: BLE001 - a poison payload may be anything
            job = None
        log.error("frame job %s dead-lettered: %s", job_id, reason)
        await self._finish_job(job_id, error_result(job, reason, job_id=job_id), None, dead=True)

    async def slot(self, index: int) -> None:
        pool: ProcessPoolExecutor | None = None
        loop = asyncio.get_running_loop()
        try:
            while not self.stop.is_set():
                try:
                    raw = await self.r.blmove(self.keys.pending, self.keys.processing, 1.0, "RIGHT", "LEFT")
                except aioredis.RedisError:
                    log.exception("queue read failed")
                    await self._sleep_or_stop(1.0)
                    continue
                if raw is None:
                    continue
                job_id = raw.decode()
                self.held.add(job_id)
                try:
                    claimed = await self._claim(
                        keys=[self.keys.leases, self.keys.job(job_id), self.keys.processing],
                        args=[job_id, self.lease_ms],
                    )
                    attempts = int(claimed[0])
                    if attempts < 0:
                        continue  # the job hash expired; nothing left to do
                    payload: bytes = claimed[1]
                    if attempts > self.max_attempts:
                        # Earlier attempts took their worker down with them.
                        await self._dead_letter(job_id, payload, f"gave up after {attempts - 1} attempts")
                        continue
                    subject = _subject_of(payload)
                    tracking = await self.r.get(self.keys.tracking(subject)) if subject else None
                    if pool is None:
                        pool = make_pool(1)
                    try:
                        result_bytes, new_tracking = await loop.run_in_executor(
                            pool, self.analyze_fn, payload, tracking, self.settings
                        )
                    except Exception as exc:  # noqa: BLE001 - anything the analysis throws
                        if isinstance(exc, BrokenProcessPool):
                            pool.shutdown(wait=False, cancel_futures=True)
                            pool = None
                        reason = f"{type(exc).__name__}: {exc}"
                        if attempts >= self.max_attempts:
                            await self._dead_letter(job_id, payload, reason)
                        else:
                            log.warning("frame job %s failed (attempt %s): %s", job_id, attempts, reason)
                            await self._retry(
                                keys=[self.keys.processing, self.keys.leases, self.keys.pending, self.keys.job(job_id)],
                                args=[job_id, reason],
                            )
                        continue
                    result = FrameResult.from_bytes(result_bytes)
                    if not result.job_id:  # the payload could not even be parsed
                        result = error_result(None, result.error or "bad job", job_id=job_id)
                    await self._finish_job(job_id, result, new_tracking if subject else None, dead=False)
                finally:
                    self.held.discard(job_id)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def _subject_of(payload: bytes) -> str | None:
    try:
        return str(json.loads(payload)["subject_id"])
    except Exception:  # noqa: BLE001 - bad payloads are reported by the analysis
        return None


async def serve_worker(
    redis_url: str,
    *,
    queue: str = DEFAULT_QUEUE,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    concurrency: int = 1,
    stop_event: asyncio.Event | None = None,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    lease_seconds: float = 30.0,
    max_attempts: int = 3,
    result_ttl: int = 600,
    tracking_ttl: int = 3 * 3600,
    analyze_fn: AnalyzeFn = analyze_job_bytes,
) -> None:
    """Serve the queue until ``stop_event`` is set (async form of :func:`run_worker`)."""
    stop = stop_event or asyncio.Event()
    client = aioredis.Redis.from_url(redis_url)
    worker = _Worker(
        client, keys=QueueKeys(key_prefix, queue), settings=settings, lease_seconds=lease_seconds,
        max_attempts=max_attempts, result_ttl=result_ttl, tracking_ttl=tracking_ttl,
        analyze_fn=analyze_fn, stop=stop,
    )
    log.info("proctoring worker %s serving %s%s with %s slot(s)", worker.name, key_prefix, queue, concurrency)
    try:
        await asyncio.gather(worker.heartbeat_and_reap(), *(worker.slot(i) for i in range(concurrency)))
    finally:
        await client.aclose()


def run_worker(
    redis_url: str,
    *,
    queue: str = DEFAULT_QUEUE,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    concurrency: int | None = None,
    stop_event: threading.Event | None = None,
    settings: AnalysisSettings = DEFAULT_SETTINGS,
    lease_seconds: float = 30.0,
    max_attempts: int = 3,
    analyze_fn: AnalyzeFn = analyze_job_bytes,
) -> None:
    """Blocking entry point for ``dingkao proctor-worker``.

    Stops on SIGINT/SIGTERM (finishing jobs in hand) or when ``stop_event`` is set.
    ``concurrency`` defaults to the number of cores: one analysis process per core.
    """
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        if stop_event is not None:
            async def watch() -> None:
                while not stop_event.is_set() and not stop.is_set():
                    await asyncio.sleep(0.2)
                stop.set()

            watcher = asyncio.create_task(watch())
        await serve_worker(
            redis_url, queue=queue, key_prefix=key_prefix, concurrency=concurrency or os.cpu_count() or 1,
            stop_event=stop, settings=settings, lease_seconds=lease_seconds, max_attempts=max_attempts,
            analyze_fn=analyze_fn,
        )
        if stop_event is not None:
            watcher.cancel()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="proctor-worker", description="Analyse queued webcam frames.")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--queue", default=DEFAULT_QUEUE)
    parser.add_argument("--key-prefix", default=DEFAULT_KEY_PREFIX)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--lease-seconds", type=float, default=30.0)
    parser.add_argument("--max-attempts", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_worker(
        args.redis_url, queue=args.queue, key_prefix=args.key_prefix, concurrency=args.concurrency,
        lease_seconds=args.lease_seconds, max_attempts=args.max_attempts,
    )


if __name__ == "__main__":
    main()
