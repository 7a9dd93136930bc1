"""The event-loop watch: a stall over 100 ms is counted, observed in the lag histogram and logged with
the code that held the loop (sampled while it held it), not whichever code ran next."""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram

from exam_server.web.loop_watch import LAG_BUCKETS, LoopWatch


def _blocking_on_purpose(watch: LoopWatch) -> None:
    # Hold the loop until the watchdog has sampled this stall (a safety bound only, never a budget).
    deadline = time.monotonic() + 60
    while watch.sample is None and time.monotonic() < deadline:
        time.sleep(0.01)


async def test_a_stall_is_measured_and_logged_with_what_held_the_loop(caplog) -> None:  # type: ignore[no-untyped-def]
    registry = CollectorRegistry()
    lag = Histogram("lag", "lag", buckets=LAG_BUCKETS, registry=registry)
    stalls = Counter("stalls", "stalls", registry=registry)
    watch = LoopWatch(lag, stalls)
    caplog.set_level(logging.WARNING, logger="exam_server.web.loop_watch")
    watch.start()
    try:
        await asyncio.sleep(0.2)  # a few ordinary ticks
        asyncio.get_running_loop().call_soon(_blocking_on_purpose, watch)
        for _ in range(600):  # wait for the ticker to wake after the stall
            if watch.last_stall is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await watch.stop()
    assert watch.last_stall is not None
    seconds, what = watch.last_stall
    assert seconds > 0.1 and "_blocking_on_purpose" in what
    assert registry.get_sample_value("stalls_total") >= 1
    assert registry.get_sample_value("lag_count") >= 2
    assert registry.get_sample_value("lag_bucket", {"le": "0.1"}) < registry.get_sample_value("lag_count")
    logged = [r.getMessage() for r in caplog.records if "event loop stalled" in r.getMessage()]
    assert logged and "_blocking_on_purpose" in logged[-1]
