"""Consent and the pre-exam identity check over HTTP, with real face analysis of the shared photos:
a still photo fails the liveness challenge, the asked head turns pass and open exactly one attempt,
three failures send the physician to the body, whose manual verification opens the paper."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from exam_server.web.keys import sessionmaker_key, settings_key
from exam_server.identity.models import FaceConsent, IdentityCheck, LiveEnrolment
from registry.models import AuditLog, Physician

from ...exam_flows import DEVICE, GENERAL, SIMPLE, exam_doctor, seed_exams
from ...face_video import phase_frames
from ...proctor_flows import OTHER, PERSON, consenting_doctor, enrol_photo, staff


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def start_check(doctor: Any, kind: str = "humanities") -> dict[str, Any]:
    status, body = await doctor.post("/api/v1/identity-checks", {"kind": kind})
    assert status == 201, body
    assert set(body) == {"check_id", "phase_count", "prompt", "phase_seconds", "expires_in"}, body  # no order ahead
    return body


Frames = Callable[[int, str], list[dict[str, Any]]]


def person(rel: str, per_phase: int = 2) -> Frames:
    """Someone in front of the camera doing as each prompt asks."""
    return lambda phase, pose: phase_frames(rel, pose, phase, per_phase=per_phase)


async def answer(doctor: Any, check: dict[str, Any], frames: Frames) -> tuple[int, dict[str, Any], list[str]]:
    """Send each phase's frames as its prompt arrives, until the server decides (or refuses)."""
    prompt, asked = check["prompt"], []
    while True:
        asked.append(prompt["pose"])
        status, body = await doctor.post(f"/api/v1/identity-checks/{check['check_id']}/frames",
                                         {"frames": frames(prompt["phase"], prompt["pose"])})
        if status != 200 or body["passed"] is not None:
            return status, body, asked
        assert body["phase_seconds"] == check["phase_seconds"] and body["prompt"]["phase"] == prompt["phase"] + 1
        prompt = body["prompt"]


