"""Choosing the analyser port's implementation from the settings."""

from __future__ import annotations

from typing import Callable

import proctoring

from ..settings import Settings
from .frames import RESULT_TIMEOUT


def queue_prefix(live_prefix: str) -> str:
    """The frame queue's keys, shared by the web processes and `dingkao proctor-worker`."""
    return f"{live_prefix}proctoring:"


def make_analyzer(settings: Settings, *, live_prefix: str) -> Callable[[], proctoring.FrameAnalyzer]:
    """A factory (pools are started on first use, and again after a pool process died)."""
    if settings.proctor_analyzer == "redis" and settings.redis_url:
        url = settings.redis_url
        # A frame's waiter gives up after RESULT_TIMEOUT (then "analysis delayed"): a frame no
        # worker took by then is not analysed, so workers back from an outage start with fresh ones.
        return lambda: proctoring.RedisQueueAnalyzer.from_url(
            url, key_prefix=queue_prefix(live_prefix), timeout=RESULT_TIMEOUT, job_ttl=RESULT_TIMEOUT)
    processes = settings.proctor_pool_processes
    return lambda: proctoring.LocalPoolAnalyzer(processes=processes)
