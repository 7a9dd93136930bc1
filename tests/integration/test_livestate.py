"""The LiveState port: the same behaviour from the in-process and the Redis implementation."""

from __future__ import annotations

import asyncio
import uuid
from typing import AsyncIterator

import pytest

from urllib.parse import urlsplit

from exam_server.infra.livestate import LiveFollower, LiveState, LockNotAcquired, MemoryLiveState, RedisLiveState

from ..conftest import REDIS_URL
from ..proxy import CuttableProxy


@pytest.fixture(params=["memory", "redis"])
async def live(request: pytest.FixtureRequest) -> AsyncIterator[LiveState]:
    if request.param == "memory":
        state = MemoryLiveState()
        yield state
        await state.close()
        return
    state = RedisLiveState(REDIS_URL, prefix=f"dktest:live:{uuid.uuid4().hex}:")
    try:
        yield state
    finally:
        await state.delete_prefix()
        await state.close()


async def test_get_set_and_overwrite(live: LiveState) -> None:
    assert await live.get("k") is None
    assert await live.set("k", "一") is True
    assert await live.get("k") == "一"
    assert await live.set("k", "two") is True
    assert await live.get("k") == "two"
    assert await live.ttl("k") is None  # no expiry unless asked


# TTL tests wait only in the safe direction: a key meant to be alive has a TTL no pause of a busy
# machine reaches, and a key meant to be gone is waited for past its TTL.
async def test_values_expire_after_their_ttl(live: LiveState) -> None:
    await live.set("long", "v", ttl=60)
    remaining = await live.ttl("long")
    assert remaining is not None and 0 < remaining <= 60
    assert await live.get("long") == "v"
    await live.set("short", "v", ttl=0.3)
    await asyncio.sleep(0.45)
    assert await live.get("short") is None
    assert await live.ttl("short") is None
    # Setting again without a ttl makes the key permanent.
    await live.set("short", "v", ttl=0.3)
    await live.set("short", "w")
    assert await live.ttl("short") is None


async def test_only_if_absent(live: LiveState) -> None:
    assert await live.set("once", "first", only_if_absent=True) is True
    assert await live.set("once", "second", only_if_absent=True) is False
    assert await live.get("once") == "first"
    # An expired key counts as absent.
    await live.set("gone", "old", ttl=0.2)
    await asyncio.sleep(0.3)
    assert await live.set("gone", "new", only_if_absent=True, ttl=5) is True
    assert await live.get("gone") == "new"


async def test_incr_sets_the_ttl_only_on_the_first_increment(live: LiveState) -> None:
    assert await live.incr("count", ttl=60) == 1
    first = await live.ttl("count")
    assert first is not None and 0 < first <= 60
    assert await live.incr("count", ttl=60) == 2
    assert await live.incr("count", ttl=6000) == 3  # does not extend the window
    remaining = await live.ttl("count")
    assert remaining is not None and remaining <= first
    # When the window ends, a new one starts.
    assert await live.incr("window", ttl=0.2) == 1
    assert await live.incr("window", ttl=60) == 2
    await asyncio.sleep(0.35)
    assert await live.get("window") is None
    assert await live.incr("window", ttl=60) == 1


async def test_incr_without_ttl_never_expires(live: LiveState) -> None:
    assert await live.incr("plain") == 1
    assert await live.incr("plain") == 2
    assert await live.get("plain") == "2"
    assert await live.ttl("plain") is None


async def test_expire(live: LiveState) -> None:
    await live.set("k", "v")
    await live.expire("k", 60)
    remaining = await live.ttl("k")
    assert remaining is not None and 0 < remaining <= 60
    await live.expire("k", 0.2)
    await asyncio.sleep(0.3)
    assert await live.get("k") is None
    # Expiring a missing key does not create it.
    await live.expire("missing", 10)
    assert await live.get("missing") is None
    assert await live.ttl("missing") is None


async def test_expire_extends_a_session_like_key(live: LiveState) -> None:
    await live.set("session", "data", ttl=30)
    await live.expire("session", 600)
    remaining = await live.ttl("session")
    assert remaining is not None and 30 < remaining <= 600
    assert await live.get("session") == "data"


async def test_get_touch_reads_and_extends_in_one_step(live: LiveState) -> None:
    await live.set("session", "v", ttl=30)
    assert await live.get_touch("session", 600) == "v"
    remaining = await live.ttl("session")
    assert remaining is not None and 30 < remaining <= 600
    assert await live.get("session") == "v"
    assert await live.get_touch("missing", 1.0) is None
    assert await live.get("missing") is None


