"""Live invigilation at scale, and frame analysis throughput.

Run: python benchmarks/invigilation_bench.py   (needs Redis on REDIS_URL, default 127.0.0.1:6379)

1. Fan-out: a real `dingkao serve` process (SQLite, Redis live state) with C candidates of one
   schedule split into blocks of D per invigilator (C / D dashboards, each an invigilator's
   WebSocket). Every candidate's page produces an update every 15 s (a frame result), published on
   the live state as another web or worker process does; each dashboard receives its own
   candidates' updates. Measured: publish-to-dashboard latency. The load doubles from the targets
   (D = 500 per dashboard, C = 5,000 per process) while the p99 stays within 2 s; reported are the
   largest passing figures (capped at 4x the targets to bound the run).
2. Frames: a webcam-like stream (one photo per candidate, the head moving a few pixels, the light
   changing, a frame every 15 s of exam time) analysed through the analyser port
   (proctoring.LocalPoolAnalyzer, the embedded default) with 1 and 2 worker processes; frames/s is
   wall-clock throughput; per-core figures and the speed-up over the naive pipeline (HOG with one
   upsample + an encoding per frame) use CPU time. Identity is re-verified at most 30 s apart.

Last line: one JSON object {"dashboard_candidates", "process_candidates", "update_p99_ms",
"frames_per_s_1_worker", "frames_per_s_2_workers"}.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_DASHBOARD = 500
TARGET_PROCESS = 5000
FRAME_SECONDS = 15.0
MEASURE_SECONDS = 20.0
PASSWORD = "Bench2026x"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def faces_dir() -> Path:
    root = os.environ.get("DINGKAO_SHARED_DIR")
    return ((Path(root) if root else REPO.parent / "shared") / "faces").resolve()


# ------------------------------------------------------------------ fan-out


async def seed(url: str, candidates: int, block: int) -> tuple[int, list[str]]:
    """Demo base data, ``candidates`` approved physicians, one invigilator per block."""
    from sqlalchemy import insert, select

    from exam_server.demo.seed import seed_demo
    from exam_server.demo.exams import seed_exam_demo
    from exam_server.exam.models import ExamSchedule
    from exam_server.exam.models import InvigilatorAssignment
    from exam_server.settings import Settings
    from registry.db import make_engine, make_sessionmaker, utcnow
    from exam_server.infra.migrate import upgrade
    from registry.models import Account, Cycle, Institution, Physician, Registration
    from registry.passwords import hash_password

    await upgrade(url)
    settings = Settings(database_url=url, redis_url=None, secret_key="b" * 40, storage_dir=Path(tempfile.mkdtemp()))
    await seed_demo(settings)
    await seed_exam_demo(settings)
    engine = make_engine(url)
    names = []
    async with make_sessionmaker(engine)() as session, session.begin():
        cycle = await session.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
        inst = await session.scalar(select(Institution).order_by(Institution.id))
        schedule = await session.scalar(select(ExamSchedule).where(ExamSchedule.kind == "humanities"))
        first = (await session.scalar(select(Physician.id).order_by(Physician.id.desc()).limit(1)) or 0) + 1
        await session.execute(insert(Physician), [
            {"id": first + i, "name": f"考生{i}", "id_type": "居民身份证", "id_number": f"B{i:017d}",
             "qualification_cert_no": f"Q{i}", "practice_cert_no": f"P{i}", "institution_id": inst.id,
             "practice_category": "临床"} for i in range(candidates)])
        await session.execute(insert(Registration), [
            {"physician_id": first + i, "cycle_id": cycle.id, "state": "APPROVED", "version": 1, "data": {},
             "procedure": "simple", "updated_at": utcnow()} for i in range(candidates)])
        password = hash_password(PASSWORD)
        for b in range(candidates // block):
            account = Account(role="invigilator", username=f"bench{b}", display_name=f"监考{b}", password_hash=password,
                              must_change_password=False, phone="13800000000", phone_verified_at=utcnow(),
                              body_id=inst.body_id)
            session.add(account)
            await session.flush()
            session.add(InvigilatorAssignment(schedule_id=schedule.id, invigilator_id=account.id, block_no=b,
                                              block_size=block))
            names.append(account.username)
        # Physician ids in candidates_of order for the schedule: the demo's approved ones come first.
        schedule_id = schedule.id
    await engine.dispose()
    return schedule_id, names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fanout(candidates: int, block: int) -> float:
    """p99 latency (ms) from publish to the dashboard, at ``candidates`` with ``block`` per dashboard."""
    import aiohttp
    import redis.asyncio as aioredis

    from exam_server.proctor.events import CHANNEL

    tmp = Path(tempfile.mkdtemp(prefix="invbench"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    schedule_id, names = await seed(url, candidates, block)
    prefix = f"invbench:{uuid.uuid4().hex[:8]}:"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DINGKAO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=url.replace("+aiosqlite", ""), REDIS_URL=REDIS_URL, DINGKAO_SECRET_KEY="b" * 40,
               DINGKAO_PORT=str(port), DINGKAO_LIVE_PREFIX=prefix, DINGKAO_COOKIE_SECURE="false",
               DINGKAO_STORAGE_DIR=str(tmp / "storage"), DINGKAO_LOG_JSON="false")
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "exam_server", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    sessions: list[aiohttp.ClientSession] = []
    latencies: list[float] = []
    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        async with aiohttp.ClientSession() as probe:
            for _ in range(200):
                try:
                    async with probe.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.3)
        sockets = []
        for name in names:
            s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            sessions.append(s)
            async with s.get(base + "/login") as resp:
                await resp.read()
            csrf = next(c.value for c in s.cookie_jar if c.key == "dk_csrf")
            async with s.post(base + "/api/v1/auth/login", json={"kind": "staff", "login": name, "password": PASSWORD},
                              headers={"X-CSRF-Token": csrf}) as resp:
                assert resp.status == 200, await resp.text()
            ws = await s.ws_connect(f"{base}/ws/invigilation/{schedule_id}", max_msg_size=0)
            first = json.loads((await ws.receive(timeout=60)).data)
            assert first["type"] == "snapshot"
            sockets.append(ws)

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("type") == "event":
                    latencies.append(time.time() - data["event"]["sent"])

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        from sqlalchemy import select

        from exam_server.proctor.assignments import candidates_of
        from exam_server.exam.models import ExamSchedule
        from registry.db import make_engine, make_sessionmaker

        engine = make_engine(url)
        async with make_sessionmaker(engine)() as session:
            schedule = await session.scalar(select(ExamSchedule).where(ExamSchedule.id == schedule_id))
            physicians = [p for p, _ in await candidates_of(session, schedule)][: len(names) * block]
        await engine.dispose()
        # Every candidate once per FRAME_SECONDS, spread evenly, for MEASURE_SECONDS.
        rate = len(physicians) / FRAME_SECONDS
        start = time.monotonic()
        sent = 0
        rng = random.Random(1)
        while time.monotonic() - start < MEASURE_SECONDS:
            due = int((time.monotonic() - start) * rate)
            pipe = r.pipeline(transaction=False)
            while sent < due:
                p = physicians[rng.randrange(len(physicians))]
                event = {"id": sent + 1, "attempt_id": p, "kind": "frame", "severity": 0, "sent": time.time(),
                         "detail": {"verdict": "ok"}}
                pipe.publish(prefix + CHANNEL, json.dumps({"schedule_id": schedule_id, "physician_id": p,
                                                           "event": event, "candidate": {"attempt_id": p, "verdict": "ok"}}))
                sent += 1
            await pipe.execute()
            await asyncio.sleep(0.02)
        await asyncio.sleep(2.5)
        for t in readers:
            t.cancel()
        for ws in sockets:
            await ws.close()
        lost = sent - len(latencies)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("inf")
        print(f"  fan-out {len(physicians):5d} candidates, {len(names):3d} dashboards of {block}: {sent} updates, "
              f"{lost} not delivered in time, p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p99 {p99:.0f} ms",
              flush=True)
        return p99 if lost <= sent * 0.001 else float("inf")
    finally:
        for s in sessions:
            await s.close()
        await r.aclose()
        proc.terminate()
        proc.wait(timeout=30)


# ------------------------------------------------------------------ frames


def webcam_stream(rel: str, frames: int, rng: random.Random) -> list[bytes]:
    import cv2
    import numpy as np
    from PIL import Image

    from proctoring.imaging import encode_jpeg

    rgb = np.array(Image.open(faces_dir() / rel).convert("RGB"))
    h, w = rgb.shape[:2]
    s = 360 / max(h, w)
    small = cv2.resize(rgb, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    out = []
    for _ in range(frames):
        canvas = np.full((480, 640, 3), 90, np.uint8)
        dx, dy, gain = rng.randint(-6, 6), rng.randint(-6, 6), rng.uniform(0.85, 1.15)
        y, x = (480 - small.shape[0]) // 2 + dy, (640 - small.shape[1]) // 2 + dx
        canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
        out.append(encode_jpeg(np.clip(canvas.astype(np.float32) * gain, 0, 255).astype(np.uint8)))
    return out


PEOPLE = ["identities/df01/1.jpg", "identities/df02/1.jpg", "identities/df03/1.jpg", "identities/df04/1.jpg"]


async def frames_per_second(workers: int, streams: dict[str, list[bytes]], enrolments: dict) -> tuple[float, float, float]:
    """(wall frames/s, CPU ms per frame, max seconds between identity checks of one candidate)."""
    import proctoring

    async def started() -> proctoring.LocalPoolAnalyzer:
        analyzer = proctoring.LocalPoolAnalyzer(processes=workers)
        # Warm the pool up (model loading is start-up, not throughput).
        warm = [asyncio.get_running_loop().run_in_executor(analyzer._executor, time.sleep, 0.5)  # type: ignore[attr-defined]
                for _ in range(workers)]
        await asyncio.gather(*warm)
        return analyzer

    # A child's CPU time is counted when it exits, start-up included: measure an idle pool's
    # lifetime first and subtract it.
    before_idle = resource.getrusage(resource.RUSAGE_CHILDREN)
    await (await started()).aclose()
    idle = resource.getrusage(resource.RUSAGE_CHILDREN)
    startup = (idle.ru_utime + idle.ru_stime) - (before_idle.ru_utime + before_idle.ru_stime)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    analyzer = await started()
    checks: dict[str, list[float]] = {k: [] for k in streams}
    n = sum(len(v) for v in streams.values())

    async def candidate(key: str) -> None:
        for t, image in enumerate(streams[key]):
            job = proctoring.FrameJob(subject_id=key, frame_id=f"{key}-{t}", image=image, enrolment=enrolments[key],
                                      captured_at=t * FRAME_SECONDS)
            result = await analyzer.analyze(job)
            if result.analysis and result.analysis.identity_checked:
                checks[key].append(result.analysis.captured_at)

    start = time.perf_counter()
    await asyncio.gather(*(candidate(k) for k in streams))
    wall = time.perf_counter() - start
    await analyzer.aclose()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) - startup
    gap = max(max(b - a for a, b in zip(c, c[1:])) for c in checks.values() if len(c) > 1)
    return n / wall, cpu / n * 1000, gap


def naive_ms_per_frame(streams: dict[str, list[bytes]], sample: int) -> float:
    import face_recognition

    from proctoring.imaging import decode_image

    images = [img for v in streams.values() for img in v[:sample]]
    start = time.process_time()
    for image in images:
        rgb = decode_image(image)
        boxes = face_recognition.face_locations(rgb, number_of_times_to_upsample=1)
        face_recognition.face_encodings(rgb, boxes)
    return (time.process_time() - start) / len(images) * 1000


async def frames_part() -> tuple[float, float]:
    import proctoring
    from proctoring.faces import limit_native_threads

    limit_native_threads()
    rng = random.Random(3)
    per = 40  # ten minutes of exam per candidate
    streams = {f"c{i}": webcam_stream(PEOPLE[i % len(PEOPLE)], per, rng) for i in range(8)}
    enrolments = {k: proctoring.enrol(v[0], person_id=k) for k, v in streams.items()}
    one, cpu1, gap1 = await frames_per_second(1, streams, enrolments)
    two, cpu2, gap2 = await frames_per_second(2, streams, enrolments)
    naive = naive_ms_per_frame(streams, 4)
    print(f"  frames: 1 worker {one:.1f} frames/s ({cpu1:.1f} ms CPU/frame = {1000 / cpu1:.1f} frames/s per core); "
          f"2 workers {two:.1f} frames/s ({cpu2:.1f} ms CPU/frame); on {os.cpu_count()} shared cores", flush=True)
    print(f"  naive pipeline {naive:.1f} ms CPU/frame: speed-up {naive / cpu1:.2f}x; identity re-verified at most "
          f"{max(gap1, gap2):.0f} s apart", flush=True)
    return one, two


async def main() -> None:
    print("Live invigilation fan-out (real server process, Redis live state, WebSocket dashboards):", flush=True)
    best_dashboard, best_process, best_p99 = 0, 0, float("inf")
    for scale in (() if "--frames-only" in sys.argv else (1, 2, 4)):
        block, total = TARGET_DASHBOARD * scale, TARGET_PROCESS * scale
        p99 = await fanout(total, block)
        if p99 > 2000:
            break
        best_dashboard, best_process, best_p99 = block, total, p99
    print("Frame analysis through the analyser port (local pool):", flush=True)
    one, two = await frames_part()
    print(json.dumps({"dashboard_candidates": best_dashboard, "process_candidates": best_process,
                      "update_p99_ms": round(best_p99, 1) if best_p99 != float("inf") else None,
                      "frames_per_s_1_worker": round(one, 2), "frames_per_s_2_workers": round(two, 2)}))


if __name__ == "__main__":
    asyncio.run(main())
