"""Health check and the OpenAPI document."""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web
from sqlalchemy import text

from ..api import ANYONE, json_ok, openapi_document
from ..keys import live_key, sessionmaker_key
from . import routes


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


@routes.get("/api/v1/openapi.json", summary="OpenAPI 3.1 文档", roles=ANYONE, before_setup=True, tags=("ops",))
async def openapi(request: web.Request) -> web.StreamResponse:
    return json_ok(openapi_document(routes, version=_version()))
