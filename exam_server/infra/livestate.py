"""Live state shared between server processes: short-lived keys, counters, locks, pub/sub.

Two implementations of one small port: Redis for several processes, in-process for the
embedded default. Nothing that must not be lost is kept here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from typing import AsyncIterator, Callable, Iterable, Protocol

from redis import exceptions as redis_errors

# What a live-state call raises when Redis is down or restarting (the in-process state never does).
LIVE_STATE_ERRORS: tuple[type[BaseException], ...] = (redis_errors.ConnectionError, redis_errors.TimeoutError,
                                                      ConnectionError, TimeoutError)


class LockNotAcquired(Exception):
    """Another holder has the lock and it did not come free in time."""


class LiveState(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def get_touch(self, key: str, ttl: float) -> str | None: ...
    async def set(self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False) -> bool: ...
    async def delete(self, *keys: str) -> None: ...
    async def incr(self, key: str, *, ttl: float | None = None, by: int = 1) -> int: ...
    async def ttl(self, key: str) -> float | None: ...
    async def expire(self, key: str, ttl: float) -> None: ...
    def lock(self, name: str, *, ttl: float = 10.0, wait: float = 0.0) -> contextlib.AbstractAsyncContextManager[None]: ...
    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[str]]: ...
    def subscribe_many(self, channels: Iterable[str]
                       ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[tuple[str, str]]]: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


async def _acquire(state: "MemoryLiveState | RedisLiveState", name: str, *, ttl: float, wait: float) -> tuple[str, str]:
    """Take `lock:{name}` with a random token (so only the holder releases it), polling up to `wait` s."""
    token = uuid.uuid4().hex
    key = f"lock:{name}"
    deadline = time.monotonic() + wait
    while not await state.set(key, token, ttl=ttl, only_if_absent=True):
        if time.monotonic() >= deadline:
            raise LockNotAcquired(name)
        await asyncio.sleep(0.01)
    return key, token


@contextlib.asynccontextmanager
async def _subscribe_one(state: "MemoryLiveState | RedisLiveState", channel: str) -> AsyncIterator[AsyncIterator[str]]:
    """One channel's messages (``subscribe``): ``subscribe_many`` with the channel names dropped."""
    async with state.subscribe_many([channel]) as pairs:

        async def messages() -> AsyncIterator[str]:
            async for _, message in pairs:
                yield message

        yield messages()


class MemoryLiveState:
    """In-process state for a single server process (the embedded default)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float | None]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, str]]]] = defaultdict(set)

    def _alive(self, key: str) -> tuple[str, float | None] | None:
        item = self._values.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= time.monotonic():
            del self._values[key]
            return None
        return item

    async def get(self, key: str) -> str | None:
        item = self._alive(key)
        return None if item is None else item[0]

    async def get_touch(self, key: str, ttl: float) -> str | None:
        """The value, its TTL reset to ``ttl`` (a session's idle timeout), in one step."""
        item = self._alive(key)
        if item is None:
            return None
        self._values[key] = (item[0], time.monotonic() + ttl)
        return item[0]

    async def set(self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False) -> bool:
        if only_if_absent and self._alive(key) is not None:
            return False
        self._values[key] = (value, None if ttl is None else time.monotonic() + ttl)
        return True

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._values.pop(key, None)

    async def incr(self, key: str, *, ttl: float | None = None, by: int = 1) -> int:
        item = self._alive(key)
        if item is None:
            value, expires = by, (None if ttl is None else time.monotonic() + ttl)
        else:
            value, expires = int(item[0]) + by, item[1]
        self._values[key] = (str(value), expires)
        return value

    async def ttl(self, key: str) -> float | None:
        item = self._alive(key)
        if item is None or item[1] is None:
            return None
        return max(0.0, item[1] - time.monotonic())

    async def expire(self, key: str, ttl: float) -> None:
        item = self._alive(key)
        if item is not None:
            self._values[key] = (item[0], time.monotonic() + ttl)

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, ttl: float = 10.0, wait: float = 0.0) -> AsyncIterator[None]:
        key, token = await _acquire(self, name, ttl=ttl, wait=wait)
        try:
            yield
        finally:
            if await self.get(key) == token:
                await self.delete(key)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait((channel, message))

    @contextlib.asynccontextmanager
    async def subscribe_many(self, channels: Iterable[str]) -> AsyncIterator[AsyncIterator[tuple[str, str]]]:
        """One subscription to several channels: (channel, message) pairs in the order they were published."""
        names = list(channels)
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for channel in names:
            self._subscribers[channel].add(queue)

        async def messages() -> AsyncIterator[tuple[str, str]]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            for channel in names:
                self._subscribers[channel].discard(queue)

    subscribe = _subscribe_one

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._values.clear()


