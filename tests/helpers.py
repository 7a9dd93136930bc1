"""Test helpers: an API client that behaves like the pages' script (CSRF header, JSON)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import aiohttp
from aiohttp.test_utils import TestClient

from exam_server.demo.seed import PHYSICIANS, STAFF_PASSWORD, demo_id_number


def physician_login(index: int = 0) -> str:
    name, born, seq, *_ = PHYSICIANS[index]
    return demo_id_number("120101", born, seq)


class Api:
    def __init__(self, raw: TestClient | aiohttp.ClientSession, *, base: str | None = None, app: Any = None) -> None:
        if isinstance(raw, TestClient):
            self.session = raw.session
            self.base = str(raw.make_url("")).rstrip("/")
            self.app = raw.server.app
        else:
            self.session = raw
            self.base = (base or "").rstrip("/")
            self.app = app

    def _csrf(self) -> str:
        for cookie in self.session.cookie_jar:
            if cookie.key == "dk_csrf":
                return cookie.value
        return ""

    async def ensure_csrf(self) -> None:
        if not self._csrf():
            async with self.session.get(self.base + "/login") as r:
                await r.read()

    async def request(self, method: str, path: str, *, json: Any = None, data: Any = None,
                      headers: dict[str, str] | None = None, csrf: bool = True) -> tuple[int, Any]:
        await self.ensure_csrf()
        h = {"Accept": "application/json"}
        if csrf:
            h["X-CSRF-Token"] = self._csrf()
        h.update(headers or {})
        async with self.session.request(method, self.base + path, json=json, data=data, headers=h,
                                        allow_redirects=False) as r:
            body = await r.read()
            try:
                import json as _json

                return r.status, _json.loads(body)
            except ValueError:
                return r.status, body

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, json=json if json is not None else {}, **kw)

    async def page(self, path: str) -> tuple[int, str, str]:
        async with self.session.get(self.base + path, headers={"Accept": "text/html"}, allow_redirects=False) as r:
            return r.status, await r.text(), r.headers.get("Location", "")

    async def login_staff(self, username: str, password: str = STAFF_PASSWORD) -> None:
        status, body = await self.post("/api/v1/auth/login", {"kind": "staff", "login": username, "password": password})
        assert status == 200, body

    async def login_physician(self, index: int = 0, password: str = "666666", *, login: str | None = None) -> dict[str, Any]:
        status, body = await self.post("/api/v1/auth/login", {"kind": "physician", "password": password,
                                                              "login": login or physician_login(index)})
        assert status == 200, body
        return body

    async def ready_physician(self, index: int = 0, sms_outbox: Any = None, *, login: str | None = None,
                              phone: str | None = None) -> None:
        """Log a demo physician in (by index, or by ID number) and finish the first-login steps."""
        await self.login_physician(index, login=login)
        status, body = await self.post("/api/v1/auth/password", {
            "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
        assert status == 200, body
        phone = phone or f"139{index:08d}"
        status, body = await self.post("/api/v1/auth/phone/code", {"phone": phone})
        assert status == 200, body
        code = last_code(sms_outbox, phone)
        status, body = await self.post("/api/v1/auth/phone/bind", {"phone": phone, "code": code})
        assert status == 200, body


def last_code(outbox: Any, phone: str) -> str:
    import re

    for sms in outbox:
        if sms.phone == phone:
            return re.search(r"\d{6}", sms.text).group(0)  # type: ignore[union-attr]
    raise AssertionError(f"no SMS to {phone}")


@contextmanager
def statements_run(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    from sqlalchemy import event

    from exam_server.web.keys import engine_key

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = app[engine_key].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)
