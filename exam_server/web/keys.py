"""The application and request keys every feature shares: settings, database, live state, storage, SMS,
metrics, and who is calling. A feature's own keys live in its package (exam/keys.py, proctor/keys.py, ...)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from registry.models import Account

from ..infra.livestate import LiveFollower, LiveState
from ..infra.sms import SmsSender
from ..infra.storage import FileStorage
from ..settings import Settings
from .account_cache import AccountCache
from .attempt_tokens import AttemptToken
from .loop_watch import LoopWatch
from .metrics import Metrics

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessionmaker_key = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
live_key = web.AppKey("live", LiveState)
# The process's one live-state subscription; features add their channels before it starts.
live_follower_key = web.AppKey("live_follower", LiveFollower)
sms_key = web.AppKey("sms", SmsSender)
storage_key = web.AppKey("storage", FileStorage)
metrics_key = web.AppKey("metrics", Metrics)
loop_watch_key = web.AppKey("loop_watch", LoopWatch)
account_cache_key = web.AppKey("account_cache", AccountCache)

# Request-scoped.
account_key = web.RequestKey("account", Account | None)  # type: ignore[arg-type]
request_id_key = web.RequestKey("request_id", str)
attempt_token_key = web.RequestKey("attempt_token", AttemptToken | None)  # type: ignore[arg-type]
# Set when the live state (Redis) could not be read: no session can be checked, so say 503, not 401.
live_down_key = web.RequestKey("live_down", bool)