# Delete the lock only if we still own it (it may have expired and been taken).
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# INCRBY and set the TTL only when the counter is new (has none yet), atomically.
_INCR = """
local v = redis.call('incrby', KEYS[1], ARGV[2])
if tonumber(ARGV[1]) > 0 and redis.call('pttl', KEYS[1]) < 0 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return v
"""


# Connections per process. A request holds one from its command until the event loop has read the
# reply, so in a burst (19,000 pages loading at once) the hold time is the loop's queue, not Redis,
# and 64 connections with a 10 s wait can run out. 512 per process (Redis accepts 10,000 clients by
# default) and a 30 s wait; see docs/load.md.
POOL_SIZE = 512
POOL_TIMEOUT = 30.0
# redis-py's default read timeout is 5 s. A process whose event loop is starved (a busy machine, a PDF
# batch drawing in a thread) wakes to find its reply waiting yet past 5 s, and took that for a dead
# Redis; a reply that is truly lost still fails, after this long.
SOCKET_TIMEOUT = 30.0


class RedisLiveState:
    """Live state in Redis, every key under `prefix` so deployments and tests can share a server."""

    def __init__(self, url: str, *, prefix: str = "dingkao:", pool_size: int = POOL_SIZE,
                 pool_timeout: float = POOL_TIMEOUT) -> None:
        from redis import asyncio as aioredis

        # A bounded pool that makes a burst of requests wait for a connection instead of failing.
        # driver_info=None: no CLIENT SETINFO on connecting. A burst opens hundreds of connections, and
        # redis-py read its own version from the package metadata for each (half a second of CPU per
        # process in a 3,000-start opening), then sent it in two more commands.
        pool = aioredis.BlockingConnectionPool.from_url(url, decode_responses=True, health_check_interval=30,
                                                        max_connections=pool_size, timeout=pool_timeout,
                                                        socket_timeout=SOCKET_TIMEOUT, driver_info=None)
        self._redis = aioredis.Redis(connection_pool=pool)
        self.prefix = prefix
        self._unlock = self._redis.register_script(_UNLOCK)
        self._incr = self._redis.register_script(_INCR)

    def _k(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> str | None:
        return await self._redis.get(self._k(key))

    async def get_touch(self, key: str, ttl: float) -> str | None:
        # GETEX (Redis 6.2+): one round trip instead of GET + PEXPIRE on every request.
        return await self._redis.getex(self._k(key), px=max(1, int(ttl * 1000)))

    async def set(self, key: str, value: str, *, ttl: float | None = None, only_if_absent: bool = False) -> bool:
        px = None if ttl is None else max(1, int(ttl * 1000))
        return bool(await self._redis.set(self._k(key), value, px=px, nx=only_if_absent))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._k(k) for k in keys))

    async def incr(self, key: str, *, ttl: float | None = None, by: int = 1) -> int:
        return int(await self._incr(keys=[self._k(key)], args=[0 if ttl is None else int(ttl * 1000), by]))

    async def ttl(self, key: str) -> float | None:
        ms = await self._redis.pttl(self._k(key))
        return None if ms < 0 else ms / 1000

    async def expire(self, key: str, ttl: float) -> None:
        await self._redis.pexpire(self._k(key), max(1, int(ttl * 1000)))

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, ttl: float = 10.0, wait: float = 0.0) -> AsyncIterator[None]:
        key, token = await _acquire(self, name, ttl=ttl, wait=wait)
        try:
            yield
        finally:
            await self._unlock(keys=[self._k(key)], args=[token])

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(self._k(channel), message)

    @contextlib.asynccontextmanager
    async def subscribe_many(self, channels: Iterable[str]) -> AsyncIterator[AsyncIterator[tuple[str, str]]]:
        """One pub/sub connection for several channels: (channel, message) pairs, the prefix taken off."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*(self._k(c) for c in channels))
        cut = len(self.prefix)

        async def messages() -> AsyncIterator[tuple[str, str]]:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield item["channel"][cut:], item["data"]

        try:
            yield messages()
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    subscribe = _subscribe_one

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def delete_prefix(self) -> None:
        """Drop every key under this prefix (tests use their own prefix and clean up)."""
        async for key in self._redis.scan_iter(match=self.prefix + "*", count=500):
            await self._redis.delete(key)

    async def close(self) -> None:
        await self._redis.aclose()


def make_live_state(redis_url: str | None, *, prefix: str = "dingkao:", pool_size: int = POOL_SIZE,
                    pool_timeout: float = POOL_TIMEOUT) -> LiveState:
    if not redis_url:
        return MemoryLiveState()
    return RedisLiveState(redis_url, prefix=prefix, pool_size=pool_size, pool_timeout=pool_timeout)


_follow_log = logging.getLogger("dingkao.live")


class LiveFollower:
    """The process's one live-state subscription, fanned out by channel: each follower of live events (the
    attempt hub, the invigilation hub, the account cache) adds its channel before :meth:`start`, and all of
    them share one pub/sub connection and one reconnection loop.

    While the live state is down (Redis restarting) ``ready`` is clear and the follower resubscribes with a
    backoff of 0.5 s to 10 s; each channel's ``on_gap`` runs on every (re)subscription and loss, for
    followers that must forget what they may have missed. :meth:`stop` uses :func:`cancel_and_wait`, so a
    shutdown never hangs on a pub/sub read that swallowed its cancellation."""

    def __init__(self, live: LiveState) -> None:
        self.live = live
        self.ready = asyncio.Event()
        self._channels: dict[str, tuple[Callable[[str], None], Callable[[], None] | None]] = {}
        self._task: asyncio.Task[None] | None = None

    def follow(self, channel: str, on_message: Callable[[str], None], *,
               on_gap: Callable[[], None] | None = None) -> None:
        """Hand each message on ``channel`` to ``on_message`` (once started)."""
        if self._task is not None:
            raise RuntimeError("channels are added before the follower starts")
        if channel in self._channels:
            raise ValueError(f"channel {channel!r} is followed already")
        self._channels[channel] = (on_message, on_gap)

    @property
    def channels(self) -> list[str]:
        return list(self._channels)

    def start(self) -> None:
        if self._channels and self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-follower")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self.ready.clear()

    def _gap(self) -> None:
        for _, on_gap in self._channels.values():
            if on_gap is not None:
                on_gap()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with self.live.subscribe_many(self._channels) as messages:
                    self._gap()
                    self.ready.set()
                    backoff = 0.5
                    async for channel, raw in messages:
                        follower = self._channels.get(channel)
                        if follower is None:
                            continue
                        try:
                            follower[0](raw)
                        except Exception:  # one follower's bug must not cut the others off
                            _follow_log.exception("a %s message could not be handled", channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.ready.clear()
                self._gap()
                _follow_log.warning("live-state subscription lost (%s); retrying in %.1fs",
                                    ", ".join(self._channels), backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel a task (a `follow` loop and the like) and wait for it to end. redis-py can swallow a
    cancellation that lands at the wrong moment in a pub/sub read and go back to waiting (seen
    here: a server's shutdown hung for good), so the cancellation is repeated until the task ends."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled() and task.exception() is not None:
        _follow_log.warning("%s ended with an error while stopping", task.get_name(), exc_info=task.exception())
