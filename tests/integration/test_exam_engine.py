"""The exam engine over HTTP on both backends: starting, answering, submitting, results, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from exam_server.exam.models import Answer, Attempt
from exam_server.exam.models import ExamSchedule
from exam_server.exam.sweeper import sweep_once
from exam_server.exam.papers import PaperCache
from exam_server.web.keys import sessionmaker_key, settings_key
from registry.models import AuditLog, Registration

from ..exam_flows import (DEVICE, GENERAL, SIMPLE, SUBMITTED, WAIVED_PRO, correct_answers, exam_doctor,
                          first_option_answers, paper_of, seed_exams, set_deadline_past, start)


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def count(client: Any, model: Any, *where: Any) -> int:
    async with client.app[sessionmaker_key]() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_general_physician_sees_papers_in_order(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, GENERAL)
    status, body = await doctor.get("/api/v1/exams")
    assert status == 200, body
    kinds = [p["kind"] for p in body["papers"]]
    assert kinds == ["humanities", "professional"]
    assert body["papers"][0]["can_start"] is True
    assert body["papers"][1]["locked_words"] == "需先通过医学人文测评"
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "professional", "device": DEVICE})
    assert status == 409 and body["error"]["code"] == "locked_needs_humanities", body


async def test_answer_submit_and_score(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, GENERAL)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    text = str(paper)
    assert "'key'" not in text and "explanation" not in text
    answers = first_option_answers(paper)
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/answers", {"device": DEVICE, "answers": answers})
    assert status == 200, body
    assert len(body["saved"]) == len(answers)
    # a late duplicate with an older seq never overwrites
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/answers",
                                     {"device": DEVICE, "answers": [{"item": 1, "choice": "", "seq": 0}]})
    assert status == 200 and body["stale"] == [{"item": 1, "seq": 0}], body
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200, body
    assert body["attempt"]["state"] == "scored" and body["attempt"]["score"] is not None
    assert await count(exams, Answer, Answer.attempt_id == attempt_id) == len(answers)


async def test_hundred_simultaneous_starts_make_one_attempt(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    results = await asyncio.gather(*(doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
                                     for _ in range(100)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {201, 409}, statuses
    assert await count(exams, Attempt) == 1


async def _noop(*_a: Any, **_k: Any) -> None:
    return None


async def registration_state(client: Any, physician_index: int) -> str:
    from exam_server.demo.exams import exam_login
    from registry.models import Physician

    async with client.app[sessionmaker_key]() as session:
        return await session.scalar(select(Registration.state).join(Physician, Registration.physician_id == Physician.id)
                                    .where(Physician.id_number == exam_login(physician_index)))


async def answer(doctor: Any, attempt_id: int, answers: list[dict[str, Any]], device: str = DEVICE) -> tuple[int, Any]:
    return await doctor.post(f"/api/v1/attempts/{attempt_id}/answers", {"device": device, "answers": answers})


async def submit(doctor: Any, attempt_id: int, device: str = DEVICE) -> dict[str, Any]:
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/submit", {"device": device, "confirm": True})
    assert status == 200, body
    return body["attempt"]


async def test_general_procedure_passes_both_papers_in_order(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, GENERAL)
    hum = await start(doctor, "humanities")
    assert (await answer(doctor, hum, await correct_answers(exams.app, hum)))[0] == 200
    result = await submit(doctor, hum)
    assert result["passed"] is True and result["score"] == result["max_score"]
    # one attempt only under the general procedure, and the professional paper is open now
    status, body = await doctor.get("/api/v1/exams")
    assert body["papers"][0]["locked"] == "passed" and body["papers"][1]["can_start"] is True
    pro = await start(doctor, "professional")
    assert (await answer(doctor, pro, await correct_answers(exams.app, pro, wrong=10)))[0] == 200
    assert (await submit(doctor, pro))["passed"] is True
    assert await registration_state(exams, GENERAL) == "PASSED"
    status, body = await doctor.get("/api/v1/exams")
    assert body["decided"] is True and body["result"] is None and body["registration_words"] == "待公布"
    body01 = await make_client()
    await body01.login_staff("body01")
    assert (await body01.post("/api/v1/results/publish", {}))[0] == 200
    status, body = await doctor.get("/api/v1/exams")
    assert body["result"] == "PASSED" and body["registration_words"] == "考核合格"
    status, body = await doctor.get("/api/v1/my/result")
    assert status == 200 and "医学人文测评" in str(body), body


async def test_a_failed_general_paper_ends_the_assessment(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, GENERAL)
    hum = await start(doctor, "humanities")
    await answer(doctor, hum, await correct_answers(exams.app, hum, wrong=40))
    assert (await submit(doctor, hum))["passed"] is False
    assert await registration_state(exams, GENERAL) == "FAILED"
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["code"] == "locked_attempts_used", body


async def test_simple_procedure_retries_until_passed_then_stops(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    first = await start(doctor, "humanities")
    first_fps = set(await _fingerprints(exams, first))
    await answer(doctor, first, await correct_answers(exams.app, first, wrong=40))
    assert (await submit(doctor, first))["passed"] is False
    assert await registration_state(exams, SIMPLE) == "APPROVED"
    second = await start(doctor, "humanities")
    # questions seen in the first attempt are avoided while the bank has others
    assert len(first_fps & set(await _fingerprints(exams, second))) < len(first_fps)
    await answer(doctor, second, await correct_answers(exams.app, second))
    assert (await submit(doctor, second))["passed"] is True
    assert await registration_state(exams, SIMPLE) == "PASSED"
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["code"] == "locked_passed", body


async def _fingerprints(client: Any, attempt_id: int) -> list[str]:
    async with client.app[sessionmaker_key]() as session:
        record = await session.scalar(select(Attempt.paper).where(Attempt.id == attempt_id))
    return [it["fp"] for it in record["items"]]


async def test_exemption_waives_the_professional_paper(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, WAIVED_PRO)
    status, body = await doctor.get("/api/v1/exams")
    assert [p["locked_words"] for p in body["papers"]] == [None, "已免考"]
    hum = await start(doctor, "humanities")
    await answer(doctor, hum, await correct_answers(exams.app, hum))
    await submit(doctor, hum)
    assert await registration_state(exams, WAIVED_PRO) == "PASSED"


async def test_not_approved_physician_is_told_why(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SUBMITTED)
    status, body = await doctor.get("/api/v1/exams")
    assert status == 200 and {p["locked_words"] for p in body["papers"]} == {"报名未审核通过"}
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["message"] == "报名未审核通过"
    assert await count(exams, Attempt) == 0


async def test_start_outside_the_window_is_refused(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    admin = await make_client()
    await admin.login_staff("admin")
    status, listing = await admin.get("/api/v1/schedules")
    hum = next(s for s in listing["items"] if s["kind"] == "humanities")
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    status, body = await admin.post(f"/api/v1/schedules/{hum['id']}/window", {"window_start": tomorrow, "window_end": later})
    assert status == 200, body
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["message"] == "考试尚未开始"
    ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat()
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    await admin.post(f"/api/v1/schedules/{hum['id']}/window", {"window_start": ago, "window_end": yesterday})
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["message"] == "考试已结束"
    assert await count(exams, Attempt) == 0


async def test_bad_answers_are_refused_whole_and_named(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    single = next(it for it in paper["paper"]["items"] if not it["multiple"] and it["type"] != "TF")
    for bad, needle in [
        ([{"item": single["number"], "choice": "Z", "seq": 1}], "不是该题的选项"),
        ([{"item": single["number"], "choice": "AB", "seq": 1}], "单选题"),
        ([{"item": 10_000, "choice": "A", "seq": 1}], "题号"),
        ([{"item": 2**63, "choice": "A", "seq": 1}], "答案超出允许范围"),  # refused at the edge
        ([{"item": 1, "choice": "A", "seq": 1e23}], "序号"),
        ([{"item": 1, "choice": {"$ne": 1}, "seq": 1}], "答案格式"),
        ([[[[[[]]]]]], "格式不正确"),
    ]:
        status, body = await answer(doctor, attempt_id, bad)
        assert status == 400 and needle in body["error"]["message"], (bad, body)
    status, body = await answer(doctor, attempt_id, [{"item": 1, "choice": "A", "seq": i} for i in range(10_000)])
    assert status == 400 and "答案" in body["error"]["message"], body
    # one bad answer refuses the whole request: nothing half-saved
    status, body = await answer(doctor, attempt_id, [{"item": 1, "choice": "A", "seq": 1},
                                                     {"item": single["number"], "choice": "Z", "seq": 1}])
    assert status == 400
    assert await count(exams, Answer) == 0


async def test_answers_after_the_deadline_are_refused_and_the_sweeper_submits(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    await answer(doctor, attempt_id, (await correct_answers(exams.app, attempt_id))[:30])
    await set_deadline_past(exams.app, attempt_id)
    status, body = await answer(doctor, attempt_id, [{"item": 31, "choice": "A", "seq": 5}])
    assert status == 409 and body["error"]["code"] == "time_up", body
    # two sweeps at once (as two processes would), beside the app's own sweeper, which may get there
    # first: the attempt is submitted exactly once (one audit entry below)
    cache = PaperCache()
    done = await asyncio.gather(sweep_once(exams.app[sessionmaker_key], cache, _noop),
                                sweep_once(exams.app[sessionmaker_key], PaperCache(), _noop))
    assert sum(done) <= 1
    async with exams.app[sessionmaker_key]() as session:
        attempt = await session.get(Attempt, attempt_id)
        submits = await session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.entity == "attempt", AuditLog.entity_id == str(attempt_id), AuditLog.action == "attempt.submit"))
    assert attempt.state == "scored" and attempt.submit_reason == "time_up" and submits == 1
    assert attempt.score == 60.0  # the 30 saved answers (2 points each) count, nothing after the deadline
    # after the sweeper, the words still say why: the time is up
    status, body = await answer(doctor, attempt_id, [{"item": 32, "choice": "A", "seq": 6}])
    assert status == 409 and body["error"]["message"] == "作答时间已到，本次答案未能保存"


async def test_window_end_fails_those_who_never_passed(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from registry.db import utcnow

    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(ExamSchedule).where(ExamSchedule.kind == "humanities")
                              .values(window_end=utcnow()))
    await sweep_once(exams.app[sessionmaker_key], PaperCache(), _noop)
    await sweep_once(exams.app[sessionmaker_key], PaperCache(), _noop)
    for index in (GENERAL, SIMPLE, WAIVED_PRO):
        assert await registration_state(exams, index) == "FAILED"
    assert await registration_state(exams, SUBMITTED) == "SUBMITTED"
    async with exams.app[sessionmaker_key]() as session:
        closes = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "schedule.close"))
    assert closes == 1


async def test_another_physician_cannot_touch_an_attempt(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    owner = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(owner, "humanities")
    other = await exam_doctor(make_client, exams, GENERAL)
    for status, body in [await other.get(f"/api/v1/attempts/{attempt_id}"),
                         await answer(other, attempt_id, [{"item": 1, "choice": "A", "seq": 1}]),
                         await other.post(f"/api/v1/attempts/{attempt_id}/submit", {"device": DEVICE, "confirm": True}),
                         await other.post(f"/api/v1/attempts/{attempt_id}/claim", {"device": DEVICE}),
                         await other.get(f"/api/v1/attempts/{attempt_id}/clock")]:
        assert status == 404, body
    for path in ("/api/v1/attempts/2147483648", "/api/v1/attempts/99999999999999999999", "/api/v1/attempts/0"):
        status, _ = await owner.get(path)
        assert status == 404
    assert await count(exams, Answer) == 0


async def test_second_device_takes_over_and_the_first_stops(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    assert (await answer(doctor, attempt_id, [{"item": 1, "choice": "A", "seq": 1}]))[0] == 200
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/claim", {"device": "device-bbbbbbbb"})
    assert status == 200 and body["took_over"] is True
    status, body = await answer(doctor, attempt_id, [{"item": 2, "choice": "A", "seq": 2}])
    assert status == 409 and body["error"]["code"] == "taken_over"
    view = await paper_of(doctor, attempt_id, device="device-bbbbbbbb")
    assert view["answers"]["1"]["choice"] == "A" and view["attempt"]["device_current"] is True
    async with exams.app[sessionmaker_key]() as session:
        takeovers = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "attempt.takeover"))
    assert takeovers == 1


async def test_attempt_token_keeps_a_sitting_going_without_the_session(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    attempt_id, token = body["attempt_id"], body["token"]
    # the login session is gone (e.g. Redis restarted without persistence)
    doctor.session.cookie_jar.clear(lambda c: c.key == "dk_session")
    status, body = await doctor.request("POST", f"/api/v1/attempts/{attempt_id}/answers", headers={"X-Attempt-Token": token},
                                        json={"device": DEVICE, "answers": [{"item": 1, "choice": "A", "seq": 1}]})
    assert status == 200 and body["saved"] == [{"item": 1, "seq": 1}], body
    status, body = await doctor.request("GET", f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}",
                                        headers={"X-Attempt-Token": token})
    assert status == 200 and body["device_current"] is True
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    status, body = await doctor.request("POST", f"/api/v1/attempts/{attempt_id}/answers", headers={"X-Attempt-Token": forged},
                                        json={"device": DEVICE, "answers": [{"item": 2, "choice": "A", "seq": 2}]})
    assert status == 401
    status, body = await doctor.request("POST", f"/api/v1/attempts/{attempt_id + 1}/answers", headers={"X-Attempt-Token": token},
                                        json={"device": DEVICE, "answers": [{"item": 2, "choice": "A", "seq": 2}]})
    assert status == 404
    assert await count(exams, Answer) == 1


async def test_a_token_request_needs_no_session_or_csrf_and_opens_nothing_else(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    attempt_id, token = body["attempt_id"], body["token"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as bare:  # no cookies, no CSRF header
        async with bare.post(f"{doctor.base}/api/v1/attempts/{attempt_id}/answers", headers={"X-Attempt-Token": token},
                             json={"device": DEVICE, "answers": [{"item": 1, "choice": "B", "seq": 1}]}) as r:
            assert r.status == 200 and (await r.json())["saved"] == [{"item": 1, "seq": 1}]
        # The token is for the sitting only: elsewhere the request is anonymous, even with the session cookie.
        jar = {c.key: c.value for c in doctor.session.cookie_jar}
        async with bare.get(f"{doctor.base}/api/v1/me", headers={"X-Attempt-Token": token,
                                                                   "Cookie": f"dk_session={jar['dk_session']}"}) as r:
            assert r.status == 401
        # A token that is not valid exempts nothing: without the CSRF token it is refused as forged.
        async with bare.post(f"{doctor.base}/api/v1/attempts/{attempt_id}/submit", headers={"X-Attempt-Token": "x.y"},
                             json={"device": DEVICE, "confirm": True}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf"
    status, body = await doctor.request("POST", f"/api/v1/attempts/{attempt_id}/submit", headers={"X-Attempt-Token": "x.y"},
                                        json={"device": DEVICE, "confirm": True})
    assert status == 401 and "考试凭证无效" in body["error"]["message"]
    assert await count(exams, Answer) == 1


async def test_the_csrf_exemption_is_exact(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: a valid attempt token spares the CSRF token on its own attempt's endpoints, nowhere else."""
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    attempt_id, token = body["attempt_id"], body["token"]
    save = {"device": DEVICE, "answers": [{"item": 1, "choice": "B", "seq": 1}]}
    with_token = {"X-Attempt-Token": token}
    refused = [
        ("POST", "/api/v1/auth/logout", {}),
        ("POST", "/api/v1/auth/login", {"kind": "staff", "login": "admin", "password": "x"}),
        ("POST", "/api/v1/auth/password", {"old_password": "a", "new_password": "b", "confirm_password": "b"}),
        ("POST", "/api/v1/exams/start", {"kind": "professional", "device": DEVICE}),
        ("POST", f"/api/v1/attempts/{attempt_id + 1}/answers", save),  # valid token, another attempt
        ("POST", f"/api/v1/attempts/{attempt_id + 1}/submit", {"device": DEVICE, "confirm": True}),
    ]
    for method, path, payload in refused:
        status, body = await doctor.request(method, path, json=payload, headers=with_token, csrf=False)
        assert status == 403 and body["error"]["code"] == "csrf", (path, status, body)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    status, body = await doctor.request("POST", f"/api/v1/attempts/{attempt_id}/answers", json=save,
                                        headers={"X-Attempt-Token": forged}, csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf"
    # The session survived the refused logout, and the sitting's own save needs no CSRF token.
    assert (await doctor.get("/api/v1/me"))[0] == 200
    status, body = await doctor.request("POST", f"/api/v1/attempts/{attempt_id}/answers", json=save,
                                        headers=with_token, csrf=False)
    assert status == 200 and body["saved"] == [{"item": 1, "seq": 1}], body
    # With the CSRF token, logout works as ever.
    assert (await doctor.post("/api/v1/auth/logout", {}))[0] == 200
    assert (await doctor.get("/api/v1/me"))[0] == 401


async def test_the_event_stream_opens_with_the_token_in_its_query_and_nowhere_else(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    attempt_id, token = body["attempt_id"], body["token"]
    other = await exam_doctor(make_client, exams, GENERAL)
    other_attempt = await start(other, "humanities")
    base = f"{doctor.base}/api/v1/attempts"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as bare:  # as EventSource: no header
        async with bare.get(f"{base}/{attempt_id}/events", params={"token": token}) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
            assert (await r.content.readline()).startswith(b"retry:")
        # A token names one attempt; a forged one is refused; a query token opens nothing but the stream.
        async with bare.get(f"{base}/{other_attempt}/events", params={"token": token}) as r:
            assert r.status == 404
        async with bare.get(f"{base}/{attempt_id}/events", params={"token": token[:-2] + "xx"}) as r:
            assert r.status == 401
        for path in (f"{base}/{attempt_id}/clock?device={DEVICE}&token={token}", f"{doctor.base}/api/v1/exams?token={token}"):
            async with bare.get(path) as r:
                assert r.status == 401, path


async def test_an_idle_event_stream_gets_keep_alives(exams, make_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    from exam_server.exam import push

    monkeypatch.setattr(push, "KEEPALIVE_SECONDS", 1)  # every stream each second instead of every 25 s
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    async with aiohttp.ClientSession() as bare:
        async with bare.get(f"{doctor.base}/api/v1/attempts/{body['attempt_id']}/events",
                            params={"token": body["token"]}) as r:
            lines = [await asyncio.wait_for(r.content.readline(), 60) for _ in range(4)]
    assert lines[0].startswith(b"retry:") and b": keep-alive\n" in lines, lines


async def test_extra_time_by_the_body_within_scope(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    before = (await paper_of(doctor, attempt_id))["attempt"]["deadline"]
    other_body = await make_client()
    await other_body.login_staff("body02")
    status, body = await other_body.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 10, "reason": "网络故障"})
    assert status == 404, body
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 10, "reason": "x"})
    assert status == 403
    body01 = await make_client()
    await body01.login_staff("body01")
    for bad in ({"minutes": 0, "reason": "x"}, {"minutes": 10**9, "reason": "x"}, {"minutes": 5, "reason": ""},
                {"minutes": "ten", "reason": "x"}):
        status, body = await body01.post(f"/api/v1/attempts/{attempt_id}/extra-time", bad)
        assert status == 400, (bad, body)
    status, body = await body01.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 10, "reason": "网络故障"})
    assert status == 200, body
    after = (await paper_of(doctor, attempt_id))["attempt"]["deadline"]
    assert after > before
    status, body = await body01.post(f"/api/v1/attempts/{attempt_id}/end", {"reason": "考生要求中止"})
    assert status == 200 and body["state"] == "scored"


