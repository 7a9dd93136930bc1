"""Publication of one exam schedule's scores by a body: before it (and before the whole result is
published) the physician sees 待公布 for that paper; after it, the score. Runs on both backends."""

from __future__ import annotations

from sqlalchemy import func, select

from exam_server.web.keys import sessionmaker_key, settings_key, sms_key
from exam_server.results.models import PublishedSchedule
from registry.models import AuditLog, Message

from ..exam_flows import DEVICE, GENERAL, correct_answers, exam_doctor, seed_exams, start


async def staff(make_client, username: str):  # type: ignore[no-untyped-def]
    api = await make_client()
    await api.login_staff(username)
    return api


async def test_a_body_publishes_one_schedule_and_the_physician_then_sees_that_papers_score(client, make_client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    doctor = await exam_doctor(make_client, client, GENERAL)
    attempt = await start(doctor, "humanities")
    answers = await correct_answers(client.app, attempt, wrong=3)
    assert (await doctor.post(f"/api/v1/attempts/{attempt}/answers", {"device": DEVICE, "answers": answers}))[0] == 200
    status, body = await doctor.post(f"/api/v1/attempts/{attempt}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200, body
    score = body["attempt"]["score"]

    status, mine = await doctor.get("/api/v1/my/result")
    assert status == 200 and mine["status"] == "未出结果"
    (paper,) = mine["papers"]
    assert paper["published"] is False and paper["score"] is None and paper["outcome"] == "待公布"
    status, page, _ = await doctor.page("/result")
    assert status == 200 and 'data-published="no"' in page and str(score) not in page

    body01, body02, inst01 = [await staff(make_client, u) for u in ("body01", "body02", "inst01")]
    status, listed = await body01.get("/api/v1/results/schedules")
    assert status == 200
    humanities = next(s for s in listed["items"] if s["kind"] == "humanities")
    assert humanities["published_at"] is None
    url = f"/api/v1/exam-schedules/{humanities['id']}/publish"

    # The wrong role, an unknown schedule, and another body (for its own physicians only).
    assert (await inst01.post(url, {}))[0] == 403
    assert (await doctor.post(url, {}))[0] == 403
    assert (await body01.post("/api/v1/exam-schedules/999999/publish", {}))[0] == 404
    assert (await body02.post(url, {}))[1] == {"published": True, "physicians": 0, "sms": 0}
    assert (await doctor.get("/api/v1/my/result"))[1]["papers"][0]["outcome"] == "待公布"

    status, preview = await body01.get(url + "-preview")
    assert status == 200 and preview["count"] == 1 and preview["title"] == humanities["title"], preview
    assert (await inst01.get(url + "-preview"))[0] == 403
    outbox = client.app[sms_key].outbox
    sent = len(outbox)
    status, body = await body01.post(url, {})
    assert status == 200 and (body["published"], body["physicians"]) == (True, 1), body
    assert any("成绩已公布" in m.text for m in list(outbox)[: len(outbox) - sent])  # newest first
    status, body = await body01.post(url, {})
    assert status == 409 and body["error"]["message"] == "该测评场次的成绩已公布"
    assert (await body01.get(url + "-preview"))[0] == 409  # nothing left to confirm

    status, mine = await doctor.get("/api/v1/my/result")
    (paper,) = mine["papers"]
    assert paper["published"] is True and paper["score"] == score and paper["outcome"] == "合格"
    status, page, _ = await doctor.page("/result")
    assert 'data-published="yes"' in page and "待公布" in page  # the overall result is still to be published
    status, page, _ = await body01.page("/results/manage")
    assert status == 200 and f'data-schedule="{humanities["id"]}"' in page and "已公布" in page

    async with client.app[sessionmaker_key]() as s:
        assert await s.scalar(select(func.count()).select_from(PublishedSchedule)) == 2  # body01 and body02
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "publish_schedule")) == 2
        assert await s.scalar(select(func.count()).select_from(Message).where(Message.text.contains("成绩已公布"))) == 1
