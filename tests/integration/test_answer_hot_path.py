"""The answer save and clock paths as tuned for load: on PostgreSQL a save whose paper is cached
is one statement on the hot path's own asyncpg pool (exam.hot_path), elsewhere the full
transaction; both refuse the same things the same way and keep the newest answer by sequence number."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, update

from exam_server.web import request_context
from exam_server.exam.models import Answer, Attempt
from exam_server.web.keys import sessionmaker_key, settings_key
from exam_server.exam.keys import hot_path_key, paper_cache_key

from registry.errors import NotFound

from ..exam_flows import DEVICE, GENERAL, SIMPLE, SIMPLE_STOMA, exam_doctor, paper_of, seed_exams, start


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
    assert status == 409 and body["error"]["code"] == "time_up" and body["error"]["message"] == "作答时间已到，本次答案未能保存", body
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


class CountingPool:
    """The hot path's asyncpg pool, counting its statements (and failing the first when told to)."""

    def __init__(self, pool: Any, fail_first: Exception | None = None) -> None:
        self.pool, self.fail_first, self.statements = pool, fail_first, 0

    async def fetch(self, *args: Any) -> Any:
        self.statements += 1
        if self.fail_first is not None:
            failure, self.fail_first = self.fail_first, None
            raise failure
        return await self.pool.fetch(*args)


async def sitting(exams: Any, make_client: Any) -> list[tuple[int, int, str]]:
    """(attempt id, physician id, a valid option label) for three physicians sitting now."""
    out = []
    for index, kind in ((SIMPLE, "humanities"), (GENERAL, "humanities"), (SIMPLE_STOMA, "humanities")):
        doctor = await exam_doctor(make_client, exams, index)
        attempt_id = await start(doctor, kind)
        paper = await paper_of(doctor, attempt_id)
        async with exams.app[sessionmaker_key]() as session:
            physician_id = await session.scalar(select(Attempt.physician_id).where(Attempt.id == attempt_id))
        out.append((attempt_id, physician_id, paper["paper"]["items"][0]["options"][0]["label"]))
    return out


async def test_saves_waiting_together_share_one_statement(exams, make_client, backend) -> None:  # type: ignore[no-untyped-def]
    hot, cache = exams.app[hot_path_key], exams.app[paper_cache_key]
    if backend == "sqlite":
        return  # no hot path there (above)
    (a, pa, la), (b, pb, lb), (c, pc, lc) = await sitting(exams, make_client)
    counting = hot._pool = CountingPool(hot._pool)
    try:
        await _saves_together(exams, hot, cache, counting, (a, pa, la), (b, pb, lb), (c, pc, lc))
    finally:
        hot._pool = counting.pool


async def _saves_together(exams: Any, hot: Any, cache: Any, counting: CountingPool, *sitters: tuple[int, int, str]) -> None:
    (a, pa, la), (b, pb, lb), (c, pc, lc) = sitters
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def save_one(attempt_id: int, physician_id: int, label: str, seq: int) -> Any:
        return hot.save(cache, attempt_id=attempt_id, physician_id=physician_id, device_id=DEVICE, now=now,
                        grace_seconds=10, raw=[{"item": 1, "choice": label, "seq": seq}])

    # Three saves for one attempt, one each for two others, and one from the wrong physician, all at
    # once: each gets its own answer, in fewer statements than saves. The three for one attempt may
    # land in any order (as three requests at once would); the newest stays.
    results = await asyncio.gather(save_one(a, pa, la, 1), save_one(b, pb, lb, 1), save_one(c, pc, lc, 1),
                                   save_one(a, pa, la, 3), save_one(a, pa, la, 2), save_one(b, pa, lb, 9),
                                   return_exceptions=True)
    assert results[1].saved == results[2].saved == [{"item": 1, "seq": 1}]
    for result, seq in zip((results[0], results[4], results[3]), (1, 2, 3)):
        assert result.saved + result.stale == [{"item": 1, "seq": seq}]
    assert results[3].saved == [{"item": 1, "seq": 3}]  # nothing newer can make it stale
    assert isinstance(results[5], NotFound)
    assert counting.statements <= 4, counting.statements
    assert (await stored(exams, a))[1] == (la, False, 3) and (await stored(exams, b))[1] == (lb, False, 1)
    assert (await stored(exams, c))[1] == (lc, False, 1)

    # The database failing a batch fails each save in it; none reads as saved, and the next batch works.
    counting.fail_first = asyncpg.PostgresConnectionError("connection lost")
    results = await asyncio.gather(save_one(b, pb, lb, 5), save_one(c, pc, lc, 5), return_exceptions=True)
    assert all(isinstance(r, asyncpg.PostgresConnectionError) for r in results), results
    assert (await stored(exams, b))[1][2] == 1 and (await stored(exams, c))[1][2] == 1
    result = await save_one(b, pb, lb, 6)
    assert result is not None and result.saved == [{"item": 1, "seq": 6}]


async def test_the_access_log_leaves_out_only_plain_successful_saves_and_clock_syncs(exams, make_client, caplog,  # type: ignore[no-untyped-def]
                                                                                   monkeypatch) -> None:
    # "Slow" is set out of reach first: on a busy machine a plain clock sync has taken over a second.
    monkeypatch.setattr(request_context, "SLOW_SECONDS", 60.0)
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    paper = await paper_of(doctor, attempt_id)
    label = paper["paper"]["items"][0]["options"][0]["label"]

    def logged() -> list[tuple[str, int]]:
        return [(r.fields["path"], r.fields["status"]) for r in caplog.records  # type: ignore[attr-defined]
                if r.name == "dingkao.access"]

    with caplog.at_level(logging.INFO, logger="dingkao.access"):
        assert (await save(doctor, attempt_id, [{"item": 1, "choice": label, "seq": 1}]))[0] == 200
        assert (await doctor.get(f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}"))[0] == 200
        assert logged() == []
        assert (await save(doctor, attempt_id, [{"item": 1, "choice": "Z", "seq": 2}]))[0] == 400
        assert (await paper_of(doctor, attempt_id))["attempt"]["id"] == attempt_id
    answers_path = f"/api/v1/attempts/{attempt_id}/answers"
    assert logged() == [(answers_path, 400), (f"/api/v1/attempts/{attempt_id}", 200)]
    monkeypatch.setattr(request_context, "SLOW_SECONDS", 0.0)  # every request is "slow" now
    with caplog.at_level(logging.INFO, logger="dingkao.access"):
        assert (await doctor.get(f"/api/v1/attempts/{attempt_id}/clock?device={DEVICE}"))[0] == 200
    assert logged()[-1] == (f"/api/v1/attempts/{attempt_id}/clock", 200)
    status, text = await exams.get("/metrics")
    assert status == 200
    assert 'route="/api/v1/attempts/{attempt_id}/answers",status="200"' in str(text)
