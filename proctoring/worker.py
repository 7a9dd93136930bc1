"""The proctoring worker: reads frames from the Redis stream and analyses them.

Run any number of workers on any hosts (``dingkao proctor-worker`` calls
:func:`run_worker`; ``python -m proctoring.worker`` does too). Each is a consumer of the
stream's group; each of its ``concurrency`` slots owns a one-process pool, so a frame that
crashes its analysis process (e.g. a native fault in dlib) costs only that slot a restart.

Delivery is at least once: a frame stays in the group's pending entries until its worker
acknowledges it. A worker refreshes the idle time of the frames it holds every lease/3;
a frame idle longer than the lease (its worker died) is taken over by another worker's
``XAUTOCLAIM``, and may in rare cases be analysed twice; results are idempotent per job id.
A frame delivered more than ``max_attempts`` times, or failing on its last attempt, is
moved to the dead-letter stream with an ``error`` result, so a poison frame cannot stall
the queue.
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
from dataclasses import dataclass
from typing import Callable

import redis.asyncio as aioredis

from proctoring.jobs import FrameJob, FrameResult, analyze_job_bytes, error_result
from proctoring.local_pool import make_pool
from proctoring.redis_queue import (
    DEAD_LETTERS_KEPT,
    DEFAULT_KEY_PREFIX,
    DEFAULT_QUEUE,
    GROUP,
    QueueKeys,
    ensure_group,
)
from proctoring.settings import DEFAULT_SETTINGS, AnalysisSettings

log = logging.getLogger(__name__)

AnalyzeFn = Callable[[bytes, bytes | None, AnalysisSettings], tuple[bytes, bytes | None]]
_READ_BLOCK_MS = 1000
# A frame idle this long is taken over. Short enough that a killed worker's frame is still
# analysed within a waiter's 30 s; long enough that a live worker's heartbeat (every third
# of it) never misses on a busy host.
LEASE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _Delivery:
    """A stream entry handed to this worker, and how many times it has been delivered."""

    entry_id: bytes
    fields: dict[bytes, bytes]
    deliveries: int

    @property
    def job_id(self) -> str:
        return self.fields.get(b"id", self.entry_id).decode(errors="replace")

    @property
    def payload(self) -> bytes:
        return self.fields.get(b"payload", b"")


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
        self.held: set[bytes] = set()  # stream entry ids in analysis here
        self.name = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._cursor: bytes | str = "0-0"  # where the next XAUTOCLAIM scan of the pending entries starts

    async def _sleep_or_stop(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def heartbeat(self) -> None:
        """Every lease/3, reset the idle time of the frames held here so no one takes them over."""
        while not self.stop.is_set():
            await self.heartbeat_once()
            await self._sleep_or_stop(self.lease_ms / 3000)

    async def heartbeat_once(self) -> None:
        if not self.held:
            return
        try:
            # JUSTID: claiming our own entries again resets their idle time without counting a
            # delivery. Should another worker have taken one over while this one stalled past
            # the lease, it comes back here and both finish it (at least once allows that).
            await self.r.xclaim(self.keys.stream, GROUP, self.name, 0, list(self.held), justid=True)
        except aioredis.RedisError:
            log.exception("heartbeat failed")

    async def next_frame(self) -> _Delivery | None:
        """A stopped worker's frame if one is idle past the lease (oldest first), else a new one."""
        try:
            return await self._next_frame()
        except aioredis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await ensure_group(self.r, self.keys)  # first start, or the stream was deleted
            return None

    async def _next_frame(self) -> _Delivery | None:
        next_id, claimed, *_deleted = await self.r.xautoclaim(
            self.keys.stream, GROUP, self.name, self.lease_ms, start_id=self._cursor, count=1
        )
        self._cursor = next_id
        if claimed:
            entry_id, fields = claimed[0]
            info = await self.r.xpending_range(self.keys.stream, GROUP, entry_id, entry_id, 1)
            if not info:  # its first worker finished it after all, just now
                return None
            deliveries = int(info[0]["times_delivered"])
            log.warning("took over frame entry %s from a stopped worker (delivery %s)", entry_id.decode(), deliveries)
            return _Delivery(entry_id, fields or {}, deliveries)
        got = await self.r.xreadgroup(GROUP, self.name, {self.keys.stream: ">"}, count=1, block=_READ_BLOCK_MS)
        if not got:
            return None
        entry_id, fields = got[0][1][0]
        return _Delivery(entry_id, fields, 1)

    async def _finish(self, d: _Delivery, result: FrameResult, tracking: bytes | None, *, dead: bool) -> None:
        # One MULTI: the frame leaves the stream exactly when its result is published.
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.stream, GROUP, d.entry_id).xdel(self.keys.stream, d.entry_id)
            if dead:
                fields = {"id": d.job_id, "error": result.error or "", "deliveries": d.deliveries, "payload": d.payload}
                pipe.xadd(self.keys.dead_letters, fields, maxlen=DEAD_LETTERS_KEPT, approximate=False)
            if tracking and result.subject_id:
                pipe.set(self.keys.tracking(result.subject_id), tracking, ex=self.tracking_ttl)
            data = result.to_bytes()
            key = self.keys.result(d.job_id)
            pipe.rpush(key, data).expire(key, self.result_ttl).publish(self.keys.channel, data)
            await pipe.execute()

    async def _dead_letter(self, d: _Delivery, reason: str) -> None:
        try:
            job = FrameJob.from_bytes(d.payload) if d.payload else None
        except Exception:  # noqa: BLE001 - a poison payload may be anything
            job = None
        log.error("frame job %s dead-lettered: %s", d.job_id, reason)
        await self._finish(d, error_result(job, reason, job_id=d.job_id), None, dead=True)

    async def _expired(self, d: _Delivery) -> bool:
        ttl_ms = d.fields.get(b"ttl", b"")
        if not ttl_ms.isdigit():
            return False
        seconds, micros = await self.r.time()  # the server's clock, which stamped the entry id
        return seconds * 1000 + micros // 1000 - int(d.entry_id.split(b"-")[0]) > int(ttl_ms)

    async def _drop(self, d: _Delivery) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            await pipe.xack(self.keys.stream, GROUP, d.entry_id).xdel(self.keys.stream, d.entry_id).execute()

    async def _release(self, d: _Delivery) -> None:
        """Give a failed frame back at once: idle past the lease, the next XAUTOCLAIM redelivers it."""
        self.held.discard(d.entry_id)
        await self.r.xclaim(self.keys.stream, GROUP, self.name, 0, [d.entry_id], idle=self.lease_ms, justid=True)
        self._cursor = "0-0"

    async def slot(self, index: int) -> None:
        pool: ProcessPoolExecutor | None = None
        loop = asyncio.get_running_loop()
        try:
            while not self.stop.is_set():
                try:
                    d = await self.next_frame()
                except aioredis.RedisError:
                    log.exception("queue read failed")
                    await self._sleep_or_stop(1.0)
                    continue
                if d is None:
                    continue
                self.held.add(d.entry_id)
                try:
                    if d.deliveries > self.max_attempts:
                        # Earlier deliveries took their worker down with them.
                        await self._dead_letter(d, f"gave up after {d.deliveries - 1} deliveries")
                        continue
                    if await self._expired(d):
                        log.info("frame job %s expired before analysis (delivery %s); dropped", d.job_id, d.deliveries)
                        await self._drop(d)
                        continue
                    subject = _subject_of(d.payload)
                    tracking = await self.r.get(self.keys.tracking(subject)) if subject else None
                    if pool is None:
                        pool = make_pool(1)
                    try:
                        result_bytes, new_tracking = await loop.run_in_executor(
                            pool, self.analyze_fn, d.payload, tracking, self.settings
                        )
                    except Exception as exc:  # noqa: BLE001 - anything the analysis throws
                        if isinstance(exc, BrokenProcessPool):
                            pool.shutdown(wait=False, cancel_futures=True)
                            pool = None
                        reason = f"{type(exc).__name__}: {exc}"
                        if d.deliveries >= self.max_attempts:
                            await self._dead_letter(d, reason)
                        else:
                            log.warning("frame job %s failed (delivery %s): %s", d.job_id, d.deliveries, reason)
                            await self._release(d)
                        continue
                    result = FrameResult.from_bytes(result_bytes)
                    if not result.job_id:  # the payload could not even be parsed
                        result = error_result(None, result.error or "bad job", job_id=d.job_id)
                    await self._finish(d, result, new_tracking if subject else None, dead=False)
                except aioredis.RedisError:
                    # Still pending: once idle past the lease, it is redelivered (here or elsewhere).
                    log.exception("frame job %s could not be finished", d.job_id)
                    await self._sleep_or_stop(1.0)
                finally:
                    self.held.discard(d.entry_id)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    async def leave(self) -> None:
        """After a clean stop: remove this consumer from the group if it holds nothing."""
        try:
            if not await self.r.xpending_range(self.keys.stream, GROUP, "-", "+", 1, consumername=self.name):
                await self.r.xgroup_delconsumer(self.keys.stream, GROUP, self.name)
        except aioredis.RedisError:
            log.exception("could not leave the consumer group")


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
    lease_seconds: float = LEASE_SECONDS,
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
        await asyncio.gather(worker.heartbeat(), *(worker.slot(i) for i in range(concurrency)))
        await worker.leave()
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
    lease_seconds: float = LEASE_SECONDS,
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
    parser.add_argument("--lease-seconds", type=float, default=LEASE_SECONDS)
    parser.add_argument("--max-attempts", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_worker(
        args.redis_url, queue=args.queue, key_prefix=args.key_prefix, concurrency=args.concurrency,
        lease_seconds=args.lease_seconds, max_attempts=args.max_attempts,
    )


if __name__ == "__main__":
    main()
