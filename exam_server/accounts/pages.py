"""Account pages: login, the first-login steps (password, phone), and the account lists staff manage
(their script is admin.js)."""

from __future__ import annotations

from aiohttp import web

from registry.roles import ROLE_NAMES_ZH, Role
from registry.staff_accounts import STAFF_ROLES

from ..web.pages import require_role, setup_redirect
from ..web.routes import page_routes
from ..web.sessions import current_account
from ..web.templating import render


@page_routes.get("/login", name="login")
async def login_page(request: web.Request) -> web.StreamResponse:
    return render(request, "login.html", {"next": request.query.get("next", "/")})


@page_routes.get("/password", name="password")
async def password_page(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    return render(request, "password.html", {"forced": account.must_change_password})


@page_routes.get("/phone", name="phone")
async def phone_page(request: web.Request) -> web.StreamResponse:
    setup_redirect(request, "/phone")
    return render(request, "phone.html", {})


@page_routes.get("/admin/accounts", name="admin_accounts")
async def accounts_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN, Role.BODY)
    is_admin = current_account(request).role == Role.ADMIN
    roles = STAFF_ROLES if is_admin else (Role.INSTITUTION, Role.INVIGILATOR)
    return render(request, "admin_accounts.html", {"roles": [(r.value, ROLE_NAMES_ZH[r]) for r in roles],
                                                   "can_import": is_admin})


@page_routes.get("/institution/accounts", name="institution_accounts")
async def physician_accounts_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.INSTITUTION)
    return render(request, "institution_accounts.html", {})
