"""The Redis frame queue: key layout, atomic scripts, and the RedisQueueAnalyzer.

Key layout (``P`` = key prefix, e.g. ``dingkao:proctoring:``; ``Q`` = queue name)::

    P Q:pending      LIST  job ids waiting; producers LPUSH, workers BLMOVE from the right
    P Q:processing   LIST  job ids a worker holds
    P Q:leases       ZSET  job id -> lease deadline (ms, Redis server clock)
    P Q:dead         LIST  job ids given up on (their job hash is kept for inspection)
    P Q:results      pub/sub channel: every FrameResult as JSON (for the live view)
    P job:<id>       HASH  payload (FrameJob JSON), attempts, last_error
    P result:<id>    LIST  the FrameResult JSON, for the submitter (BLPOP), short TTL
    P tracking:<subject>   STRING  TrackingState JSON between frames, TTL

A job is never only in a worker's memory: it sits in ``processing`` until the worker
finishes it. Each held job has a lease a heartbeat extends; a reaper (every worker runs
one) moves jobs whose lease expired back to ``pending``. Lease times come from the
Redis server clock so hosts with skewed clocks agree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio as aioredis

from proctoring.errors import QueueError, ResultTimeout
from proctoring.jobs import FrameJob, FrameResult

DEFAULT_KEY_PREFIX = "dingkao:proctoring:"
DEFAULT_QUEUE = "frames"
_BLOCK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class QueueKeys:
    prefix: str = DEFAULT_KEY_PREFIX
    queue: str = DEFAULT_QUEUE

    @property
    def pending(self) -> str:
        return f"{self.prefix}{self.queue}:pending"

    @property
    def processing(self) -> str:
        return f"{self.prefix}{self.queue}:processing"

    @property
    def leases(self) -> str:
        return f"{self.prefix}{self.queue}:leases"

    @property
    def dead(self) -> str:
        return f"{self.prefix}{self.queue}:dead"

    @property
    def channel(self) -> str:
        return f"{self.prefix}{self.queue}:results"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}result:{job_id}"

    def tracking(self, subject_id: str) -> str:
        return f"{self.prefix}tracking:{subject_id}"


_NOW_MS = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS: leases, job, processing   ARGV: id, lease_ms  -> {attempts, payload} or {-1}
CLAIM = _NOW_MS + """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('LREM', KEYS[3], 1, ARGV[1]) redis.call('ZREM', KEYS[1], ARGV[1]) return {-1}
end
local attempts = redis.call('HINCRBY', KEYS[2], 'attempts', 1)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {attempts, redis.call('HGET', KEYS[2], 'payload')}
"""

# KEYS: leases   ARGV: lease_ms, id...   (only extends leases that still exist)
HEARTBEAT = _NOW_MS + """
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return 0
"""

# KEYS: processing, leases, job, result, tracking, dead
# ARGV: id, result, result_ttl_s, channel, tracking_state or '', tracking_ttl_s, dead(0/1), error
FINISH = """
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[7] == '1' then
  redis.call('HSET', KEYS[3], 'last_error', ARGV[8])
  redis.call('LPUSH', KEYS[6], ARGV[1])
else
  redis.call('DEL', KEYS[3])
end
if ARGV[5] ~= '' then redis.call('SET', KEYS[5], ARGV[5], 'EX', tonumber(ARGV[6])) end
redis.call('RPUSH', KEYS[4], ARGV[2])
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[2])
return 1
"""

# KEYS: processing, leases, pending, job   ARGV: id, error  (back of the line)
RETRY = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[4], 'last_error', ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[1])
return 1
"""

# KEYS: processing, leases, pending   ARGV: grace_ms -> number of jobs requeued.
# A job in processing without a lease was just moved by a worker that has not
# claimed it yet (or died in between): give it a grace lease first.
REAP = _NOW_MS + """
local n = 0
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('ZSCORE', KEYS[2], id)
  if not s then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), id)
  elseif tonumber(s) < now then
    redis.call('LREM', KEYS[1], 1, id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('RPUSH', KEYS[3], id)
    n = n + 1
  end
end
return n
"""


class RedisQueueAnalyzer:
    """Enqueues frames for ``dingkao proctor-worker`` processes and awaits their results.

    ``analyze(job)`` = ``submit(job)`` then ``wait_result(job.job_id)``. Callers that do
    not want to wait can submit and listen on the ``results`` channel instead.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        queue: str = DEFAULT_QUEUE,
        timeout: float = 60.0,
        job_ttl: int = 24 * 3600,
        owns_client: bool = False,
    ) -> None:
        self.keys = QueueKeys(key_prefix, queue)
        self._redis = client
        self._timeout = timeout
        self._job_ttl = job_ttl
        self._owns_client = owns_client

    @classmethod
    def from_url(cls, url: str, **options: object) -> RedisQueueAnalyzer:
        return cls(aioredis.Redis.from_url(url), owns_client=True, **options)  # type: ignore[arg-type]

    async def submit(self, job: FrameJob) -> str:
        """Queue a frame; returns its job id."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self.keys.job(job.job_id), mapping={"payload": job.to_bytes(), "attempts": 0})
                pipe.expire(self.keys.job(job.job_id), self._job_ttl)
                pipe.lpush(self.keys.pending, job.job_id)
                await pipe.execute()
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

    async def pending_count(self) -> int:
        return int(await self._redis.llen(self.keys.pending))

    async def dead_letters(self) -> list[str]:
        return [x.decode() for x in await self._redis.lrange(self.keys.dead, 0, -1)]

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisQueueAnalyzer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def wait_all(analyzer: RedisQueueAnalyzer, job_ids: list[str], *, timeout: float) -> list[FrameResult]:
    """Wait for several submitted jobs concurrently."""
    return list(await asyncio.gather(*(analyzer.wait_result(j, timeout=timeout) for j in job_ids)))