async def test_consent_is_needed_recorded_and_can_be_withdrawn(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    await enrol_photo(exams.app, GENERAL)
    doctor = await exam_doctor(make_client, exams, GENERAL)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and "人脸信息采集授权" in body["error"]["message"], body
    status, body = await doctor.post("/api/v1/identity-checks", {"kind": "humanities"})
    assert status == 409 and "人脸信息采集授权" in body["error"]["message"], body
    status, consent = await doctor.get("/api/v1/proctoring/consent")
    assert status == 200 and consent["accepted"] is False
    text = "".join(s["text"] for s in consent["sections"])
    assert f"{exams.app[settings_key].proctor_retention_days} 天" in text and "人工核验" in text
    status, body = await doctor.post("/api/v1/proctoring/consent", {"version": "1999"})
    assert status == 400 and body["error"]["fields"]["version"], body
    status, body = await doctor.post("/api/v1/proctoring/consent", {"version": consent["version"]})
    assert status == 200 and body["accepted"] is True
    await start_check(doctor)
    status, body = await doctor.post("/api/v1/proctoring/consent/withdraw", {"confirm": True})
    assert status == 200
    status, body = await doctor.post("/api/v1/identity-checks", {"kind": "humanities"})
    assert status == 409, body
    status, body = await doctor.post("/api/v1/proctoring/consent/withdraw", {"confirm": True})
    assert status == 409 and body["error"]["message"] == "您尚未授权，无需撤回"
    async with exams.app[sessionmaker_key]() as session:
        rows = (await session.scalars(select(FaceConsent))).all()
        actions = set((await session.scalars(select(AuditLog.action))).all())
    assert len(rows) == 1 and rows[0].withdrawn_at is not None and rows[0].text_version == consent["version"]
    assert {"consent.accept", "consent.withdraw"} <= actions


async def test_a_still_photo_fails_and_the_asked_turns_pass(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    await enrol_photo(exams.app, GENERAL)
    doctor = await consenting_doctor(make_client, exams, GENERAL)
    # A photo held to the camera: the same frame in every phase.
    check = await start_check(doctor)
    status, body, _ = await answer(doctor, check, lambda phase, pose: phase_frames(PERSON, "front", phase))
    assert status == 200, body
    assert body["passed"] is False and body["failure"] == "pose_missing" and body["failures_left"] == 2, body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["message"] == "开考前须通过人脸身份核验", body
    # The live person following the server's order.
    check = await start_check(doctor)
    status, body, asked = await answer(doctor, check, person(PERSON))
    assert status == 200 and body["passed"] is True, body
    assert len(asked) == check["phase_count"] == 7 and asked[0] == "front" and {"left", "right"} <= set(asked)
    # The same check cannot be judged twice.
    status, body = await doctor.post(f"/api/v1/identity-checks/{check['check_id']}/frames",
                                     {"frames": phase_frames(PERSON, "front", 6)})
    assert status == 409, body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 201, body
    async with exams.app[sessionmaker_key]() as session:
        used = await session.scalar(select(IdentityCheck.used_by_attempt_id).where(IdentityCheck.id == check["check_id"]))
        live = (await session.scalars(select(LiveEnrolment))).all()
    assert used == body["attempt_id"]
    assert len(live) == 1 and live[0].enrolment["sources"] == ["registration", "pre-exam"]


async def test_three_failures_then_manual_verification_by_the_body(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    physician_id = await enrol_photo(exams.app, SIMPLE)
    doctor = await consenting_doctor(make_client, exams, SIMPLE)
    body01 = await staff(make_client, "body01")
    status, queue = await body01.get("/api/v1/manual-verifications")
    assert status == 200 and physician_id not in [e["physician_id"] for e in queue["items"]]
    for left in (2, 1, 0):
        check = await start_check(doctor)
        # Another person doing the turns perfectly.
        status, body, _ = await answer(doctor, check, person(OTHER, per_phase=1))
        assert status == 200 and body["passed"] is False and body["failure"] == "another_person", body
        assert body["failures_left"] == left
    assert body["locked"] is True and "联系考核机构人工核验" in body["message"]
    status, body = await doctor.post("/api/v1/identity-checks", {"kind": "humanities"})
    assert status == 409 and "人工核验" in body["error"]["message"]
    # The physician is told whom to contact: the body's contact, maintained by the admin.
    admin = await staff(make_client, "admin")
    async with exams.app[sessionmaker_key]() as session:
        body_id = (await session.get(Physician, physician_id)).institution.body_id  # type: ignore[union-attr]
    status, body = await admin.post(f"/api/v1/admin/assessment-bodies/{body_id}", {"contact": ""})
    assert status == 400 and body["error"]["fields"]["contact"], body
    status, body = await body01.post(f"/api/v1/admin/assessment-bodies/{body_id}", {"contact": "电话 1"})
    assert status == 403, body
    status, body = await admin.post(f"/api/v1/admin/assessment-bodies/{body_id}", {"contact": "电话 022-1234 工作日"})
    assert status == 200, body
    status, body = await doctor.get("/api/v1/identity-checks/status?kind=humanities")
    assert status == 200 and body["locked"] and body["body_contact"] == "电话 022-1234 工作日" and body["body_name"]
    # The body's queue: the physician, the paper, the registration photo and the three failed tries' captures.
    status, queue = await body01.get("/api/v1/manual-verifications")
    assert status == 200, queue
    entry = next(e for e in queue["items"] if e["physician_id"] == physician_id)
    assert entry["kind"] == "humanities" and "连续 3 次未通过" in entry["reason"] and entry["photo_url"]
    assert [f["failure_words"] for f in entry["failed"]] == ["人脸与报名照片不一致"] * 3
    captures = [url for f in entry["failed"] for url in f["captures"]]
    assert len(captures) == 3 * check["phase_count"]
    status, image = await body01.get(captures[0])
    assert status == 200 and image[:3] == b"\xff\xd8\xff"
    status, photo = await body01.get(entry["photo_url"])
    assert status == 200 and photo[:3] == b"\xff\xd8\xff"
    # The wrong body, the wrong role, a bad body: refused.
    other_body = await staff(make_client, "body02")
    status, queue2 = await other_body.get("/api/v1/manual-verifications")
    assert status == 200 and physician_id not in [e["physician_id"] for e in queue2["items"]]
    status, body = await other_body.get(captures[0])
    assert status == 404, body
    decision = {"kind": "humanities", "decision": "verified", "method": "in_person", "note": "核对身份证"}
    status, body = await other_body.post(f"/api/v1/physicians/{physician_id}/manual-verification", decision)
    assert status == 404, body
    invigilator = await staff(make_client, "proctor01")
    status, body = await invigilator.post(f"/api/v1/physicians/{physician_id}/manual-verification", decision)
    assert status == 403, body
    for who in (invigilator, doctor, await staff(make_client, "inst01")):
        status, body = await who.get("/api/v1/manual-verifications")
        assert status == 403, body
        status, body = await who.get(captures[0])
        assert status == 403, body
    status, body = await body01.post(f"/api/v1/physicians/{physician_id}/manual-verification", {**decision, "note": ""})
    assert status == 400 and body["error"]["fields"]["note"] == "核验说明不能为空", body
    status, body = await body01.post(f"/api/v1/physicians/{physician_id}/manual-verification",
                                     {**decision, "method": "telepathy"})
    assert status == 400 and body["error"]["fields"]["method"], body
    # A refusal: the physician stays locked out and reads why; the entry leaves the queue.
    status, body = await body01.post(f"/api/v1/physicians/{physician_id}/manual-verification",
                                     {**decision, "decision": "refused", "method": "video", "note": "视频中证件照片与本人不符"})
    assert status == 201 and body["state"] == "refused" and body["words"] == "核验不通过", body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409, body
    status, body = await doctor.get("/api/v1/identity-checks/status?kind=humanities")
    assert body["locked"] and body["refused"]["note"] == "视频中证件照片与本人不符", body
    status, queue = await body01.get("/api/v1/manual-verifications")
    assert physician_id not in [e["physician_id"] for e in queue["items"]]
    # The physician comes in person: verified, recorded with who and how; the paper opens.
    status, body = await body01.post(f"/api/v1/physicians/{physician_id}/manual-verification",
                                     {**decision, "note": "现场核对身份证与本人一致"})
    assert status == 201 and body["state"] == "passed", body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 201, body
    status, queue = await body01.get("/api/v1/manual-verifications")
    first, second = queue["decisions"][:2]
    assert (first["words"], first["method_words"], first["by"], first["used"]) == \
        ("核验通过", "现场核对身份证件与本人", "滨海市考核中心", True), first
    assert (second["words"], second["note"]) == ("核验不通过", "视频中证件照片与本人不符"), second
    async with exams.app[sessionmaker_key]() as session:
        manual = (await session.scalars(select(AuditLog.detail).where(AuditLog.action == "identity_check.manual"))).all()
    assert [(m["verified"], m["method"]) for m in manual] == [(False, "video"), (True, "in_person")]


async def test_identity_check_refuses_bad_frames(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    await enrol_photo(exams.app, GENERAL)
    doctor = await consenting_doctor(make_client, exams, GENERAL)
    check = await start_check(doctor)
    url = f"/api/v1/identity-checks/{check['check_id']}/frames"
    bad = [
        ({"frames": []}, "没有收到摄像头画面"),
        ({"frames": "x"}, "画面应为列表"),
        ({"frames": [{"phase": 0, "image": "not base64!"}]}, "第 1 张画面不是有效的图片数据"),
        ({"frames": [{"phase": 0, "image": "aGVsbG8="}]}, "第 1 张画面不是 JPEG 或 PNG 图片"),
        ({"frames": [{"phase": 99, "image": "aGVsbG8="}]}, "第 1 张画面的阶段编号无效"),
        ({"frames": [{"phase": "0", "image": "aGVsbG8="}]}, "第 1 张画面格式不正确"),
        ({"frames": [{"phase": 0, "image": "A" * 700_000}]}, "第 1 张画面过大"),
        ({"frames": [{"phase": 0, "image": "aGVsbG8="}] * 61}, "画面最多 60 项"),
        ({"frames": [], "extra": 1}, "不认识的字段"),
    ]
    for payload, words in bad:
        status, body = await doctor.post(url, payload)
        assert status == 400 and words in body["error"]["message"], (payload if len(str(payload)) < 200 else words, body)
    # Nothing was judged: the check is still open and counts no failure.
    async with exams.app[sessionmaker_key]() as session:
        state = await session.scalar(select(IdentityCheck.state).where(IdentityCheck.id == check["check_id"]))
    assert state == "open"
    # Another physician's check, a staff member, an unknown id.
    other = await consenting_doctor(make_client, exams, SIMPLE)
    status, body = await other.post(url, {"frames": phase_frames(PERSON, "front", 0)})
    assert status == 404, body
    body01 = await staff(make_client, "body01")
    status, body = await body01.post(url, {"frames": []})
    assert status == 403
    status, body = await doctor.post("/api/v1/identity-checks/99999/frames", {"frames": phase_frames(PERSON, "front", 0)})
    assert status == 404
    status, body = await doctor.post("/api/v1/identity-checks", {"kind": "maths"})
    assert status == 400 and body["error"]["fields"]["kind"], body


async def test_another_person_cannot_finish_the_check(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: the enrolled face for the first phase, someone else turning as asked for the rest
    (or for one turn phase only): every frame is compared with the enrolment, so it fails."""
    await enrol_photo(exams.app, GENERAL)
    doctor = await consenting_doctor(make_client, exams, GENERAL)
    swaps: dict[str, Frames] = {
        "after_front": lambda phase, pose: phase_frames(PERSON if phase == 0 else OTHER, pose, phase),
        "one_phase": lambda phase, pose: phase_frames(OTHER if phase == 1 else PERSON, pose, phase),
    }
    for name, frames in swaps.items():
        status, body, _ = await answer(doctor, await start_check(doctor), frames)
        assert status == 200, body
        assert (body["passed"], body["failure"]) == (False, "another_person"), (name, body)
        assert body["message"].startswith("人脸与报名照片不一致，如确为本人：请在光线充足处"), body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["message"] == "开考前须通过人脸身份核验", body


async def test_each_phase_must_arrive_in_time_and_in_turn(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Frames held back (a batch at the end, a clip prepared after seeing the prompt) are too late;
    frames for a phase not asked yet, or several phases at once, are refused without judging."""
    from exam_server.identity import checks
    from exam_server.web.keys import live_key

    await enrol_photo(exams.app, GENERAL)
    doctor = await consenting_doctor(make_client, exams, GENERAL)
    check = await start_check(doctor)
    url = f"/api/v1/identity-checks/{check['check_id']}/frames"
    assert check["prompt"] == {"phase": 0, "pose": "front", "words": "请正对摄像头"}
    assert check["phase_seconds"] == checks.PHASE_SECONDS
    status, body = await doctor.post(url, {"frames": phase_frames(PERSON, "front", 1)})
    assert status == 400 and body["error"]["fields"]["phase"] == "画面的阶段与当前提示不符", body
    status, body = await doctor.post(url, {"frames": phase_frames(PERSON, "front", 0) + phase_frames(PERSON, "left", 1)})
    assert status == 400 and body["error"]["fields"]["frames"] == "一次只能提交当前阶段的画面", body
    status, body = await doctor.post(url, {"frames": phase_frames(PERSON, "front", 0, per_phase=7)})
    assert status == 400 and body["error"]["fields"]["frames"] == "每个阶段的画面最多 6 张", body
    status, body = await doctor.post(url, {"frames": phase_frames(PERSON, "front", 0)})
    assert status == 200 and body["passed"] is None and body["prompt"]["phase"] == 1, body
    # The second phase's prompt was sent PHASE_SECONDS and a little more ago (the clock moved back).
    live = exams.app[live_key]
    progress = await checks.progress_of(live, check["check_id"])
    assert progress is not None and progress.phase == 1
    await checks.show_prompt(live, check["check_id"], 1, at=progress.shown_at - checks.PHASE_SECONDS - 1)
    status, body = await doctor.post(url, {"frames": phase_frames(PERSON, body["prompt"]["pose"], 1)})
    assert status == 200, body
    assert (body["passed"], body["failure"], body["failures_left"]) == (False, "too_slow", 2), body
    assert body["message"].startswith("动作超时"), body
    assert await checks.progress_of(live, check["check_id"]) is None
    status, body = await doctor.post(url, {"frames": phase_frames(PERSON, "front", 2)})
    assert status == 409, body
