"""Choosing the analyser port's implementation from the settings."""

from __future__ import annotations

from typing import Callable

import proctoring

from ..settings import Settings


def make_analyzer(settings: Settings, *, live_prefix: str) -> Callable[[], proctoring.FrameAnalyzer]:
    """A factory (pools are started on first use, and again after a pool process died)."""
    if settings.proctor_analyzer == "redis" and settings.redis_url:
        url = settings.redis_url
        return lambda: proctoring.RedisQueueAnalyzer.from_url(url, key_prefix=f"{live_prefix}proctoring:", timeout=30.0)
    processes = settings.proctor_pool_processes
    return lambda: proctoring.LocalPoolAnalyzer(processes=processes)
