"""Every typed application key in one place."""

from __future__ import annotations

from concurrent.futures import Executor

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from registry.models import Account

from .import_jobs import ImportJobs
from .livestate import LiveState
from .settings import Settings
from .sms import SmsSender
from .storage import FileStorage

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessionmaker_key = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
live_key = web.AppKey("live", LiveState)
sms_key = web.AppKey("sms", SmsSender)
storage_key = web.AppKey("storage", FileStorage)
executor_key = web.AppKey("executor", Executor)
import_jobs_key = web.AppKey("import_jobs", ImportJobs)

# Request-scoped.
account_key = web.RequestKey("account", Account | None)  # type: ignore[arg-type]
request_id_key = web.RequestKey("request_id", str)
