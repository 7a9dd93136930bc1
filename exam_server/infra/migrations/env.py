"""Alembic environment: runs on the connection handed over by exam_server.infra.migrate."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import exam_server.banks.models  # noqa: F401
import exam_server.exam.models  # noqa: F401
import exam_server.identity.models  # noqa: F401
import exam_server.proctor.models  # noqa: F401
import exam_server.results.models  # noqa: F401
from registry import models  # noqa: F401  (registers the tables)
from registry.db import Base, make_engine

# Revisions are explicit operations, so upgrades need no models; autogenerate compares with every table
# registered on Base: registry's and each feature's (these migrations cover the whole service).
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return

    async def _run() -> None:
        engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run)
        await engine.dispose()

    asyncio.run(_run())


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
