"""Time to approve 1,000 submitted registrations in one batch, on PostgreSQL (and SQLite for reference).

    .venv/bin/python benchmarks/registration_batch_approve.py [--count 1000] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432]

Creates and drops its own databases. Measured twice on PostgreSQL: the library call
(`registry.workflow.batch_approve`) and the path an institution takes, `POST
/api/v1/registrations/batch-approve` to a real `dingkao serve` logged in as inst01 (body parsing,
scope, audit and the reply included).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from exam_server.demo.seed import seed_demo  # noqa: E402
from exam_server.settings import Settings  # noqa: E402
from registry import workflow  # noqa: E402
from registry.db import make_engine, make_sessionmaker  # noqa: E402
from exam_server.infra.migrate import upgrade  # noqa: E402
from registry.models import Account, Cycle, Institution, Physician, Registration  # noqa: E402
from registry.scope import Actor  # noqa: E402
from registry.states import State  # noqa: E402


async def prepare(url: str, count: int) -> tuple[Actor, list[int]]:
    await upgrade(url)
    await seed_demo(Settings(database_url=url, redis_url=None, secret_key="b" * 40, storage_dir=Path(tempfile.mkdtemp())))
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session, session.begin():
        inst = await session.scalar(select(Institution).where(Institution.code == "INST001"))
        cycle = await session.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
        officer = await session.scalar(select(Account).where(Account.username == "inst01"))
        rows = []
        for i in range(count):
            rows.append({"name": f"医师{i}", "id_type": "护照", "id_number": f"BENCH{i:07d}", "gender": "男",
                         "qualification_cert_no": f"Q{i}", "practice_cert_no": f"P{i}", "institution_id": inst.id,
                         "practice_category": "临床", "practice_scope": "内科",
                         "practice_start_date": dt.date(2000, 1, 1), "birth_date": None})
        ids = (await session.scalars(insert(Physician).returning(Physician.id), rows)).all()
        now = dt.datetime.now()
        await session.execute(insert(Registration), [
            {"physician_id": pid, "cycle_id": cycle.id, "state": State.SUBMITTED, "version": 3,
             "data": {"basic": {"name": "x"}}, "procedure": "general", "submitted_at": now, "updated_at": now}
            for pid in ids])
        await session.flush()
        await session.execute(insert(Account), [
            {"role": "physician", "physician_id": pid, "display_name": "x", "password_hash": "x",
             "must_change_password": True, "password_version": 1, "is_active": True, "institution_id": inst.id,
             "created_at": now} for pid in ids])
        reg_ids = (await session.scalars(select(Registration.id).where(Registration.physician_id.in_(ids)))).all()
        actor = Actor.of(officer)
    await engine.dispose()
    return actor, list(reg_ids)


async def measure(url: str, count: int) -> float:
    actor, reg_ids = await prepare(url, count)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        async with make_sessionmaker(engine)() as session, session.begin():
            approved = await workflow.batch_approve(session, actor, reg_ids)
        elapsed = time.perf_counter() - started
        assert approved == count
        async with make_sessionmaker(engine)() as session:
            states = set((await session.scalars(select(Registration.state).where(Registration.id.in_(reg_ids)))).all())
        assert states == {State.INSTITUTION_APPROVED}, states
        return elapsed
    finally:
        await engine.dispose()


async def measure_http(url: str, count: int) -> float:
    """The same batch through the API of a real `dingkao serve` (PostgreSQL, in-process live state)."""
    import os
    import subprocess

    import aiohttp

    from exam_server.demo.seed import STAFF_PASSWORD

    _, reg_ids = await prepare(url, count)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGKAO_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"DATABASE_URL": url.replace("+asyncpg", ""), "DINGKAO_SECRET_KEY": "k" * 40, "DINGKAO_HOST": "127.0.0.1",
                "DINGKAO_PORT": str(port), "DINGKAO_STORAGE_DIR": tempfile.mkdtemp(), "DINGKAO_COOKIE_SECURE": "false"})
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(Path(sys.executable).with_name("dingkao")), "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         timeout=aiohttp.ClientTimeout(total=300)) as http:
            for _ in range(600):
                try:
                    async with http.get(base + "/login") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            csrf = next(c.value for c in http.cookie_jar if c.key == "dk_csrf")
            head = {"X-CSRF-Token": csrf, "Accept": "application/json"}
            async with http.post(base + "/api/v1/auth/login", json={"kind": "staff", "login": "inst01",
                                                                    "password": STAFF_PASSWORD}, headers=head) as r:
                assert r.status == 200, await r.text()
            started = time.perf_counter()
            async with http.post(base + "/api/v1/registrations/batch-approve", json={"registration_ids": reg_ids},
                                 headers=head) as r:
                body = await r.json()
            elapsed = time.perf_counter() - started
            assert r.status == 200 and body["approved"] == count, body
        return elapsed
    finally:
        proc.terminate()
        proc.wait(30)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    import asyncpg

    name = f"dkbench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(args.pg.replace("+asyncpg", "") + "/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pg = await measure(f"{args.pg}/{name}", args.count)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    http_name = f"dkbench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{http_name}"')
    try:
        over_http = await measure_http(f"{args.pg}/{http_name}", args.count)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{http_name}" WITH (FORCE)')
        await admin.close()
    with tempfile.TemporaryDirectory() as tmp:
        lite = await measure(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", args.count)
    print(f"batch approval of {args.count} registrations (one request, one transaction):")
    print(f"  PostgreSQL: {pg:.3f} s   (target < 5 s)")
    print(f"  PostgreSQL through POST /api/v1/registrations/batch-approve on dingkao serve: {over_http:.3f} s")
    print(f"  SQLite:     {lite:.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
