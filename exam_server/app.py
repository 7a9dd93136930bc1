"""The composition root: create_app(settings) wires settings, storage, live state and handlers."""

from __future__ import annotations

import functools
from typing import AsyncIterator

from aiohttp import web

from registry.db import make_engine, make_sessionmaker
from registry.roles import Role

from . import templating
from .api import Endpoint
from .auth import csrf_middleware, current_account, session_middleware
from .errors import ApiError, Forbidden, error_middleware
from .handlers import auth_api, bank_api, bank_pages, institution_api, ops, pages, registration_api, result_pages, results_api, review_api, stats_api, workflow_pages  # noqa: F401
from .handlers import page_routes, routes
from .keys import engine_key, live_key, sessionmaker_key, settings_key, sms_key, storage_key
from .livestate import make_live_state
from .request_context import request_id_middleware
from .settings import Settings
from .sms import make_sms
from .storage import LocalFileStorage


def _guard(ep: Endpoint) -> web.Handler:
    """Role check and the first-login gate, applied to every JSON endpoint from its declaration."""

    @functools.wraps(ep.handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        if ep.roles:
            account = current_account(request)
            if Role(account.role) not in ep.roles:
                raise Forbidden("当前角色无权执行此操作")
            if not ep.before_setup and (account.must_change_password or account.phone_verified_at is None):
                raise ApiError("请先修改初始密码并绑定手机号", code="setup_required", status=403)
        return await ep.handler(request)

    return guarded


def create_app(settings: Settings, *, live_prefix: str = "dingkao:") -> web.Application:
    app = web.Application(
        middlewares=[request_id_middleware, error_middleware, session_middleware, csrf_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[settings_key] = settings
    app[sms_key] = make_sms(settings.sms_backend)
    app[storage_key] = LocalFileStorage(settings.storage_dir)

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app[engine_key] = engine
        app[sessionmaker_key] = make_sessionmaker(engine)
        yield
        await engine.dispose()

    async def live_state(app: web.Application) -> AsyncIterator[None]:
        live = make_live_state(settings.redis_url, prefix=live_prefix)
        app[live_key] = live
        yield
        await live.close()

    app.cleanup_ctx.extend([database, live_state])
    templating.setup(app)
    for ep in routes.endpoints:
        app.router.add_route(ep.method, ep.path, _guard(ep), name=f"api_{ep.handler.__name__}")
    app.router.add_routes(page_routes)
    app.router.add_static("/static", templating.STATIC, name="static")
    return app
