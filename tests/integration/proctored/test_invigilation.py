"""During a proctored attempt, over HTTP and WebSocket with real face analysis: frames of another
person become an "another person" violation that the schedule turns into a warning on the
candidate's page; the assigned invigilator's dashboard shows it live and catches up after a
reconnect; its actions (warning, extra time, end) are audited; the body reviews, confirms and
voids, and the result is recomputed through the state machine."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from exam_server.web.keys import sessionmaker_key, settings_key
from exam_server.proctor.keys import frame_service_key
from exam_server.proctor.models import ProctorEvent, Violation
from registry.models import AuditLog, Message, Registration

from ...exam_flows import DEVICE, GENERAL, SIMPLE, correct_answers, seed_exams
from ...face_video import canvas, jpeg
from ...proctor_flows import OTHER, PERSON, consenting_doctor, enrol_photo, eventually, staff


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def humanities_schedule(api: Any) -> int:
    status, body = await api.get("/api/v1/schedules")
    assert status == 200, body
    return next(s["id"] for s in body["items"] if s["kind"] == "humanities")


async def manually_verified_start(exams: Any, make_client: Any, index: int, body01: Any) -> tuple[Any, int, int, str]:
    physician_id = await enrol_photo(exams.app, index)
    doctor = await consenting_doctor(make_client, exams, index)
    status, body = await body01.post(f"/api/v1/physicians/{physician_id}/manual-verification",
                                     {"kind": "humanities", "decision": "verified", "method": "in_person", "note": "现场核对"})
    assert status == 201, body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 201, body
    return doctor, int(body["attempt_id"]), physician_id, body["token"]


async def send_frame(api: Any, attempt_id: int, token: str, data: bytes) -> tuple[int, Any]:
    async with api.session.post(f"{api.base}/api/v1/attempts/{attempt_id}/frames", data=data,
                                headers={"Content-Type": "image/jpeg", "X-Attempt-Token": token,
                                         "X-CSRF-Token": api._csrf()}) as r:
        return r.status, await r.json()


class Sse:
    """The candidate page's event stream (the exam page's /events), read in the background."""

    def __init__(self, api: Any, attempt_id: int, token: str) -> None:
        self.events: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._read(api, attempt_id, token))

    async def _read(self, api: Any, attempt_id: int, token: str) -> None:
        async with api.session.get(f"{api.base}/api/v1/attempts/{attempt_id}/events",
                                   headers={"X-Attempt-Token": token}) as r:
            async for line in r.content:
                if line.startswith(b"data: "):
                    self.events.append(json.loads(line[6:]))

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, aiohttp.ClientError):
            pass


async def test_another_person_is_warned_watched_live_and_reviewed(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    schedule_id = await humanities_schedule(body01)
    # The demo's schedules are the admin's (for every body): the admin's rules hold for every body,
    # and body01's own rules, saved on the same schedule, hold for body01's candidates.
    admin = await staff(make_client, "admin")
    status, body = await admin.post(f"/api/v1/schedules/{schedule_id}/proctoring",
                                    {"frame_seconds": 30, "actions": {"another_person": "flag"}})
    assert status == 200 and body["rules"]["actions"] == {"another_person": "flag"}, body
    status, body = await body01.post(f"/api/v1/schedules/{schedule_id}/proctoring",
                                     {"frame_seconds": 5, "actions": {"another_person": "warn"}})
    assert status == 200 and body["rules"] == {"frame_seconds": 5, "actions": {"another_person": "warn"}}, body
    status, invigilators = await body01.get("/api/v1/invigilators")
    proctor_id = next(i["id"] for i in invigilators["items"] if i["username"] == "proctor01")
    status, body = await body01.post(f"/api/v1/schedules/{schedule_id}/assignments",
                                     {"invigilator_id": proctor_id, "block_no": 0, "block_size": 50})
    assert status == 201, body

    doctor, attempt_id, physician_id, token = await manually_verified_start(exams, make_client, GENERAL, body01)
    proctor = await staff(make_client, "proctor01")
    status, snap = await proctor.get(f"/api/v1/invigilation/{schedule_id}")
    assert status == 200 and [c["attempt_id"] for c in snap["candidates"]] == [attempt_id], snap

    ws = await proctor.session.ws_connect(f"{proctor.base}/ws/invigilation/{schedule_id}")
    first = json.loads((await ws.receive(timeout=10)).data)
    assert first["type"] == "snapshot" and first["candidates"][0]["name"] == "周文"
    sse = Sse(doctor, attempt_id, token)
    try:
        own = jpeg(canvas(PERSON))
        other = jpeg(canvas(OTHER, shift=150))  # another person, sitting elsewhere in the frame
        status, body = await send_frame(doctor, attempt_id, token, own)
        assert status == 202, body
        # Another person sits down: three identity checks make the violation (policy).
        for i in range(3):
            for _ in range(40):
                status, body = await send_frame(doctor, attempt_id, token, other)
                if status != 429:
                    break
                await asyncio.sleep(0.5)
            assert status == 202, body

        async def violation() -> Any:
            msg = await ws.receive(timeout=60)
            data = json.loads(msg.data)
            return data if data["type"] == "event" and data["event"]["kind"] == "violation" else None

        seen = await eventually(violation, timeout=120, every=0)
        assert seen["event"]["detail"]["violation"] == "another_person" and seen["event"]["severity"] == 3
        await eventually(lambda: _async(_has(sse.events, "warning")), timeout=10)
        assert "疑似他人替考" in next(e for e in sse.events if e["event"] == "warning")["message"]

        # The invigilator warns, grants extra time; a reconnecting dashboard catches up.
        last_id = seen["event"]["id"]
        await ws.close()
        status, body = await proctor.post(f"/api/v1/attempts/{attempt_id}/warn", {"message": "请保持正对摄像头"})
        assert status == 200, body
        await eventually(lambda: _async(_has(sse.events, "warning", "请保持正对摄像头")), timeout=10)
        status, body = await proctor.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 5, "reason": "网络故障"})
        assert status == 200, body
        ws = await proctor.session.ws_connect(f"{proctor.base}/ws/invigilation/{schedule_id}?since={last_id}")
        assert json.loads((await ws.receive(timeout=10)).data)["type"] == "snapshot"
        catchup = json.loads((await ws.receive(timeout=10)).data)
        assert catchup["type"] == "catchup" and any(e["kind"] == "warning_sent" for e in catchup["events"]), catchup
        await ws.close()
        status, timeline = await proctor.get(f"/api/v1/attempts/{attempt_id}/timeline")
        assert status == 200
        evidence = [e for e in timeline["events"] if e["frame"]]
        assert evidence, timeline
        async with proctor.session.get(proctor.base + evidence[0]["frame"]) as r:
            assert r.status == 200 and (await r.read()).startswith(b"\xff\xd8")
        assert {"attempt.warn", "attempt.extra_time"} <= {a["action"] for a in timeline["actions"]}
    finally:
        await sse.close()
        await ws.close()

    # The physician answers everything right and submits: a pass, until the review voids it.
    answers = await correct_answers(exams.app, attempt_id)
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/answers", {"device": DEVICE, "answers": answers})
    assert status == 200, body
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200 and body["attempt"]["passed"] is True, body
    # Frames after submission are refused, nothing stored.
    status, body = await send_frame(doctor, attempt_id, token, own)
    assert status == 409 and body["error"]["code"] == "attempt_over"

    status, review = await body01.get(f"/api/v1/schedules/{schedule_id}/review")
    assert status == 200 and review["items"][0]["attempt_id"] == attempt_id and review["items"][0]["open"] >= 1
    async with exams.app[sessionmaker_key]() as session:
        v = await session.scalar(select(Violation).where(Violation.attempt_id == attempt_id,
                                                         Violation.kind == "another_person"))
    status, body = await proctor.post(f"/api/v1/violations/{v.id}/review", {"decision": "confirmed", "note": "x"})
    assert status == 403
    status, body = await body01.post(f"/api/v1/violations/{v.id}/review",
                                     {"decision": "dismissed", "note": "误报", "void": True})
    assert status == 400 and body["error"]["fields"]["void"], body
    status, body = await body01.post(f"/api/v1/violations/{v.id}/review",
                                     {"decision": "confirmed", "note": "画面中为他人作答", "void": True})
    assert status == 200 and body["attempt_state"] == "voided" and body["passed"] is False, body
    async with exams.app[sessionmaker_key]() as session:
        reg = await session.scalar(select(Registration).where(Registration.physician_id == physician_id))
        actions = [a for a in (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()]
        messages = (await session.scalars(select(Message.text))).all()
    # General procedure, one attempt: the voided paper fails, so the result is 不合格.
    assert reg.state == "FAILED", reg.state
    assert actions.index("violation.confirmed") < actions.index("attempt.void")
    assert actions.index("attempt.void") < actions.index("fail"), actions
    assert any("已作废" in m for m in messages)


def _has(events: list[dict[str, Any]], kind: str, text: str | None = None) -> bool:
    return any(e["event"] == kind and (text is None or e.get("message") == text) for e in events)


async def _async(value: Any) -> Any:
    return value


async def test_voiding_a_pass_revokes_it_and_the_physician_may_sit_again(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    doctor, attempt_id, physician_id, token = await manually_verified_start(exams, make_client, SIMPLE, body01)
    # Copying during the attempt: a browser event the schedule flags for review (the default).
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/proctor-events", {"kind": "copy"},
                                     headers={"X-Attempt-Token": token})
    assert status == 200 and body["recorded"] is True, body
    answers = await correct_answers(exams.app, attempt_id)
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/answers", {"device": DEVICE, "answers": answers})
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200 and body["attempt"]["passed"] is True, body
    async with exams.app[sessionmaker_key]() as session:
        reg = await session.scalar(select(Registration).where(Registration.physician_id == physician_id))
        v = await session.scalar(select(Violation).where(Violation.attempt_id == attempt_id))
    assert reg.state == "PASSED" and v.kind == "copy_paste" and v.consequence == "flag"
    other_body = await staff(make_client, "body02")
    status, body = await other_body.post(f"/api/v1/violations/{v.id}/review", {"decision": "confirmed", "note": "x"})
    assert status == 404, body
    status, body = await body01.post(f"/api/v1/violations/{v.id}/review",
                                     {"decision": "confirmed", "note": "复制试题外传", "void": True})
    assert status == 200 and body["attempt_state"] == "voided", body
    async with exams.app[sessionmaker_key]() as session:
        reg = await session.scalar(select(Registration).where(Registration.physician_id == physician_id))
        actions = (await session.scalars(select(AuditLog.action).order_by(AuditLog.id))).all()
    # Simple procedure, attempts left: the pass is taken back and the paper is open again.
    assert reg.state == "APPROVED" and "revoke_pass" in actions
    status, body = await doctor.get("/api/v1/exams")
    paper = body["papers"][0]
    assert paper["outcome"] == "pending" and paper["attempts_left"] == 2 and paper["can_start"] is True, paper
    # Reviewing twice is refused: it is no longer open to voiding.
    status, body = await body01.post(f"/api/v1/violations/{v.id}/review",
                                     {"decision": "confirmed", "note": "再次", "void": True})
    assert status == 409, body
