"""Health check, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import hmac
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from .api import ANYONE, json_ok, openapi_document
from .errors import ApiError
from .keys import engine_key, live_key, metrics_key, sessionmaker_key, settings_key
from .routes import routes


def _version() -> str:
    try:
        return version("dingkao")
    except PackageNotFoundError:
        return "0"


@routes.get("/healthz", summary="健康检查（数据库与 Redis）", roles=ANYONE, before_setup=True, tags=("ops",))
async def healthz(request: web.Request) -> web.StreamResponse:
    checks: dict[str, str] = {}
    try:
        async with request.app[sessionmaker_key]() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), 5)
        checks["database"] = "ok"
    except Exception as exc:  # report, never raise: this is what the load balancer polls
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(request.app[live_key].ping(), 5)
        checks["live_state"] = "ok"
    except Exception as exc:
        checks["live_state"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return json_ok({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


@routes.get("/metrics", summary="Prometheus 指标（文本格式；设置 DINGKAO_METRICS_TOKEN 后须带 Bearer 令牌）",
            roles=ANYONE, before_setup=True, tags=("ops",))
async def metrics(request: web.Request) -> web.StreamResponse:
    settings = request.app[settings_key]
    if settings.metrics_token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            raise ApiError("需要指标访问令牌", code="unauthorized", status=401)
    collected = request.app[metrics_key]
    collected.observe_pool(request.app[engine_key])
    await collected.observe_queue(settings.redis_url)
    return web.Response(body=generate_latest(collected.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/api/v1/openapi.json", summary="OpenAPI 3.1 文档", roles=ANYONE, before_setup=True, tags=("ops",))
async def openapi(request: web.Request) -> web.StreamResponse:
    return json_ok(openapi_document(routes, version=_version()))
