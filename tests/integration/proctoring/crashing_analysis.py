"""An analysis function that kills its process on frames named 'poison-*'."""

from __future__ import annotations

import json
import os

from proctoring.jobs import analyze_job_bytes
from proctoring.settings import AnalysisSettings


def crash_on_poison(job: bytes, tracking: bytes | None, settings: AnalysisSettings) -> tuple[bytes, bytes | None]:
    if json.loads(job)["frame_id"].startswith("poison-"):
        os._exit(139)  # as a segfault in native code would
    return analyze_job_bytes(job, tracking, settings)
