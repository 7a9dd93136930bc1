"""Redis key space per test, shared photos, and both FrameAnalyzer implementations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from proctoring import Enrolment, LocalPoolAnalyzer, RedisQueueAnalyzer, enrol, serve_worker

REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def obama(faces_dir: Path) -> tuple[Enrolment, bytes]:
    """An enrolment and a different photo of the same person."""
    reg = (faces_dir / "identities/obama/1.jpg").read_bytes()
    return enrol(reg, person_id="obama"), (faces_dir / "identities/obama/2.jpg").read_bytes()


@pytest.fixture
async def redis_client():
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (aioredis.RedisError, OSError) as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
async def key_prefix(redis_client):
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    # Own key space only: delete what this test created, never FLUSHDB.
    keys = [k async for k in redis_client.scan_iter(match=f"{prefix}*", count=500)]
    if keys:
        await redis_client.delete(*keys)


@contextlib.asynccontextmanager
async def worker_running(key_prefix: str, **options: object):
    """An in-process worker (one analysis process) on the test's key space, stopped cleanly after."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve_worker(REDIS_URL, key_prefix=key_prefix, concurrency=1, stop_event=stop, **options)  # type: ignore[arg-type]
    )
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def worker_task(key_prefix):
    async with worker_running(key_prefix, lease_seconds=5) as task:
        yield task


@pytest.fixture(params=["local_pool", "redis_queue"])
async def analyzer(request, redis_client, key_prefix):
    if request.param == "local_pool":
        a = LocalPoolAnalyzer(processes=1)
        yield a
        await a.aclose()
        return
    async with worker_running(key_prefix, lease_seconds=5):
        async with RedisQueueAnalyzer(redis_client, key_prefix=key_prefix, timeout=60) as queue:
            yield queue
