"""The question banks' application keys."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from registry.scope import Actor

from .import_jobs import ImportJobs


class ItemStatistics(Protocol):
    """How a bank's questions fared in the attempts that drew them (the bank page shows them). Results compute
    them from the exam's answers and sit above banks, so the bank page asks through this port (app.py wires it)."""

    async def __call__(self, session: AsyncSession, actor: Actor, *, bank_id: int | None) -> list[dict[str, Any]]: ...


import_jobs_key = web.AppKey("import_jobs", ImportJobs)
item_statistics_key = web.AppKey("item_statistics", ItemStatistics)
