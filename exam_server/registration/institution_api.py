"""The institution officer's physicians: list, open registration, reset a password."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from registry import accounts, registrations
from registry.publication import UNPUBLISHED
from registry.roles import Role
from registry.states import State

from ..web.api import json_ok, parse_body
from ..web.errors import ApiError
from ..web.keys import sessionmaker_key, settings_key
from ..web.params import int_param, path_id
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.sessions import current_actor
from .keys import published_registrations_key
from .schemas import OpenRegistrationBody

OVERSEERS = (Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)


@routes.get("/api/v1/physicians", summary="医师列表（按角色范围）及本周期状态", roles=OVERSEERS, tags=("institution",),
            query={"q": "姓名或证件号码", "state": "状态", "page": "页码", "size": "每页条数"})
async def list_physicians(request: web.Request) -> web.StreamResponse:
    state = request.query.get("state") or None
    if state is not None and state not in State.__members__ and state != UNPUBLISHED:
        raise ApiError("状态的取值无效", fields={"state": "状态的取值无效"})
    query = request.query.get("q", "")
    if len(query) > 64:
        raise ApiError("搜索内容不能超过 64 个字符", fields={"q": "搜索内容不能超过 64 个字符"})
    size = int_param(request, "size", 50, lo=1, hi=500, title="每页条数")
    page = int_param(request, "page", 1, lo=1, hi=100_000, title="页码")
    async with request.app[sessionmaker_key]() as session:
        total, rows = await registrations.list_physicians(
            session, current_actor(request), query=query, state=state, limit=size, offset=(page - 1) * size,
            published=request.app[published_registrations_key]())
    return json_ok({"total": total, "page": page, "items": [asdict(r) for r in rows]})


@routes.post("/api/v1/registrations/open", summary="为本机构医师开通本周期报名（选中的或全部）",
             roles=(Role.INSTITUTION,), body=OpenRegistrationBody, tags=("institution",))
async def open_registration(request: web.Request) -> web.StreamResponse:
    body: OpenRegistrationBody = await parse_body(request, OpenRegistrationBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        opened = await registrations.open_registration(
            session, current_actor(request), physician_ids=body.physician_ids, all_physicians=body.all,
            request_id=request_id(request))
    return json_ok({"opened": opened})


@routes.post("/api/v1/physicians/{physician_id}/reset-password", summary="重置医师密码为初始密码",
             roles=(Role.INSTITUTION,), tags=("institution",))
async def reset_password(request: web.Request) -> web.StreamResponse:
    physician_id = path_id(request, "physician_id")
    async with request.app[sessionmaker_key]() as session, session.begin():
        await accounts.reset_physician_password(session, current_actor(request), physician_id,
                                                initial_password=request.app[settings_key].initial_password)
    return json_ok({"reset": True})
