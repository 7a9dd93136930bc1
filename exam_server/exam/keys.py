"""The exam engine's application keys."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .attempts import ResultPublished
from .hot_path import HotPath
from .papers import PaperCache
from .push import AttemptHub

paper_cache_key = web.AppKey("paper_cache", PaperCache)
# None unless the database is PostgreSQL.
hot_path_key = web.AppKey("hot_path", HotPath | None)  # type: ignore[arg-type]
attempt_hub_key = web.AppKey("attempt_hub", AttemptHub)
# A port the composition root wires to results (see attempts.ResultPublished).
result_published_key = web.AppKey("result_published", ResultPublished)
# Set to wake the job that draws papers ahead (a schedule was created).
predraw_wake_key = web.AppKey("predraw_wake", asyncio.Event)
