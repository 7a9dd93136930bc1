"""Before a command touches the database: create and migrate the embedded one, or say in one line what is wrong.

A fresh directory gets its SQLite database made and migrated by whichever `dingkao` command comes first;
a PostgreSQL server that cannot be reached, or is not migrated yet, is named in one line instead of a
traceback.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from registry.db import make_engine
from .migrate import alembic_config, upgrade

CONNECT_TIMEOUT = 10


class DatabaseNotReady(Exception):
    """str() is the one line the command prints before it stops."""


def shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL we cannot even parse is shown as its scheme only
        return url.split(":", 1)[0] + "://…"


def _reason(exc: BaseException) -> str:
    exc = getattr(exc, "orig", None) or exc  # the driver's own error, not SQLAlchemy's wrapper
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


def unreachable(url: str, exc: BaseException) -> DatabaseNotReady:
    return DatabaseNotReady(
        f"数据库无法连接 / cannot reach the database {shown_url(url)} ({_reason(exc)}); "
        "check DATABASE_URL and that PostgreSQL is running")


def sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


async def ensure_database(url: str, *, migrate_server: bool = False) -> bool:
    """Make the database usable; True when it was created or brought up to date here.

    The embedded SQLite database is always migrated; a server database only when asked (`dingkao demo`),
    since production migrates as a deliberate step.
    """
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    revision = await current_revision(url)
    if revision == head_revision(url):
        return False
    if url.startswith("sqlite") or migrate_server:
        try:
            await upgrade(url)
        except Exception as exc:
            raise unreachable(url, exc) from None
        return True
    if revision != head_revision(url):
        state = "is empty" if revision is None else f"is at revision {revision}"
        raise DatabaseNotReady(f"数据库尚未迁移 / the database {shown_url(url)} {state}: run `dingkao migrate` first")
    return False


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            async with engine.connect() as conn:
                return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    except DatabaseNotReady:
        raise
    except Exception as exc:  # every driver's way of saying "no" ends in the same one line
        raise unreachable(url, exc) from None
    finally:
        await engine.dispose()
