"""Prometheus metrics for `GET /metrics`: requests and latency by route, database pool use, event-loop
lag and stalls (`loop_watch.py`), live-state errors, and the proctoring queue (depth and dead letters) when frames go through Redis.

Each app has its own registry, so several apps in one process (tests) never share counters.
"""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

from proctoring.redis_queue import QueueKeys, queue_depth

from .loop_watch import LAG_BUCKETS

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, *, queue_keys: QueueKeys = QueueKeys()) -> None:
        self.queue_keys = queue_keys
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("dingkao_http_requests", "HTTP requests by route template, method and status",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("dingkao_http_request_duration_seconds", "Time to answer, by route template",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.live_errors = Counter("dingkao_live_state_errors", "Failed live-state (Redis) operations",
                                   ["operation"], registry=r)
        self.pool_size = Gauge("dingkao_db_pool_size", "Database connections the pool keeps", registry=r)
        self.pool_checked_out = Gauge("dingkao_db_pool_checked_out", "Database connections in use", registry=r)
        self.pool_overflow = Gauge("dingkao_db_pool_overflow", "Connections open beyond the pool size", registry=r)
        self.queue_depth = Gauge("dingkao_proctoring_queue_depth",
                                 "Webcam frames waiting for (pending) or in analysis (processing)", ["state"],
                                 registry=r)
        self.dead_letters = Gauge("dingkao_proctoring_dead_letters", "Frames the workers gave up on", registry=r)
        self.loop_lag = Histogram("dingkao_event_loop_lag_seconds",
                                  "How late the event loop woke a 50 ms timer (time it was held by other work)",
                                  buckets=LAG_BUCKETS, registry=r)
        self.loop_stalls = Counter("dingkao_event_loop_stalls", "Wake-ups later than 100 ms (each logged with what ran)",
                                   registry=r)
        self.scrape_errors = Counter("dingkao_metrics_scrape_errors", "Parts of a scrape that could not be read",
                                     ["part"], registry=r)

    def observe_pool(self, engine: AsyncEngine) -> None:
        pool: Any = engine.pool
        for gauge, reader in ((self.pool_size, "size"), (self.pool_checked_out, "checkedout"),
                              (self.pool_overflow, "overflow")):
            if hasattr(pool, reader):
                gauge.set(max(0, getattr(pool, reader)()))

    async def observe_queue(self, redis_url: str | None) -> None:
        keys = self.queue_keys
        if not redis_url:  # embedded: frames go to a local process pool, there is no queue to watch
            return
        from redis import asyncio as aioredis

        client = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            depth = await queue_depth(client, keys)
            self.queue_depth.labels("pending").set(depth.pending)
            self.queue_depth.labels("processing").set(depth.processing)
            self.dead_letters.set(depth.dead)
        except Exception:  # a scrape reports what it can; Redis trouble shows in its own counter
            self.scrape_errors.labels("proctoring_queue").inc()
        finally:
            await client.aclose()


def route_label(request: web.Request) -> str:
    # The route template (/api/v1/registrations/{registration_id}), never the raw path: ids would
    # make one series per record (request_context.QUIET_ROUTES names templates too).
    info = request.match_info
    resource = info.route.resource if info is not None and info.route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def metrics_middleware_for(metrics: Metrics):  # type: ignore[no-untyped-def]
    @web.middleware
    async def metrics_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = route_label(request)
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)

    return metrics_middleware


class InstrumentedLiveState:
    """The live state with every failed call counted by operation (then raised as before)."""

    def __init__(self, inner: Any, errors: Counter) -> None:
        self._inner = inner
        self._errors = errors

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            try:
                return await attr(*args, **kwargs)
            except Exception:
                self._errors.labels(name).inc()
                raise

        return counted
