"""Demo question banks and papers for `dingkao demo` (question_bank.demo's content); idempotent."""

from __future__ import annotations

from sqlalchemy import select

from question_bank import ImportResult
from question_bank.demo import demo_banks, demo_blueprints
from registry.db import make_engine, make_sessionmaker

from ..banks import question_store
from ..banks.models import Paper
from ..settings import Settings


async def seed_question_banks(settings: Settings) -> dict[str, int]:
    """Load each demo bank that is not there yet and each demo paper not yet defined.

    Returns the number of questions created per bank (0 when the bank already held them)."""
    created: dict[str, int] = {}
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            bank_ids: dict[str, int] = {}
            for name, questions in demo_banks().items():
                outcome = await question_store.import_questions(
                    session, name, ImportResult("demo", list(questions)), actor_id=None, source="demo")
                created[name] = outcome.created
                bank_ids[name] = outcome.bank_id
            titles = set((await session.scalars(select(Paper.title))).all())
            for name, blueprint in demo_blueprints().items():
                if blueprint.title not in titles:
                    await question_store.save_paper(session, blueprint, [bank_ids[name]], actor_id=None)
    finally:
        await engine.dispose()
    return created
