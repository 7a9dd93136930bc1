"""Load on the exam engine: N candidates sitting one paper against `dingkao serve` on PostgreSQL + Redis.

    .venv/bin/python benchmarks/exam_load.py --candidates N --duration S   # a sitting in steady state
    .venv/bin/python benchmarks/exam_load.py --start-burst N               # N starts requested within 5 s
    .venv/bin/python benchmarks/exam_load.py --me                          # GET /api/v1/me vs bare aiohttp

Before anything is measured the servers draw every candidate's paper ahead (exam_server.exam.predraw,
as they do before a window opens); the wait is logged. Everything is made here and removed afterwards (also on Ctrl-C or an error): a scratch database
on the PostgreSQL server (--pg), keys under a key prefix of its own in Redis (--redis, passed to
the servers as DINGKAO_LIVE_PREFIX), `dingkao serve` processes (--servers, default 2: one per core
of this machine; the client, PostgreSQL and Redis share the same cores) and a bare aiohttp server
for comparison. Only loopback addresses are used.

Candidates are seeded in bulk (one precomputed argon2 hash for all, accounts already set up) and
logged in by writing their session records into Redis exactly as `exam_server.web.sessions.create_session`
does: logging 20,000 physicians in over HTTP would cost 20,000 argon2 verifications (minutes of
CPU) and measure the login, not the sitting. Each candidate then does what the exam page does:
the first --http-starts start their attempt (POST /exams/start), the others get copies of those
drawn papers inserted in the database; every one loads the paper (GET /attempts/{id}), keeps the
event stream open (GET /attempts/{id}/events?token=..., SSE), syncs its clock every 30 s (GET .../clock)
and saves an answer every 20 s with jitter (POST .../answers); like the page, it syncs the clock once the paper
is shown and skips a periodic sync when a save's reply brought the server's time within the last 25 s. The
sitting runs --warmup s (30) before it is measured for --duration s; errors and lost answers count throughout. Afterwards every acknowledged (attempt, item,
seq) is looked up in exam_answers: an answer is lost when its row is missing or holds an older seq.

The last line is one JSON object: {"candidates", "saves_per_s", "p50_ms", "p95_ms", "p99_ms",
"errors", "lost", "bare_req_per_s", "streams_opened", "streams_wanted", "streams_open_s", "http_503"} or, for the burst, {"starts", "within_s", "errors"}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402

from exam_server.web import attempt_tokens as tokens  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lean_http import EventStream, Pool, render_headers  # noqa: E402

DEVICE_PREFIX = "benchdev"
SECRET_KEY = "k" * 40
PASSWORD = "Bench2026load"
BARE_SERVER = """
import sys
from aiohttp import web
async def ok(request):
    return web.json_response({"ok": True, "role": "physician", "display_name": "bench"})
app = web.Application()
app.router.add_get("/ok", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""
# CPU time, not wall time: on a busy machine a loopback send() is charged, in wall time, with the
# receiver it wakes. SIGUSR1 starts the profile afresh (the burst profiles the burst only).
PROFILED_SERVE = """
import cProfile, signal, sys, time
from exam_server.cli import main
profile = cProfile.Profile(time.process_time)
def afresh(*_):
    global profile
    profile.disable()
    profile = cProfile.Profile(time.process_time)
    profile.enable()
signal.signal(signal.SIGUSR1, afresh)
profile.enable()
try:
    main(["serve"])
finally:
    profile.disable()
    profile.dump_stats(sys.argv[1])
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def raise_fd_limit(wanted: int) -> int:
    """Open sockets are file descriptors: raise the soft (and, as root, the hard) limit for this
    process; the servers started from here inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if wanted > hard:
        try:
            ceiling = int(Path("/proc/sys/fs/nr_open").read_text())
        except OSError:
            ceiling = hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, ceiling), min(wanted, ceiling)))
            return min(wanted, ceiling)
        except (ValueError, OSError):  # root without CAP_SYS_RESOURCE (as in this sandbox) may not
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, wanted), hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# ---------------------------------------------------------------- scratch environment


