"""System administration (系统管理): assessment cycles and the code tables."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import Field

from registry import code_tables, cycles
from registry.roles import Role

from ..web.api import json_ok, parse_body
from ..web.keys import sessionmaker_key
from ..web.params import path_id
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.schemas import Body
from ..web.sessions import current_actor

ADMIN = (Role.ADMIN,)
TAGS = ("administration",)


class CycleBody(Body):
    name: str = Field(title="周期名称", min_length=1, max_length=64)
    starts_on: dt.date = Field(title="开始日期")
    ends_on: dt.date = Field(title="结束日期")
    current: bool = Field(default=False, title="设为当前周期")


class CodeEntryBody(Body):
    table: str = Field(title="代码表", min_length=1, max_length=24)
    value: str = Field(title="名称", min_length=1, max_length=64)
    parent: str = Field(default="", title="所属执业类别", max_length=16)


class ActiveBody(Body):
    active: bool = Field(title="启用")


# ---- cycles ----

@routes.get("/api/v1/admin/cycles", summary="考核周期列表", roles=ADMIN, tags=TAGS)
async def cycle_list(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = await cycles.list_cycles(session)
    return json_ok({"items": [{"id": c.id, "name": c.name, "starts_on": c.starts_on.isoformat(),
                               "ends_on": c.ends_on.isoformat(), "is_current": c.is_current, "registrations": n}
                              for c, n in rows]})


@routes.post("/api/v1/admin/cycles", summary="新建考核周期（可同时设为当前周期）", roles=ADMIN, body=CycleBody, tags=TAGS)
async def cycle_create(request: web.Request) -> web.StreamResponse:
    body: CycleBody = await parse_body(request, CycleBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        cycle = await cycles.create_cycle(session, current_actor(request), name=body.name, starts_on=body.starts_on,
                                          ends_on=body.ends_on, make_it_current=body.current,
                                          request_id=request_id(request))
    return json_ok({"id": cycle.id, "name": cycle.name, "is_current": cycle.is_current})


@routes.post("/api/v1/admin/cycles/{cycle_id}/current", summary="设为当前考核周期", roles=ADMIN, tags=TAGS)
async def cycle_make_current(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        cycle = await cycles.make_current(session, current_actor(request), path_id(request, "cycle_id"),
                                          request_id=request_id(request))
    return json_ok({"id": cycle.id, "name": cycle.name, "is_current": True})


# ---- code tables ----

@routes.get("/api/v1/admin/code-tables", summary="代码表（执业类别及范围、职称；含管理员新增项）", roles=ADMIN, tags=TAGS)
async def code_table_list(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        tables = await code_tables.load(session)
        added = await code_tables.entries(session)
    return json_ok({"scopes": {k: list(v) for k, v in tables.scopes.items()}, "titles": list(tables.titles),
                    "added": [{"id": e.id, "table": e.table, "parent": e.parent, "value": e.value, "active": e.active}
                              for e in added]})


@routes.post("/api/v1/admin/code-tables", summary="新增代码（执业类别、执业范围或职称）", roles=ADMIN,
             body=CodeEntryBody, tags=TAGS)
async def code_table_add(request: web.Request) -> web.StreamResponse:
    body: CodeEntryBody = await parse_body(request, CodeEntryBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        entry = await code_tables.add_entry(session, current_actor(request), table=body.table, value=body.value,
                                            parent=body.parent, request_id=request_id(request))
    return json_ok({"id": entry.id, "table": entry.table, "parent": entry.parent, "value": entry.value})


@routes.post("/api/v1/admin/code-tables/{entry_id}/active", summary="停用或恢复新增的代码", roles=ADMIN,
             body=ActiveBody, tags=TAGS)
async def code_table_active(request: web.Request) -> web.StreamResponse:
    body: ActiveBody = await parse_body(request, ActiveBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        entry = await code_tables.set_active(session, current_actor(request), path_id(request, "entry_id"),
                                             active=body.active, request_id=request_id(request))
    return json_ok({"id": entry.id, "active": entry.active})


# ---- assessment bodies ----

class BodyContactBody(Body):
    contact: str = Field(title="联系方式", min_length=1, max_length=200)


@routes.post("/api/v1/admin/assessment-bodies/{body_id}", summary="修改考核机构的联系方式（医师需人工核验身份等时看到）",
             roles=ADMIN, body=BodyContactBody, tags=TAGS)
async def body_contact(request: web.Request) -> web.StreamResponse:
    from registry import audit
    from registry.models import AssessmentBody

    from ..web.errors import ApiError

    body: BodyContactBody = await parse_body(request, BodyContactBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        row = await session.get(AssessmentBody, path_id(request, "body_id"))
        if row is None:
            raise ApiError("考核机构不存在", code="not_found", status=404)
        old, row.contact = row.contact, body.contact.strip()
        audit.record(session, actor_id=current_actor(request).account_id, action="body.contact", entity="body",
                     entity_id=row.id, detail={"from": old, "to": row.contact}, request_id=request_id(request))
    return json_ok({"id": row.id, "contact": row.contact})
