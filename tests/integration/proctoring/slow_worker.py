"""A real worker process whose analysis of frames named 'slow-*' hangs, for kill tests.

Run: python slow_worker.py REDIS_URL KEY_PREFIX
"""

from __future__ import annotations

import json
import sys
import time

from proctoring.jobs import analyze_job_bytes
from proctoring.settings import AnalysisSettings
from proctoring.worker import run_worker


def slow_analyze(job: bytes, tracking: bytes | None, settings: AnalysisSettings) -> tuple[bytes, bytes | None]:
    if json.loads(job)["frame_id"].startswith("slow-"):
        time.sleep(120)
    return analyze_job_bytes(job, tracking, settings)


if __name__ == "__main__":
    run_worker(sys.argv[1], key_prefix=sys.argv[2], concurrency=1, lease_seconds=2, analyze_fn=slow_analyze)
