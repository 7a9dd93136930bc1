"""Two `dingkao serve` processes sharing PostgreSQL and Redis, as in production behind a proxy:
an attempt started on one is answered on the other, extra time granted on one reaches a page
connected to the other, both sweepers submit an overdue attempt exactly once, and a process
killed mid-attempt loses nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select, update

from exam_server.demo.seed import seed_demo
from exam_server.demo.exams import exam_login, seed_exam_demo
from exam_server.exam.models import Answer, Attempt
from exam_server.settings import Settings
from registry.db import make_engine, make_sessionmaker, utcnow
from registry.models import Account, AuditLog

from ..conftest import PG_SERVER, REDIS_URL, REPO, _pg_admin
from ..exam_flows import GENERAL, SIMPLE, correct_answers
from ..server_env import clean_env, listening_port

DINGKAO = REPO / ".venv" / "bin" / "dingkao"
SECRET = "s" * 40


class Cluster:
    def __init__(self, url: str, prefix: str, tmp: Path) -> None:
        self.url, self.prefix, self.tmp = url, prefix, tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        self.bases: list[str] = []

    def start(self, n: int) -> None:
        for i in range(n):
            env = clean_env()
            env.update(DATABASE_URL=self.url.replace("+asyncpg", ""), REDIS_URL=REDIS_URL, DINGKAO_SECRET_KEY=SECRET,
                       DINGKAO_PORT="0", DINGKAO_LIVE_PREFIX=self.prefix, DINGKAO_COOKIE_SECURE="false",
                       DINGKAO_STORAGE_DIR=str(self.tmp / "storage"), DINGKAO_LOG_JSON="false",
                       # These tests start attempts directly; the proctored path has its own tests.
                       DINGKAO_EXAM_FACE_CHECK="false")
            log = (self.tmp / f"serve{i}.log").open("wb")
            self.procs.append(subprocess.Popen([str(DINGKAO), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT))
        # Each server binds a port of the system's choosing and prints it (no port picked here and released).
        for i, proc in enumerate(self.procs[-n:]):
            self.bases.append(f"http://127.0.0.1:{listening_port(self.tmp / f'serve{i}.log', proc)}")

    async def wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as s:
            for base, proc in zip(self.bases, self.procs):
                while True:
                    assert proc.poll() is None, (self.tmp / "serve0.log").read_text(errors="replace")
                    try:
                        async with s.get(base + "/healthz") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    assert time.monotonic() < deadline, "dingkao serve did not become healthy"
                    await asyncio.sleep(0.3)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    from exam_server.infra.migrate import upgrade

    name = f"dktest_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    prefix = f"dktest:{uuid.uuid4().hex}:"
    c = Cluster(url, prefix, tmp_path)
    try:
        await upgrade(url)
        settings = Settings(database_url=url, redis_url=REDIS_URL, secret_key=SECRET, storage_dir=tmp_path / "storage",
                            cookie_secure=False, log_json=False, live_prefix=prefix)
        await seed_demo(settings)
        await seed_exam_demo(settings)
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session, session.begin():
            # first-login steps are tested elsewhere; these physicians are ready to sit
            await session.execute(update(Account).where(Account.physician_id.is_not(None))
                                  .values(must_change_password=False, phone_verified_at=utcnow()))
        await engine.dispose()
        c.start(2)
        await c.wait_healthy()
        yield c
    finally:
        c.stop()
        from exam_server.infra.livestate import RedisLiveState

        live = RedisLiveState(REDIS_URL, prefix=prefix)
        await live.delete_prefix()
        await live.close()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Browser:
    """One browser's cookie jar talking to whichever process the proxy would pick."""

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def _csrf(self) -> str:
        return next((c.value for c in self.session.cookie_jar if c.key == "dk_csrf"), "")

    async def call(self, base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if not self._csrf():
            async with self.session.get(base + "/login") as r:
                await r.read()
        async with self.session.request(method, base + path, json=body,
                                        headers={"X-CSRF-Token": self._csrf(), "Accept": "application/json"}) as r:
            return r.status, json.loads(await r.read() or b"null")

    async def close(self) -> None:
        await self.session.close()


async def _login(base: str, kind: str, login: str, password: str) -> Browser:
    b = Browser()
    status, body = await b.call(base, "POST", "/api/v1/auth/login", {"kind": kind, "login": login, "password": password})
    assert status == 200, body
    return b


async def _db(url: str) -> Any:
    return make_sessionmaker(make_engine(url))


async def test_two_processes_share_attempts_events_and_the_sweep(cluster: Cluster) -> None:
    one, two = cluster.bases
    doctor = await _login(one, "physician", exam_login(SIMPLE), "666666")
    staff = await _login(one, "staff", "body01", "Dingkao2026")
    admin = await _login(one, "staff", "admin", "Dingkao2026")
    sessions = await _db(cluster.url)
    try:
        status, body = await doctor.call(one, "POST", "/api/v1/exams/start", {"kind": "humanities", "device": "dev-one-0001"})
        assert status == 201, body
        attempt_id = body["attempt_id"]
        # answered on the other process
        status, body = await doctor.call(two, "POST", f"/api/v1/attempts/{attempt_id}/answers",
                                         {"device": "dev-one-0001", "answers": [{"item": 1, "choice": "A", "seq": 1}]})
        assert status == 200 and body["saved"] == [{"item": 1, "seq": 1}], body

        # a page connected to process two hears extra time granted on process one
        received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        subscribed = asyncio.Event()

        async def listen() -> None:
            async with doctor.session.get(f"{two}/api/v1/attempts/{attempt_id}/events") as r:
                assert r.status == 200
                async for line in r.content:
                    if line.startswith(b"retry: "):  # written once the stream listens to the hub
                        subscribed.set()
                    elif line.startswith(b"data: "):
                        await received.put(json.loads(line[6:]))

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(subscribed.wait(), timeout=60)
        status, body = await staff.call(one, "POST", f"/api/v1/attempts/{attempt_id}/extra-time",
                                        {"minutes": 15, "reason": "网络中断"})
        assert status == 200, body
        # Pushed, not polled: the page would otherwise learn it on its next clock sync (30 s). The
        # timeout is a safety net; how fast it arrives is the load benchmark's business.
        event = await asyncio.wait_for(received.get(), timeout=60)
        assert event["event"] == "deadline" and event["extra_minutes"] == 15

        # the admin shortens the window on process one: the page on process two follows (issue 18)
        status, listing = await admin.call(one, "GET", "/api/v1/schedules")
        hum = next(s for s in listing["items"] if s["kind"] == "humanities")
        end = utcnow().replace(microsecond=0) + dt.timedelta(minutes=5)
        status, body = await admin.call(one, "POST", f"/api/v1/schedules/{hum['id']}/window",
                                        {"window_start": hum["window_start"], "window_end": end.isoformat() + "+00:00"})
        assert status == 200 and body["attempts_moved"] == 1, body
        event = await asyncio.wait_for(received.get(), timeout=60)  # pushed, not polled; a safety net only
        assert event["event"] == "deadline" and event["why"] == "window"
        # min(start + limit, window end) + extra time: the grant still counts after the window's end
        assert event["deadline"] == (end + dt.timedelta(minutes=15)).isoformat() + "Z"

        # time runs out with nobody connected: both sweepers race, one submits once the grace has passed
        async with sessions() as s, s.begin():
            await s.execute(update(Attempt).where(Attempt.id == attempt_id).values(deadline=utcnow()))
        event = await asyncio.wait_for(received.get(), timeout=60)
        assert event["event"] == "submitted"
        listener.cancel()
        await asyncio.sleep(2.5)  # more sweeps on both processes
        async with sessions() as s:
            attempt = await s.get(Attempt, attempt_id)
            submits = await s.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.action == "attempt.submit", AuditLog.entity_id == str(attempt_id)))
        assert attempt.state == "scored" and attempt.submit_reason == "time_up" and submits == 1
    finally:
        await doctor.close()
        await staff.close()
        await admin.close()


