"""The composition root: create_app(settings) wires settings, storage, live state and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import AsyncIterator

from aiohttp import web

from proctoring.redis_queue import QueueKeys
from registry.db import make_engine, make_sessionmaker
from registry.roles import Role

from . import templating
from .api import Endpoint
from .edge import check_query_ids, edge_middleware
from .auth import csrf_middleware, current_account, session_middleware
from .error_responses import error_middleware
from .errors import ApiError, Forbidden, NotLoggedIn
from .exam import tokens
from .exam.hot_path import HotPath
from .exam.papers import PaperCache
from .exam.push import AttemptHub
from .exam.sweeper import run_sweeper
from .account_cache import AccountCache
from .handlers import admin_api, admin_pages, auth_api, bank_api, bank_pages, exam_api, exam_pages, import_jobs_api, institution_api, ops, pages, proctor_api, proctor_pages, registration_api, result_pages, results_api, review_api, stats_api, workflow_pages  # noqa: F401
from .handlers import page_routes, routes
from .certificate_zips import CertificateZipJobs
from .import_jobs import ImportJobs
from .keys import (account_cache_key, account_key, attempt_hub_key, attempt_token_key, certificate_zips_key, engine_key,
                   frame_service_key, hot_path_key,
                   import_jobs_key, invigilation_hub_key, live_down_key, live_key, metrics_key, paper_cache_key,
                   sessionmaker_key, settings_key, sms_key, storage_key)
from .livestate import make_live_state
from .metrics import InstrumentedLiveState, Metrics, metrics_middleware_for
from .proctor.analyzer import make_analyzer, queue_prefix
from .proctor.frames import FrameService
from .proctor.live import InvigilationHub
from .proctor.retention import run_retention
from .request_context import request_id_middleware
from .settings import Settings
from .sms_gateways import make_sms
from .storage import LocalFileStorage


# Connections of the save/clock pool per process (each statement holds one for a few ms), beside the
# ORM's 20 (+10 on demand): 38 per process, so two processes stay well inside PostgreSQL's default 100.
HOT_PATH_POOL = 8


def _guard(ep: Endpoint) -> web.Handler:
    """Role check and the first-login gate, applied to every JSON endpoint from its declaration."""

    @functools.wraps(ep.handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        request[attempt_token_key] = None
        raw = request.headers.get(tokens.HEADER) or (request.query.get("token") if ep.token_in_query else None)
        if ep.attempt_token and raw:
            token = tokens.verify(request.app[settings_key].secret_key, raw)
            if token is None:
                raise NotLoggedIn("考试凭证无效，请重新进入考试")
            request[attempt_token_key] = token
            return await ep.handler(request)
        if ep.roles:
            if request.get(account_key) is None and request.get(live_down_key):
                raise ApiError("服务暂时不可用，请稍后重试", code="unavailable", status=503)
            account = current_account(request)
            if Role(account.role) not in ep.roles:
                raise Forbidden("当前角色无权执行此操作")
            if not ep.before_setup and (account.must_change_password or account.phone_verified_at is None):
                raise ApiError("请先修改初始密码并绑定手机号", code="setup_required", status=403)
        check_query_ids(request, ep.query)
        return await ep.handler(request)

    return guarded


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
    app[settings_key] = settings
    app[sms_key] = make_sms(settings)
    app[storage_key] = LocalFileStorage(settings.storage_dir)

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
        live = make_live_state(settings.redis_url, prefix=live_prefix)
        app[live_key] = InstrumentedLiveState(live, metrics.live_errors)  # type: ignore[assignment]
        accounts = AccountCache(app[sessionmaker_key], app[engine_key], app[live_key])
        app[account_cache_key] = accounts
        accounts.start()
        yield
        await accounts.stop()
        await live.close()

    async def exam_engine(app: web.Application) -> AsyncIterator[None]:
        # Every process pushes attempt events to its own pages and sweeps overdue attempts.
        hub = AttemptHub(app[live_key])
        app[attempt_hub_key] = hub
        hub.start()
        sweeper = asyncio.create_task(run_sweeper(app[sessionmaker_key], app[paper_cache_key], hub.publish,
                                                  interval=settings.sweep_interval), name="deadline-sweeper")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
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
        yield
        await jobs.close()

    async def proctoring_ctx(app: web.Application) -> AsyncIterator[None]:
        # Frames are analysed off the web tier (a local pool, or the Redis queue read by
        # `dingkao proctor-worker`); dashboards follow events through one subscription per process.
        frames = FrameService(app[sessionmaker_key], app[storage_key], app[live_key], app[paper_cache_key],
                              app[attempt_hub_key].publish, make_analyzer(settings, live_prefix=live_prefix))
        app[frame_service_key] = frames
        hub = InvigilationHub(app[live_key])
        app[invigilation_hub_key] = hub
        frames.start(warm=settings.proctor_pool_warm and settings.proctor_analyzer == "local")
        hub.start()
        stop = asyncio.Event()
        retention = asyncio.create_task(run_retention(app[sessionmaker_key], app[storage_key], app[live_key],
                                                      retention_days=settings.proctor_retention_days, stop=stop),
                                        name="evidence-retention")
        yield
        stop.set()
        await retention
        await hub.stop()
        await frames.stop()

    app[paper_cache_key] = PaperCache()
    app.cleanup_ctx.extend([database, live_state, sms_client, import_jobs, certificate_zips, exam_engine, proctoring_ctx])
    templating.setup(app)
    for ep in routes.endpoints:
        app.router.add_route(ep.method, ep.path, _guard(ep), name=f"api_{ep.handler.__name__}")
    app.router.add_routes(page_routes)
    app.router.add_static("/static", templating.STATIC, name="static")
    return app
