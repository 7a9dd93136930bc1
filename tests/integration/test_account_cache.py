"""The per-process account cache behind sessions: no database read per request, yet a password
reset, a deactivation or any other change to an account ends or updates its sessions promptly,
in this process and (PostgreSQL + Redis) in every other process sharing the live state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from sqlalchemy import inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exam_server.app import create_app
from exam_server.web.account_cache import CHANNEL
from exam_server.web.keys import account_cache_key, live_key, sessionmaker_key, sms_key
from registry.db import make_engine
from registry.models import Account

from ..helpers import Api, last_code


def cookie_headers(api: Api) -> dict[str, str]:
    jar = {c.key: c.value for c in api.session.cookie_jar}
    return {"Cookie": f"dk_session={jar['dk_session']}; dk_csrf={jar['dk_csrf']}", "X-CSRF-Token": jar["dk_csrf"]}


async def me_status(client: Api, headers: dict[str, str]) -> int:
    """GET /api/v1/me on ``client``'s server with only these cookies (none from any jar)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as raw, \
            raw.get(client.base + "/api/v1/me", headers=headers) as r:
        await r.read()
        return r.status


async def listening(client: Api) -> Any:
    """The app's account cache once it hears other processes (subscribing empties it once)."""
    cache = client.app[account_cache_key]
    await asyncio.wait_for(cache.listening.wait(), timeout=10)
    return cache


async def heard(cache: Any, message: dict[str, Any], live: Any) -> None:
    """Publish ``message`` on the live state as a process would and wait until this cache has heard it."""
    count = cache.heard
    await live.publish(CHANNEL, json.dumps(message))
    for _ in range(1000):  # a safety net only: each turn waits for the subscription's delivery
        if cache.heard > count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the announcement never arrived")


async def test_repeated_requests_read_the_account_once(client, make_client):
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    cache = await listening(client)
    before = cache.loads
    for _ in range(20):
        assert (await doctor.get("/api/v1/me"))[0] == 200
    assert cache.loads - before <= 1


async def test_a_process_hearing_its_own_announcement_keeps_what_it_reloaded(client, make_client):
    """The commit dropped the entry here already; the announcement of it, arriving later over the live
    state (after requests that reloaded the account: on a busy machine, several), changes nothing here.
    Another process's announcement does drop it."""
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    cache = await listening(client)
    status, me = await doctor.get("/api/v1/me")
    assert status == 200
    loads = cache.loads
    await heard(cache, {"from": cache.origin, "ids": [me["id"]]}, client.app[live_key])
    assert (await doctor.get("/api/v1/me"))[0] == 200
    assert cache.loads == loads
    await heard(cache, {"from": "another process", "ids": [me["id"]]}, client.app[live_key])
    assert (await doctor.get("/api/v1/me"))[0] == 200
    assert cache.loads == loads + 1
    await heard(cache, [me["id"]], client.app[live_key])  # a process of the previous release
    assert (await doctor.get("/api/v1/me"))[0] == 200
    assert cache.loads == loads + 2


async def test_a_password_reset_in_another_process_ends_the_sessions_here(client, make_client, backend, seeded,
                                                                          live_prefix, aiohttp_client):
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    headers = cookie_headers(doctor)
    if backend == "postgres":  # a second server process sharing the database and Redis
        other = Api(await aiohttp_client(create_app(seeded, live_prefix=live_prefix)))
    else:  # in-process live state is one process's: the same app stands in
        other = client
    await listening(other)
    assert await me_status(other, headers) == 200  # now cached there
    await client.login_staff("inst01")
    status, listing = await client.get("/api/v1/physicians?q=张晓明")
    status, body = await client.post(f"/api/v1/physicians/{listing['items'][0]['physician_id']}/reset-password")
    assert status == 200, body
    for _ in range(250):  # the announcement crosses Redis: allow it up to 5 s, far below the cache's 60 s
        if await me_status(other, headers) == 401:
            break
        await asyncio.sleep(0.02)
    assert await me_status(other, headers) == 401
    assert other.app[account_cache_key].ttl >= 30


