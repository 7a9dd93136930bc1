"""Sessions in live state behind an HttpOnly cookie, CSRF double-submit, who is calling."""

from __future__ import annotations

import hmac
import logging
import json
import secrets
from dataclasses import dataclass

from aiohttp import web

from registry.models import Account
from registry.roles import Role
from registry.scope import Actor

from ..infra.livestate import LIVE_STATE_ERRORS, LiveState
from . import attempt_tokens
from .attempt_tokens import HEADER as TOKEN_HEADER
from .errors import ApiError, NotLoggedIn
from .keys import account_cache_key, account_key, attempt_token_key, live_down_key, live_key, settings_key

log = logging.getLogger("dingkao.auth")

SESSION_COOKIE = "dk_session"
CSRF_COOKIE = "dk_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class SessionData:
    account_id: int
    password_version: int


async def create_session(request: web.Request, response: web.StreamResponse, account: Account) -> None:
    live = request.app[live_key]
    settings = request.app[settings_key]
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # a new login never reuses an old session id (fixation)
        await live.delete(f"session:{old}")
    sid = secrets.token_urlsafe(32)
    await live.set(f"session:{sid}", json.dumps({"a": account.id, "v": account.password_version}),
                   ttl=settings.session_idle_seconds)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax", secure=settings.cookie_secure, path="/")


async def destroy_session(request: web.Request, response: web.StreamResponse) -> None:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        await request.app[live_key].delete(f"session:{sid}")
    response.del_cookie(SESSION_COOKIE, path="/")


async def _load_session(live: LiveState, sid: str, idle: int) -> SessionData | None:
    raw = await live.get_touch(f"session:{sid}", idle)
    if raw is None:
        return None
    data = json.loads(raw)
    return SessionData(data["a"], data["v"])


@web.middleware
async def session_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    request[account_key] = None
    sid = request.cookies.get(SESSION_COOKIE)
    # A request with an attempt token (the exam page's saves, clock and event stream) is authenticated
    # by the token alone (app._guard checks it; elsewhere it is anonymous): no session lookup on the hot path.
    if sid and len(sid) < 100 and TOKEN_HEADER not in request.headers and "token" not in request.query:
        settings = request.app[settings_key]
        try:
            data = await _load_session(request.app[live_key], sid, settings.session_idle_seconds)
        except LIVE_STATE_ERRORS:
            log.warning("live state unavailable while loading a session", exc_info=True)
            request[live_down_key] = True
            return await handler(request)
        if data is not None:
            account = await request.app[account_cache_key].get(data.account_id)
            # A password change or reset bumps the version and ends older sessions.
            if account is not None and account.is_active and account.password_version == data.password_version:
                request[account_key] = account
    return await handler(request)


def _token_authorises(request: web.Request) -> bool:
    """The request goes to an endpoint an attempt token authorises, with a token valid for that very attempt.

    Only then is it free of the CSRF check: another site cannot send a custom header (no CORS here) nor
    know the token, and such a request is authenticated by the token alone (no session is read).
    """
    raw = request.headers.get(TOKEN_HEADER)
    match = request.match_info
    if not raw or match is None or not getattr(match.handler, "takes_attempt_token", False):
        return False
    token = attempt_tokens.verify(request.app[settings_key].secret_key, raw)
    return token is not None and match.get("attempt_id") == str(token.attempt_id)


@web.middleware
async def csrf_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if request.method not in SAFE_METHODS and not _token_authorises(request):
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not cookie or not sent or not hmac.compare_digest(cookie, sent):
            raise ApiError("页面已过期或请求来源不可信，请刷新页面后重试", code="csrf", status=403)
    response = await handler(request)
    if CSRF_COOKIE not in request.cookies and isinstance(response, web.StreamResponse) and not response.prepared:
        # Readable by the page's script, which echoes it in the header; other sites cannot read it.
        response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), samesite="Strict",
                            secure=request.app[settings_key].cookie_secure, path="/")
    return response


def current_account(request: web.Request) -> Account:
    account = request.get(account_key)
    if account is None:
        raise NotLoggedIn("请先登录")
    return account


def current_actor(request: web.Request) -> Actor:
    return Actor.of(current_account(request))


def caller_physician(request: web.Request, attempt_id: int) -> int:
    """The physician sitting: from the attempt token (for this attempt only) or the login session."""
    token = request.get(attempt_token_key)
    if token is not None:
        if token.attempt_id != attempt_id:
            raise ApiError("考试记录不存在", code="not_found", status=404)
        return token.physician_id
    actor = current_actor(request)
    if actor.role is not Role.PHYSICIAN or actor.physician_id is None:
        raise ApiError("只有考生本人可以作答", code="forbidden", status=403)
    return actor.physician_id


def csrf_token(request: web.Request) -> str:
    return request.cookies.get(CSRF_COOKIE, "")


def client_address(request: web.Request) -> str:
    # Behind the reverse proxy the proxy's address is the peer; it appends the client's.
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and request.app[settings_key].trust_proxy:
        return forwarded.split(",")[-1].strip()
    return request.remote or "unknown"

