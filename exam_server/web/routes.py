"""The router every feature declares on: each feature's api module adds its JSON endpoints to `routes`, its
pages module adds its pages to `page_routes`; :func:`mount` puts them on an app, each JSON endpoint behind
the role check and first-login gate its declaration asks for."""

from __future__ import annotations

import functools

from aiohttp import web

from registry.roles import Role

from . import attempt_tokens as tokens
from .api import ApiRoutes, Endpoint
from .edge import check_query_ids
from .errors import ApiError, Forbidden, NotLoggedIn
from .keys import account_key, attempt_token_key, live_down_key, settings_key
from .sessions import current_account
from .templating import STATIC

routes = ApiRoutes()
page_routes = web.RouteTableDef()


def _guard(ep: Endpoint) -> web.Handler:
    """Role check and the first-login gate, applied to every JSON endpoint from its declaration."""

    @functools.wraps(ep.handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        request[attempt_token_key] = None
        raw = request.headers.get(tokens.HEADER) or (request.query.get("token") if ep.token_in_query else None)
        if ep.attempt_token and raw:
            token = tokens.verify(request.app[settings_key].secret_key, raw)
            if token is None:
                raise NotLoggedIn("考试凭证无效，请重新进入考试")
            request[attempt_token_key] = token
            return await ep.handler(request)
        if ep.roles:
            if request.get(account_key) is None and request.get(live_down_key):
                raise ApiError("服务暂时不可用，请稍后重试", code="unavailable", status=503)
            account = current_account(request)
            if Role(account.role) not in ep.roles:
                raise Forbidden("当前角色无权执行此操作")
            if not ep.before_setup and (account.must_change_password or account.phone_verified_at is None):
                raise ApiError("请先修改初始密码并绑定手机号", code="setup_required", status=403)
        check_query_ids(request, ep.query)
        return await ep.handler(request)

    guarded.takes_attempt_token = ep.attempt_token  # type: ignore[attr-defined]  # read by csrf_middleware
    guarded.query_titles = ep.query  # type: ignore[attr-defined]  # read by edge_middleware
    guarded.takes_body = ep.takes_body  # type: ignore[attr-defined]  # read by edge_middleware
    return guarded


def mount(app: web.Application) -> None:
    """Every declared endpoint and page, and the static files under /static."""
    for ep in routes.endpoints:
        app.router.add_route(ep.method, ep.path, _guard(ep), name=f"api_{ep.handler.__name__}")
    app.router.add_routes(page_routes)
    app.router.add_static("/static", STATIC, name="static")
