"""The exam pages on both backends: 我的考试 rendered from the engine, the exam page shell, 考试安排,
the home-page links, and each page kept to its roles."""

from __future__ import annotations

import datetime as dt

import pytest

from exam_server.demo.exams import exam_login
from exam_server.web.keys import settings_key, sms_key
from exam_server.web.templating import local_time

from ..exam_flows import DEVICE, GENERAL, SUBMITTED, exam_doctor, seed_exams, start


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def test_my_exams_lists_papers_in_order_with_why_locked(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, GENERAL)
    status, home, _ = await doctor.page("/")
    assert status == 200 and 'href="/exams"' in home
    status, html, _ = await doctor.page("/exams")
    assert status == 200
    assert html.index("医学人文测评") < html.index("业务水平测评（临床）")
    assert 'data-start="humanities"' in html and 'data-start="professional"' not in html
    assert "需先通过医学人文测评" in html
    assert "已考 0 次，剩余 1 次（共 1 次）" in html
    _, overview = await doctor.get("/api/v1/exams")
    window = overview["papers"][0]
    start_at = dt.datetime.fromisoformat(window["window_start"]).replace(tzinfo=None)
    assert local_time(start_at) in html  # Beijing time, as on the schedule
    # The home page shows each paper's window, its deadline and the attempts left.
    end_at = dt.datetime.fromisoformat(window["window_end"]).replace(tzinfo=None)
    shown = home.split('id="exam-windows"')[1].split("</ul>")[0]
    assert local_time(end_at) in shown and "截止前须完成" in shown and "剩余 1 次（共 1 次）" in shown, shown
    assert shown.index("医学人文测评") < shown.index("业务水平测评（临床）") and "需先通过医学人文测评" in shown

    attempt_id = await start(doctor, "humanities")
    status, html, _ = await doctor.page("/exams")
    assert f'href="/exams/attempt/{attempt_id}"' in html and "继续考试" in html
    assert "进行中" in html and 'data-start="humanities"' not in html
    status, html, _ = await doctor.page(f"/exams/attempt/{attempt_id}")
    assert status == 200 and f'data-attempt="{attempt_id}"' in html and "/static/exam.js" in html
    for bad in ("abc", "0", "99999999999", "-1"):
        status, _, _ = await doctor.page(f"/exams/attempt/{bad}")
        assert status == 404, bad
    # Another physician's attempt: the shell loads, the API behind it answers 404.
    other = await exam_doctor(make_client, exams, SUBMITTED)
    status, body = await other.get(f"/api/v1/attempts/{attempt_id}?device={DEVICE}")
    assert status == 404, body


async def test_a_physician_not_approved_sees_the_reason_and_no_exam_tool(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SUBMITTED)
    status, home, _ = await doctor.page("/")
    assert status == 200 and 'href="/exams"' not in home
    status, html, _ = await doctor.page("/exams")
    assert status == 200 and "报名未审核通过" in html and "data-start" not in html


async def test_a_physician_without_registration_gets_a_page_not_an_error(client) -> None:  # type: ignore[no-untyped-def]
    await client.ready_physician(0, client.app[sms_key].outbox)
    status, html, _ = await client.page("/exams")
    assert status == 200, html
    assert "当前没有需要参加的考试" in html and "报名未审核通过" in html


async def test_exam_pages_keep_to_their_roles(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    anonymous = await make_client()
    status, _, location = await anonymous.page("/exams")
    assert status == 303 and location.startswith("/login")
    status, _, location = await anonymous.page("/schedules")
    assert status == 303 and location.startswith("/login")

    half = await make_client()  # logged in, first-login steps not done
    status, body = await half.post("/api/v1/auth/login", {"kind": "physician", "login": exam_login(GENERAL),
                                                          "password": "666666"})
    assert status == 200, body
    status, _, location = await half.page("/exams")
    assert status == 303 and location == "/password"

    doctor = await exam_doctor(make_client, exams, GENERAL)
    status, _, _ = await doctor.page("/schedules")
    assert status == 403

    for username, allowed, can_schedule in (("body01", True, True), ("admin", True, True),
                                            ("proctor01", True, False), ("inst01", False, False),
                                            ("health01", False, False)):
        staff = await make_client()
        await staff.login_staff(username)
        status, html, _ = await staff.page("/schedules")
        assert status == (200 if allowed else 403), username
        if allowed:
            assert ("新建考试安排" in html) is can_schedule, username
            assert ('data-can-end="1"' in html) is can_schedule, username
            if can_schedule:
                assert "医学人文测评（医学人文测评，50 题，满分 100）" in html
        status, home, _ = await staff.page("/")
        assert ('href="/schedules"' in home) is allowed, username
        status, _, _ = await staff.page("/exams")
        assert status == 403, username
