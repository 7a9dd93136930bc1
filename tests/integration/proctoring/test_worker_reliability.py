"""The Redis worker path end to end: a killed worker's frame taken over, poison frames dead-lettered,
the backlog bound, expired frames, results to their submitter, clean key space."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from proctoring import FrameJob, FrameResult, JobStatus, QueueKeys, RedisQueueAnalyzer, ResultTimeout, Verdict
from proctoring.redis_queue import GROUP, queue_depth

from conftest import REDIS_URL, worker_running

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


async def _wait_until(predicate, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{HERE}"}
    return subprocess.Popen([sys.executable, *args], env=env, start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and its analysis process
    proc.wait(10)


async def test_a_frame_held_by_a_killed_worker_is_analysed_by_another(redis_client, key_prefix, obama):
    enrolment, frame = obama
    keys = QueueKeys(key_prefix)
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    job = FrameJob(subject_id="att-k", frame_id="slow-1", image=frame, enrolment=enrolment)
    first = _spawn(str(HERE / "slow_worker.py"), REDIS_URL, key_prefix)
    second = None
    try:
        await queue.submit(job)

        async def held() -> bool:
            return (await redis_client.xpending(keys.stream, GROUP))["pending"] == 1

        await _wait_until(held, 60)
        [slow] = (await redis_client.xpending(keys.stream, GROUP))["consumers"]
        _kill(first)
        second = _spawn("-m", "proctoring.worker", "--redis-url", REDIS_URL, "--key-prefix", key_prefix,
                        "--concurrency", "1", "--lease-seconds", "2")
        result = await queue.wait_result(job.job_id, timeout=90)
        assert result.status == JobStatus.DONE and result.analysis is not None
        assert result.analysis.verdict == Verdict.OK
        # Acknowledged and deleted: nothing waits, nothing is held, the killed consumer holds nothing.
        assert await queue_depth(redis_client, keys) == (0, 0, 0)
        assert await redis_client.xpending_range(keys.stream, GROUP, "-", "+", 10, consumername=slow["name"]) == []
    finally:
        _kill(first)
        if second is not None:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(20)
            except subprocess.TimeoutExpired:
                _kill(second)


async def test_a_poison_frame_is_dead_lettered_without_stalling_later_frames(redis_client, key_prefix, obama):
    from crashing_analysis import crash_on_poison

    enrolment, frame = obama
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    async with worker_running(key_prefix, lease_seconds=5, max_attempts=2, analyze_fn=crash_on_poison):
        poison = FrameJob(subject_id="att-p", frame_id="poison-1", image=frame, enrolment=enrolment)
        good = [FrameJob(subject_id=f"att-{i}", frame_id=f"ok-{i}", image=frame, enrolment=enrolment) for i in range(2)]
        await queue.submit(poison)
        for j in good:
            await queue.submit(j)
        bad = await queue.wait_result(poison.job_id, timeout=120)
        assert bad.status == JobStatus.ERROR and "BrokenProcessPool" in (bad.error or "")
        assert bad.frame_id == "poison-1"
        for j in good:
            r = await queue.wait_result(j.job_id, timeout=120)
            assert r.status == JobStatus.DONE and r.analysis is not None and r.analysis.verdict == Verdict.OK
        assert await queue.dead_letters() == [poison.job_id]
        [(_, dead)] = await redis_client.xrange(QueueKeys(key_prefix).dead_letters)
        assert dead[b"deliveries"] == b"2" and b"BrokenProcessPool" in dead[b"error"]
        assert FrameJob.from_bytes(dead[b"payload"]).frame_id == "poison-1"  # kept for inspection
        assert await queue_depth(redis_client, QueueKeys(key_prefix)) == (0, 0, 1)


async def test_a_malformed_job_gets_an_error_result(redis_client, key_prefix, worker_task):
    await redis_client.xadd(QueueKeys(key_prefix).stream, {"id": "bad", "payload": b"{not json"})
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    result = await queue.wait_result("bad", timeout=60)
    assert result.status == JobStatus.ERROR and result.job_id == "bad"


@pytest.mark.parametrize("n", [4])
async def test_results_are_published_for_the_live_view(redis_client, key_prefix, worker_task, obama, n):
    enrolment, frame = obama
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(QueueKeys(key_prefix).channel)
    try:
        jobs = [FrameJob(subject_id="att-l", frame_id=f"fr-{i}", image=frame, enrolment=enrolment,
                         captured_at=100.0 + 15 * i) for i in range(n)]
        for j in jobs:
            await queue.submit(j)
        seen: set[str] = set()
        deadline = asyncio.get_running_loop().time() + 90
        while len(seen) < n and asyncio.get_running_loop().time() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is not None:
                seen.add(FrameResult.from_bytes(msg["data"]).frame_id)
        assert seen == {j.frame_id for j in jobs}
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()


async def _deliver_to_a_ghost(redis_client, keys: QueueKeys, *, deliveries: int = 1) -> bytes:
    """A consumer reads the next frame and stops (as a worker that died), long enough ago to be taken over."""
    [[_, [(entry_id, _fields)]]] = await redis_client.xreadgroup(GROUP, "ghost", {keys.stream: ">"}, count=1)
    await redis_client.xclaim(keys.stream, GROUP, "ghost", 0, [entry_id], idle=3_600_000, retrycount=deliveries,
                              justid=True)
    return entry_id


async def test_xautoclaim_gives_a_stopped_consumers_frame_to_a_live_worker(redis_client, key_prefix, obama, caplog):
    enrolment, frame = obama
    keys = QueueKeys(key_prefix)
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    job = FrameJob(subject_id="att-g", frame_id="ghost-1", image=frame, enrolment=enrolment)
    await queue.submit(job)
    entry_id = await _deliver_to_a_ghost(redis_client, keys)
    assert await queue_depth(redis_client, keys) == (0, 1, 0)
    async with worker_running(key_prefix, lease_seconds=30):
        with caplog.at_level("WARNING", logger="proctoring.worker"):
            result = await queue.wait_result(job.job_id, timeout=90)
        assert result.status == JobStatus.DONE and result.analysis is not None
        assert result.analysis.verdict == Verdict.OK
        assert f"took over frame entry {entry_id.decode()} from a stopped worker (delivery 2)" in caplog.text
        assert await queue_depth(redis_client, keys) == (0, 0, 0)
    # A clean stop leaves the group: only the ghost, holding nothing now, is listed.
    assert [c["name"] for c in await redis_client.xinfo_consumers(keys.stream, GROUP)] == [b"ghost"]


async def test_a_frame_delivered_more_than_max_attempts_times_is_dead_lettered_unanalysed(redis_client, key_prefix,
                                                                                         obama):
    enrolment, frame = obama
    keys = QueueKeys(key_prefix)
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    killer = FrameJob(subject_id="att-d", frame_id="killer-1", image=frame, enrolment=enrolment)
    later = FrameJob(subject_id="att-d2", frame_id="later-1", image=frame, enrolment=enrolment)
    await queue.submit(killer)
    await queue.submit(later)
    # Delivered twice already, each time its worker died with it: the next delivery is the third.
    await _deliver_to_a_ghost(redis_client, keys, deliveries=2)
    async with worker_running(key_prefix, lease_seconds=30, max_attempts=2):
        bad = await queue.wait_result(killer.job_id, timeout=90)
        assert bad.status == JobStatus.ERROR and bad.analysis is None
        assert bad.error == "gave up after 2 deliveries" and bad.frame_id == "killer-1"
        good = await queue.wait_result(later.job_id, timeout=90)
        assert good.status == JobStatus.DONE and good.analysis is not None
        assert await queue.dead_letters() == [killer.job_id]
        [(_, dead)] = await redis_client.xrange(keys.dead_letters)
        assert dead[b"deliveries"] == b"3"
        assert await queue_depth(redis_client, keys) == (0, 0, 1)


async def test_the_backlog_keeps_the_newest_frames(redis_client, key_prefix, obama):
    enrolment, frame = obama
    keys = QueueKeys(key_prefix)
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix, max_backlog=3)
    jobs = [FrameJob(subject_id=f"att-b{i}", frame_id=f"b-{i}", image=frame, enrolment=enrolment) for i in range(5)]
    for j in jobs:  # no worker yet: they wait
        await queue.submit(j)
    assert await queue_depth(redis_client, keys) == (3, 0, 0)
    kept = [fields[b"id"].decode() for _, fields in await redis_client.xrange(keys.stream)]
    assert kept == [j.job_id for j in jobs[2:]]
    async with worker_running(key_prefix):
        for j in jobs[2:]:
            assert (await queue.wait_result(j.job_id, timeout=90)).status == JobStatus.DONE
        assert await queue_depth(redis_client, keys) == (0, 0, 0)
        for j in jobs[:2]:  # dropped: their waiters time out (the server calls that "analysis delayed")
            with pytest.raises(ResultTimeout):
                await queue.wait_result(j.job_id, timeout=0.2)


async def test_a_frame_older_than_its_ttl_is_dropped_unanalysed(redis_client, key_prefix, obama):
    enrolment, frame = obama
    keys = QueueKeys(key_prefix)
    stale = FrameJob(subject_id="att-s", frame_id="stale-1", image=frame, enrolment=enrolment)
    await RedisQueueAnalyzer(redis_client, key_prefix=key_prefix, job_ttl=0.001).submit(stale)
    [(entry_id, _)] = await redis_client.xrange(keys.stream)

    async def older_than_its_ttl() -> bool:
        seconds, micros = await redis_client.time()
        return seconds * 1000 + micros // 1000 > int(entry_id.split(b"-")[0]) + 1

    await _wait_until(older_than_its_ttl, 10)
    queue = RedisQueueAnalyzer(redis_client, key_prefix=key_prefix)
    fresh = FrameJob(subject_id="att-s", frame_id="fresh-1", image=frame, enrolment=enrolment)
    await queue.submit(fresh)
    async with worker_running(key_prefix):
        assert (await queue.wait_result(fresh.job_id, timeout=90)).status == JobStatus.DONE
        # One slot takes frames in order: the stale one went first, and left no result.
        assert await redis_client.exists(keys.result(stale.job_id)) == 0
        assert await queue_depth(redis_client, keys) == (0, 0, 0)


async def test_a_live_workers_heartbeat_keeps_its_frames_without_counting_a_delivery(redis_client, key_prefix, obama):
    from proctoring.settings import DEFAULT_SETTINGS
    from proctoring.worker import _Worker

    enrolment, frame = obama
    keys = QueueKeys(key_prefix)
    await RedisQueueAnalyzer(redis_client, key_prefix=key_prefix).submit(
        FrameJob(subject_id="att-h", frame_id="h-1", image=frame, enrolment=enrolment))
    worker = _Worker(redis_client, keys=keys, settings=DEFAULT_SETTINGS, lease_seconds=30, max_attempts=3,
                     result_ttl=60, tracking_ttl=60, analyze_fn=lambda *a: (b"", None), stop=asyncio.Event())
    delivery = await worker.next_frame()
    assert delivery is not None and delivery.deliveries == 1
    worker.held.add(delivery.entry_id)
    await redis_client.xclaim(keys.stream, GROUP, worker.name, 0, [delivery.entry_id], idle=3_600_000, justid=True)
    await worker.heartbeat_once()
    [info] = await redis_client.xpending_range(keys.stream, GROUP, "-", "+", 10)
    assert info["consumer"] == worker.name.encode() and info["times_delivered"] == 1
    assert info["time_since_delivered"] < 30_000  # idle reset: no XAUTOCLAIM with the lease takes it
    assert await redis_client.xautoclaim(keys.stream, GROUP, "other", 30_000, count=10) == [b"0-0", [], []]


async def test_two_web_processes_and_two_workers_each_get_their_own_results(redis_client, key_prefix, obama):
    import redis.asyncio as aioredis

    enrolment, frame = obama
    other_client = aioredis.Redis.from_url(REDIS_URL)
    web = [RedisQueueAnalyzer(redis_client, key_prefix=key_prefix), RedisQueueAnalyzer(other_client, key_prefix=key_prefix)]

    async def sitting(w: int) -> list[str]:
        jobs = [FrameJob(subject_id=f"att-w{w}", frame_id=f"w{w}-{i}", image=frame, enrolment=enrolment,
                         captured_at=100.0 + 15 * i) for i in range(3)]
        return [(await web[w].analyze(j)).frame_id for j in jobs]

    try:
        async with worker_running(key_prefix), worker_running(key_prefix):
            assert await asyncio.gather(sitting(0), sitting(1)) == [[f"w{w}-{i}" for i in range(3)] for w in range(2)]
            assert await queue_depth(redis_client, QueueKeys(key_prefix)) == (0, 0, 0)
    finally:
        await other_client.aclose()
