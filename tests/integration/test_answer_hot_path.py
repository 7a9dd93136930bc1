"""The answer save and clock paths as tuned for load: on PostgreSQL a save whose paper is cached
is one statement on the hot path's own asyncpg pool (exam.hot_path), elsewhere the full
transaction; both refuse the same things the same way and keep the newest answer by sequence number."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from exam_server.exam.models import Answer, Attempt
from exam_server.keys import hot_path_key, paper_cache_key, sessionmaker_key, settings_key

from ..exam_flows import DEVICE, GENERAL, SIMPLE, exam_doctor, paper_of, seed_exams, start


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def stored(client: Any, attempt_id: int) -> dict[int, tuple[str, bool, int]]:
    async with client.app[sessionmaker_key]() as session:
        rows = (await session.scalars(select(Answer).where(Answer.attempt_id == attempt_id))).all()
    return {a.item_number: (a.choice, a.flagged, a.seq) for a in rows}


def save(doctor: Any, attempt_id: int, answers: list[dict[str, Any]], device: str = DEVICE) -> Any:
    return doctor.post(f"/api/v1/attempts/{attempt_id}/answers", {"device": device, "answers": answers})


@pytest.mark.parametrize("cached", [True, False], ids=["paper-cached", "paper-not-cached"])
async def test_newest_sequence_wins_and_is_stored_before_the_reply(exams, make_client, cached) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    if not cached:
        exams.app[paper_cache_key].forget(attempt_id)
    first, second = paper["paper"]["items"][0], paper["paper"]["items"][1]
    a, b = first["options"][0]["label"], first["options"][1]["label"]
    status, body = await save(doctor, attempt_id, [{"item": 1, "choice": a, "seq": 5, "flagged": True},
                                                   {"item": 2, "choice": second["options"][0]["label"], "seq": 6}])
    assert status == 200 and body["saved"] == [{"item": 1, "seq": 5}, {"item": 2, "seq": 6}] and body["stale"] == []
    assert (await stored(exams, attempt_id))[1] == (a, True, 5)
    # An older sequence number arriving late changes nothing; a newer one replaces the answer.
    status, body = await save(doctor, attempt_id, [{"item": 1, "choice": b, "seq": 4}])
    assert status == 200 and body["stale"] == [{"item": 1, "seq": 4}] and body["saved"] == []
    status, body = await save(doctor, attempt_id, [{"item": 1, "choice": b, "seq": 7}])
    assert status == 200 and body["saved"] == [{"item": 1, "seq": 7}]
    assert (await stored(exams, attempt_id)) == {1: (b, False, 7), 2: (second["options"][0]["label"], False, 6)}
    status, clock = await doctor.get(f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}")
    assert status == 200 and clock["state"] == "in_progress" and clock["device_current"] is True
    assert 0 < clock["remaining_seconds"] and clock["deadline"] == body["deadline"]


async def test_refusals_are_the_same_on_every_path(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    other = await exam_doctor(make_client, exams, GENERAL)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    label = paper["paper"]["items"][0]["options"][0]["label"]
    good = [{"item": 1, "choice": label, "seq": 1}]
    # Another physician's attempt reads as missing, whether or not the answers would fit it.
    for answers in (good, [{"item": 999, "choice": "Z", "seq": 1}]):
        status, body = await save(other, attempt_id, answers)
        assert status == 404 and body["error"]["code"] == "not_found", body
    status, body = await other.get(f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}")
    assert status == 404, body
    # An option the question does not have is named.
    status, body = await save(doctor, attempt_id, [{"item": 1, "choice": "Z", "seq": 2}])
    assert status == 400 and "“Z”不是该题的选项" in body["error"]["message"], body
    # Another device took over: this one is told so and nothing is written.
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/claim", {"device": "device-bbbbbbbb"})
    assert status == 200 and body["took_over"] is True
    status, body = await save(doctor, attempt_id, good)
    assert status == 409 and body["error"]["code"] == "taken_over", body
    status, clock = await doctor.get(f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}")
    assert status == 200 and clock["device_current"] is False
    assert await stored(exams, attempt_id) == {}
    # Past the deadline and its grace: refused, not stored.
    settings = exams.app[settings_key]
    async with exams.app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(Attempt).where(Attempt.id == attempt_id).values(
            deadline=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=settings.exam_grace_seconds + 5)))
    status, body = await save(doctor, attempt_id, good, device="device-bbbbbbbb")
    assert status == 409 and body["error"]["code"] == "time_up" and "考试时间已到" in body["error"]["message"], body
    assert await stored(exams, attempt_id) == {}


async def test_answers_after_submission_are_refused(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    label = paper["paper"]["items"][0]["options"][0]["label"]
    assert (await save(doctor, attempt_id, [{"item": 1, "choice": label, "seq": 1}]))[0] == 200
    status, body = await doctor.post(f"/api/v1/attempts/{attempt_id}/submit", {"device": DEVICE, "confirm": True})
    assert status == 200, body
    status, body = await save(doctor, attempt_id, [{"item": 1, "choice": label, "seq": 2}])
    assert status == 409 and body["error"]["code"] == "time_up" and body["error"]["message"] == "试卷已提交，不能再作答"
    assert (await stored(exams, attempt_id))[1][2] == 1
    status, clock = await doctor.get(f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}")
    assert status == 200 and clock["state"] != "in_progress"


async def test_the_hot_path_decides_on_postgresql_and_hands_the_rest_over(exams, make_client, backend) -> None:  # type: ignore[no-untyped-def]
    hot, cache = exams.app[hot_path_key], exams.app[paper_cache_key]
    if backend == "sqlite":
        assert hot is None  # the embedded default keeps the ORM transaction
        return
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    async with exams.app[sessionmaker_key]() as session:
        physician_id = await session.scalar(select(Attempt.physician_id).where(Attempt.id == attempt_id))
    item = paper["paper"]["items"][0]
    label = item["options"][0]["label"]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    args: dict[str, Any] = dict(attempt_id=attempt_id, physician_id=physician_id, device_id=DEVICE, now=now,
                                grace_seconds=10)
    result = await hot.save(cache, raw=[{"item": 1, "choice": label, "seq": 3}], **args)
    assert result is not None and result.saved == [{"item": 1, "seq": 3}] and result.deadline is not None
    assert (await stored(exams, attempt_id))[1] == (label, False, 3)
    # An answer that does not fit, or a paper this process does not hold: the transaction decides.
    assert await hot.save(cache, raw=[{"item": 1, "choice": "Z", "seq": 4}], **args) is None
    cache.forget(attempt_id)
    assert await hot.save(cache, raw=[{"item": 1, "choice": label, "seq": 5}], **args) is None
    assert (await stored(exams, attempt_id))[1] == (label, False, 3)
    clock = await hot.clock(physician_id, attempt_id)
    assert clock.state == "in_progress" and clock.device_id == DEVICE and clock.deadline == result.deadline
