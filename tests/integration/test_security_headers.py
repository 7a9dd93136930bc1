"""Security headers (issue 21): every response carries the framing rule, pages the strict content
security policy, the camera is allowed only on the pages that film the candidate, HSTS only when the
cookies are marked secure. The browser side (no violations on any page) is tests/e2e/test_content_security_policy.py.
"""

from __future__ import annotations

import dataclasses

from exam_server.app import create_app
from exam_server.web.keys import sms_key
from exam_server.web.security_headers import JSON_POLICY, PAGE_POLICY

from ..helpers import Api


async def headers_of(api: Api, path: str, accept: str = "text/html") -> dict[str, str]:
    async with api.session.get(api.base + path, headers={"Accept": accept}, allow_redirects=False) as r:
        await r.read()
        return dict(r.headers)


def assert_common(h: dict[str, str]) -> None:
    assert h["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "microphone=()" in h["Permissions-Policy"]


async def test_pages_api_and_static_files_carry_the_headers(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/login", "/verify", "/no-such-page"):
        h = await headers_of(client, path)
        assert_common(h)
        assert h["Content-Type"].startswith("text/html"), path
        assert h["Content-Security-Policy"] == PAGE_POLICY, path
        assert "script-src 'self'" in PAGE_POLICY and "unsafe-inline" not in PAGE_POLICY
        assert "camera=()" in h["Permissions-Policy"], path
        assert "Strict-Transport-Security" not in h  # the tests' settings: cookies not secure
    h = await headers_of(client, "/api/v1/openapi.json", "application/json")
    assert_common(h)
    assert h["Content-Security-Policy"] == JSON_POLICY
    h = await headers_of(client, "/static/app.js", "*/*")
    assert_common(h)
    assert "camera=()" in h["Permissions-Policy"]


async def test_the_camera_only_where_the_candidate_is_filmed(client) -> None:  # type: ignore[no-untyped-def]
    await client.ready_physician(0, client.app[sms_key].outbox)
    h = await headers_of(client, "/exams/check?kind=humanities")
    assert h.get("Content-Type", "").startswith("text/html")
    assert "camera=(self)" in h["Permissions-Policy"]
    assert (await headers_of(client, "/exams/attempt/1"))["Permissions-Policy"].startswith("camera=(self)")
    for path in ("/exams", "/register", "/", "/proctoring/consent"):
        h = await headers_of(client, path)
        assert "camera=()" in h["Permissions-Policy"], path
        assert "camera=(self)" not in h["Permissions-Policy"], path


async def test_hsts_when_cookies_are_secure(seeded, live_prefix, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    raw = await aiohttp_client(create_app(dataclasses.replace(seeded, cookie_secure=True), live_prefix=live_prefix))
    for path in ("/login", "/api/v1/openapi.json", "/static/app.css"):
        async with raw.session.get(str(raw.make_url(path))) as r:
            await r.read()
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path
