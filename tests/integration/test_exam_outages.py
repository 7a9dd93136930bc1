"""The database briefly down and Redis restarted mid-attempt (PostgreSQL + Redis only: an embedded
SQLite file and in-process state cannot go away). Each behind a proxy the test cuts."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from exam_server.demo.seed import seed_demo
from exam_server.exam.models import Answer
from exam_server.infra.livestate import RedisLiveState
from registry.db import make_engine, make_sessionmaker, utcnow
from registry.models import Account

from ..conftest import REDIS_URL
from ..exam_flows import DEVICE, SIMPLE, seed_exams
from ..helpers import Api
from ..proxy import CuttableProxy


@pytest.fixture
async def proxied(settings, backend, live_prefix, aiohttp_client):  # type: ignore[no-untyped-def]
    if backend != "postgres":
        pytest.skip("an outage of PostgreSQL and Redis")
    from exam_server.app import create_app

    await seed_demo(settings)
    await seed_exams(settings)
    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(update(Account).where(Account.physician_id.is_not(None))
                              .values(must_change_password=False, phone_verified_at=utcnow()))
    await engine.dispose()
    db = urlsplit(settings.database_url)
    redis = urlsplit(REDIS_URL)
    db_proxy = await CuttableProxy(db.hostname or "127.0.0.1", db.port or 5432).start()
    redis_proxy = await CuttableProxy(redis.hostname or "127.0.0.1", redis.port or 6379).start()
    proxied_settings = settings.with_(
        database_url=settings.database_url.replace(f"{db.hostname}:{db.port}", f"127.0.0.1:{db_proxy.port}"),
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}{redis.path or '/0'}")
    raw = await aiohttp_client(create_app(proxied_settings, live_prefix=live_prefix))
    yield Api(raw), db_proxy, redis_proxy
    await db_proxy.close()
    await redis_proxy.close()


async def _saved(database_url: str) -> int:
    """Answers in the database itself, read past the proxy (the app's pooled connections through it
    were cut: each fails once, by design)."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(select(func.count()).select_from(Answer)) or 0
    finally:
        await engine.dispose()


async def _login(api: Api) -> None:
    from exam_server.demo.exams import exam_login

    status, body = await api.post("/api/v1/auth/login", {"kind": "physician", "login": exam_login(SIMPLE),
                                                         "password": "666666"})
    assert status == 200, body


async def test_database_briefly_down_fails_saves_clearly_then_they_land(proxied, settings) -> None:  # type: ignore[no-untyped-def]
    api, db_proxy, _ = proxied
    await _login(api)
    status, body = await api.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 201, body
    attempt = body["attempt_id"]
    path = f"/api/v1/attempts/{attempt}/answers"
    assert (await api.post(path, {"device": DEVICE, "answers": [{"item": 1, "choice": "A", "seq": 1}]}))[0] == 200
    db_proxy.cut()
    status, body = await api.post(path, {"device": DEVICE, "answers": [{"item": 2, "choice": "A", "seq": 2}]})
    assert status == 503 and "服务暂时不可用" in body["error"]["message"], body
    db_proxy.restore()
    # the page replays what it kept locally
    status, body = await api.post(path, {"device": DEVICE, "answers": [{"item": 2, "choice": "A", "seq": 2}]})
    assert status == 200 and body["saved"] == [{"item": 2, "seq": 2}], body
    assert await _saved(settings.database_url) == 2


async def test_redis_restarted_mid_attempt(proxied, live_prefix) -> None:  # type: ignore[no-untyped-def]
    api, _, redis_proxy = proxied
    await _login(api)
    status, body = await api.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    attempt, token = body["attempt_id"], body["token"]
    path = f"/api/v1/attempts/{attempt}/answers"
    redis_proxy.cut()
    # what lives in Redis is gone after a restart without persistence (sessions included)
    live = RedisLiveState(REDIS_URL, prefix=live_prefix)
    await live.delete_prefix()
    await live.close()
    status, body = await api.get("/api/v1/exams")
    assert status == 503, body
    # the sitting goes on with the attempt token
    status, body = await api.request("POST", path, headers={"X-Attempt-Token": token},
                                     json={"device": DEVICE, "answers": [{"item": 1, "choice": "A", "seq": 1}]})
    assert status == 200, body
    redis_proxy.restore()
    status, body = await api.request("POST", path, headers={"X-Attempt-Token": token},
                                     json={"device": DEVICE, "answers": [{"item": 2, "choice": "B", "seq": 2}]})
    assert status == 200, body
    status, body = await api.get("/api/v1/exams")
    assert status == 401  # the login session did not survive; logging in again resumes
    await _login(api)
    status, body = await api.get(f"/api/v1/attempts/{attempt}?device={DEVICE}")
    assert status == 200 and set(body["answers"]) == {"1", "2"}, body
