"""Administration pages: cycles, code tables, exemption conditions. Their script is admin.js."""

from __future__ import annotations

from aiohttp import web

from registry import code_tables, cycles, exemptions
from registry.roles import Role

from ..web.keys import sessionmaker_key
from ..web.pages import require_role
from ..web.routes import page_routes
from ..web.templating import render


@page_routes.get("/admin/cycles", name="admin_cycles")
async def cycles_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        rows = await cycles.list_cycles(session)
    return render(request, "admin_cycles.html", {"cycles": rows})


@page_routes.get("/admin/codes", name="admin_codes")
async def codes_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        tables = await code_tables.load(session)
        added = await code_tables.entries(session)
        conditions = await exemptions.all_conditions(session)
    return render(request, "admin_codes.html", {"tables": tables, "added": added, "conditions": conditions,
                                                "table_names": code_tables.TABLES})


@page_routes.get("/admin/conditions", name="admin_conditions")
async def admin_conditions(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        from sqlalchemy import select

        from registry.models import ExemptionCondition

        items = (await session.scalars(select(ExemptionCondition).order_by(ExemptionCondition.id))).all()
    return render(request, "conditions.html", {"conditions": items})


@page_routes.get("/admin/bodies", name="admin_bodies")
async def bodies_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    from sqlalchemy import select

    from registry.models import AssessmentBody

    async with request.app[sessionmaker_key]() as session:
        bodies = (await session.scalars(select(AssessmentBody).order_by(AssessmentBody.code))).all()
    return render(request, "admin_bodies.html", {"bodies": bodies})