@dataclass
class Scratch:
    pg_server: str  # postgresql://user@host:port
    redis_url: str
    name: str = field(default_factory=lambda: f"dkbench_{uuid.uuid4().hex[:10]}")
    prefix: str = field(default_factory=lambda: f"dkbench:{uuid.uuid4().hex[:10]}:")
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="dkbench-")))
    created: bool = False
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.pg_server}/{self.name}"

    async def admin(self, sql: str) -> None:
        conn = await asyncpg.connect(f"{self.pg_server}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self) -> None:
        await self.admin(f'CREATE DATABASE "{self.name}"')
        self.created = True

    async def analyze(self) -> None:
        """Planner statistics for the rows just bulk-loaded, as autovacuum would gather them on a
        production server (it is off on some, this machine's included): without them PostgreSQL
        planned the pre-draw's search for 20,000 registrations as nested loops taking 10 s a query,
        and that database CPU showed up as the save path's p99."""
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    def start(self, label: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        out = open(self.workdir / f"{label}.log", "wb")
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
                                start_new_session=True)  # Ctrl-C reaches us, and we stop them in order
        self.procs.append((label, proc))
        return proc

    def stop_processes(self) -> None:
        for _label, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # aiohttp shuts down cleanly (and a profile gets written)
        deadline = time.monotonic() + 15
        for _label, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    async def cleanup(self) -> None:
        self.stop_processes()
        from redis import asyncio as aioredis

        redis = aioredis.from_url(self.redis_url)
        try:
            keys = [k async for k in redis.scan_iter(match=self.prefix + "*", count=1000)]
            for i in range(0, len(keys), 1000):
                await redis.delete(*keys[i:i + 1000])
        finally:
            await redis.aclose()
        if self.created:
            await self.admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False


async def seed(scratch: Scratch, count: int) -> list[dict[str, Any]]:
    """Migrate, load the demo (institutions, banks, papers, schedules open now), then ``count``
    physicians with accounts already set up, APPROVED simple-procedure registrations and a passed
    pre-exam identity check, in bulk."""
    from sqlalchemy import insert, select

    from exam_server.demo.seed import seed_demo
    from exam_server.demo.exams import seed_exam_demo
    from exam_server.identity import consent
    from exam_server.identity.models import FaceConsent, IdentityCheck
    from exam_server.settings import Settings
    from registry.db import make_engine, make_sessionmaker, utcnow
    from exam_server.infra.migrate import upgrade
    from registry.models import Account, Cycle, Institution, Physician, Registration
    from registry.passwords import hash_password

    url = scratch.url.replace("postgresql://", "postgresql+asyncpg://", 1)
    await upgrade(url)
    settings = Settings(database_url=url, redis_url=None, secret_key="b" * 40, storage_dir=scratch.workdir / "files")
    await seed_demo(settings)
    await seed_exam_demo(settings)
    password_hash = hash_password(PASSWORD)  # once: argon2 is slow on purpose
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            institutions = (await session.scalars(select(Institution.id).order_by(Institution.id))).all()
            cycle = await session.scalar(select(Cycle.id).where(Cycle.is_current.is_(True)))
            now = utcnow()
            out: list[dict[str, Any]] = []
            for lo in range(0, count, 5000):
                n = min(5000, count - lo)
                rows = [{"name": f"考生{lo + i}", "id_type": "护照", "id_number": f"BENCH{lo + i:08d}", "gender": "男",
                         "qualification_cert_no": f"Q{lo + i}", "practice_cert_no": f"P{lo + i}",
                         "institution_id": institutions[(lo + i) % len(institutions)], "practice_category": "临床",
                         "practice_scope": "内科", "practice_start_date": dt.date(2000, 1, 1), "birth_date": None}
                        for i in range(n)]
                pids = (await session.scalars(insert(Physician).returning(Physician.id), rows)).all()
                await session.execute(insert(Registration), [
                    {"physician_id": pid, "cycle_id": cycle, "state": "APPROVED", "version": 1, "data": {},
                     "procedure": "simple", "opened_at": now, "submitted_at": now, "work_rating": "合格",
                     "ethics_rating": "合格", "institution_reviewed_at": now, "body_reviewed_at": now,
                     "updated_at": now} for pid in pids])
                accounts = (await session.scalars(insert(Account).returning(Account.id), [
                    {"role": "physician", "physician_id": pid, "display_name": f"考生{lo + i}",
                     "password_hash": password_hash, "must_change_password": False, "password_version": 1,
                     "phone": f"139{lo + i:08d}", "phone_verified_at": now, "is_active": True,
                     "institution_id": institutions[(lo + i) % len(institutions)], "created_at": now}
                    for i, pid in enumerate(pids)])).all()
                # As after the pre-exam step (the face check is on, as in production): consent given and
                # an identity check passed a moment ago, which the start consumes.
                await session.execute(insert(FaceConsent), [
                    {"physician_id": pid, "text_version": consent.VERSION, "accepted_at": now} for pid in pids])
                await session.execute(insert(IdentityCheck), [
                    {"physician_id": pid, "kind": "humanities", "steps": [], "state": "passed", "distance": 0.3,
                     "created_at": now, "decided_at": now} for pid in pids])
                out.extend({"account_id": a, "physician_id": pid} for a, pid in zip(accounts, pids))
    finally:
        await engine.dispose()
    return out


async def log_in(scratch: Scratch, candidates: list[dict[str, Any]], idle_seconds: int = 2 * 3600) -> None:
    """Session records as auth.create_session writes them, plus the CSRF double-submit pair."""
    from redis import asyncio as aioredis

    redis = aioredis.from_url(scratch.redis_url)
    try:
        for lo in range(0, len(candidates), 2000):
            pipe = redis.pipeline(transaction=False)
            for c in candidates[lo:lo + 2000]:
                sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
                c["head"] = render_headers({"Cookie": f"dk_session={sid}; dk_csrf={csrf}", "X-CSRF-Token": csrf,
                                            "Accept": "application/json"})
                c["device"] = f"{DEVICE_PREFIX}{secrets.token_hex(6)}"
                pipe.set(f"{scratch.prefix}session:{sid}", json.dumps({"a": c["account_id"], "v": 1}),
                         px=idle_seconds * 1000)
            await pipe.execute()
    finally:
        await redis.aclose()


def server_env(scratch: Scratch, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGKAO_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"DATABASE_URL": scratch.url, "REDIS_URL": scratch.redis_url, "DINGKAO_SECRET_KEY": SECRET_KEY,
                "DINGKAO_HOST": "127.0.0.1", "DINGKAO_PORT": str(port), "DINGKAO_LIVE_PREFIX": scratch.prefix,
                "DINGKAO_STORAGE_DIR": str(scratch.workdir / "files"), "DINGKAO_COOKIE_SECURE": "false"})
    return env


