"""Login, logout, forced password change and phone binding."""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from registry import accounts
from registry.idcard import mask_id_number, normalise_id_number, resident_id_problem
from registry.passwords import hash_password, needs_rehash, verify_or_decoy
from registry.models import Account
from registry.errors import InvalidInput
from registry.roles import ROLE_NAMES_ZH

from ..web.api import ALL_ROLES, ANYONE, json_ok, parse_body
from ..web.errors import ApiError
from ..web.keys import live_key, sessionmaker_key, settings_key, sms_key
from ..web.pages import NEXT_URL
from ..web.routes import routes
from ..web.sessions import client_address, create_session, current_account, destroy_session
from .login_guard import LoginGuard, login_subject, password_subject
from .phone_codes import PhoneCodes
from .schemas import LoginBody, PasswordBody, PhoneBindBody, PhoneCodeBody

_LOOKS_LIKE_RESIDENT_ID = re.compile(r"^\d{15,17}[\dX]?$")


@routes.post("/api/v1/auth/login", summary="登录（医师用证件号码，工作人员用用户名）", roles=ANYONE,
             body=LoginBody, before_setup=True, tags=("auth",))
async def login(request: web.Request) -> web.StreamResponse:
    body: LoginBody = await parse_body(request, LoginBody)
    login_name = body.login
    if body.kind == "physician":
        login_name = normalise_id_number(body.login)
        if _LOOKS_LIKE_RESIDENT_ID.match(login_name):
            problem = resident_id_problem(login_name)
            if problem:
                raise ApiError(problem, fields={"login": problem})
    guard = _guard(request)
    # One guess claimed before the hash (429 with Retry-After when the account or this client has had
    # its share), so parallel guesses cannot outrun the lock.
    reservation = await guard.reserve(login_subject(body.kind, login_name), client_address(request))
    decided = False
    try:
        async with request.app[sessionmaker_key]() as session, session.begin():
            account = await accounts.find_for_login(session, kind=body.kind, login=login_name)
            usable = account if account is not None and account.is_active else None
            # Argon2 takes ~0.13 s of CPU and releases the GIL: off the event loop, a crowd logging in
            # before a sitting does not hold up the answers being saved meanwhile.
            matches = await asyncio.to_thread(verify_or_decoy, usable.password_hash if usable else None, body.password)
            decided = True
            if usable is None or not matches:
                left = await guard.failed(reservation)
                what = "证件号码" if body.kind == "physician" else "用户名"
                message = f"{what}或密码错误" + (f"，还可尝试 {left} 次" if 0 < left < 3 else "")
                if left <= 0:
                    message = "密码错误次数过多，账户已锁定 15 分钟"
                raise ApiError(message, fields={"password": message}, code="bad_credentials", status=401)
            await guard.succeeded(reservation)
            if needs_rehash(usable.password_hash):
                usable.password_hash = await asyncio.to_thread(hash_password, body.password)
            step = accounts.next_step_after_login(usable)
    except BaseException:
        if not decided:  # the database failed before a verdict: the guess is given back
            await guard.release(reservation)
        raise
    response = json_ok({"next": NEXT_URL[step], "role": usable.role})
    await create_session(request, response, usable)
    return response


def _guard(request: web.Request) -> LoginGuard:
    return LoginGuard(request.app[live_key], client_failures=request.app[settings_key].login_client_failures)


@routes.post("/api/v1/auth/logout", summary="退出登录", roles=ANYONE, before_setup=True, tags=("auth",))
async def logout(request: web.Request) -> web.StreamResponse:
    response = json_ok({"next": "/login"})
    await destroy_session(request, response)
    return response


@routes.get("/api/v1/me", summary="当前账户", roles=ALL_ROLES, before_setup=True, tags=("auth",))
async def me(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    return json_ok({
        "id": account.id,
        "role": account.role,
        "role_name": ROLE_NAMES_ZH[account.role],
        "display_name": account.display_name,
        "id_number": mask_id_number(account.physician.id_number) if account.physician else None,
        "must_change_password": account.must_change_password,
        "phone_bound": account.phone_verified_at is not None,
        "next": NEXT_URL[accounts.next_step_after_login(account)],
    })


@routes.post("/api/v1/auth/password", summary="修改密码（首次登录强制修改）", roles=ALL_ROLES, body=PasswordBody,
             before_setup=True, tags=("auth",))
async def change_password(request: web.Request) -> web.StreamResponse:
    body: PasswordBody = await parse_body(request, PasswordBody)
    settings = request.app[settings_key]
    async with request.app[sessionmaker_key]() as session, session.begin():
        # The request's account is a shared cached copy: change the row loaded here.
        account = await session.get(Account, current_account(request).id)
        if account is None:
            raise ApiError("请先登录", code="not_logged_in", status=401)
        # The old password is a guess like a login's: claimed before it is hashed, locked after five.
        guard = _guard(request)
        reservation = await guard.reserve(password_subject(account.id), client_address(request), what="修改密码")
        try:
            await accounts.change_password(session, account, old=body.old_password, new=body.new_password,
                                           confirm=body.confirm_password, initial_password=settings.initial_password)
        except InvalidInput as exc:
            if "old_password" in exc.fields:
                await guard.failed(reservation)
            else:
                await guard.succeeded(reservation)
            raise
        await guard.succeeded(reservation)
        step = accounts.next_step_after_login(account)
    response = json_ok({"next": NEXT_URL[step]})
    await create_session(request, response, account)  # the old session ended with the old password
    return response


def _password_changed(request: web.Request):  # type: ignore[no-untyped-def]
    """The account, once it has left the initial password behind (phone binding comes second)."""
    account = current_account(request)
    if account.must_change_password:
        raise ApiError("请先修改初始密码", code="password_change_required", status=403)
    return account


def _phone(raw: str) -> str:
    phone = raw.replace(" ", "").replace("-", "").removeprefix("+86")
    problem = accounts.phone_problem(phone)
    if problem:
        raise ApiError(problem, fields={"phone": problem})
    return phone


@routes.post("/api/v1/auth/phone/code", summary="获取手机验证码", roles=ALL_ROLES, body=PhoneCodeBody,
             before_setup=True, tags=("auth",))
async def send_phone_code(request: web.Request) -> web.StreamResponse:
    body: PhoneCodeBody = await parse_body(request, PhoneCodeBody)
    account = _password_changed(request)
    codes = PhoneCodes(request.app[live_key], request.app[sms_key],
                       limit_per_client=not request.app[settings_key].demo_mode)
    await codes.send(account_id=account.id, phone=_phone(body.phone), client=client_address(request))
    return json_ok({"sent": True, "resend_after": 60})


@routes.post("/api/v1/auth/phone/bind", summary="绑定手机号", roles=ALL_ROLES, body=PhoneBindBody,
             before_setup=True, tags=("auth",))
async def bind_phone(request: web.Request) -> web.StreamResponse:
    body: PhoneBindBody = await parse_body(request, PhoneBindBody)
    account = _password_changed(request)
    phone = _phone(body.phone)
    await PhoneCodes(request.app[live_key], request.app[sms_key]).verify(
        account_id=account.id, phone=phone, code=body.code)
    async with request.app[sessionmaker_key]() as session, session.begin():
        stored = await session.get(Account, account.id)
        if stored is None:
            raise ApiError("请先登录", code="not_logged_in", status=401)
        await accounts.bind_phone(session, stored, phone)
    return json_ok({"next": "/"})