async def test_a_killed_process_loses_nothing(cluster: Cluster) -> None:
    one, two = cluster.bases
    doctor = await _login(one, "physician", exam_login(GENERAL), "666666")
    sessions = await _db(cluster.url)
    try:
        status, body = await doctor.call(one, "POST", "/api/v1/exams/start", {"kind": "humanities", "device": "dev-kill-0001"})
        attempt_id = body["attempt_id"]

        class _App(dict):  # correct_answers reads through the app's sessionmaker key
            pass

        from exam_server.web.keys import sessionmaker_key

        app = _App()
        app[sessionmaker_key] = sessions
        answers = await correct_answers(app, attempt_id)
        half = len(answers) // 2
        status, body = await doctor.call(one, "POST", f"/api/v1/attempts/{attempt_id}/answers",
                                         {"device": "dev-kill-0001", "answers": answers[:half]})
        assert status == 200 and len(body["saved"]) == half
        cluster.procs[0].send_signal(signal.SIGKILL)
        cluster.procs[0].wait(10)
        status, body = await doctor.call(two, "POST", f"/api/v1/attempts/{attempt_id}/answers",
                                         {"device": "dev-kill-0001", "answers": answers[half:]})
        assert status == 200 and len(body["saved"]) == len(answers) - half, body
        status, body = await doctor.call(two, "POST", f"/api/v1/attempts/{attempt_id}/submit",
                                         {"device": "dev-kill-0001", "confirm": True})
        assert status == 200 and body["attempt"]["score"] == body["attempt"]["max_score"], body
        async with sessions() as s:
            saved = await s.scalar(select(func.count()).select_from(Answer).where(Answer.attempt_id == attempt_id))
        assert saved == len(answers)
    finally:
        await doctor.close()


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("needs Linux processes and signals")
