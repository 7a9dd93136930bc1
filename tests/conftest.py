"""Shared fixtures: every storage test runs on PostgreSQL + Redis and on SQLite + in-process state.

Each backend gets a database of its own, created and migrated once per session and dropped at the
end; each test empties it afterwards and uses its own Redis key prefix.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
from sqlalchemy import text

# Before anything imports registry.passwords; subprocesses the tests start inherit it.
os.environ.setdefault("DINGKAO_PASSWORD_HASHING", "cheapest")

# Set by scripts/mutation_score.py: hypothesis's example database would replay an example that
# failed once (on one mutant, or on the unmutated code) for every later mutant, killing them all.
if os.environ.get("DINGKAO_HYPOTHESIS_NO_DATABASE"):
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("mutation", database=None)
    hypothesis_settings.load_profile("mutation")


import exam_server.banks.models  # noqa: F401  (the service's tables, so each test empties them too)
import exam_server.exam.models  # noqa: F401
import exam_server.identity.models  # noqa: F401
import exam_server.proctor.models  # noqa: F401
import exam_server.results.models  # noqa: F401
from exam_server.settings import Settings
from registry.db import Base, make_engine

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DINGKAO_SHARED_DIR", REPO.parent / "shared"))
FACES = SHARED / "faces"
PG_SERVER = os.environ.get("DINGKAO_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
BACKENDS = ("sqlite", "postgres")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_SERVER.replace("+asyncpg", "") + "/test")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """The shared face photos, read in place; tests skip with the reason when they are missing."""
    if not (FACES / "labels.csv").is_file():
        pytest.skip(f"shared face photos not found at {FACES} (set DINGKAO_SHARED_DIR)")
    return FACES


@pytest.fixture(scope="session", params=BACKENDS)
def backend_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from exam_server.infra.migrate import upgrade

    backend = request.param
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        asyncio.run(upgrade(url))
        yield backend, url
        return
    name = f"dktest_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    try:
        asyncio.run(upgrade(url))
        yield backend, url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
            if url.startswith("postgresql"):
                await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    await conn.execute(text(f'DELETE FROM "{t}"'))
    finally:
        await engine.dispose()


@pytest.fixture
def backend(backend_db: tuple[str, str]) -> str:
    return backend_db[0]


@pytest.fixture
async def database_url(backend_db: tuple[str, str]) -> AsyncIterator[str]:
    url = backend_db[1]
    yield url
    await _empty(url)


@pytest.fixture
def live_prefix() -> str:
    return f"dktest:{uuid.uuid4().hex}:"


@pytest.fixture
async def settings(database_url: str, backend: str, tmp_path: Path, live_prefix: str) -> AsyncIterator[Settings]:
    s = Settings(
        database_url=database_url,
        redis_url=REDIS_URL if backend == "postgres" else None,
        secret_key="t" * 40,
        storage_dir=tmp_path / "storage",
        cookie_secure=False,
        demo_mode=True,
        log_json=False,
        # The engine's tests start attempts directly; tests/integration/proctored switch it on.
        exam_face_check=False,
        # Papers are drawn ahead only where a test calls exam.predraw (tests/integration/test_predraw.py).
        predraw_ahead_minutes=0,
    )
    yield s
    if s.redis_url:
        from exam_server.infra.livestate import RedisLiveState

        live = RedisLiveState(s.redis_url, prefix=live_prefix)
        await live.delete_prefix()
        await live.close()


@pytest.fixture
async def seeded(settings: Settings) -> Settings:
    from exam_server.demo.seed import seed_demo

    await seed_demo(settings)
    return settings


@pytest.fixture
async def client(seeded: Settings, live_prefix: str, aiohttp_client):  # type: ignore[no-untyped-def]
    from exam_server.app import create_app

    from .helpers import Api

    raw = await aiohttp_client(create_app(seeded, live_prefix=live_prefix))
    return Api(raw)


@pytest.fixture
async def make_client(client):  # type: ignore[no-untyped-def]
    """More independent browsers (own cookie jars) against the same running app."""
    import aiohttp

    from .helpers import Api

    sessions: list[aiohttp.ClientSession] = []

    async def make() -> Api:
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(session)
        return Api(session, base=str(client.base), app=client.app)

    yield make
    for s in sessions:
        await s.close()
