"""Login, lockout, forced password change, phone binding: refusals are clear and change nothing."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select

from exam_server.web.keys import live_key, sessionmaker_key, sms_key
from registry.models import Account, AuditLog

from ..helpers import last_code, physician_login


async def account_row(client, username=None, index=0):  # type: ignore[no-untyped-def]
    async with client.app[sessionmaker_key]() as s:
        if username:
            return await s.scalar(select(Account).where(Account.username == username))
        from registry.models import Physician

        return await s.scalar(select(Account).join(Physician, Account.physician_id == Physician.id)
                              .where(Physician.id_number == physician_login(index)))


async def test_first_login_forces_password_change_then_phone(client):
    body = await client.login_physician(0)
    assert body["next"] == "/password"
    # Nothing else is reachable until the password is changed.
    status, err = await client.get("/api/v1/physicians")
    assert status == 403
    status, page, location = await client.page("/")
    assert status == 303 and location == "/password"
    status, body = await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    assert status == 200 and body["next"] == "/phone"
    status, page, location = await client.page("/")
    assert status == 303 and location == "/phone"
    status, body = await client.post("/api/v1/auth/phone/code", {"phone": "13912345678"})
    assert status == 200
    code = last_code(client.app[sms_key].outbox, "13912345678")
    status, body = await client.post("/api/v1/auth/phone/bind", {"phone": "13912345678", "code": code})
    assert status == 200
    status, page, _ = await client.page("/")
    assert status == 200 and "未开通报名" in page
    acc = await account_row(client)
    assert acc.phone == "13912345678" and not acc.must_change_password


async def test_wrong_password_is_refused_and_five_lock_the_account(client):
    before = await account_row(client)
    for i in range(4):
        status, body = await client.post("/api/v1/auth/login", {
            "kind": "physician", "login": physician_login(0), "password": f"wrong{i}"})
        assert status == 401
        assert "证件号码或密码错误" in body["error"]["message"]
    status, body = await client.post("/api/v1/auth/login", {
        "kind": "physician", "login": physician_login(0), "password": "wrong5"})
    assert status == 401 and "锁定" in body["error"]["message"]
    # Even the right password is refused while locked.
    status, body = await client.post("/api/v1/auth/login", {
        "kind": "physician", "login": physician_login(0), "password": "666666"})
    assert status == 429 and "分钟后再试" in body["error"]["message"]
    after = await account_row(client)
    assert (after.password_hash, after.password_version) == (before.password_hash, before.password_version)
    ttl = await client.app[live_key].ttl(f"login:lock:physician:{physician_login(0)}")
    assert 14 * 60 < ttl <= 15 * 60


async def test_malformed_id_number_is_refused_by_check_digit(client):
    good = physician_login(0)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    status, body = await client.post("/api/v1/auth/login", {"kind": "physician", "login": bad, "password": "666666"})
    assert status == 400
    assert body["error"]["fields"]["login"] == "居民身份证号码校验位不正确"
    status, body = await client.post("/api/v1/auth/login", {"kind": "physician", "login": "1234567890123456",
                                                            "password": "666666"})
    assert status == 400 and "18 位" in body["error"]["fields"]["login"]


async def test_weak_new_passwords_are_refused_with_the_reason(client):
    await client.login_physician(0)
    before = await account_row(client)
    cases = {
        "abc12": "至少 8 位",
        "abcdefghij": "字母和数字",
        "1234567890": "字母和数字",
        physician_login(0) + "a": "证件号码",
        # The last 8 characters of the ID number, as reported, and any 6 consecutive ones.
        "a" + physician_login(0)[-8:]: "新密码不能包含证件号码中连续 6 位及以上的字符",
        "Pw" + physician_login(0)[6:12] + "x": "新密码不能包含证件号码中连续 6 位及以上的字符",
    }
    for new, reason in cases.items():
        status, body = await client.post("/api/v1/auth/password", {
            "old_password": "666666", "new_password": new, "confirm_password": new})
        assert status == 400 and reason in body["error"]["fields"]["new_password"], (new, body)
    status, body = await client.post("/api/v1/auth/password", {
        "old_password": "nope", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    assert status == 400 and "old_password" in body["error"]["fields"]
    status, body = await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026y"})
    assert status == 400 and "confirm_password" in body["error"]["fields"]
    status, body = await client.post("/api/v1/auth/password", {"old_password": "666666"})
    assert status == 400 and body["error"]["fields"]["new_password"] == "新密码不能为空"
    after = await account_row(client)
    assert after.password_hash == before.password_hash and after.must_change_password


async def test_sms_codes_expire_are_single_use_and_rate_limited(client):
    await client.login_physician(1)
    await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    live = client.app[live_key]
    outbox = client.app[sms_key].outbox
    status, _ = await client.post("/api/v1/auth/phone/code", {"phone": "13700000001"})
    assert status == 200
    # Resend within 60 s is refused.
    status, body = await client.post("/api/v1/auth/phone/code", {"phone": "13700000001"})
    assert status == 429 and "秒后再获取" in body["error"]["message"]
    acc = await account_row(client, index=1)
    # Expire the code as time would.
    await live.expire(f"sms:code:{acc.id}", 0.05)
    await asyncio.sleep(0.15)
    code = last_code(outbox, "13700000001")
    status, body = await client.post("/api/v1/auth/phone/bind", {"phone": "13700000001", "code": code})
    assert status == 400 and "已失效" in body["error"]["fields"]["code"]
    # A fresh code works once, then is spent.
    await live.delete("sms:cooldown:13700000001")
    await client.post("/api/v1/auth/phone/code", {"phone": "13700000001"})
    code = last_code(outbox, "13700000001")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    status, body = await client.post("/api/v1/auth/phone/bind", {"phone": "13700000001", "code": wrong})
    assert status == 400 and body["error"]["fields"]["code"] == "验证码不正确"
    status, _ = await client.post("/api/v1/auth/phone/bind", {"phone": "13700000001", "code": code})
    assert status == 200
    status, body = await client.post("/api/v1/auth/phone/bind", {"phone": "13700000001", "code": code})
    assert status == 400 and "已失效" in body["error"]["fields"]["code"]
    # At most 5 codes an hour per number.
    for _ in range(3):
        await live.delete("sms:cooldown:13700000001")
        status, _ = await client.post("/api/v1/auth/phone/code", {"phone": "13700000001"})
        assert status == 200
    await live.delete("sms:cooldown:13700000001")
    status, body = await client.post("/api/v1/auth/phone/code", {"phone": "13700000001"})
    assert status == 429 and "上限" in body["error"]["message"]


async def test_sms_limit_per_client_address(seeded, live_prefix, aiohttp_client):
    from exam_server.app import create_app

    from ..helpers import Api

    client = Api(await aiohttp_client(create_app(seeded.with_(demo_mode=False), live_prefix=live_prefix)))
    await client.login_physician(2)
    await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    for i in range(5):
        status, _ = await client.post("/api/v1/auth/phone/code", {"phone": f"1360000000{i}"})
        assert status == 200
    status, body = await client.post("/api/v1/auth/phone/code", {"phone": "13600000009"})
    assert status == 429 and "当前网络" in body["error"]["message"]


async def test_demo_mode_lifts_the_per_client_limit_but_keeps_the_per_number_one(client):
    """One tester binds every demo account from one machine; a number still gets at most 5 codes an hour."""
    await client.login_physician(2)
    await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    for i in range(8):
        status, body = await client.post("/api/v1/auth/phone/code", {"phone": f"1360000001{i}"})
        assert status == 200, body
    status, page, _ = await client.page("/demo/sms")
    assert "不受“每个网络每小时 5 次”的限制" in page


async def test_bad_phone_numbers_are_refused(client):
    await client.login_physician(0)
    await client.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    for phone in ["12345", "23912345678", "1391234567a", ""]:
        status, body = await client.post("/api/v1/auth/phone/code", {"phone": phone})
        assert status == 400 and "phone" in body["error"]["fields"], phone
    assert not client.app[sms_key].outbox


async def test_csrf_oversized_and_malformed_requests_are_refused(client):
    async with client.app[sessionmaker_key]() as s:
        audit_before = len((await s.scalars(select(AuditLog))).all())
    status, body = await client.post("/api/v1/auth/login", {"kind": "staff", "login": "admin",
                                                            "password": "Dingkao2026"}, csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf"
    status, body = await client.request("POST", "/api/v1/auth/login", data=b"{not json",
                                        headers={"Content-Type": "application/json"})
    assert status == 400 and "JSON" in body["error"]["message"]
    status, body = await client.request("POST", "/api/v1/auth/login", data=b"kind=staff",
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    status, body = await client.post("/api/v1/auth/login", [1, 2])
    assert status == 400
    status, body = await client.post("/api/v1/auth/login", {"kind": "staff", "login": "a" * 65, "password": "x"})
    assert status == 400 and "64" in body["error"]["fields"]["login"]
    status, body = await client.post("/api/v1/auth/login", {"kind": "staff", "login": "admin", "password": "x",
                                                            "role": "admin"})
    assert status == 400 and "role" in body["error"]["fields"]
    huge = b'{"kind": "staff", "login": "' + b"a" * (26 * 1024 * 1024) + b'"}'
    status, body = await client.request("POST", "/api/v1/auth/login", data=huge,
                                        headers={"Content-Type": "application/json"})
    assert status == 413
    async with client.app[sessionmaker_key]() as s:
        assert len((await s.scalars(select(AuditLog))).all()) == audit_before


async def test_logout_ends_the_session(client):
    await client.login_staff("admin")
    status, _ = await client.get("/api/v1/me")
    assert status == 200
    await client.post("/api/v1/auth/logout")
    status, body = await client.get("/api/v1/me")
    assert status == 401 and body["error"]["message"] == "请先登录"


async def test_institution_resets_a_password_and_old_sessions_end(client, make_client):
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    assert (await doctor.get("/api/v1/me"))[0] == 200
    await client.login_staff("inst01")
    status, listing = await client.get("/api/v1/physicians?q=" + "张晓明")
    pid = listing["items"][0]["physician_id"]
    status, body = await client.post(f"/api/v1/physicians/{pid}/reset-password")
    assert status == 200
    assert (await doctor.get("/api/v1/me"))[0] == 401
    body = await doctor.login_physician(0, "666666")
    assert body["next"] == "/password"


async def test_behind_a_trusted_proxy_sms_limits_count_per_forwarded_client(seeded, live_prefix, aiohttp_client):
    from exam_server.app import create_app

    from ..helpers import Api

    api = Api(await aiohttp_client(create_app(seeded.with_(trust_proxy=True, demo_mode=False), live_prefix=live_prefix)))
    await api.login_physician(0)
    await api.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    for i in range(5):
        status, _ = await api.post("/api/v1/auth/phone/code", {"phone": f"1350000000{i}"},
                                   headers={"X-Forwarded-For": "203.0.113.7"})
        assert status == 200
    status, body = await api.post("/api/v1/auth/phone/code", {"phone": "13500000009"},
                                  headers={"X-Forwarded-For": "203.0.113.7"})
    assert status == 429 and "当前网络" in body["error"]["message"]
    # A client claiming an address in front of the proxy's own entry gains nothing: the last entry counts.
    status, body = await api.post("/api/v1/auth/phone/code", {"phone": "13500000008"},
                                  headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
    assert status == 429
    status, _ = await api.post("/api/v1/auth/phone/code", {"phone": "13500000008"},
                               headers={"X-Forwarded-For": "198.51.100.2"})
    assert status == 200


async def test_other_requests_are_answered_while_a_password_is_being_checked(client, make_client, monkeypatch):
    # A costly stored hash (argon2 reads its parameters from the hash): checking it takes most of a second.
    from argon2 import PasswordHasher

    costly = PasswordHasher(time_cost=12, memory_cost=65536, parallelism=1).hash("666666")
    account_id = (await account_row(client)).id
    async with client.app[sessionmaker_key]() as s, s.begin():
        (await s.get(Account, account_id)).password_hash = costly  # type: ignore[union-attr]
    other = await make_client()
    order: list[str] = []
    # The check signals when it starts and then holds until the other requests are answered, so the
    # order does not depend on how fast the machine is: were the check run on the event loop, nothing
    # else could be answered while it holds, and the login would come first (after the safety timeout).
    from exam_server.accounts import api as accounts_api

    checking, answered = threading.Event(), threading.Event()
    real = accounts_api.verify_or_decoy

    def held(*args):  # type: ignore[no-untyped-def]
        checking.set()
        answered.wait(timeout=60)
        return real(*args)

    monkeypatch.setattr(accounts_api, "verify_or_decoy", held)

    async def login() -> None:
        status, _ = await client.post("/api/v1/auth/login", {"kind": "physician", "login": physician_login(0),
                                                             "password": "666666"})
        assert status == 200
        order.append("login")

    async def meanwhile() -> None:
        assert await asyncio.get_running_loop().run_in_executor(None, checking.wait, 60)
        for _ in range(3):
            status, _ = await other.get("/healthz")
            assert status == 200
            order.append("healthz")
        answered.set()

    await asyncio.gather(login(), meanwhile())
    assert order == ["healthz", "healthz", "healthz", "login"], order
