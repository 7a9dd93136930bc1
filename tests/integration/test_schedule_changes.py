"""Issue 18: results stay right when schedules overlap or change while people sit them, on both backends.

Each numbered case of the issue as a plain test over HTTP; the boundaries of the grace with an explicit
clock on the service functions the handlers and the sweeper call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from exam_server.exam import answers as answer_service
from exam_server.exam.models import Attempt, ExamSchedule
from exam_server.exam.papers import PaperCache
from exam_server.exam.sweeper import sweep_once
from exam_server.exam.keys import hot_path_key, paper_cache_key
from exam_server.web.keys import sessionmaker_key, settings_key
from registry.db import utcnow
from registry.models import AuditLog, Message, Physician, Registration

from ..exam_flows import DEVICE, GENERAL, SIMPLE, WAIVED_PRO, correct_answers, exam_doctor, seed_exams, start


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


def iso(t: dt.datetime) -> str:
    return t.replace(microsecond=0).isoformat() + "+00:00"


async def _noop(*_a: Any, **_k: Any) -> None:
    return None


async def staff(make_client: Any, username: str) -> Any:
    api = await make_client()
    await api.login_staff(username)
    return api


async def humanities_schedule(api: Any) -> dict[str, Any]:
    status, listing = await api.get("/api/v1/schedules")
    assert status == 200, listing
    return next(s for s in listing["items"] if s["kind"] == "humanities" and s["body_id"] is None)


async def attempt_row(client: Any, attempt_id: int) -> Attempt:
    async with client.app[sessionmaker_key]() as session:
        row = await session.get(Attempt, attempt_id)
        assert row is not None
        return row


async def state_of(client: Any, index: int) -> str:
    from exam_server.demo.exams import exam_login

    async with client.app[sessionmaker_key]() as session:
        return await session.scalar(select(Registration.state).join(Physician, Registration.physician_id == Physician.id)
                                    .where(Physician.id_number == exam_login(index)))


async def sweep(client: Any) -> int:
    settings = client.app[settings_key]
    return await sweep_once(client.app[sessionmaker_key], client.app[paper_cache_key], _noop,
                            grace_seconds=settings.exam_grace_seconds)


async def humanities(doctor: Any) -> dict[str, Any]:
    status, body = await doctor.get("/api/v1/exams")
    assert status == 200, body
    return next(p for p in body["papers"] if p["kind"] == "humanities")


async def test_a_body_window_overlapping_the_admins_is_refused_in_words(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await staff(make_client, "body01")
    admins = await humanities_schedule(body01)
    now = utcnow()
    good = {"paper_id": admins["paper_id"], "time_limit_minutes": 60, "attempts_allowed": 3, "pass_mark": 60}
    status, body = await body01.post("/api/v1/schedules", {**good, "window_start": iso(now),
                                                           "window_end": iso(now + dt.timedelta(days=2))})
    assert status == 400, body
    msg = body["error"]["fields"]["window_start"]
    assert "时间重叠" in msg and f"编号 {admins['id']}" in msg and "同一时间只能有一个开放时间段" in msg, msg
    # after the admin's window: a resit window of the body's own is fine
    after = dt.datetime.fromisoformat(admins["window_end"]).replace(tzinfo=None)
    status, own = await body01.post("/api/v1/schedules", {**good, "window_start": iso(after),
                                                          "window_end": iso(after + dt.timedelta(days=3))})
    assert status == 201, own
    # and the admin cannot lengthen its window over it
    admin = await staff(make_client, "admin")
    status, body = await admin.post(f"/api/v1/schedules/{admins['id']}/window",
                                    {"window_start": admins["window_start"],
                                     "window_end": iso(after + dt.timedelta(days=1))})
    assert status == 400 and "时间重叠" in body["error"]["fields"]["window_end"], body


async def test_attempts_count_across_schedules_and_a_running_one_is_resumed(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue case 1: a physician mid-attempt under the admin's schedule while the body's own opens."""
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    admin, body01 = await staff(make_client, "admin"), await staff(make_client, "body01")
    first = await start(doctor, "humanities")
    assert (await doctor.post(f"/api/v1/attempts/{first}/submit", {"device": DEVICE, "confirm": True}))[0] == 200
    running = await start(doctor, "humanities")
    status, body = await body01.post(f"/api/v1/attempts/{running}/extra-time", {"minutes": 30, "reason": "照顾"})
    assert status == 200, body
    # the admin ends its window now; the body's own window opens from then on
    admins = await humanities_schedule(admin)
    end = utcnow().replace(microsecond=0) - dt.timedelta(seconds=1)
    status, body = await admin.post(f"/api/v1/schedules/{admins['id']}/window",
                                    {"window_start": admins["window_start"], "window_end": iso(end)})
    assert status == 200 and body["attempts_moved"] == 1, body
    row = await attempt_row(exams, running)
    assert row.deadline == end + dt.timedelta(minutes=30)  # extra time runs past the window's end
    status, own = await body01.post("/api/v1/schedules", {
        "paper_id": admins["paper_id"], "window_start": iso(end), "window_end": iso(end + dt.timedelta(days=2)),
        "time_limit_minutes": 60, "attempts_allowed": 3, "pass_mark": 60})
    assert status == 201, own
    # 我的考试 counts both attempts and shows the running one, whose window has ended, for resuming
    paper = await humanities(doctor)
    assert paper["attempts_used"] == 2 and paper["attempts_left"] == 1, paper
    assert paper["attempt_in_progress"] == running and paper["can_start"] is False, paper
    assert paper["window_end"].startswith((end + dt.timedelta(days=2)).isoformat()), paper  # the body's applies
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["fields"]["attempt_id"] == str(running), body
    # the admin's window has ended, but its close waits for the running attempt; nobody is decided
    await sweep(exams)
    async with exams.app[sessionmaker_key]() as session:
        closed = await session.scalar(select(ExamSchedule.closed_at).where(ExamSchedule.id == admins["id"]))
    assert closed is None
    assert {await state_of(exams, i) for i in (GENERAL, SIMPLE)} == {"APPROVED"}
    # the running attempt still takes answers and is submitted under the rules of its own schedule
    answers = await correct_answers(exams.app, running, wrong=40)
    status, body = await doctor.post(f"/api/v1/attempts/{running}/answers", {"device": DEVICE, "answers": answers})
    assert status == 200 and len(body["saved"]) == len(answers), body
    status, body = await doctor.post(f"/api/v1/attempts/{running}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200 and body["attempt"]["passed"] is False, body
    # now the admin's window closes; the physicians of body01 have the body's window open: none is failed
    await sweep(exams)
    async with exams.app[sessionmaker_key]() as session:
        closed = await session.scalar(select(ExamSchedule.closed_at).where(ExamSchedule.id == admins["id"]))
        closes = (await session.scalars(select(AuditLog.detail).where(AuditLog.action == "schedule.close"))).all()
    assert closed is not None and closes == [{"decided": 0}]
    assert {await state_of(exams, i) for i in (GENERAL, SIMPLE, WAIVED_PRO)} == {"APPROVED"}
    paper = await humanities(doctor)
    assert paper["attempts_used"] == 2 and paper["can_start"] is True and paper["outcome"] == "pending", paper
    third = await start(doctor, "humanities")
    assert (await attempt_row(exams, third)).schedule_id == own["id"] and (await attempt_row(exams, third)).attempt_no == 3


async def test_a_close_never_fails_a_running_attempt_and_tells_who_never_sat(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    admin, body01 = await staff(make_client, "admin"), await staff(make_client, "body01")
    running = await start(doctor, "humanities")
    await body01.post(f"/api/v1/attempts/{running}/extra-time", {"minutes": 20, "reason": "照顾"})
    admins = await humanities_schedule(admin)
    end = utcnow().replace(microsecond=0) - dt.timedelta(seconds=1)
    status, body = await admin.post(f"/api/v1/schedules/{admins['id']}/window",
                                    {"window_start": admins["window_start"], "window_end": iso(end)})
    assert status == 200, body
    await sweep(exams)
    assert await state_of(exams, SIMPLE) == "APPROVED" and await state_of(exams, GENERAL) == "APPROVED"
    # after the running attempt ends the window closes: it decides each physician it reached, once
    assert (await doctor.post(f"/api/v1/attempts/{running}/submit", {"device": DEVICE, "confirm": True}))[0] == 200
    await sweep(exams)
    await sweep(exams)
    assert await state_of(exams, GENERAL) == "FAILED"
    assert await state_of(exams, SIMPLE) == "FAILED"  # one attempt, no window left
    async with exams.app[sessionmaker_key]() as session:
        texts = (await session.scalars(select(Message.text).order_by(Message.id))).all()
        closes = await session.scalar(select(AuditLog.detail).where(AuditLog.action == "schedule.close"))
    assert closes["decided"] >= 2
    assert "您未在考试开放时间内参加医学人文测评，本周期考核结果待考核机构公布" in texts, texts
    assert "您已完成本周期考核的全部测评，考核结果待考核机构公布" in texts, texts  # the one who sat it


async def test_window_edits_move_running_deadlines_and_extra_time_runs_past_the_window(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue case 2: shortening, then +5 minutes, must not end the exam early."""
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    admin, body01 = await staff(make_client, "admin"), await staff(make_client, "body01")
    attempt_id = await start(doctor, "humanities")
    started = (await attempt_row(exams, attempt_id)).started_at
    limit = (await humanities_schedule(admin))["time_limit_minutes"]
    admins = await humanities_schedule(admin)
    end = utcnow().replace(microsecond=0) + dt.timedelta(minutes=3)
    status, body = await admin.post(f"/api/v1/schedules/{admins['id']}/window",
                                    {"window_start": admins["window_start"], "window_end": iso(end)})
    assert status == 200 and body["attempts_moved"] == 1, body
    assert (await attempt_row(exams, attempt_id)).deadline == end
    status, body = await body01.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 5, "reason": "断网"})
    assert status == 200 and body["extra_minutes"] == 5, body
    assert (await attempt_row(exams, attempt_id)).deadline == end + dt.timedelta(minutes=5)
    assert await sweep(exams) == 0
    # lengthening far gives the time limit plus the extra time, never more
    status, body = await admin.post(f"/api/v1/schedules/{admins['id']}/window",
                                    {"window_start": admins["window_start"], "window_end": iso(end + dt.timedelta(days=9))})
    assert status == 200, body
    assert (await attempt_row(exams, attempt_id)).deadline == started + dt.timedelta(minutes=limit + 5)
    async with exams.app[sessionmaker_key]() as session:
        moves = (await session.scalars(select(AuditLog.detail).where(
            AuditLog.action == "attempt.deadline", AuditLog.entity_id == str(attempt_id)).order_by(AuditLog.id))).all()
        grant = await session.scalar(select(AuditLog.detail).where(AuditLog.action == "attempt.extra_time"))
    assert [m["why"] for m in moves] == ["schedule.window", "schedule.window"]
    assert grant["deadline_after"] == (end + dt.timedelta(minutes=5)).isoformat()
    # shortened into the past: the time is up, in those words
    status, body = await admin.post(f"/api/v1/schedules/{admins['id']}/window",
                                    {"window_start": admins["window_start"],
                                     "window_end": iso(utcnow() - dt.timedelta(minutes=30))})
    assert status == 200, body
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/answers",
                                     {"device": DEVICE, "answers": [{"item": 1, "choice": "A", "seq": 1}]})
    assert status == 409 and body["error"]["message"] == "作答时间已到，本次答案未能保存", body
    status, body = await body01.post(f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 5, "reason": "断网"})
    assert status == 409 and "已结束" in body["error"]["message"], body


async def test_the_grace_is_real_at_its_boundary(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue case 3: answers arriving by deadline + grace are saved, on every save path; the sweeper
    submits only after that."""
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    app = exams.app
    grace = app[settings_key].exam_grace_seconds
    deadline = (await attempt_row(exams, attempt_id)).deadline
    physician_id = (await attempt_row(exams, attempt_id)).physician_id
    at_edge = deadline + dt.timedelta(seconds=grace)
    just_after = at_edge + dt.timedelta(microseconds=1)
    cache: PaperCache = app[paper_cache_key]

    async def save(item: int, now: dt.datetime, seq: int) -> Any:
        args = dict(attempt_id=attempt_id, physician_id=physician_id, device_id=DEVICE,
                    raw=[{"item": item, "choice": "A", "seq": seq}], now=now, grace_seconds=grace)
        hot = app[hot_path_key]
        result = await hot.save(cache, **args) if hot is not None else None
        if result is None:
            async with app[sessionmaker_key]() as session, session.begin():
                result = await answer_service.save_answers(session, cache, **args)
        return result

    assert (await save(1, deadline + dt.timedelta(seconds=2), 1)).saved == [{"item": 1, "seq": 1}]
    assert (await save(2, deadline + dt.timedelta(seconds=5), 2)).saved == [{"item": 2, "seq": 2}]
    assert (await save(3, at_edge, 3)).saved == [{"item": 3, "seq": 3}]
    with pytest.raises(answer_service.TimeUp) as refused:
        await save(4, just_after, 4)
    assert refused.value.message == "作答时间已到，本次答案未能保存"
    # the ORM path, which SQLite and every fallback take, draws the same line
    async with app[sessionmaker_key]() as session, session.begin():
        ok = await answer_service.save_answers(session, PaperCache(), attempt_id=attempt_id, physician_id=physician_id,
                                               device_id=DEVICE, raw=[{"item": 5, "choice": "A", "seq": 5}],
                                               now=at_edge, grace_seconds=grace)
    assert ok.saved == [{"item": 5, "seq": 5}]
    sessions = app[sessionmaker_key]
    assert await sweep_once(sessions, PaperCache(), _noop, grace_seconds=grace, clock=lambda: at_edge) == 0
    assert await sweep_once(sessions, PaperCache(), _noop, grace_seconds=grace, clock=lambda: just_after) == 1
    row = await attempt_row(exams, attempt_id)
    assert row.state == "scored" and row.submit_reason == "time_up"
    async with app[sessionmaker_key]() as session:
        from exam_server.exam.models import Answer

        saved = (await session.scalars(select(Answer.item_number).where(Answer.attempt_id == attempt_id))).all()
    assert sorted(saved) == [1, 2, 3, 5]  # every acknowledged answer was scored, the refused one is not there


async def test_submitting_after_the_sweeper_shows_the_result(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue case 4: no 409 after the server has submitted; past deadline + grace the clock ended it."""
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    grace = exams.app[settings_key].exam_grace_seconds
    swept = await start(doctor, "humanities")
    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(Attempt).where(Attempt.id == swept)
                              .values(deadline=utcnow() - dt.timedelta(seconds=grace + 1)))
    assert await sweep(exams) == 1
    status, body = await doctor.post(f"/api/v1/attempts/{swept}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200 and body["attempt"]["state"] == "scored", body
    assert body["attempt"]["submit_words"] == "时间到自动交卷" and body["attempt"]["score"] is not None
    # pressed after deadline + grace, before any sweep: the clock's submission, not the physician's
    late = await start(doctor, "humanities")
    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(Attempt).where(Attempt.id == late)
                              .values(deadline=utcnow() - dt.timedelta(seconds=grace + 1)))
    status, body = await doctor.post(f"/api/v1/attempts/{late}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200 and body["attempt"]["submit_reason"] == "time_up", body


async def test_device_id_errors_say_what_is_wrong(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": "x"})
    assert status == 400 and body["error"]["fields"]["device"] == "设备标识至少 8 个字符", body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": ""})
    assert status == 400 and body["error"]["fields"]["device"] == "设备标识至少 8 个字符", body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": "设备设备设备设备设备"})
    assert status == 400 and body["error"]["fields"]["device"] == "设备标识只能由字母、数字、下划线和短横线组成", body
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities"})
    assert status == 400 and body["error"]["fields"]["device"] == "设备标识不能为空", body


async def test_reading_my_exams_never_writes(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: results are decided where the state changes, not lazily inside a GET."""
    # Marked closed while the GET is read, so the app's own sweeper (every second) leaves it alone;
    # then reopened for the close to decide it.
    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(ExamSchedule).where(ExamSchedule.kind == "humanities")
                              .values(window_end=utcnow() - dt.timedelta(seconds=1), closed_at=utcnow()))
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    paper = await humanities(doctor)
    assert paper["outcome"] == "failed" and paper["locked_words"] == "考试已结束"
    assert await state_of(exams, SIMPLE) == "APPROVED"  # not yet: the window's close decides it
    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(ExamSchedule).where(ExamSchedule.kind == "humanities").values(closed_at=None))
    await sweep(exams)
    assert await state_of(exams, SIMPLE) == "FAILED"
