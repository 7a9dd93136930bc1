"""监考安排 on a schedule the admin made for every body: each body saves its own proctoring rules (for
its own candidates only), picks institutions from a list of its own, and manages only its own
invigilators' assignments; another body, an invigilator and an institution are refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from exam_server.exam import invigilators
from exam_server.exam.models import ExamSchedule
from exam_server.proctor.assignments import attempt_rules
from exam_server.web.keys import sessionmaker_key, settings_key
from registry.models import Account, AssessmentBody, Institution, Physician, Registration, StoredFile
from registry.scope import Actor

from ...exam_flows import DEVICE, GENERAL, seed_exams
from ...proctor_flows import consenting_doctor, enrol_photo, staff


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def shared_schedule(api: Any) -> int:
    status, body = await api.get("/api/v1/schedules")
    assert status == 200, body
    return next(s["id"] for s in body["items"] if s["kind"] == "humanities" and s["body_id"] is None)


async def physician_of_body(app: Any, code: str) -> int:
    async with app[sessionmaker_key]() as session:
        return await session.scalar(select(Physician.id).join(Institution, Physician.institution_id == Institution.id)
                                    .join(AssessmentBody, Institution.body_id == AssessmentBody.id)
                                    .where(AssessmentBody.code == code).order_by(Physician.id).limit(1))


async def test_a_body_saves_its_own_rules_on_a_schedule_for_every_body(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    admin = await staff(make_client, "admin")
    body01 = await staff(make_client, "body01")
    body02 = await staff(make_client, "body02")
    sid = await shared_schedule(admin)
    status, body = await admin.post(f"/api/v1/schedules/{sid}/proctoring",
                                    {"frame_seconds": 30, "actions": {"another_person": "flag"}})
    assert status == 200, body
    status, body = await body01.post(f"/api/v1/schedules/{sid}/proctoring",
                                     {"frame_seconds": 5, "actions": {"no_face": "end_attempt"}})
    assert status == 200 and body["rules"] == {"frame_seconds": 5, "actions": {"no_face": "end_attempt"}}, body

    status, page = await body01.get(f"/api/v1/schedules/{sid}/proctoring")
    assert status == 200 and page["rules"]["frame_seconds"] == 5, page
    assert "只对本机构的考生生效" in page["rules_words"] and page["candidates_words"].endswith("（本机构）")
    assert page["schedule"]["body_name"] == "全部考核机构" and page["schedule"]["paper_title"], page
    # The other body and the admin still read the schedule's own rules.
    for api in (body02, admin):
        status, other = await api.get(f"/api/v1/schedules/{sid}/proctoring")
        assert status == 200 and other["rules"] == {"frame_seconds": 30, "actions": {"another_person": "flag"}}, other

    # What the attempt runs under: body01's candidates body01's rules, body02's the schedule's.
    async with exams.app[sessionmaker_key]() as session:
        schedule = await session.get(ExamSchedule, sid)
        mine = await attempt_rules(session, schedule, await physician_of_body(exams.app, "BODY01"))
        theirs = await attempt_rules(session, schedule, await physician_of_body(exams.app, "BODY02"))
    assert (mine.frame_seconds, mine.consequence("no_face")) == (5, "end_attempt")
    assert (theirs.frame_seconds, theirs.consequence("no_face"), theirs.consequence("another_person")) == (30, "flag", "flag")

    # Bad input: named field, Chinese, nothing stored.
    status, body = await body01.post(f"/api/v1/schedules/{sid}/proctoring", {"frame_seconds": 3})
    assert status == 400 and "frame_seconds" in body["error"]["fields"], body
    status, page = await body01.get(f"/api/v1/schedules/{sid}/proctoring")
    assert page["rules"]["frame_seconds"] == 5

    # Wrong roles are refused.
    for username in ("proctor01", "inst01", "health01"):
        api = await staff(make_client, username)
        status, _ = await api.get(f"/api/v1/schedules/{sid}/proctoring")
        assert status == 403, username
        status, _ = await api.post(f"/api/v1/schedules/{sid}/proctoring", {"frame_seconds": 10})
        assert status == 403, username


async def test_each_body_assigns_only_its_own_institutions_and_invigilators(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    admin = await staff(make_client, "admin")
    body01 = await staff(make_client, "body01")
    body02 = await staff(make_client, "body02")
    sid = await shared_schedule(admin)
    async with exams.app[sessionmaker_key]() as session:
        body02_id = await session.scalar(select(AssessmentBody.id).where(AssessmentBody.code == "BODY02"))
        own01 = {i for (i,) in (await session.execute(select(Institution.id).join(AssessmentBody)
                                                      .where(AssessmentBody.code == "BODY01"))).all()}
    status, body = await admin.post("/api/v1/invigilators", {"username": "proctor02", "display_name": "临江监考员",
                                                            "password": "Proctor2026x", "body_id": body02_id})
    assert status == 201, body
    proctor02 = body["id"]

    status, page = await body01.get(f"/api/v1/schedules/{sid}/proctoring")
    assert page["institutions"] and {i["id"] for i in page["institutions"]} <= own01, page["institutions"]
    assert all(i["candidates"] > 0 and i["name"] for i in page["institutions"])
    status, page02 = await body02.get(f"/api/v1/schedules/{sid}/proctoring")
    assert not {i["id"] for i in page02["institutions"]} & own01, page02["institutions"]

    status, invs = await body01.get("/api/v1/invigilators")
    proctor01 = next(i["id"] for i in invs["items"] if i["username"] == "proctor01")
    institution = page["institutions"][0]
    status, body = await body01.post(f"/api/v1/schedules/{sid}/assignments",
                                     {"invigilator_id": proctor01, "institution_id": institution["id"]})
    assert status == 201, body
    assignment = body["id"]
    status, page = await body01.get(f"/api/v1/schedules/{sid}/proctoring")
    assert f"机构：{institution['name']}" in [a["group_words"] for a in page["assignments"]]

    # body02 neither sees, nor cancels body01's assignment; nor gives body01's institution or invigilator.
    status, page02 = await body02.get(f"/api/v1/schedules/{sid}/proctoring")
    assert page02["assignments"] == []
    status, body = await body02.post(f"/api/v1/assignments/{assignment}/delete", {"confirm": True})
    assert status == 404, body
    status, body = await body02.post(f"/api/v1/schedules/{sid}/assignments",
                                     {"invigilator_id": proctor02, "institution_id": institution["id"]})
    assert status == 400 and "institution_id" in body["error"]["fields"], body
    status, body = await body02.post(f"/api/v1/schedules/{sid}/assignments", {"invigilator_id": proctor01})
    assert status == 400 and "invigilator_id" in body["error"]["fields"], body

    # body02's invigilator given "全部考生" follows body02's candidates only, never body01's.
    status, body = await body02.post(f"/api/v1/schedules/{sid}/assignments", {"invigilator_id": proctor02})
    assert status == 201, body
    async with exams.app[sessionmaker_key]() as session:
        schedule = await session.get(ExamSchedule, sid)
        account = await session.get(Account, proctor02)
        followed = await invigilators.followed_physicians(session, Actor.of(account), schedule)
        body01_candidates = {p for p, i in await invigilators.candidates_of(session, schedule) if i in own01}
    assert body01_candidates and not followed & body01_candidates

    status, body = await body01.post(f"/api/v1/assignments/{assignment}/delete", {"confirm": True})
    assert status == 200, body


async def test_an_invigilator_opens_no_registration_file_by_its_id(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """A file id is no key: an invigilator reads a followed candidate's photo only through that attempt,
    and /api/v1/files answers it (and another body) exactly as a missing id."""
    body01 = await staff(make_client, "body01")
    status, schedules = await body01.get("/api/v1/schedules")
    sid = next(s["id"] for s in schedules["items"] if s["kind"] == "humanities")
    status, invs = await body01.get("/api/v1/invigilators")
    proctor_id = next(i["id"] for i in invs["items"] if i["username"] == "proctor01")
    status, body = await body01.post(f"/api/v1/schedules/{sid}/assignments",
                                     {"invigilator_id": proctor_id, "block_no": 0, "block_size": 50})
    assert status == 201, body
    physician_id = await enrol_photo(exams.app, GENERAL)
    doctor = await consenting_doctor(make_client, exams, GENERAL)
    status, body = await body01.post(f"/api/v1/physicians/{physician_id}/manual-verification",
                                     {"kind": "humanities", "decision": "verified", "method": "in_person", "note": "现场核对"})
    assert status == 201, body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 201, body
    attempt_id = int(body["attempt_id"])
    async with exams.app[sessionmaker_key]() as session:
        photo_id = await session.scalar(select(StoredFile.id).join(Registration, StoredFile.registration_id == Registration.id)
                                        .where(Registration.physician_id == physician_id, StoredFile.kind == "photo"))
        missing_id = (await session.scalar(select(func.max(StoredFile.id)))) + 1000

    proctor = await staff(make_client, "proctor01")
    status, raw = await proctor.get(f"/api/v1/attempts/{attempt_id}/registration-photo")
    assert status == 200 and raw[:2] == b"\xff\xd8"  # the followed attempt's photo, for the face comparison
    status, missing = await proctor.get(f"/api/v1/files/{missing_id}")
    assert status == 404 and missing["error"]["message"] == "文件不存在", missing
    for api in (proctor, await staff(make_client, "body02")):
        status, body = await api.get(f"/api/v1/files/{photo_id}")
        assert status == 404 and body["error"] == missing["error"], body
    status, raw = await body01.get(f"/api/v1/files/{photo_id}")  # the body over the candidate's institution
    assert status == 200 and raw[:2] == b"\xff\xd8"
    status, raw = await doctor.get(f"/api/v1/files/{photo_id}")  # and the physician
    assert status == 200 and raw[:2] == b"\xff\xd8"
