"""The Alembic revisions build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import exam_server.banks.models  # noqa: F401  (the service's tables live on registry's Base, one module per feature)
import exam_server.exam.models  # noqa: F401
import exam_server.identity.models  # noqa: F401
import exam_server.proctor.models  # noqa: F401
import exam_server.results.models  # noqa: F401
from registry.db import Base, make_engine


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []
