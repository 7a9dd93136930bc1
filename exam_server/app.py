"""The composition root: create_app(settings) wires settings, storage, live state and every feature.

It is the one module that imports every feature: it declares their endpoints and pages (by importing their
api and pages modules), opens and closes each one's resources in its own cleanup_ctx, and wires the ports
through which a lower feature asks a higher one (the contracts in pyproject.toml say which way features may
import each other).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from typing import AsyncIterator

from aiohttp import web

from proctoring.redis_queue import QueueKeys
from registry.db import make_engine, make_sessionmaker

from . import accounts, admin, banks, demo, exam, home, identity, proctor, registration, results
# Importing a feature's api and pages modules declares its endpoints and pages on web.routes.
from .accounts import api as accounts_api, pages as accounts_pages, staff_api  # noqa: F401
from .admin import api as admin_api, pages as admin_pages  # noqa: F401
from .banks import api as banks_api, import_jobs_api, pages as banks_pages  # noqa: F401
from .banks.import_jobs import ImportJobs
from .banks.keys import import_jobs_key, item_statistics_key
from .demo import pages as demo_pages  # noqa: F401
from .exam import api as exam_api, pages as exam_pages  # noqa: F401
from .exam.hot_path import HotPath
from .exam.keys import attempt_hub_key, hot_path_key, paper_cache_key, predraw_wake_key, result_published_key
from .exam.papers import PaperCache
from .exam.push import AttemptHub
from .exam.predraw import run_predraw
from .exam.sweeper import run_sweeper
from .home import pages as home_pages  # noqa: F401
from .identity import api as identity_api, pages as identity_pages  # noqa: F401
from .identity.keys import face_analyzer_key
from .infra.livestate import LiveFollower, make_live_state
from .infra.sms_gateways import make_sms
from .infra.storage import LocalFileStorage
from .proctor import api as proctor_api, pages as proctor_pages  # noqa: F401
from .proctor.analyzer import make_analyzer, queue_prefix
from .proctor.frames import FrameService
from .proctor.keys import frame_service_key, invigilation_hub_key
from .proctor.live import InvigilationHub
from .proctor.retention import run_retention
from .registration import api as registration_api, institution_api, pages as registration_pages, review_api  # noqa: F401
from .registration.keys import published_registrations_key
from .results import api as results_api, pages as results_pages, statistics_api  # noqa: F401
from .results.certificate_zips import CertificateZipJobs
from .results.export_jobs import ExportJobs
from .results.keys import certificate_zips_key, export_jobs_key
from .results.services import is_published, published_registrations
from .results.statistics import question_statistic_rows
from .settings import Settings
from .web import ops, routes, security_headers, templating  # noqa: F401
from .web.account_cache import AccountCache
from .web.edge import edge_middleware
from .web.error_responses import error_middleware
from .web.keys import (account_cache_key, engine_key, live_follower_key, live_key, loop_watch_key, metrics_key,
                       sessionmaker_key, settings_key, sms_key, storage_key)
from .web.loop_watch import LoopWatch
from .web.metrics import InstrumentedLiveState, Metrics, metrics_middleware_for
from .web.request_context import request_id_middleware
from .web.sessions import csrf_middleware, session_middleware

# Each feature's templates directory joins web's on the one Jinja2 loader.
FEATURES = (accounts, admin, banks, demo, exam, home, identity, proctor, registration, results)

# Connections of the asyncpg pool per process (saves, clock syncs, starts, cold account reads; each
# statement holds one for a few ms), beside the
# ORM's 20 (+10 on demand): 38 per process, so two processes stay well inside PostgreSQL's default 100.
HOT_PATH_POOL = 8


def create_app(settings: Settings, *, live_prefix: str | None = None) -> web.Application:
    live_prefix = live_prefix or settings.live_prefix
    # The proctoring queue shares the live state's key prefix, as `dingkao proctor-worker` does.
    metrics = Metrics(queue_keys=QueueKeys(prefix=queue_prefix(live_prefix)))
    app = web.Application(
        middlewares=[request_id_middleware, metrics_middleware_for(metrics), error_middleware, session_middleware,
                     edge_middleware, csrf_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[metrics_key] = metrics
    security_headers.install(app)
    app[settings_key] = settings
    app[sms_key] = make_sms(settings)
    app[storage_key] = LocalFileStorage(settings.storage_dir)
    app[paper_cache_key] = PaperCache()
    # Ports: a lower feature asks a higher one through these (see each key's comment).
    app[result_published_key] = is_published
    app[item_statistics_key] = question_statistic_rows
    app[published_registrations_key] = published_registrations

    async def loop_watch(app: web.Application) -> AsyncIterator[None]:
        # First to start, last to stop: start-up and shutdown are watched too.
        watch = app[loop_watch_key] = LoopWatch(metrics.loop_lag, metrics.loop_stalls)
        watch.start()
        yield
        await watch.stop()

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app[engine_key] = engine
        app[sessionmaker_key] = make_sessionmaker(engine)
        hot = app[hot_path_key] = await HotPath.open(settings.database_url, size=HOT_PATH_POOL)
        yield
        if hot is not None:
            await hot.close()
        await engine.dispose()

    async def live_state(app: web.Application) -> AsyncIterator[None]:
        live = make_live_state(settings.redis_url, prefix=live_prefix, pool_size=settings.redis_pool_size,
                               pool_timeout=settings.redis_pool_timeout)
        app[live_key] = InstrumentedLiveState(live, metrics.live_errors)  # type: ignore[assignment]
        # One subscription per process for every follower of live events (attempt pages, dashboards,
        # account changes); each adds its channel below, and the subscription opens in `following`.
        follower = app[live_follower_key] = LiveFollower(app[live_key])
        hot = app[hot_path_key]
        accounts = AccountCache(app[sessionmaker_key], app[engine_key], app[live_key],
                                pg=hot.pool if hot is not None else None)
        app[account_cache_key] = accounts
        accounts.start(follower)
        yield
        await accounts.stop()
        await live.close()

    async def exam_engine(app: web.Application) -> AsyncIterator[None]:
        # Every process pushes attempt events to its own pages and sweeps overdue attempts.
        hub = AttemptHub(app[live_key])
        app[attempt_hub_key] = hub
        hub.start(app[live_follower_key])
        sweeper = asyncio.create_task(run_sweeper(app[sessionmaker_key], app[paper_cache_key], hub.publish,
                                                  interval=settings.sweep_interval,
                                                  grace_seconds=settings.exam_grace_seconds), name="deadline-sweeper")
        wake = app[predraw_wake_key] = asyncio.Event()
        tasks = [sweeper]
        if settings.predraw_ahead_minutes > 0:  # papers for the starts of windows about to open
            tasks.append(asyncio.create_task(
                run_predraw(app[sessionmaker_key], app[paper_cache_key], wake=wake,
                            ahead=dt.timedelta(minutes=settings.predraw_ahead_minutes)), name="predraw"))
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await hub.stop()

    async def sms_client(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[sms_key].close()

    async def import_jobs(app: web.Application) -> AsyncIterator[None]:
        jobs = ImportJobs(app[sessionmaker_key], app[storage_key], app[live_key])
        app[import_jobs_key] = jobs
        yield
        await jobs.close()  # running steps roll back and are marked interrupted

    async def certificate_zips(app: web.Application) -> AsyncIterator[None]:
        jobs = CertificateZipJobs(app[sessionmaker_key], app[storage_key], app[live_key])
        app[certificate_zips_key] = jobs
        exports = app[export_jobs_key] = ExportJobs(app[sessionmaker_key], app[storage_key], app[live_key])
        yield
        await exports.close()
        await jobs.close()

    async def proctoring_ctx(app: web.Application) -> AsyncIterator[None]:
        # Frames are analysed off the web tier (a local pool, or the Redis queue read by
        # `dingkao proctor-worker`); the pre-exam identity check judges its frames with the same analyser.
        frames = FrameService(app[sessionmaker_key], app[storage_key], app[live_key], app[paper_cache_key],
                              app[attempt_hub_key].publish, make_analyzer(settings, live_prefix=live_prefix))
        app[frame_service_key] = frames
        app[face_analyzer_key] = lambda: frames.analyzer
        hub = InvigilationHub()
        app[invigilation_hub_key] = hub
        frames.start(warm=settings.proctor_pool_warm and settings.proctor_analyzer == "local")
        hub.start(app[live_follower_key])
        stop = asyncio.Event()
        retention = asyncio.create_task(run_retention(app[sessionmaker_key], app[storage_key], app[live_key],
                                                      retention_days=settings.proctor_retention_days, stop=stop),
                                        name="evidence-retention")
        yield
        stop.set()
        await retention
        await frames.stop()

    async def following(app: web.Application) -> AsyncIterator[None]:
        # Last to start, first to stop: every channel is added by now, and nothing is dispatched to a
        # follower after its own context has closed.
        follower = app[live_follower_key]
        follower.start()
        yield
        await follower.stop()

    app.cleanup_ctx.extend([loop_watch, database, live_state, sms_client, import_jobs, certificate_zips, exam_engine, proctoring_ctx,
                            following])
    templating.setup(app, [Path(f.__file__).parent / "templates" for f in FEATURES])
    routes.mount(app)
    return app
