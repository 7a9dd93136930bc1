"""Bad input to every proctoring endpoint (wrong, missing, oversized, hostile, wrong role, another
physician's or another body's data) is refused with a clear message and stores nothing; faults
(no analysis worker, a worker killed mid-frame, a dead camera) never end an exam by themselves."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from exam_server.web.keys import sessionmaker_key, settings_key, storage_key
from exam_server.proctor.keys import frame_service_key
from exam_server.proctor.models import ProctorEvent, Violation
from exam_server.proctor.retention import delete_expired
from registry.db import utcnow
from registry.models import AuditLog

from ...exam_flows import DEVICE, GENERAL, SIMPLE, first_option_answers, paper_of, seed_exams
from ...face_video import canvas, jpeg
from ...proctor_flows import PERSON, eventually, staff
from .test_invigilation import humanities_schedule, manually_verified_start, send_frame


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def count(app: Any, model: Any, *where: Any) -> int:
    async with app[sessionmaker_key]() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def stored_files(app: Any) -> list[Path]:
    root = app[settings_key].storage_dir / "evidence"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def post_raw(api: Any, path: str, data: bytes, ctype: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": ctype, "X-CSRF-Token": api._csrf()}
    if token:
        headers["X-Attempt-Token"] = token
    async with api.session.post(api.base + path, data=data, headers=headers) as r:
        return r.status, await r.json()


async def test_frames_that_are_not_images_too_large_too_frequent_or_not_ones_own(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    doctor, attempt_id, _pid, token = await manually_verified_start(exams, make_client, GENERAL, body01)
    other, other_attempt, _opid, other_token = await manually_verified_start(exams, make_client, SIMPLE, body01)
    url = f"/api/v1/attempts/{attempt_id}/frames"
    good = jpeg(canvas(PERSON))
    cases = [
        (b"not an image at all", "image/jpeg", 400, "画面不是有效的 JPEG 或 PNG 图片"),
        (good[:200], "image/jpeg", 400, "画面不是有效的 JPEG 或 PNG 图片"),
        (b"GIF89a" + b"\0" * 100, "image/jpeg", 400, "画面不是有效的 JPEG 或 PNG 图片"),
        (good, "text/plain", 415, "画面应为 JPEG 或 PNG 图片"),
        (b"\xff\xd8\xff" + b"\0" * 500_000, "image/jpeg", 413, "画面不能超过 400 KB"),
    ]
    for data, ctype, status_wanted, words in cases:
        status, body = await post_raw(doctor, url, data, ctype, token)
        assert status == status_wanted and body["error"]["message"] == words, (ctype, len(data), body)
    # Another physician's attempt: with one's own token, or one's own session.
    status, body = await post_raw(doctor, f"/api/v1/attempts/{other_attempt}/frames", good, "image/jpeg", token)
    assert status == 404, body
    status, body = await post_raw(doctor, f"/api/v1/attempts/{other_attempt}/frames", good, "image/jpeg")
    assert status == 404, body
    status, body = await post_raw(doctor, url, good, "image/jpeg", token[:-2] + "xx")
    assert status == 401 and body["error"]["message"] == "考试凭证无效，请重新进入考试", body
    status, body = await post_raw(body01, url, good, "image/jpeg")
    assert status == 403, body
    assert await count(exams.app, ProctorEvent) == 0 and stored_files(exams.app) == []
    # The schedule's rate: two frames per interval, then 429 until the next one.
    statuses = [(await post_raw(doctor, url, good, "image/jpeg", token))[0] for _ in range(4)]
    assert statuses.count(202) <= 2 and 429 in statuses, statuses
    # Browser events: unknown, oversized, wrong shape; a flood is limited.
    events_url = f"/api/v1/attempts/{attempt_id}/proctor-events"
    for payload, words in (({"kind": "hack"}, "不认识的事件"), ({"kind": "copy", "detail": "x" * 201}, "说明不能超过 200 个字符"),
                           ({}, "事件不能为空"), ({"kind": ["copy"]}, "事件应为文本")):
        status, body = await doctor.post(events_url, payload, headers={"X-Attempt-Token": token})
        assert status == 400 and words in body["error"]["message"], (payload, body)
    status, body = await other.post(events_url, {"kind": "copy"}, headers={"X-Attempt-Token": other_token})
    assert status == 404, body


async def test_staff_endpoints_refuse_wrong_roles_other_bodies_and_bad_values(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01, body02, admin = [await staff(make_client, u) for u in ("body01", "body02", "admin")]
    schedule_id = await humanities_schedule(body01)
    proctor = await staff(make_client, "proctor01")
    status, invs = await body01.get("/api/v1/invigilators")
    proctor_id = next(i["id"] for i in invs["items"] if i["username"] == "proctor01")
    # Creating invigilator accounts: the admin only, names unique, a body named.
    status, body = await body01.post("/api/v1/invigilators", {"username": "inv02", "display_name": "李", "password": "Secret2026x"})
    assert status == 403
    status, body = await admin.post("/api/v1/invigilators", {"username": "inv02", "display_name": "李老师",
                                                             "password": "Secret2026x"})
    assert status == 400 and body["error"]["fields"]["body_id"], body
    status, body = await admin.post("/api/v1/invigilators", {"username": "proctor01", "display_name": "重名",
                                                             "password": "Secret2026x", "body_id": 1})
    assert status == 400 and body["error"]["fields"]["username"] == "用户名已被使用", body
    status, body = await admin.post("/api/v1/invigilators", {"username": "<script>", "display_name": "x",
                                                             "password": "Secret2026x", "body_id": 1})
    assert status == 400 and body["error"]["fields"]["username"] == "用户名格式不正确", body
    status, body = await admin.post("/api/v1/invigilators", {"username": "inv02", "display_name": "李老师",
                                                             "password": "Secret2026x", "body_id": 2})
    assert status == 201, body
    inv02 = body["id"]
    # Assigning: another body's invigilator, a bad group, a physician or an invigilator asking.
    for payload, field in (({"invigilator_id": inv02}, "invigilator_id"),
                           ({"invigilator_id": proctor_id, "block_no": 0}, "block_size"),
                           ({"invigilator_id": proctor_id, "institution_id": 3}, "institution_id"),
                           ({"invigilator_id": proctor_id, "institution_id": 1, "block_no": 0, "block_size": 5}, "institution_id"),
                           ({"invigilator_id": proctor_id, "block_size": 0, "block_no": 0}, "block_size"),
                           ({"invigilator_id": "x"}, "invigilator_id")):
        status, body = await body01.post(f"/api/v1/schedules/{schedule_id}/assignments", payload)
        assert status == 400 and body["error"]["fields"].get(field), (payload, body)
    status, body = await proctor.post(f"/api/v1/schedules/{schedule_id}/assignments", {"invigilator_id": proctor_id})
    assert status == 403
    status, body = await body01.post("/api/v1/schedules/99999/assignments", {"invigilator_id": proctor_id})
    assert status == 404
    # Rules: unknown kinds and consequences, an interval out of range.
    for payload in ({"frame_seconds": 1}, {"actions": {"dance": "flag"}}, {"actions": {"no_face": "explode"}}):
        status, body = await admin.post(f"/api/v1/schedules/{schedule_id}/proctoring", payload)
        assert status == 400, (payload, body)
    # An unassigned invigilator sees nothing of the schedule and cannot act on its attempts (the demo
    # assigns proctor01 to every schedule: the body takes that back first).
    status, rules = await body01.get(f"/api/v1/schedules/{schedule_id}/proctoring")
    for a in rules["assignments"]:
        if a["invigilator_id"] == proctor_id:
            status, body = await body01.post(f"/api/v1/assignments/{a['id']}/delete", {"confirm": True})
            assert status == 200, body
    doctor, attempt_id, _pid, token = await manually_verified_start(exams, make_client, GENERAL, body01)
    status, body = await proctor.get(f"/api/v1/invigilation/{schedule_id}")
    assert status == 404, body
    for path, payload in ((f"/api/v1/attempts/{attempt_id}/warn", {"message": "hi"}),
                          (f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 5, "reason": "x"}),
                          (f"/api/v1/attempts/{attempt_id}/end", {"reason": "x"})):
        status, body = await proctor.post(path, payload)
        assert status == 404, (path, body)
    status, body = await proctor.get(f"/api/v1/attempts/{attempt_id}/timeline")
    assert status == 404
    # Assigned by institution: now it may; an empty warning is refused.
    status, body = await body01.post(f"/api/v1/schedules/{schedule_id}/assignments",
                                     {"invigilator_id": proctor_id, "institution_id": 1})
    assert status == 201, body
    status, body = await proctor.post(f"/api/v1/attempts/{attempt_id}/warn", {"message": ""})
    assert status == 400 and body["error"]["fields"]["message"] == "提醒内容不能为空"
    status, body = await proctor.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 5, "reason": "网络"})
    assert status == 200, body
    # The physician and body02 cannot open the dashboard or the review.
    status, body = await doctor.get(f"/api/v1/invigilation/{schedule_id}")
    assert status == 403
    status, body = await body02.get(f"/api/v1/attempts/{attempt_id}/timeline")
    assert status == 404
    status, page, _ = await doctor.page(f"/ws/invigilation/{schedule_id}")
    assert status == 403
    status, body = await body01.post("/api/v1/violations/99999/review", {"decision": "confirmed", "note": "x"})
    assert status == 404
    status, body = await body01.post("/api/v1/violations/1/review", {"decision": "maybe", "note": "x"})
    assert status == 400 and body["error"]["fields"]["decision"]


async def test_a_dead_camera_is_flagged_not_ended_unless_the_schedule_says_so(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    doctor, attempt_id, _pid, token = await manually_verified_start(exams, make_client, SIMPLE, body01)
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/proctor-events", {"kind": "camera_stopped"},
                                     headers={"X-Attempt-Token": token})
    assert status == 200, body
    status, body = await doctor.get(f"/api/v1/attempts/{attempt_id}?device={DEVICE}")
    assert body["attempt"]["state"] == "in_progress"
    assert await count(exams.app, Violation, Violation.kind == "camera_lost", Violation.consequence == "flag") == 1
    # A schedule that ends the attempt when the camera dies.
    admin = await staff(make_client, "admin")
    schedule_id = await humanities_schedule(admin)
    status, body = await admin.post(f"/api/v1/schedules/{schedule_id}/proctoring",
                                    {"frame_seconds": 15, "actions": {"camera_lost": "end_attempt"}})
    assert status == 200, body
    from exam_server.web.keys import live_key

    await exams.app[live_key].delete(f"proctor:finding:{attempt_id}:camera_lost")
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/proctor-events", {"kind": "camera_error"},
                                     headers={"X-Attempt-Token": token})
    assert status == 200, body
    status, body = await doctor.get(f"/api/v1/attempts/{attempt_id}?device={DEVICE}")
    assert body["attempt"]["state"] == "scored" and body["attempt"]["submit_reason"] == "proctoring", body


async def test_no_worker_or_a_killed_worker_delays_analysis_and_the_exam_goes_on(exams, make_client, backend) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    doctor, attempt_id, _pid, token = await manually_verified_start(exams, make_client, GENERAL, body01)
    service = exams.app[frame_service_key]
    service.result_timeout = 3.0
    if backend == "postgres":
        # Production wiring with no `dingkao proctor-worker` running: frames wait in Redis, then give up.
        import proctoring

        from ...conftest import REDIS_URL

        service._make_analyzer = lambda: proctoring.RedisQueueAnalyzer.from_url(  # type: ignore[method-assign]
            REDIS_URL, key_prefix=f"dktest:{attempt_id}:{os.getpid()}:proctoring:", timeout=3.0)
        service._analyzer = None
    else:
        # A local pool whose analysis process is killed mid-frame.
        analyzer = service.analyzer
        await asyncio.get_running_loop().run_in_executor(analyzer._executor, int, 1)  # type: ignore[attr-defined]
        for pid in list(analyzer._executor._processes):  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
    status, body = await send_frame(doctor, attempt_id, token, jpeg(canvas(PERSON)))
    assert status == 202, body

    async def delayed() -> bool:
        return await count(exams.app, ProctorEvent, ProctorEvent.kind == "analysis_delayed") == 1

    await eventually(delayed, timeout=30)
    status, snap = await body01.get(f"/api/v1/invigilation/{await humanities_schedule(body01)}")
    assert snap["candidates"][0]["analysis_delayed"] is True and snap["candidates"][0]["identity_words"] == "待分析"
    assert await count(exams.app, Violation) == 0
    # The exam goes on: answers are saved.
    paper = await paper_of(doctor, attempt_id)
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/answers",
                                     {"device": DEVICE, "answers": first_option_answers(paper)})
    assert status == 200, body
    if backend == "sqlite":
        # The next frame gets a fresh pool (started within the usual wait) and is analysed.
        service.result_timeout = 90.0
        for _ in range(240):  # until the new pool takes frames; the bound is a safety net (2 minutes)
            status, body = await send_frame(doctor, attempt_id, token, jpeg(canvas(PERSON)))
            if status == 202:
                break
            await asyncio.sleep(0.5)
        assert status == 202, body

        async def analysed() -> bool:
            return await count(exams.app, ProctorEvent, ProctorEvent.kind == "frame") == 1

        await eventually(analysed, timeout=90)


async def test_a_backlog_over_the_limit_drops_the_oldest_frame_as_analysis_delayed(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    from exam_server.exam.keys import attempt_hub_key, paper_cache_key
    from exam_server.web.keys import live_key
    from exam_server.proctor.frames import QUEUE_LIMIT, FrameService, QueuedFrame

    body01 = await staff(make_client, "body01")
    _doctor, attempt_id, physician_id, _token = await manually_verified_start(exams, make_client, GENERAL, body01)
    schedule_id = await humanities_schedule(body01)
    app = exams.app

    def no_analysis() -> Any:
        raise AssertionError("frames only wait in this test")

    # A process's frame service whose feeding tasks are all busy: frames wait in its bounded queue.
    service = FrameService(app[sessionmaker_key], app[storage_key], app[live_key], app[paper_cache_key],
                           app[attempt_hub_key].publish, no_analysis)
    frames = [QueuedFrame(attempt_id, schedule_id, physician_id, b"frame %d" % i, utcnow())
              for i in range(QUEUE_LIMIT + 1)]
    for frame in frames:
        service.accept(frame)
    assert service.waiting == QUEUE_LIMIT and service._queue[0] is frames[1]  # the oldest one went

    async def delayed() -> bool:
        return await count(app, ProctorEvent, ProctorEvent.kind == "analysis_delayed") == 1

    await eventually(delayed, timeout=30)
    async with app[sessionmaker_key]() as session:
        event = await session.scalar(select(ProctorEvent).where(ProctorEvent.kind == "analysis_delayed"))
    assert event is not None and event.detail["reason"] == "queue_full"
    status, snap = await body01.get(f"/api/v1/invigilation/{schedule_id}")
    assert status == 200 and snap["candidates"][0]["analysis_delayed"] is True
    assert await count(app, Violation) == 0


async def test_evidence_is_deleted_after_the_retention_period(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    _doctor, attempt_id, _pid, _token = await manually_verified_start(exams, make_client, GENERAL, body01)
    storage = exams.app[storage_key]
    days = exams.app[settings_key].proctor_retention_days
    now = utcnow()
    keys = [await storage.put(b"old", prefix=f"evidence/{attempt_id}") for _ in range(2)]
    fresh = await storage.put(b"new", prefix=f"evidence/{attempt_id}")
    async with exams.app[sessionmaker_key]() as session, session.begin():
        session.add(ProctorEvent(attempt_id=attempt_id, at=now - dt.timedelta(days=days, minutes=1), kind="frame",
                                 severity=1, detail={}, frame_key=keys[0], thumb_key=keys[1]))
        session.add(ProctorEvent(attempt_id=attempt_id, at=now - dt.timedelta(days=days - 1), kind="frame",
                                 severity=1, detail={}, frame_key=fresh))
    assert await delete_expired(exams.app[sessionmaker_key], storage, now=now, retention_days=days) == 1
    names = {p.name for p in stored_files(exams.app)}
    assert names == {fresh.rsplit("/", 1)[1]}
    assert await count(exams.app, ProctorEvent, ProctorEvent.frame_key.is_(None), ProctorEvent.thumb_key.is_(None)) == 1
    assert await count(exams.app, AuditLog, AuditLog.action == "evidence.expire") == 1
    assert await delete_expired(exams.app[sessionmaker_key], storage, now=now, retention_days=days) == 0
