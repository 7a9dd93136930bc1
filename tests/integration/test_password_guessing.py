"""Password guessing under concurrency (issue 21, OWASP ASVS 4.0 section 2.2), on both backends: each guess
is claimed with one atomic increment before the hash, so parallel guesses check at most five passwords of
one account, a client spraying unknown names is stopped by its sliding window, and the same holds for the
old password on /auth/password. Refusals are 429 with Retry-After, and no hash is computed for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from exam_server.accounts import api as accounts_api
from exam_server.app import create_app
from exam_server.demo.seed import STAFF_PASSWORD
from exam_server.web.keys import sms_key

from ..helpers import Api, physician_login


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the login computed a password hash (the real argon2 check, counted)."""
    calls: list[int] = []
    real = accounts_api.verify_or_decoy

    def counted(*args: Any) -> bool:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(accounts_api, "verify_or_decoy", counted)
    return calls


async def login(api: Api, login_name: str, password: str, kind: str = "staff") -> tuple[int, Any, str | None]:
    await api.ensure_csrf()
    async with api.session.post(api.base + "/api/v1/auth/login", json={"kind": kind, "login": login_name, "password": password},
                                headers={"X-CSRF-Token": api._csrf(), "Accept": "application/json"}) as r:
        return r.status, await r.json(), r.headers.get("Retry-After")


async def test_parallel_wrong_passwords_check_at_most_five(client, hashes) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(*(login(client, "inst03", f"wrong-{i}") for i in range(12)))
    checked = [r for r in results if r[0] == 401]
    refused = [r for r in results if r[0] == 429]
    assert len(checked) + len(refused) == 12, results
    assert len(checked) <= 5 and len(hashes) <= 5, (len(checked), len(hashes))
    assert all(r[1]["error"]["code"] == "locked" and int(r[2]) > 0 for r in refused), refused
    # Locked now: even the right password is refused, without a hash.
    before = len(hashes)
    status, body, retry = await login(client, "inst03", STAFF_PASSWORD)
    assert status == 429 and body["error"]["code"] == "locked" and 0 < int(retry) <= 15 * 60, body
    assert "分钟后再试" in body["error"]["message"]
    assert len(hashes) == before


async def test_a_right_password_forgets_earlier_failures(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        assert (await login(client, "body02", "wrong"))[0] == 401
    assert (await login(client, "body02", STAFF_PASSWORD))[0] == 200
    for _ in range(4):
        assert (await login(client, "body02", "wrong"))[0] == 401  # four more, still not locked
    assert (await login(client, "body02", STAFF_PASSWORD))[0] == 200


async def test_a_client_spraying_unknown_names_is_stopped_before_the_hash(seeded, live_prefix, aiohttp_client, hashes) -> None:  # type: ignore[no-untyped-def]
    app = create_app(dataclasses.replace(seeded, login_client_failures=8), live_prefix=live_prefix)
    api = Api(await aiohttp_client(app))
    results = await asyncio.gather(*(login(api, f"nobody{i:03d}", "x") for i in range(20)))
    checked = [r for r in results if r[0] == 401]
    refused = [r for r in results if r[0] == 429]
    assert len(checked) + len(refused) == 20, results
    assert len(checked) <= 8 and len(hashes) <= 8, (len(checked), len(hashes))
    assert refused and all(r[1]["error"]["code"] == "throttled" and 0 < int(r[2]) <= 600 for r in refused), refused
    assert "登录失败次数过多" in refused[0][1]["error"]["message"]
    # The same client is refused a real account too (the window is per client), without a hash.
    before = len(hashes)
    status, body, retry = await login(api, "admin", STAFF_PASSWORD)
    assert status == 429 and retry is not None and len(hashes) == before


async def test_successful_logins_do_not_use_up_a_clients_window(seeded, live_prefix, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    # A hospital behind one address: many right passwords in a row never trip the window.
    app = create_app(dataclasses.replace(seeded, login_client_failures=5), live_prefix=live_prefix)
    api = Api(await aiohttp_client(app))
    for _ in range(8):
        status, body, _ = await login(api, "admin", STAFF_PASSWORD)
        assert status == 200, body
    for _ in range(4):
        assert (await login(api, "nobody", "x"))[0] == 401
    assert (await login(api, "admin", STAFF_PASSWORD))[0] == 200


async def test_wrong_old_passwords_are_limited_like_logins(client, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    change = {"new_password": "Another2026y", "confirm_password": "Another2026y"}
    results = await asyncio.gather(*(doctor.post("/api/v1/auth/password", {"old_password": f"wrong-{i}", **change})
                                     for i in range(10)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(400) <= 5 and statuses.count(400) + statuses.count(429) == 10, results
    assert all(b["error"]["fields"] == {"old_password": "原密码不正确"} for s, b in results if s == 400)
    status, body = await doctor.post("/api/v1/auth/password", {"old_password": "Doctor2026x", **change})
    assert status == 429 and body["error"]["code"] == "locked" and "修改密码已锁定" in body["error"]["message"], body
    # The login itself is a different count: the physician can still sign in elsewhere.
    other = await make_client()
    assert (await login(other, physician_login(0), "Doctor2026x", kind="physician"))[0] == 200
