"""The results export as a body exports it: through the API of a real `dingkao serve`, at a province's size.

    .venv/bin/python benchmarks/export_http.py --rows N

Everything is made here and removed afterwards (also on Ctrl-C or an error): a scratch PostgreSQL
database (--pg, user postgres at 127.0.0.1:5432), a Redis key prefix of its own (--redis), one
`dingkao serve` process. It migrates and loads the demo, then adds a body of its own
(考核机构 BENCHBODY, one institution, a body account) and N physicians under it, each with a
PASSED registration, a published result and a certificate, in bulk. Logged in over HTTP as that body,
it asks for `GET /api/v1/exports/results.xlsx` (a background job over 5,000 rows: it follows the
job's progress and downloads the file, as the statistics page does) and checks the file has exactly N
data rows. Throughout, every 100 ms, it samples the serving process's RSS (/proc) and the latency of
`GET /healthz` on that process (one probe at a time: a probe that waits is one long sample, not ten),
and it reads the server's event-loop lag histogram from /metrics before and after.

The last line is one JSON object: {"rows", "export_s", "server_growth_mb", "healthz_p99_ms",
"loop_lag_p99_ms"}. export_s runs from the request to the last byte of the download;
server_growth_mb is the peak RSS during the export minus the RSS just before it; loop_lag_p99_ms is
the upper edge of the histogram bucket holding the 99th percentile of the server's timer lateness
during the export.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp  # noqa: E402

from exam_load import Scratch, free_port, load_average, log, percentile, server_env, wait_ready  # noqa: E402

BODY_USER, BODY_PASSWORD = "benchbody", "Bench2026export"
CHUNK = 5000
SAMPLE_EVERY = 0.1


async def seed(scratch: Scratch, rows: int) -> None:
    from sqlalchemy import insert, select

    from exam_server.demo.seed import seed_demo
    from exam_server.infra.migrate import upgrade
    from exam_server.results.models import Certificate, PublishedResult
    from exam_server.settings import Settings
    from registry.db import make_engine, make_sessionmaker, utcnow
    from registry.models import Account, AssessmentBody, Cycle, Institution, Physician, Registration
    from registry.passwords import hash_password

    url = scratch.url.replace("postgresql://", "postgresql+asyncpg://", 1)
    await upgrade(url)
    await seed_demo(Settings(database_url=url, redis_url=None, secret_key="b" * 40, storage_dir=scratch.workdir / "files"))
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            cycle = await session.scalar(select(Cycle.id).where(Cycle.is_current.is_(True)))
            region = await session.scalar(select(Institution.region_id).limit(1))
            body = AssessmentBody(code="BENCHBODY", name="省级考核中心（基准）", region_id=region)
            session.add(body)
            await session.flush()
            inst = Institution(code="BENCHINST", name="省人民医院（基准）", region_id=region, body_id=body.id)
            session.add(inst)
            now = utcnow()
            session.add(Account(role="body", username=BODY_USER, display_name="省级考核中心", body_id=body.id,
                                password_hash=hash_password(BODY_PASSWORD), must_change_password=False,
                                phone="13800000001", phone_verified_at=now))
            admin = await session.scalar(select(Account.id).where(Account.username == "admin"))
            await session.flush()
            for lo in range(0, rows, CHUNK):
                n = range(lo, min(rows, lo + CHUNK))
                pids = (await session.scalars(insert(Physician).returning(Physician.id), [
                    {"name": f"医师{i}", "id_type": "居民身份证", "id_number": f"X{i:017d}", "qualification_cert_no": f"Q{i}",
                     "practice_cert_no": f"P{i}", "institution_id": inst.id, "practice_category": "临床",
                     "practice_scope": "内科专业"} for i in n])).all()
                regs = (await session.execute(insert(Registration).returning(Registration.id, Registration.physician_id), [
                    {"physician_id": pid, "cycle_id": cycle, "state": "PASSED", "version": 1, "data": {},
                     "procedure": "general", "work_rating": "合格", "ethics_rating": "合格", "opened_at": now,
                     "submitted_at": now, "body_reviewed_at": now, "updated_at": now} for pid in pids])).all()
                await session.execute(insert(PublishedResult), [
                    {"registration_id": rid, "body_id": body.id, "result": "合格", "published_at": now,
                     "published_by": admin} for rid, _ in regs])
                await session.execute(insert(Certificate), [
                    {"number": f"BZ{rid:012d}", "registration_id": rid, "physician_id": pid, "body_id": body.id,
                     "institution_id": inst.id, "facts": {}, "signature": "0" * 64, "issued_at": now}
                    for rid, pid in regs])
                log(f"seeded {lo + len(n)} / {rows}")
    finally:
        await engine.dispose()


def cpu_s(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def lag_buckets(http: aiohttp.ClientSession, base: str) -> dict[float, float]:
    async with http.get(base + "/metrics") as r:
        text = await r.text()
    out = {}
    for line in text.splitlines():
        if line.startswith("dingkao_event_loop_lag_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def lag_p99_ms(before: dict[float, float], after: dict[float, float]) -> float | None:
    delta = {le: after.get(le, 0) - before.get(le, 0) for le in after}
    total = delta.get(float("inf"), 0)
    if not total:
        return None
    for le in sorted(delta):
        if delta[le] >= 0.99 * total:
            return le * 1000
    return None


async def export(http: aiohttp.ClientSession, base: str) -> tuple[bytes, int]:
    """As the page does: ask, follow the job if it is one, download. Returns the file and the number of
    progress polls."""
    polls = 0
    async with http.get(base + "/api/v1/exports/results.xlsx") as r:
        if r.status == 200:
            return await r.read(), polls
        if r.status != 202:
            raise RuntimeError(f"export answered {r.status}: {(await r.text())[:500]}")
        job = await r.json()
    while not job["finished"]:
        await asyncio.sleep(0.5)
        async with http.get(base + job["progress"]) as r:
            job = await r.json()
            polls += 1
    if job["stage"] != "done":
        raise RuntimeError(f"export job failed: {job}")
    async with http.get(base + job["download"]) as r:
        if r.status != 200:
            raise RuntimeError(f"download answered {r.status}")
        return await r.read(), polls


async def run(args: argparse.Namespace, scratch: Scratch) -> dict[str, Any]:
    await scratch.create()
    t = time.monotonic()
    await seed(scratch, args.rows)
    await scratch.analyze()  # as autovacuum would (exam_load.Scratch.analyze)
    log(f"seeded {args.rows} physicians in {time.monotonic() - t:.1f} s")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = scratch.start("serve", [str(Path(sys.executable).with_name("dingkao")), "serve"], server_env(scratch, port))
    await wait_ready(base + "/healthz", proc, "serve", scratch)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as http, \
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as probe:
        async with http.get(base + "/login") as r:
            await r.read()
        csrf = next(c.value for c in http.cookie_jar if c.key == "dk_csrf")
        async with http.post(base + "/api/v1/auth/login", json={"kind": "staff", "login": BODY_USER,
                                                                "password": BODY_PASSWORD},
                             headers={"X-CSRF-Token": csrf, "Accept": "application/json"}) as r:
            if r.status != 200:
                raise RuntimeError(f"login answered {r.status}: {await r.text()}")
        for _ in range(5):  # warm: the first requests import and compile what they use
            async with probe.get(base + "/healthz") as r:
                await r.read()
        healthz: list[float] = []
        stop = asyncio.Event()
        peak = 0.0

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                tick = time.monotonic()
                peak = max(peak, rss_mb(proc.pid))
                async with probe.get(base + "/healthz") as r:
                    await r.read()
                healthz.append(time.monotonic() - tick)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, SAMPLE_EVERY - (time.monotonic() - tick)))

        # The same probes for 5 s before the export: what the busy machine alone costs a /healthz.
        sampler = asyncio.create_task(sample())
        await asyncio.sleep(5)
        stop.set()
        await sampler
        quiet = sorted(healthz)
        log(f"before the export: healthz p50 {percentile(quiet, 0.5) * 1000:.1f} ms, p99 "
            f"{percentile(quiet, 0.99) * 1000:.1f} ms over {len(quiet)} probes")
        healthz.clear()
        stop.clear()
        before_lag = await lag_buckets(probe, base)
        baseline = peak = rss_mb(proc.pid)
        sampler = asyncio.create_task(sample())
        started, cpu_before = time.monotonic(), cpu_s(proc.pid)
        data, polls = await export(http, base)
        export_s, server_cpu = time.monotonic() - started, cpu_s(proc.pid) - cpu_before
        stop.set()
        await sampler
        peak = max(peak, rss_mb(proc.pid))
        after_lag = await lag_buckets(probe, base)
    log(f"exported {len(data) / 1e6:.1f} MB in {export_s:.1f} s ({polls} progress polls), the server used "
        f"{server_cpu:.1f} s of CPU (the healthz probes included); RSS {baseline:.0f} -> "
        f"peak {peak:.0f} MB; {len(healthz)} healthz probes; load average {load_average()}")
    from openpyxl import load_workbook

    rows = sum(1 for _ in load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True)) - 1
    if rows != args.rows:
        raise RuntimeError(f"the file has {rows} data rows, expected {args.rows}")
    healthz.sort()
    log(f"during the export: healthz p50 {percentile(healthz, 0.5) * 1000:.1f} ms")
    lag = lag_p99_ms(before_lag, after_lag)
    return {"rows": rows, "export_s": round(export_s, 2), "server_growth_mb": round(peak - baseline, 1),
            "healthz_p99_ms": round(percentile(healthz, 0.99) * 1000, 1),
            "loop_lag_p99_ms": None if lag is None else round(lag, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="physicians in the body's scope")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server (no database)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    args = parser.parse_args()
    scratch = Scratch(args.pg, args.redis)
    log(f"load average before: {load_average()} (uptime: {os.popen('uptime').read().strip()})")

    async def go() -> dict[str, Any]:
        try:
            return await run(args, scratch)
        except BaseException:
            log(f"server log kept: {scratch.workdir / 'serve.log'}")
            raise
        finally:
            await scratch.cleanup()

    result = asyncio.run(go())
    log(f"load average after: {load_average()}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
