"""GET /metrics: Prometheus text format with requests by route, latency, pool use, live-state errors and
the proctoring queue."""

from __future__ import annotations

import pytest
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families

from exam_server.web.keys import metrics_key
from exam_server.web.metrics import InstrumentedLiveState

from ..helpers import Api


async def scrape(api: Api, **headers: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    async with api.session.get(api.base + "/metrics", headers=headers) as r:
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in samples.get(name, []) if all(got.get(k) == x for k, x in labels.items()))


async def test_requests_are_counted_by_route_template_method_and_status(client: Api, backend: str) -> None:
    await client.post("/api/v1/auth/login", {"kind": "staff", "login": "admin", "password": "wrong"})
    await client.login_staff("admin")
    for rid in (101, 102, 103):
        await client.get(f"/api/v1/registrations/{rid}")
    await client.get("/no/such/page/42")
    samples = await scrape(client)
    assert value(samples, "dingkao_http_requests_total", route="/api/v1/auth/login", method="POST", status="401") == 1
    assert value(samples, "dingkao_http_requests_total", route="/api/v1/auth/login", method="POST", status="200") == 1
    assert value(samples, "dingkao_http_requests_total", route="/api/v1/registrations/{registration_id}",
                 method="GET", status="404") == 3
    assert not any("101" in labels.get("route", "") for labels, _ in samples["dingkao_http_requests_total"])
    assert value(samples, "dingkao_http_requests_total", route="unmatched", status="404") == 1
    assert value(samples, "dingkao_http_request_duration_seconds_count",
                 route="/api/v1/registrations/{registration_id}") == 3
    assert value(samples, "dingkao_http_request_duration_seconds_bucket", route="/api/v1/auth/login", le="+Inf") == 2
    assert "dingkao_db_pool_size" in samples and "dingkao_db_pool_checked_out" in samples
    # The loop watch ticks from start-up (exam_server/web/loop_watch.py).
    assert "dingkao_event_loop_lag_seconds_bucket" in samples and "dingkao_event_loop_stalls_total" in samples
    if backend == "postgres":
        assert value(samples, "dingkao_db_pool_size") == 20  # registry.db.make_engine keeps 20 connections


async def test_the_proctoring_queue_depth_and_dead_letters_are_read_from_redis(client: Api, backend: str,
                                                                                live_prefix: str) -> None:
    if backend != "postgres":
        samples = await scrape(client)
        assert "dingkao_proctoring_queue_depth" not in samples, "no queue on the embedded default"
        return
    from redis import asyncio as aioredis

    import proctoring
    from proctoring.redis_queue import GROUP

    from ..conftest import REDIS_URL

    keys = client.app[metrics_key].queue_keys
    assert keys.prefix == f"{live_prefix}proctoring:"
    redis = aioredis.from_url(REDIS_URL)
    enrolment = proctoring.Enrolment(person_id="p", encodings=((0.0,) * 128,), model_version="m")
    queue = proctoring.RedisQueueAnalyzer(redis, key_prefix=keys.prefix)
    try:
        for i in range(4):
            await queue.submit(proctoring.FrameJob(subject_id="s", frame_id=f"f{i}", image=b"", enrolment=enrolment))
        await redis.xreadgroup(GROUP, "a-worker", {keys.stream: ">"}, count=1)  # one in analysis
        for job_id in ("e", "f"):
            await redis.xadd(keys.dead_letters, {"id": job_id, "error": "crashed", "deliveries": 3})
        samples = await scrape(client)
    finally:
        await redis.delete(keys.stream, keys.dead_letters)
        await redis.aclose()
    assert value(samples, "dingkao_proctoring_queue_depth", state="pending") == 3
    assert value(samples, "dingkao_proctoring_queue_depth", state="processing") == 1
    assert value(samples, "dingkao_proctoring_dead_letters") == 2


async def test_a_metrics_token_keeps_the_endpoint_private(seeded, live_prefix, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    from exam_server.app import create_app

    api = Api(await aiohttp_client(create_app(seeded.with_(metrics_token="s3cret-token"), live_prefix=live_prefix)))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
        async with api.session.get(api.base + "/metrics", headers=headers) as r:
            assert r.status == 401
    assert "dingkao_http_requests_total" in await scrape(api, Authorization="Bearer s3cret-token")


class BrokenRedis:
    async def get(self, key: str) -> str | None:
        raise ConnectionError("redis down")

    async def ping(self) -> bool:
        raise ConnectionError("redis down")

    def lock(self, name: str) -> str:
        return "context manager passed through"


async def test_failed_live_state_calls_are_counted_by_operation_and_still_raised() -> None:
    from prometheus_client import CollectorRegistry

    errors = Counter("errs", "x", ["operation"], registry=CollectorRegistry())
    live = InstrumentedLiveState(BrokenRedis(), errors)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await live.get("k")
    with pytest.raises(ConnectionError):
        await live.ping()
    assert live.lock("x") == "context manager passed through"
    assert errors.labels("get")._value.get() == 2 and errors.labels("ping")._value.get() == 1


async def test_live_state_errors_reach_the_scrape(client: Api) -> None:
    from exam_server.web.keys import live_key

    live = client.app[live_key]
    real, live._inner = live._inner, BrokenRedis()  # the app's own wrapper, over a live state that fails
    try:
        async with client.session.get(client.base + "/healthz") as r:
            assert r.status == 503
        samples = await scrape(client)
    finally:
        live._inner = real
    assert value(samples, "dingkao_live_state_errors_total", operation="ping") == 1
