"""What every server-rendered page does first: send an account that has not finished its first-login steps to
the step it is on, and refuse a role the page is not for."""

from __future__ import annotations

from aiohttp import web

from registry.accounts import next_step_after_login
from registry.roles import Role

from .errors import Forbidden
from .sessions import current_account

# Where each first-login step is done (the login answer names the step; pages redirect to it).
NEXT_URL = {"password": "/password", "phone": "/phone", "home": "/"}


def setup_redirect(request: web.Request, here: str) -> None:
    """Send an account that has not finished its first-login steps to the step it is on."""
    step = NEXT_URL[next_step_after_login(current_account(request))]
    if step != "/" and step != here:
        raise web.HTTPSeeOther(step)


def require_role(request: web.Request, *roles: Role) -> None:
    setup_redirect(request, request.path)
    if Role(current_account(request).role) not in roles:
        raise Forbidden("当前角色无权访问此页面")


def only_for(request: web.Request, here: str, roles: tuple[Role, ...], words: str) -> None:
    """As require_role, naming who the page is for (`words`); `here` is where the first-login steps return."""
    setup_redirect(request, here)
    if Role(current_account(request).role) not in roles:
        raise Forbidden(f"仅{words}可访问此页面")
