"""The web processes' analyser (DINGKAO_PROCTOR_ANALYZER=redis) and `dingkao proctor-worker` meet on one
frame stream under the deployment's DINGKAO_LIVE_PREFIX, and a stopped worker leaves its consumer group."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from pathlib import Path

import proctoring
from exam_server.proctor.analyzer import make_analyzer, queue_prefix
from exam_server.settings import Settings
from proctoring.redis_queue import GROUP, queue_depth

from ...conftest import REDIS_URL
from ...e2e.conftest import DINGKAO
from ...server_env import clean_env


async def test_a_frame_from_the_web_tier_is_analysed_by_dingkao_proctor_worker(faces_dir: Path) -> None:
    import redis.asyncio as aioredis

    live_prefix = f"test:{uuid.uuid4().hex}:"
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db", redis_url=REDIS_URL, secret_key="w" * 40,
                        storage_dir=Path(tempfile.mkdtemp()), proctor_analyzer="redis", live_prefix=live_prefix)
    analyzer = make_analyzer(settings, live_prefix=live_prefix)()
    assert isinstance(analyzer, proctoring.RedisQueueAnalyzer)
    worker = subprocess.Popen([str(DINGKAO), "proctor-worker", "--concurrency", "1"],
                              env=clean_env(REDIS_URL=REDIS_URL, DINGKAO_LIVE_PREFIX=live_prefix,
                                            DINGKAO_VAR_DIR=tempfile.mkdtemp()))
    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        enrolment = proctoring.enrol((faces_dir / "identities/obama/1.jpg").read_bytes(), person_id="obama")
        job = proctoring.FrameJob(subject_id="attempt-1", frame_id="a1-0", enrolment=enrolment,
                                  image=(faces_dir / "identities/obama/2.jpg").read_bytes())
        # The worker's start-up (imports, its analysis process) is within the wait.
        result = await analyzer.wait_result(await analyzer.submit(job), timeout=120)
        assert result.status == proctoring.JobStatus.DONE and result.analysis is not None
        assert result.analysis.verdict == proctoring.Verdict.OK
        keys = analyzer.keys
        assert keys.stream == f"{queue_prefix(live_prefix)}frames:stream"
        assert await queue_depth(redis, keys) == (0, 0, 0)
        assert len(await redis.xinfo_consumers(keys.stream, GROUP)) == 1
        worker.terminate()  # SIGTERM: finish what is in hand, leave the group
        assert worker.wait(60) == 0
        assert await redis.xinfo_consumers(keys.stream, GROUP) == []
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        await analyzer.aclose()
        keys_left = [k async for k in redis.scan_iter(match=f"{live_prefix}*", count=500)]
        if keys_left:
            await redis.delete(*keys_left)
        await redis.aclose()
