"""Administration pages: staff accounts, physicians' accounts, cycles, code tables. Their script is admin.js."""

from __future__ import annotations

from aiohttp import web

from registry import code_tables, cycles, exemptions
from registry.roles import ROLE_NAMES_ZH, Role
from registry.staff_accounts import STAFF_ROLES

from ..web.sessions import current_account
from ..web.keys import sessionmaker_key
from ..web.templating import render
from ..web.routes import page_routes
from ..registration.pages import _require


@page_routes.get("/admin/accounts", name="admin_accounts")
async def accounts_page(request: web.Request) -> web.StreamResponse:
    _require(request, Role.ADMIN, Role.BODY)
    is_admin = current_account(request).role == Role.ADMIN
    roles = STAFF_ROLES if is_admin else (Role.INSTITUTION, Role.INVIGILATOR)
    return render(request, "admin_accounts.html", {"roles": [(r.value, ROLE_NAMES_ZH[r]) for r in roles],
                                                   "can_import": is_admin})


@page_routes.get("/institution/accounts", name="institution_accounts")
async def physician_accounts_page(request: web.Request) -> web.StreamResponse:
    _require(request, Role.INSTITUTION)
    return render(request, "institution_accounts.html", {})


@page_routes.get("/admin/cycles", name="admin_cycles")
async def cycles_page(request: web.Request) -> web.StreamResponse:
    _require(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        rows = await cycles.list_cycles(session)
    return render(request, "admin_cycles.html", {"cycles": rows})


@page_routes.get("/admin/codes", name="admin_codes")
async def codes_page(request: web.Request) -> web.StreamResponse:
    _require(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        tables = await code_tables.load(session)
        added = await code_tables.entries(session)
        conditions = await exemptions.all_conditions(session)
    return render(request, "admin_codes.html", {"tables": tables, "added": added, "conditions": conditions,
                                                "table_names": code_tables.TABLES})
