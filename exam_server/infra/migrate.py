"""Run Alembic migrations programmatically (`dingkao migrate`, tests, demo)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from registry.db import make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url)
    return cfg


async def upgrade(database_url: str, revision: str = "head") -> None:
    await _migrate(database_url, "upgrade", revision)


async def downgrade(database_url: str, revision: str = "base") -> None:
    await _migrate(database_url, "downgrade", revision)


async def _migrate(database_url: str, verb: str, revision: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run, database_url, verb, revision)
    finally:
        await engine.dispose()


def _run(connection: Connection, database_url: str, verb: str, revision: str) -> None:
    cfg = alembic_config(database_url)
    cfg.attributes["connection"] = connection
    getattr(command, verb)(cfg, revision)