async def wait_ready(url: str, proc: subprocess.Popen[bytes], label: str, scratch: Scratch, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    probe = Pool(0, timeout=2)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{label} exited: {(scratch.workdir / f'{label}.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                status, _ = await probe.request("GET", url)
                if status == 200:
                    return
            await asyncio.sleep(0.2)
    finally:
        probe.close()
    raise RuntimeError(f"{label} did not answer {url} within {timeout:.0f} s")


async def start_servers(scratch: Scratch, count: int, profile: str | None) -> list[str]:
    bases = []
    exe = str(Path(sys.executable).with_name("dingkao"))
    for i in range(count):
        port = free_port()
        argv = [exe, "serve"]
        if profile:
            argv = [sys.executable, "-c", PROFILED_SERVE, str(Path(profile).resolve()) + f".{i}"]
        proc = scratch.start(f"serve{i}", argv, server_env(scratch, port))
        bases.append(f"http://127.0.0.1:{port}")
        await wait_ready(bases[-1] + "/healthz", proc, f"serve{i}", scratch)
    return bases


async def start_bare(scratch: Scratch, count: int) -> list[str]:
    bases = []
    for i in range(count):
        port = free_port()
        proc = scratch.start(f"bare{i}", [sys.executable, "-c", BARE_SERVER, str(port)], dict(os.environ))
        bases.append(f"http://127.0.0.1:{port}")
        await wait_ready(bases[-1] + "/ok", proc, f"bare{i}", scratch)
    return bases


# ---------------------------------------------------------------- the client


@dataclass
class Stats:
    save_ms: list[float] = field(default_factory=list)
    saves: int = 0
    clocks: int = 0
    clocks_skipped: int = 0
    measuring: bool = True  # latencies are recorded (off during the warm-up)
    errors: dict[str, int] = field(default_factory=dict)
    acked: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)  # (attempt, item) -> (seq, choice)
    sse_open: int = 0
    sse_opened: int = 0  # streams that answered 200 (ever)
    sse_events: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


FAILED = (OSError, asyncio.TimeoutError)  # a request that got no response (HTTPError is an OSError)


async def request(http: Pool, method: str, url: str, c: dict[str, Any],
                  body: Any = None, *, token: bool = False) -> tuple[int, Any]:
    """``token``: as the exam page sends saves and clock syncs, with the attempt's token as well."""
    status, raw = await http.request(method, url, c["token_head"] if token else c["head"], body)
    return status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)


def paper_items(body: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    """(number, option labels) per item, as strings: 20,000 candidates' papers as lists would be
    millions of objects for this client's garbage collector to walk, pausing every request it times."""
    return tuple((it["number"], "".join(o["label"] for o in it["options"])) for it in body["paper"]["items"])


async def start_and_load(http: Pool, c: dict[str, Any], stats: Stats) -> bool:
    """What the page does on opening: start the attempt, then load the paper."""
    status, body = await request(http, "POST", c["base"] + "/api/v1/exams/start", c,
                                 {"kind": "humanities", "device": c["device"]})
    if status != 201:
        stats.error(f"start {status}: {str(body)[:120]}")
        return False
    c["attempt"] = int(body["attempt_id"])
    c["token"] = body["token"]
    c["token_head"] = c["head"] + render_headers({"X-Attempt-Token": body["token"]})
    status, body = await request(http, "GET", f"{c['base']}/api/v1/attempts/{c['attempt']}?device={c['device']}", c)
    if status != 200:
        stats.error(f"paper {status}")
        return False
    c["items"] = paper_items(body)
    c["seq"] = 0
    await clock(http, c, stats)  # as the page does once the paper is shown
    return True


async def save_one(http: Pool, c: dict[str, Any], stats: Stats, rng: random.Random) -> None:
    item, labels = rng.choice(c["items"])
    choice = rng.choice(labels)
    c["seq"] += 1
    seq = c["seq"]
    started = time.perf_counter()
    try:
        status, body = await request(http, "POST", f"{c['base']}/api/v1/attempts/{c['attempt']}/answers", c,
                                     {"device": c["device"], "answers": [{"item": item, "choice": choice, "seq": seq}]},
                                     token=True)
    except FAILED as exc:
        stats.error(f"save {type(exc).__name__}")
        return
    if stats.measuring:
        stats.save_ms.append((time.perf_counter() - started) * 1000)
    if status != 200:
        stats.error(f"save {status}: {str(body)[:120]}")
        return
    stats.saves += 1
    c["synced"] = time.monotonic()  # the reply carries the server's time: the page counts it as a clock sync
    if {"item": item, "seq": seq} in body["saved"]:
        stats.acked[(c["attempt"], item)] = (seq, choice)
    else:
        stats.error("save not acknowledged")


async def clock(http: Pool, c: dict[str, Any], stats: Stats) -> None:
    try:
        status, body = await request(http, "GET", f"{c['base']}/api/v1/attempts/{c['attempt']}/clock?device={c['device']}",
                                     c, token=True)
    except FAILED as exc:
        stats.error(f"clock {type(exc).__name__}")
        return
    if status != 200 or body.get("state") != "in_progress" or not body.get("device_current"):
        stats.error(f"clock {status}")
        return
    stats.clocks += 1
    c["synced"] = time.monotonic()


async def events(c: dict[str, Any], stats: Stats, stop: asyncio.Event) -> None:
    """The page's open event stream (EventSource: the attempt's token in the query, no custom header);
    it must stay open for the whole sitting."""
    url = f"{c['base']}/api/v1/attempts/{c['attempt']}/events?token={quote(c['token'])}"

    def heard() -> None:
        stats.sse_events += 1

    try:
        stream = await EventStream.open(url, b"", heard)
        status = await stream.opened
    except FAILED as exc:
        stats.error(f"events {type(exc).__name__}")
        return
    if status != 200:
        stream.close()
        stats.error(f"events {status}")
        return
    stats.sse_open += 1
    stats.sse_opened += 1
    try:
        why = await stream.ended
    finally:
        stats.sse_open -= 1
        stream.close()
    if not stop.is_set():
        stats.error(f"events closed early ({why})")


async def sit(http: Pool, c: dict[str, Any], stats: Stats, t0: float, t_end: float,
              save_every: float, clock_every: float, rng: random.Random) -> None:
    """One candidate: a save every ``save_every`` s (+-25 %), a clock sync every ``clock_every`` s unless
    a save's reply brought the server's time within the last 25 s (as exam.js does)."""
    loop = asyncio.get_running_loop()
    next_save = t0 + rng.uniform(0, save_every)
    next_clock = t0 + rng.uniform(0, clock_every)
    while True:
        when = min(next_save, next_clock)
        if when >= t_end:
            return
        await asyncio.sleep(max(0.0, when - loop.time()))
        if next_save <= next_clock:
            await save_one(http, c, stats, rng)
            next_save += save_every * rng.uniform(0.75, 1.25)
        else:
            if time.monotonic() - c.get("synced", float("-inf")) >= 25:
                await clock(http, c, stats)
            else:
                stats.clocks_skipped += 1
            next_clock += clock_every


def still_client() -> None:
    """Leave this client's long-lived objects (every candidate's open stream, task and timer) out of
    its garbage collector's walks. Measured with 20,000 candidates: the client spent 55 s of a
    5-minute run collecting, in pauses of up to 1.6 s that every request in flight was timed
    through. The young generation keeps Python's default size: with 50,000 (as the servers' 20,000)
    the client paused 100-180 ms every 13 s, and the 99th percentile measured those pauses."""
    gc.collect()
    gc.freeze()


async def closed_loop(http: Pool, make_call: Any, workers: int, seconds: float) -> tuple[float, list[float], int]:
    """``workers`` clients back to back for ``seconds``: (requests/s, sorted latencies ms, errors)."""
    lat: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker(w: int) -> None:
        nonlocal errors
        while loop.time() < end:
            started = time.perf_counter()
            try:
                ok = await make_call(w)
            except FAILED:
                ok = False
            lat.append((time.perf_counter() - started) * 1000)
            errors += 0 if ok else 1

    t = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    elapsed = time.perf_counter() - t
    return len(lat) / elapsed, sorted(lat), errors


async def bare_rate(scratch: Scratch, http: Pool, servers: int, workers: int, seconds: float) -> float:
    bases = await start_bare(scratch, servers)
    head = render_headers({"Accept": "application/json"})

    async def call(w: int) -> bool:
        status, _ = await http.request("GET", bases[w % len(bases)] + "/ok", head)
        return status == 200

    rate, lat, _errors = await closed_loop(http, call, workers, seconds)
    log(f"bare aiohttp ({servers} process(es), {workers} clients): {rate:.0f} req/s, p99 {percentile(lat, 0.99):.1f} ms")
    return rate


async def me_rate(http: Pool, candidates: list[dict[str, Any]], workers: int, seconds: float) -> tuple[float, float]:
    async def call(w: int) -> bool:
        c = candidates[w % len(candidates)]
        status, _ = await http.request("GET", c["base"] + "/api/v1/me", c["head"])
        return status == 200

    rate, lat, errors = await closed_loop(http, call, workers, seconds)
    log(f"GET /api/v1/me ({workers} clients): {rate:.0f} req/s, p50 {percentile(lat, 0.5):.1f} ms, "
        f"p99 {percentile(lat, 0.99):.1f} ms, errors {errors}")
    return rate, percentile(lat, 0.99)


# ---------------------------------------------------------------- the runs


async def prepare(scratch: Scratch, args: argparse.Namespace, count: int) -> tuple[list[dict[str, Any]], list[str]]:
    log(f"load average {load_average()}; scratch database {scratch.name}, Redis prefix {scratch.prefix}")
    await scratch.create()
    t = time.perf_counter()
    candidates = await seed(scratch, count)
    await log_in(scratch, candidates)
    await scratch.analyze()
    log(f"seeded and logged in {count} candidates in {time.perf_counter() - t:.1f} s")
    bases = await start_servers(scratch, args.servers, args.profile)
    await wait_predrawn(scratch, [c["physician_id"] for c in candidates])
    for i, c in enumerate(candidates):
        c["base"] = bases[i % len(bases)]  # sticky, as a proxy with session affinity would be
    return candidates, bases


async def wait_predrawn(scratch: Scratch, physician_ids: list[int], patience: float = 60.0) -> None:
    """As before a window opens: the servers draw every candidate's paper ahead (exam.predraw), so
    the starts measured claim them. Waits until all are drawn, or none was added for ``patience`` s."""
    t, count = time.perf_counter(), len(physician_ids)
    conn = await asyncpg.connect(scratch.url)
    try:
        last, since = -1, time.perf_counter()
        while True:
            drawn = await conn.fetchval(
                "SELECT count(*) FROM exam_predrawn_papers p JOIN registrations r ON r.id = p.registration_id "
                "WHERE r.physician_id = ANY($1::int[])", physician_ids)
            if drawn >= count:
                break
            if drawn != last:
                last, since = drawn, time.perf_counter()
            elif time.perf_counter() - since > patience:
                log(f"drawing ahead stalled at {drawn} of {count} papers; the rest are drawn at their start")
                break
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    took = time.perf_counter() - t
    log(f"{drawn} papers drawn ahead by the servers in {took:.1f} s ({drawn / max(took, 1e-9):.0f}/s)")


async def run_load(args: argparse.Namespace, scratch: Scratch) -> dict[str, Any]:
    n = args.candidates
    stats = Stats()
    rng = random.Random(7)
    with contextlib.closing(Pool(args.pool)) as http:
        candidates, bases = await prepare(scratch, args, n)
        t = time.perf_counter()
        sem = asyncio.Semaphore(args.pool)
        by_http = candidates[:args.http_starts]

        async def opening(c: dict[str, Any]) -> bool:
            async with sem:
                try:
                    return await start_and_load(http, c, stats)
                except FAILED as exc:
                    stats.error(f"start {type(exc).__name__}")
                    return False

        ok = await asyncio.gather(*(opening(c) for c in by_http))
        sitting = [c for c, good in zip(by_http, ok) if good]
        log(f"{len(sitting)}/{len(by_http)} attempts started over HTTP and papers loaded in "
            f"{time.perf_counter() - t:.1f} s ({len(sitting) / (time.perf_counter() - t):.0f}/s); errors {stats.errors}")
        rest = candidates[len(by_http):]
        if rest and sitting:
            t = time.perf_counter()
            await clone_attempts(scratch, sitting, rest)
            await scratch.analyze()

            async def page_load(c: dict[str, Any]) -> bool:
                async with sem:
                    try:
                        status, body = await request(http, "GET", f"{c['base']}/api/v1/attempts/{c['attempt']}?device={c['device']}", c)
                    except FAILED as exc:
                        stats.error(f"paper {type(exc).__name__}")
                        return False
                    if status != 200:
                        stats.error(f"paper {status}")
                        return False
                    c["items"] = paper_items(body)
                    c["seq"] = 0
                    await clock(http, c, stats)  # as the page does once the paper is shown
                    return True

            ok = await asyncio.gather(*(page_load(c) for c in rest))
            sitting += [c for c, good in zip(rest, ok) if good]
            log(f"{len(rest)} more attempts created in the database (copies of those papers) and their pages "
                f"loaded over HTTP in {time.perf_counter() - t:.1f} s ({len(rest) / (time.perf_counter() - t):.0f}/s)")
        stop = asyncio.Event()
        streams = [asyncio.create_task(events(c, stats, stop)) for c in sitting[:args.sse]] if args.sse else []
        # The pages were open before the sitting is measured: wait for their streams (bounded).
        opened_by = time.monotonic() + 60 + len(streams) / 50
        open_started = time.monotonic()
        while stats.sse_open + stats.error_count < len(streams) and time.monotonic() < opened_by:
            await asyncio.sleep(0.5)
        open_s = time.monotonic() - open_started
        log(f"event streams open: {stats.sse_open} of {len(streams)} in {open_s:.1f} s; errors so far "
            f"{stats.errors or 'none'}; load average {load_average()}")
        loop = asyncio.get_running_loop()
        # The sitting runs --warmup s before it is measured: every page's timers start together here,
        # which a sitting under way does not do (its pages opened over many minutes).
        t_start = loop.time()
        t0 = t_start + args.warmup
        t_end = t0 + args.duration
        stats.measuring = args.warmup <= 0
        stats.clocks = 0  # the pages' first syncs, at load, are not the sitting's
        sitters = [asyncio.create_task(sit(http, c, stats, t_start, t_end, args.save_every, args.clock_every,
                                           random.Random(rng.random()))) for c in sitting]
        still_client()
        if not stats.measuring:
            await asyncio.sleep(args.warmup)
            log(f"warm-up of {args.warmup:.0f} s done: {stats.saves} saves, {stats.clocks} clock syncs, "
                f"errors {stats.error_count}; measuring from now")
            stats.saves = stats.clocks = stats.clocks_skipped = 0
            stats.measuring = True
        while not all(s.done() for s in sitters):
            await asyncio.sleep(min(10.0, max(1.0, t_end - loop.time())))
            if loop.time() < t_end or int(loop.time() - t_end) % 10 == 0:
                log(f"t={loop.time() - t0:5.0f}s saves {stats.saves} clocks {stats.clocks} errors {stats.error_count} "
                    f"streams {stats.sse_open} load {load_average()}")
            elif loop.time() > t_end + 300:
                stats.error("candidate still busy 300 s after the end")
                for s in sitters:
                    s.cancel()
                break
        await asyncio.gather(*sitters, return_exceptions=True)
        elapsed = loop.time() - t0
        streams_at_end = stats.sse_open
        load_at_end = load_average()
        save_ms = sorted(stats.save_ms)
        result = {"candidates": n, "saves_per_s": round(stats.saves / elapsed, 1),
                  "p50_ms": round(percentile(save_ms, 0.50), 1), "p95_ms": round(percentile(save_ms, 0.95), 1),
                  "p99_ms": round(percentile(save_ms, 0.99), 1)}
        log(f"steady state: {stats.saves} saves in {elapsed:.0f} s, {stats.clocks} clock syncs "
            f"({stats.clocks_skipped} not needed: a save had just synced the clock), "
            f"{streams_at_end} event streams still open, max save {save_ms[-1] if save_ms else 0:.0f} ms, "
            f"load average {load_at_end}")
        stop.set()
        for s in streams:
            s.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        # Capacity: the save path and /me back to back, then bare aiohttp, all with the same client.
        workers = min(args.workers, len(sitting))
        crew = sitting[:workers]

        async def save_call(w: int) -> bool:
            before = stats.error_count
            await save_one(http, crew[w], stats, rng)
            return stats.error_count == before

        cap_rate, cap_lat, cap_errors = await closed_loop(http, save_call, workers, args.capacity_seconds)
        log(f"save capacity ({workers} clients back to back): {cap_rate:.0f} saves/s, "
            f"p50 {percentile(cap_lat, 0.5):.1f} ms, p99 {percentile(cap_lat, 0.99):.1f} ms, errors {cap_errors}")
        me, _ = await me_rate(http, sitting, workers, args.capacity_seconds)
        bare = await bare_rate(scratch, http, args.servers, workers, args.capacity_seconds)
        log(f"ratios to bare aiohttp: save path {cap_rate / bare:.1%}, GET /api/v1/me {me / bare:.1%}")
        scratch.stop_processes()  # servers stopped: everything acknowledged must be in the database now
        lost = await count_lost(scratch, stats)
        log(f"errors: {stats.errors or 'none'}; acknowledged answers checked: {len(stats.acked)}, lost {lost}")
        # Opening counted: every stream the pages asked for, how long they took, and any 503 on the way
        # (a page load or a stream that found no free Redis or database connection).
        result.update(errors=stats.error_count, lost=lost, bare_req_per_s=round(bare, 1),
                      streams_opened=stats.sse_opened, streams_wanted=len(streams), streams_open_s=round(open_s, 1),
                      http_503=sum(v for k, v in stats.errors.items() if " 503" in k))
        return result


async def clone_attempts(scratch: Scratch, started: list[dict[str, Any]], rest: list[dict[str, Any]]) -> None:
    """Attempts for ``rest`` as the start path would write them, each a copy of a paper drawn over
    HTTP (so its questions are snapshotted): starting 20,000 over HTTP here would take minutes of
    this shared machine's CPU before the sitting is even measured (the start rate is measured
    above and by --start-burst)."""
    conn = await asyncpg.connect(scratch.url)
    try:
        models = await conn.fetch("SELECT schedule_id, paper::text AS paper, question_count, deadline, started_at "
                                  "FROM exam_attempts WHERE id = ANY($1::int[]) ORDER BY id",
                                  [c["attempt"] for c in started])
        regs = dict(await conn.fetch("SELECT physician_id, id FROM registrations WHERE physician_id = ANY($1::int[])",
                                     [c["physician_id"] for c in rest]))
        rows = []
        for i, c in enumerate(rest):
            m = models[i % len(models)]
            rows.append((m["schedule_id"], regs[c["physician_id"]], c["physician_id"], 1, "in_progress", m["started_at"],
                         m["deadline"], 0, c["device"], m["paper"], m["question_count"], 1))
        await conn.executemany(
            "INSERT INTO exam_attempts (schedule_id, registration_id, physician_id, attempt_no, state, started_at, "
            "deadline, extra_minutes, device_id, paper, question_count, version) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::json, $11, $12)", rows)
        ids = dict(await conn.fetch("SELECT physician_id, id FROM exam_attempts WHERE physician_id = ANY($1::int[])",
                                    [c["physician_id"] for c in rest]))
    finally:
        await conn.close()
    for c in rest:
        c["attempt"] = ids[c["physician_id"]]
        # The token the page gets from its claim, signed with the servers' key (server_env).
        c["token"] = tokens.issue(SECRET_KEY, c["attempt"], c["physician_id"], c["device"])
        c["token_head"] = c["head"] + render_headers({"X-Attempt-Token": c["token"]})


async def count_lost(scratch: Scratch, stats: Stats) -> int:
    conn = await asyncpg.connect(scratch.url)
    try:
        rows = await conn.fetch("SELECT attempt_id, item_number, seq, choice FROM exam_answers")
    finally:
        await conn.close()
    stored = {(r["attempt_id"], r["item_number"]): (r["seq"], r["choice"]) for r in rows}
    lost = 0
    for key, (seq, choice) in stats.acked.items():
        have = stored.get(key)
        # Each candidate saves one answer at a time, so the newest acknowledged one must be there as sent.
        if have is None or have[0] < seq or (have[0] == seq and have[1] != choice):
            lost += 1
    return lost


async def run_burst(args: argparse.Namespace, scratch: Scratch) -> dict[str, Any]:
    n = args.start_burst
    stats = Stats()
    with contextlib.closing(Pool(args.pool)) as http:
        candidates, _bases = await prepare(scratch, args, n)
        log(f"load average before the burst {load_average()}")
        servers = [proc.pid for label, proc in scratch.procs if label.startswith("serve")]
        if args.profile:
            for pid in servers:
                os.kill(pid, signal.SIGUSR1)
        cpu0 = {pid: cpu_seconds(pid) for pid in servers}
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        answered: list[float] = []

        async def one(i: int, c: dict[str, Any]) -> None:
            await asyncio.sleep(max(0.0, t0 + args.burst_window * i / n - loop.time()))
            try:
                status, body = await request(http, "POST", c["base"] + "/api/v1/exams/start", c,
                                             {"kind": "humanities", "device": c["device"]})
                if status != 201:
                    stats.error(f"start {status}: {str(body)[:120]}")
            except FAILED as exc:
                stats.error(f"start {type(exc).__name__}")
            answered.append(loop.time() - t0)

        await asyncio.gather(*(one(i, c) for i, c in enumerate(candidates)))
        within = max(answered)
        answered.sort()
        used = sum(cpu_seconds(pid) - cpu0[pid] for pid in servers)
        log(f"server CPU during the burst: {used:.2f} s in all, {1000 * used / n:.2f} ms per start "
            f"(the servers' share of the cores; PostgreSQL and this client are not counted)")
        log(f"{n} starts requested within {args.burst_window:.0f} s; all answered after {within:.2f} s "
            f"(half after {percentile(answered, 0.5):.2f} s); load average {load_average()}")
        scratch.stop_processes()
        conn = await asyncpg.connect(scratch.url)
        try:
            started = await conn.fetchval("SELECT count(*) FROM exam_attempts WHERE state = 'in_progress'")
            claimed = await conn.fetchval("SELECT count(*) FROM exam_predrawn_papers WHERE claimed_by_attempt_id IS NOT NULL")
            log(f"{claimed} of the starts claimed a paper drawn ahead")
        finally:
            await conn.close()
        if started != n - stats.error_count:
            stats.error(f"database holds {started} attempts in progress")
        log(f"attempts in the database: {started}; errors: {stats.errors or 'none'}")
        return {"starts": n, "within_s": round(within, 2), "errors": stats.error_count}


async def run_me(args: argparse.Namespace, scratch: Scratch) -> dict[str, Any]:
    with contextlib.closing(Pool(args.pool)) as http:
        candidates, _bases = await prepare(scratch, args, args.workers)
        await me_rate(http, candidates, args.workers, 3)  # warm-up
        me, p99 = await me_rate(http, candidates, args.workers, args.capacity_seconds)
        bare = await bare_rate(scratch, http, args.servers, args.workers, args.capacity_seconds)
        log(f"GET /api/v1/me is {me / bare:.1%} of bare aiohttp")
        return {"me_req_per_s": round(me, 1), "p99_ms": round(p99, 1), "bare_req_per_s": round(bare, 1),
                "ratio": round(me / bare, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--candidates", type=int, help="candidates sitting at once")
    mode.add_argument("--start-burst", type=int, help="starts requested by different physicians within --burst-window")
    mode.add_argument("--me", action="store_true", help="authenticated GET /api/v1/me against bare aiohttp")
    p.add_argument("--duration", type=float, default=120, help="seconds of steady state (default 120)")
    p.add_argument("--warmup", type=float, default=30,
                   help="seconds the sitting runs before it is measured (default 30; errors count throughout)")
    p.add_argument("--servers", type=int, default=2, help="`dingkao serve` processes (default 2, one per core)")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--http-starts", type=int, default=1000,
                   help="candidates whose attempts are started over HTTP; the rest get copies in the database")
    p.add_argument("--pool", type=int, default=256, help="client keep-alive connections for requests (a proxy's pool)")
    p.add_argument("--sse", type=int, default=None, help="event streams kept open (default: every candidate)")
    p.add_argument("--save-every", type=float, default=20.0)
    p.add_argument("--clock-every", type=float, default=30.0)
    p.add_argument("--workers", type=int, default=50, help="clients in the back-to-back capacity phases")
    p.add_argument("--capacity-seconds", type=float, default=10.0)
    p.add_argument("--burst-window", type=float, default=5.0)
    p.add_argument("--profile", help="write a CPU-time cProfile of each server to PATH.<i> (the burst: of the burst only)")
    args = p.parse_args()
    for name in ("candidates", "start_burst"):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= 200_000:
            p.error(f"--{name.replace('_', '-')} must be between 1 and 200000")
    if not 1 <= args.servers <= 16 or args.duration <= 0 or args.duration > 3600:
        p.error("--servers 1..16 and --duration 0..3600 s")
    for url in (args.pg, args.redis):
        host = urlsplit(url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            p.error(f"loopback only: {url}")
    n = args.candidates or args.start_burst or args.workers
    if args.candidates and args.sse is None:
        args.sse = n
    fds = raise_fd_limit(2 * n + 4 * args.pool + 2000)
    if args.candidates and args.sse + args.pool + 500 > fds:  # the client holds every stream and its pool
        args.sse = max(0, fds - args.pool - 500)
        log(f"file descriptors limited to {fds} (raising the hard limit needs CAP_SYS_RESOURCE): "
            f"{args.sse} of {n} event streams")
    log(f"file-descriptor limit {fds}; {args.servers} server process(es)")
    scratch = Scratch(args.pg, args.redis)
    # Ctrl-C and kill both end in the cleanup below (SIGINT even when started from a shell that ignores it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    runner = run_load if args.candidates else run_burst if args.start_burst else run_me

    async def run() -> dict[str, Any]:
        try:
            return await runner(args, scratch)
        finally:
            await asyncio.shield(scratch.cleanup())
            log("cleaned up: servers stopped, database dropped, keys deleted")

    try:
        result = asyncio.run(run())
    except KeyboardInterrupt:
        scratch.stop_processes()
        import shutil

        shutil.rmtree(scratch.workdir, ignore_errors=True)
        log("interrupted")
        raise SystemExit(130) from None
    finally:
        scratch.stop_processes()
    if result.get("errors") or result.get("lost"):
        log(f"server logs kept in {scratch.workdir}")
    else:
        import shutil

        shutil.rmtree(scratch.workdir, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