async def test_schedules_are_checked_and_scoped(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await make_client()
    await body01.login_staff("body01")
    status, papers = await body01.get("/api/v1/schedules")
    assert status == 200 and len(papers["items"]) == 3
    paper_id = papers["items"][0]["paper_id"]
    good = {"paper_id": paper_id, "window_start": "2026-12-01T09:00", "window_end": "2026-12-01T17:00",
            "time_limit_minutes": 60, "attempts_allowed": 3, "pass_mark": 60}
    status, body = await body01.post("/api/v1/schedules", {**good, "window_end": "2026-12-01T08:00"})
    assert status == 400 and "结束时间必须晚于开始时间" in body["error"]["fields"]["window_end"]
    status, body = await body01.post("/api/v1/schedules", {**good, "paper_id": 2147483647})
    assert status == 400 and body["error"]["fields"]["paper_id"] == "试卷不存在"
    status, body = await body01.post("/api/v1/schedules", {**good, "paper_id": 2**63})
    assert status == 400
    status, body = await body01.post("/api/v1/schedules", {**good, "pass_mark": 1e23})
    assert status == 400
    status, body = await body01.post("/api/v1/schedules", good)
    assert status == 201 and body["body_name"] == "滨海市医师定期考核中心", body
    status, body = await body01.post("/api/v1/schedules", good)
    assert status == 400 and "已安排" in body["error"]["message"]
    # the bank can no longer fill the paper: refused with the reason
    from sqlalchemy import update

    from exam_server.banks.models import BankQuestion

    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(BankQuestion).values(retired=True))
    body02 = await make_client()
    await body02.login_staff("body02")
    status, body = await body02.post("/api/v1/schedules", good)
    assert status == 400 and "题库无法组成该试卷" in body["error"]["message"], body
    own = body  # noqa: F841
    officer = await make_client()
    await officer.login_staff("inst01")
    status, _ = await officer.post("/api/v1/schedules", good)
    assert status == 403
    status, _ = await officer.get("/api/v1/schedules")
    assert status == 403
    status, listing = await body02.get("/api/v1/schedules")
    body01_own = [s for s in (await body01.get("/api/v1/schedules"))[1]["items"] if s["body_id"]]
    status, body = await body02.post(f"/api/v1/schedules/{body01_own[0]['id']}/window",
                                     {"window_start": "2026-12-01T09:00", "window_end": "2026-12-02T09:00"})
    assert status == 404
