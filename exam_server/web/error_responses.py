"""The one middleware that turns every library's errors into a JSON error or an HTML error page."""

from __future__ import annotations

import json
import logging

import asyncpg
from aiohttp import web
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_exc

from registry.errors import RegistryError

from .errors import EXTRA_MAPPINGS, REGISTRY_STATUS, ApiError, error_body
from .templating import render_error

log = logging.getLogger("dingkao.errors")

# A lost database connection (asyncpg/sqlite surface as these through SQLAlchemy; the exam hot path
# meets asyncpg's own: a dropped connection, a server shutting down or starting) or Redis outage.
OUTAGES: tuple[type[BaseException], ...] = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                                            asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                                            asyncpg.exceptions.OperatorInterventionError,
                                            redis_errors.ConnectionError, redis_errors.TimeoutError,
                                            ConnectionRefusedError, ConnectionResetError)


def _wants_html(request: web.Request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


async def _respond(request: web.Request, status: int, code: str, message: str, fields: dict[str, str] | None = None) -> web.StreamResponse:
    if _wants_html(request):
        if status == 401:
            raise web.HTTPSeeOther(f"/login?next={request.path_qs}" if request.method == "GET" else "/login")
        return await render_error(request, status, message)
    return web.json_response(error_body(message, code, fields), status=status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except ApiError as exc:
        response = await _respond(request, exc.status, exc.code, exc.message, exc.fields)
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except RegistryError as exc:
        for cls, status, code in REGISTRY_STATUS:
            if isinstance(exc, cls):
                return await _respond(request, status, code, exc.message, exc.fields)
        return await _respond(request, 400, "invalid_input", exc.message, exc.fields)
    except web.HTTPRequestEntityTooLarge:
        return await _respond(request, 413, "too_large", "请求内容过大")
    except web.HTTPNotFound:
        return await _respond(request, 404, "not_found", "页面不存在")
    except web.HTTPMethodNotAllowed:
        return await _respond(request, 405, "method_not_allowed", "不支持该请求方法")
    except web.HTTPException:
        raise
    except OUTAGES as exc:
        # The database or Redis is briefly down: say so, so pages keep their work and retry.
        log.warning("backing service unavailable on %s %s: %s", request.method, request.path, exc)
        return await _respond(request, 503, "unavailable",
                              "服务暂时不可用（数据库或缓存连接中断），请稍后重试，已填写的内容不会丢失")
    except Exception as exc:
        for cls, status, code in EXTRA_MAPPINGS:
            if isinstance(exc, cls):
                return await _respond(request, status, code, str(getattr(exc, "message", exc)))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await _respond(request, 500, "internal", "服务器内部错误，请稍后重试")
