"""Accounts administration: staff accounts (the admin's and a body's), physicians' accounts for their institution."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from pydantic import Field

from registry import accounts, staff_accounts
from registry.master_data import ImportRejected
from registry.roles import ROLE_NAMES_ZH, Role

from ..web.api import json_ok, parse_body
from ..web.errors import ApiError, error_body
from ..web.keys import live_key, sessionmaker_key
from ..web.params import int_param, path_id, read_upload
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.schemas import Body
from ..web.sessions import current_actor
from .login_guard import LoginGuard, login_subject

MANAGERS = (Role.ADMIN, Role.BODY)
ADMIN = (Role.ADMIN,)
TAGS = ("administration",)
IMPORT_MAX_BYTES = 5 * 1024 * 1024


class StaffCreateBody(Body):
    username: str = Field(title="用户名", min_length=1, max_length=64)
    display_name: str = Field(title="姓名或名称", min_length=1, max_length=64)
    role: str = Field(title="角色", min_length=1, max_length=16)
    organisation: str = Field(default="", title="所属单位", max_length=32)


class StaffEditBody(Body):
    display_name: str = Field(title="姓名或名称", min_length=1, max_length=64)
    organisation: str = Field(default="", title="所属单位", max_length=32)


# ---- staff accounts: the admin (every staff role) and a body (its institutions' officers, its invigilators) ----

@routes.get("/api/v1/staff-accounts", summary="工作人员账户列表（管理员：全部；考核机构：下属机构负责人及本机构监考员）",
            roles=MANAGERS, tags=TAGS, query={"role": "角色", "q": "用户名或姓名", "page": "页码", "size": "每页条数"})
async def staff_list(request: web.Request) -> web.StreamResponse:
    raw_role = request.query.get("role") or None
    role = None
    if raw_role is not None:
        if raw_role not in {r.value for r in staff_accounts.STAFF_ROLES}:
            raise ApiError("角色的取值无效", fields={"role": "角色的取值无效"})
        role = Role(raw_role)
    query = request.query.get("q", "")
    if len(query) > 64:
        raise ApiError("搜索内容不能超过 64 个字符", fields={"q": "搜索内容不能超过 64 个字符"})
    size = int_param(request, "size", 50, lo=1, hi=500, title="每页条数")
    page = int_param(request, "page", 1, lo=1, hi=100_000, title="页码")
    async with request.app[sessionmaker_key]() as session:
        total, rows = await staff_accounts.list_staff(session, current_actor(request), role=role, query=query,
                                                      limit=size, offset=(page - 1) * size)
    live = LoginGuard(request.app[live_key])
    items = []
    for row in rows:
        item = asdict(row)
        item["locked"] = await live.is_locked(login_subject("staff", row.username))
        items.append(item)
    return json_ok({"total": total, "page": page, "items": items})


@routes.get("/api/v1/staff-accounts/options", summary="可创建的角色及其可选单位", roles=MANAGERS, tags=TAGS)
async def staff_options(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        options = await staff_accounts.organisation_options(session, current_actor(request))
    return json_ok({"roles": [{"role": r, "name": ROLE_NAMES_ZH[Role(r)], "organisations": orgs}
                              for r, orgs in options.items()]})


@routes.post("/api/v1/staff-accounts", summary="新建工作人员账户（返回一次性密码，仅显示一次）", roles=MANAGERS,
             body=StaffCreateBody, tags=TAGS)
async def staff_create(request: web.Request) -> web.StreamResponse:
    body: StaffCreateBody = await parse_body(request, StaffCreateBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        account, password = await staff_accounts.create_staff(
            session, current_actor(request), username=body.username, display_name=body.display_name, role=body.role,
            organisation=body.organisation, request_id=request_id(request))
    return json_ok({"id": account.id, "username": account.username, "one_time_password": password})


def _aid(request: web.Request) -> int:
    return path_id(request, "account_id")


@routes.post("/api/v1/staff-accounts/{account_id}", summary="修改工作人员账户（姓名、所属单位）", roles=MANAGERS,
             body=StaffEditBody, tags=TAGS)
async def staff_edit(request: web.Request) -> web.StreamResponse:
    body: StaffEditBody = await parse_body(request, StaffEditBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        account = await staff_accounts.edit_staff(session, current_actor(request), _aid(request),
                                                  display_name=body.display_name, organisation=body.organisation,
                                                  request_id=request_id(request))
    return json_ok({"id": account.id, "display_name": account.display_name})


async def _set_active(request: web.Request, active: bool) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        account = await staff_accounts.set_active(session, current_actor(request), _aid(request), active=active,
                                                  request_id=request_id(request))
    return json_ok({"id": account.id, "is_active": account.is_active})


@routes.post("/api/v1/staff-accounts/{account_id}/disable", summary="停用工作人员账户（立即退出其登录）",
             roles=MANAGERS, tags=TAGS)
async def staff_disable(request: web.Request) -> web.StreamResponse:
    return await _set_active(request, False)


@routes.post("/api/v1/staff-accounts/{account_id}/enable", summary="重新启用工作人员账户", roles=MANAGERS, tags=TAGS)
async def staff_enable(request: web.Request) -> web.StreamResponse:
    return await _set_active(request, True)


@routes.post("/api/v1/staff-accounts/{account_id}/reset-password",
             summary="重置工作人员密码（返回新的一次性密码，仅显示一次）", roles=MANAGERS, tags=TAGS)
async def staff_reset_password(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        account, password = await staff_accounts.reset_staff_password(session, current_actor(request), _aid(request),
                                                                      request_id=request_id(request))
    return json_ok({"id": account.id, "username": account.username, "one_time_password": password})


@routes.post("/api/v1/staff-accounts/{account_id}/unlock", summary="解除工作人员账户的登录锁定", roles=MANAGERS,
             tags=TAGS)
async def staff_unlock(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        account = await staff_accounts.record_unlock(session, current_actor(request), _aid(request),
                                                     request_id=request_id(request))
    await LoginGuard(request.app[live_key]).unlock(login_subject("staff", account.username or ""))
    return json_ok({"id": account.id, "unlocked": True})


@routes.post("/api/v1/admin/staff-accounts/import",
             summary="从 XLSX/CSV 导入工作人员账户（全部成功或全部不导入；返回各账户一次性密码）",
             roles=ADMIN, multipart=True, tags=TAGS)
async def staff_import(request: web.Request) -> web.StreamResponse:
    data, filename = await read_upload(request, "file", IMPORT_MAX_BYTES, "账户文件")
    try:
        async with request.app[sessionmaker_key]() as session, session.begin():
            created = await staff_accounts.import_staff(session, current_actor(request), filename or "accounts.csv",
                                                        data, request_id=request_id(request))
            items = [{"row": c.row, "id": c.account.id, "username": c.account.username,
                      "display_name": c.account.display_name, "role": c.account.role,
                      "one_time_password": c.password} for c in created]
    except ImportRejected as exc:
        body = error_body(exc.message, "import_refused", exc.fields)
        body["error"]["problems"] = [{"row": p.row, "column": p.column, "message": p.reason}  # type: ignore[index]
                                     for p in exc.problems]
        return json_ok(body, status=400)
    return json_ok({"created": len(items), "items": items})


# ---- the institution officer: its physicians' accounts ----

@routes.get("/api/v1/physician-accounts", summary="本机构医师账户（是否已改密、绑定手机、被锁定）",
            roles=(Role.INSTITUTION,), tags=TAGS, query={"q": "姓名或证件号码", "page": "页码", "size": "每页条数"})
async def physician_account_list(request: web.Request) -> web.StreamResponse:
    query = request.query.get("q", "")
    if len(query) > 64:
        raise ApiError("搜索内容不能超过 64 个字符", fields={"q": "搜索内容不能超过 64 个字符"})
    size = int_param(request, "size", 50, lo=1, hi=500, title="每页条数")
    page = int_param(request, "page", 1, lo=1, hi=100_000, title="页码")
    async with request.app[sessionmaker_key]() as session:
        total, rows = await accounts.physician_accounts(session, current_actor(request), query=query, limit=size,
                                                        offset=(page - 1) * size)
    guard = LoginGuard(request.app[live_key])
    items = []
    for row in rows:
        item = asdict(row)
        item.pop("id_number")
        item["locked"] = await guard.is_locked(login_subject("physician", row.id_number))
        items.append(item)
    return json_ok({"total": total, "page": page, "items": items})


@routes.post("/api/v1/physicians/{physician_id}/unlock", summary="解除本机构医师账户的登录锁定",
             roles=(Role.INSTITUTION,), tags=TAGS)
async def physician_unlock(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        physician = await accounts.record_physician_unlock(session, current_actor(request),
                                                           path_id(request, "physician_id"),
                                                           request_id=request_id(request))
    await LoginGuard(request.app[live_key]).unlock(login_subject("physician", physician.id_number))
    return json_ok({"physician_id": physician.id, "unlocked": True})