async def test_delete(live: LiveState) -> None:
    await live.set("a", "1")
    await live.set("b", "2")
    await live.set("c", "3")
    await live.delete("a", "b", "never-set")
    assert await live.get("a") is None and await live.get("b") is None
    assert await live.get("c") == "3"
    await live.delete()  # nothing to delete is fine
    assert await live.get("c") == "3"


async def test_a_lock_excludes_a_second_holder_and_is_released_after_the_block(live: LiveState) -> None:
    async with live.lock("attempt:1", ttl=5):
        with pytest.raises(LockNotAcquired):
            async with live.lock("attempt:1", wait=0):
                pytest.fail("two holders of one lock")
        async with live.lock("attempt:2", wait=0):  # another name is another lock
            pass
    async with live.lock("attempt:1", wait=0):
        pass


async def test_a_lock_is_released_when_the_block_raises(live: LiveState) -> None:
    with pytest.raises(RuntimeError):
        async with live.lock("boom", ttl=5):
            raise RuntimeError("inside")
    async with live.lock("boom", wait=0):
        pass


async def test_a_waiting_acquirer_gets_the_lock_once_it_is_free(live: LiveState) -> None:
    order: list[str] = []
    held = asyncio.Event()

    async def first() -> None:
        async with live.lock("queue", ttl=5):
            order.append("first in")
            held.set()
            await asyncio.sleep(0.2)
            order.append("first out")

    async def second() -> None:
        await held.wait()
        async with live.lock("queue", ttl=30, wait=30):  # generous: a safety net only
            order.append("second in")

    await asyncio.gather(first(), second())
    assert order == ["first in", "first out", "second in"]


async def test_a_lock_expires_after_its_ttl_and_the_late_holder_does_not_free_the_new_one(live: LiveState) -> None:
    async with live.lock("slow", ttl=0.2):
        await asyncio.sleep(0.35)  # the holder overran its lease
        async with live.lock("slow", ttl=5, wait=0):
            pass
        second = live.lock("slow", ttl=5, wait=0)
        await second.__aenter__()
    # The first holder left after its lease ended: the second holder must still have the lock.
    try:
        with pytest.raises(LockNotAcquired):
            async with live.lock("slow", wait=0):
                pass
    finally:
        await second.__aexit__(None, None, None)
    async with live.lock("slow", wait=0):
        pass


async def _next(messages: AsyncIterator[str], timeout: float = 30.0) -> str:
    return await asyncio.wait_for(messages.__anext__(), timeout)


async def test_pub_sub_reaches_every_subscriber_and_not_an_unsubscribed_one(live: LiveState) -> None:
    async with live.subscribe("room") as first, live.subscribe("room") as second, \
            live.subscribe("other-room") as elsewhere:
        async with live.subscribe("room") as leaver:
            await live.publish("room", "hello")
            assert await _next(leaver) == "hello"
        assert await _next(first) == "hello"
        assert await _next(second) == "hello"
        await live.publish("room", "监考提醒")
        await live.publish("room", "third")
        assert [await _next(first), await _next(first)] == ["监考提醒", "third"]
        assert [await _next(second), await _next(second)] == ["监考提醒", "third"]
        # The unsubscribed reader gets nothing more: it ends, or waits in vain.
        try:
            got = await _next(leaver, timeout=0.3)
        except (asyncio.TimeoutError, StopAsyncIteration, RuntimeError, ConnectionError):
            got = None
        except Exception as exc:  # a closed Redis connection may say so in its own words
            got = None if "closed" in str(exc).lower() or "connection" in str(exc).lower() else repr(exc)
        assert got is None
        # Nothing was published on the other channel.
        with pytest.raises(asyncio.TimeoutError):
            await _next(elsewhere, timeout=0.3)


async def test_publishing_without_subscribers_is_fine(live: LiveState) -> None:
    await live.publish("empty", "nobody listens")
    async with live.subscribe("empty") as messages:
        await live.publish("empty", "now someone does")
        assert await _next(messages) == "now someone does"


async def test_ping(live: LiveState) -> None:
    assert await live.ping() is True


