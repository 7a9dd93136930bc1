"""The Redis frame queue: a stream read by a consumer group, and the RedisQueueAnalyzer.

Key layout (``P`` = key prefix, e.g. ``dingkao:proctoring:``; ``Q`` = queue name)::

    P Q:stream        STREAM  frames not yet finished: fields id (job id), payload (FrameJob
                              JSON), ttl (ms); read by the consumer group ``workers``
    P Q:dead-letters  STREAM  frames given up on: id, error, deliveries, payload (the newest
                              DEAD_LETTERS_KEPT are kept)
    P Q:results       pub/sub channel: every FrameResult as JSON (for the live view)
    P result:<id>     LIST    the FrameResult JSON, for the submitter (BLPOP), short TTL
    P tracking:<subject>   STRING  TrackingState JSON between frames, TTL

Producers ``XADD`` with an exact ``MAXLEN`` (the backlog bound: the oldest frames are
dropped); workers ``XREADGROUP``, and a frame stays in the group's pending entries list
until its worker ``XACK`` s and ``XDEL`` s it, so the stream holds exactly the frames
waiting or in analysis. A frame whose worker stopped (idle longer than the lease) is taken
over with ``XAUTOCLAIM``; its delivery count decides when it is dead-lettered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NamedTuple

import redis.asyncio as aioredis

from proctoring.errors import QueueError, ResultTimeout
from proctoring.jobs import FrameJob, FrameResult

DEFAULT_KEY_PREFIX = "dingkao:proctoring:"
DEFAULT_QUEUE = "frames"
GROUP = "workers"
MAX_BACKLOG = 1000
DEAD_LETTERS_KEPT = 1000
_BLOCK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class QueueKeys:
    prefix: str = DEFAULT_KEY_PREFIX
    queue: str = DEFAULT_QUEUE

    @property
    def stream(self) -> str:
        return f"{self.prefix}{self.queue}:stream"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}{self.queue}:dead-letters"

    @property
    def channel(self) -> str:
        return f"{self.prefix}{self.queue}:results"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}result:{job_id}"

    def tracking(self, subject_id: str) -> str:
        return f"{self.prefix}tracking:{subject_id}"


class QueueDepth(NamedTuple):
    pending: int  # waiting for a worker
    processing: int  # delivered to a worker, not yet finished
    dead: int


async def ensure_group(client: aioredis.Redis, keys: QueueKeys) -> None:
    """Create the stream and its group if missing; from id 0, so frames added before are read."""
    try:
        await client.xgroup_create(keys.stream, GROUP, id="0", mkstream=True)
    except aioredis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def queue_depth(client: aioredis.Redis, keys: QueueKeys) -> QueueDepth:
    """Frames waiting, in analysis and dead-lettered (finished frames are deleted from the stream)."""
    length, dead = await client.xlen(keys.stream), await client.xlen(keys.dead_letters)
    try:
        processing = int((await client.xpending(keys.stream, GROUP))["pending"])
    except aioredis.ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
        processing = 0  # no stream yet: nothing was ever delivered
    # A pending entry trimmed from the stream (the backlog bound) counts only as processing.
    return QueueDepth(pending=max(0, length - processing), processing=processing, dead=dead)


class RedisQueueAnalyzer:
    """Enqueues frames for ``dingkao proctor-worker`` processes and awaits their results.

    ``analyze(job)`` = ``submit(job)`` then ``wait_result(job.job_id)``. Callers that do
    not want to wait can submit and listen on the ``results`` channel instead. At most
    ``max_backlog`` frames stay in the stream (the oldest are dropped, and their waiters
    time out); a frame not taken by a worker within ``job_ttl`` seconds is not analysed.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        queue: str = DEFAULT_QUEUE,
        timeout: float = 60.0,
        job_ttl: float = 24 * 3600,
        max_backlog: int = MAX_BACKLOG,
        owns_client: bool = False,
    ) -> None:
        self.keys = QueueKeys(key_prefix, queue)
        self._redis = client
        self._timeout = timeout
        self._job_ttl_ms = int(job_ttl * 1000)
        self._max_backlog = max_backlog
        self._owns_client = owns_client
        self._group_ready = False

    @classmethod
    def from_url(cls, url: str, **options: object) -> RedisQueueAnalyzer:
        return cls(aioredis.Redis.from_url(url), owns_client=True, **options)  # type: ignore[arg-type]

    async def submit(self, job: FrameJob) -> str:
        """Queue a frame; returns its job id."""
        try:
            if not self._group_ready:  # so XPENDING (the metrics) works before any worker ran
                await ensure_group(self._redis, self.keys)
                self._group_ready = True
            await self._redis.xadd(
                self.keys.stream,
                {"id": job.job_id, "payload": job.to_bytes(), "ttl": self._job_ttl_ms},
                maxlen=self._max_backlog,
                approximate=False,
            )
        except aioredis.RedisError as exc:
            raise QueueError(f"could not enqueue frame: {exc}") from exc
        return job.job_id

    async def wait_result(self, job_id: str, *, timeout: float | None = None) -> FrameResult:
        """Wait for a submitted job's result (each result is delivered to one waiter)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or self._timeout)
        key = self.keys.result(job_id)
        while True:
            # Short blocking reads: redis-py's default socket timeout (5 s) would abort a
            # longer BLPOP, and the caller's client is not ours to reconfigure.
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ResultTimeout(f"no result for job {job_id}")
            try:
                got = await self._redis.blpop([key], timeout=min(remaining, _BLOCK_SECONDS))
            except aioredis.RedisError as exc:
                raise QueueError(f"could not read result: {exc}") from exc
            if got is not None:
                return FrameResult.from_bytes(got[1])

    async def analyze(self, job: FrameJob) -> FrameResult:
        await self.submit(job)
        return await self.wait_result(job.job_id)

    async def dead_letters(self) -> list[str]:
        """Job ids of the dead-lettered frames kept, oldest first."""
        return [fields[b"id"].decode() for _, fields in await self._redis.xrange(self.keys.dead_letters)]

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisQueueAnalyzer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