async def test_a_deactivation_through_the_app_ends_the_session_at_once(client, make_client):
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    assert (await doctor.get("/api/v1/me"))[0] == 200
    async with client.app[sessionmaker_key]() as session, session.begin():  # a bulk update: no rows in the session
        await session.execute(update(Account).where(Account.physician_id.is_not(None)).values(is_active=False)
                              .execution_options(synchronize_session=False))
    assert (await doctor.get("/api/v1/me"))[0] == 401


async def test_a_deactivation_by_hand_ends_the_session_within_the_cache_lifetime(client, make_client, seeded):
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    cache = client.app[account_cache_key]
    cache.ttl = 0.3
    assert (await doctor.get("/api/v1/me"))[0] == 200
    engine = make_engine(seeded.database_url)  # behind the application's back: no events, no announcement
    try:
        async with engine.begin() as conn:
            await conn.execute(update(Account).where(Account.physician_id.is_not(None)).values(is_active=False))
    finally:
        await engine.dispose()
    await asyncio.sleep(0.4)
    assert (await doctor.get("/api/v1/me"))[0] == 401


async def test_a_changed_phone_binding_is_seen_at_once(client, make_client):
    doctor = await make_client()
    await doctor.login_physician(0)
    status, body = await doctor.post("/api/v1/auth/password", {
        "old_password": "666666", "new_password": "Doctor2026x", "confirm_password": "Doctor2026x"})
    assert status == 200, body
    status, me = await doctor.get("/api/v1/me")
    assert (status, me["must_change_password"], me["phone_bound"]) == (200, False, False)
    await doctor.post("/api/v1/auth/phone/code", {"phone": "13700001111"})
    code = last_code(client.app[sms_key].outbox, "13700001111")
    assert (await doctor.post("/api/v1/auth/phone/bind", {"phone": "13700001111", "code": code}))[0] == 200
    status, me = await doctor.get("/api/v1/me")
    assert (status, me["phone_bound"], me["next"]) == (200, True, "/")


async def test_a_rolled_back_change_keeps_the_cache(client, make_client):
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    cache = await listening(client)
    # The set-up's own account changes come back over the live state a moment later and drop the
    # entry; ask again until the cache holds it.
    for _ in range(50):
        status, me = await doctor.get("/api/v1/me")
        assert status == 200
        account_id = me["id"]
        if account_id in cache._entries:
            break
        await asyncio.sleep(0.1)
    assert account_id in cache._entries
    async with client.app[sessionmaker_key]() as session:
        await session.begin()
        account = await session.get(Account, account_id)
        assert account is not None
        account.display_name = "改名"
        await session.flush()
        await session.rollback()
    assert account_id in cache._entries
    status, me = await doctor.get("/api/v1/me")
    assert status == 200 and me["display_name"] != "改名"


def _graph(obj: Any) -> Any:
    """Every column and eagerly loaded relationship of ``obj`` and the objects it holds, and its identity."""
    if obj is None:
        return None
    state = inspect(obj)
    out = {key: getattr(obj, key) for key in state.mapper.column_attrs.keys()}
    out.update({key: _graph(getattr(obj, key)) for key in state.mapper.relationships.keys()})
    return out | {"identity": state.key, "detached": state.detached, "changed": state.modified}


async def test_a_cached_account_is_what_the_orm_loads(client, make_client, seeded):
    """The cache reads accounts with one plain select (asyncpg on PostgreSQL), not the ORM: what it
    builds must be the detached graph a session's get() gives (physician, institution, region, body)."""
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    cache = client.app[account_cache_key]
    engine = make_engine(seeded.database_url)
    try:
        async with AsyncSession(engine) as session:
            ids = (await session.scalars(select(Account.id).order_by(Account.id))).all()
            loaded = {i: await session.get(Account, i) for i in ids}
    finally:
        await engine.dispose()
    expected = {i: _graph(account) for i, account in loaded.items()}  # detached now, as the cache's are
    cache.drop(None)
    got = {i: _graph(await cache.get(i)) for i in ids}
    assert any(g["physician"] is not None for g in got.values()) and any(g["physician"] is None for g in got.values())
    for i in ids:
        assert got[i] == expected[i]
    assert await cache.get(max(ids) + 1000) is None