async def test_redis_prefixes_keep_deployments_apart() -> None:
    a = RedisLiveState(REDIS_URL, prefix=f"dktest:a:{uuid.uuid4().hex}:")
    b = RedisLiveState(REDIS_URL, prefix=f"dktest:b:{uuid.uuid4().hex}:")
    try:
        await a.set("shared-name", "from a")
        assert await b.get("shared-name") is None
        async with b.subscribe("events") as heard_by_b:
            await a.publish("events", "for a only")
            with pytest.raises(asyncio.TimeoutError):
                await _next(heard_by_b, timeout=0.3)
        await a.delete_prefix()
        assert await a.get("shared-name") is None
    finally:
        for state in (a, b):
            await state.delete_prefix()
            await state.close()


async def test_a_follower_whose_library_swallows_a_cancellation_still_stops() -> None:
    from exam_server.infra.livestate import cancel_and_wait

    swallowed = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:  # as redis-py may, once, at the wrong moment
            swallowed.append(1)
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), timeout=10)
    assert task.cancelled() and swallowed == [1]


async def test_one_subscription_to_several_channels_names_each_message_s_channel(live: LiveState) -> None:
    async with live.subscribe_many(["exam", "invigilation"]) as messages:
        await live.publish("exam", "e1")
        await live.publish("elsewhere", "not for us")
        await live.publish("invigilation", "i1")
        await live.publish("exam", "e2")
        got = [await asyncio.wait_for(messages.__anext__(), 30) for _ in range(3)]
    assert got == [("exam", "e1"), ("invigilation", "i1"), ("exam", "e2")]


class Heard:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.gaps = 0
        self.arrived = asyncio.Event()

    def __call__(self, raw: str) -> None:
        self.messages.append(raw)
        self.arrived.set()

    def gap(self) -> None:
        self.gaps += 1

    async def next(self) -> str:
        await asyncio.wait_for(self.arrived.wait(), 30)
        self.arrived.clear()
        return self.messages[-1]


async def test_the_follower_fans_one_subscription_out_by_channel(live: LiveState) -> None:
    exam, accounts = Heard(), Heard()
    follower = LiveFollower(live)
    follower.follow("exam", exam)
    follower.follow("accounts", accounts, on_gap=accounts.gap)
    with pytest.raises(ValueError):
        follower.follow("exam", exam)
    follower.start()
    try:
        await asyncio.wait_for(follower.ready.wait(), 30)
        assert accounts.gaps == 1  # whatever was sent before the subscription is forgotten
        await live.publish("exam", "started")
        assert await exam.next() == "started"
        await live.publish("accounts", "[1]")
        assert await accounts.next() == "[1]"
        assert exam.messages == ["started"] and accounts.messages == ["[1]"]
        with pytest.raises(RuntimeError):
            follower.follow("late", Heard())  # the subscription is open: channels are added before
    finally:
        await asyncio.wait_for(follower.stop(), 10)
    assert not follower.ready.is_set()


async def test_a_follower_that_fails_does_not_cut_the_others_off(live: LiveState) -> None:
    def broken(raw: str) -> None:
        raise ValueError(raw)

    heard = Heard()
    follower = LiveFollower(live)
    follower.follow("broken", broken)
    follower.follow("fine", heard)
    follower.start()
    try:
        await asyncio.wait_for(follower.ready.wait(), 30)
        await live.publish("broken", "boom")
        await live.publish("fine", "still here")
        assert await heard.next() == "still here"
    finally:
        await asyncio.wait_for(follower.stop(), 10)


async def test_the_follower_resubscribes_when_redis_comes_back() -> None:
    target = urlsplit(REDIS_URL)
    proxy = await CuttableProxy(target.hostname or "127.0.0.1", target.port or 6379).start()
    prefix = f"dktest:follow:{uuid.uuid4().hex}:"
    through_proxy = RedisLiveState(f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}", prefix=prefix)
    direct = RedisLiveState(REDIS_URL, prefix=prefix)
    heard = Heard()
    follower = LiveFollower(through_proxy)
    follower.follow("exam", heard, on_gap=heard.gap)
    follower.start()
    try:
        await asyncio.wait_for(follower.ready.wait(), 30)
        proxy.cut()

        async def lost() -> None:  # the read fails and the follower says so
            while follower.ready.is_set():
                await asyncio.sleep(0.05)

        await asyncio.wait_for(lost(), 30)
        assert heard.gaps >= 2  # once subscribed, once lost
        proxy.restore()
        await asyncio.wait_for(follower.ready.wait(), 30)  # back-off is at most 10 s
        await direct.publish("exam", "after the restart")
        assert await heard.next() == "after the restart"
    finally:
        await asyncio.wait_for(follower.stop(), 10)
        await proxy.close()
        await through_proxy.close()
        await direct.close()

