"""The Redis worker path end to end: a killed worker, poison frames, clean key space."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from proctoring import FrameJob, FrameResult, JobStatus, QueueKeys, RedisQueueAnalyzer, Verdict, serve_worker

from conftest import REDIS_URL

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
            return await redis_client.lrange(keys.processing, 0, -1) == [job.job_id.encode()] and (
                await redis_client.zscore(keys.leases, job.job_id) is not None
            )

        await _wait_until(held, 60)
        _kill(first)
        second = _spawn("-m", "proctoring.worker", "--redis-url", REDIS_URL, "--key-prefix", key_prefix,
                        "--concurrency", "1", "--lease-seconds", "2")
        result = await queue.wait_result(job.job_id, timeout=90)
        assert result.status == JobStatus.DONE and result.analysis is not None
        assert result.analysis.verdict == Verdict.OK
        assert int(await redis_client.llen(keys.processing)) == 0
        assert await redis_client.exists(keys.job(job.job_id)) == 0
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
    stop = asyncio.Event()
    worker = asyncio.create_task(
        serve_worker(REDIS_URL, key_prefix=key_prefix, concurrency=1, stop_event=stop, lease_seconds=5,
                     max_attempts=2, analyze_fn=crash_on_poison)
    )
    try:
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
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)


async def test_a_malformed_job_gets_an_error_result(redis_client, key_prefix, worker_task):
    keys = QueueKeys(key_prefix)
    await redis_client.hset(keys.job("bad"), mapping={"payload": b"{not json", "attempts": 0})
    await redis_client.lpush(keys.pending, "bad")
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
