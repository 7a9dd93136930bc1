"""Every typed application key in one place."""

from __future__ import annotations

from concurrent.futures import Executor

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from registry.models import Account

from .account_cache import AccountCache
from ..exam.hot_path import HotPath
from ..exam.papers import PaperCache
from ..exam.push import AttemptHub
from .attempt_tokens import AttemptToken
from ..results.certificate_zips import CertificateZipJobs
from ..banks.import_jobs import ImportJobs
from ..infra.livestate import LiveState
from .metrics import Metrics
from ..proctor.frames import FrameService
from ..proctor.live import InvigilationHub
from ..settings import Settings
from ..infra.sms import SmsSender
from ..infra.storage import FileStorage

settings_key = web.AppKey("settings", Settings)
engine_key = web.AppKey("engine", AsyncEngine)
sessionmaker_key = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
live_key = web.AppKey("live", LiveState)
sms_key = web.AppKey("sms", SmsSender)
storage_key = web.AppKey("storage", FileStorage)
executor_key = web.AppKey("executor", Executor)
paper_cache_key = web.AppKey("paper_cache", PaperCache)
# None unless the database is PostgreSQL.
hot_path_key = web.AppKey("hot_path", HotPath | None)  # type: ignore[arg-type]
attempt_hub_key = web.AppKey("attempt_hub", AttemptHub)
metrics_key = web.AppKey("metrics", Metrics)
import_jobs_key = web.AppKey("import_jobs", ImportJobs)
certificate_zips_key = web.AppKey("certificate_zips", CertificateZipJobs)
account_cache_key = web.AppKey("account_cache", AccountCache)
frame_service_key = web.AppKey("frame_service", FrameService)
invigilation_hub_key = web.AppKey("invigilation_hub", InvigilationHub)

# Request-scoped.
account_key = web.RequestKey("account", Account | None)  # type: ignore[arg-type]
request_id_key = web.RequestKey("request_id", str)
attempt_token_key = web.RequestKey("attempt_token", AttemptToken | None)  # type: ignore[arg-type]
# Set when the live state (Redis) could not be read: no session can be checked, so say 503, not 401.
live_down_key = web.RequestKey("live_down", bool)
