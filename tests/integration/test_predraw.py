"""Papers drawn ahead (exam_server.exam.predraw) on both backends: a first start claims its
physician's paper, a start without one draws, a changed basis is never claimed, and of a hundred
parallel starts one claims; the attempt page returns its connection before rebuilding the paper."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, update

from exam_server.banks.models import BankQuestion, Paper
from exam_server.demo.exams import exam_login
from exam_server.exam import papers, predraw
from exam_server.exam.keys import paper_cache_key
from exam_server.exam.models import Attempt, ExamSchedule, PredrawnPaper
from exam_server.web.keys import engine_key, sessionmaker_key, settings_key
from registry.models import Physician, Registration
from registry.states import State

from ..exam_flows import DEVICE, GENERAL, SIMPLE, correct_answers, exam_doctor, paper_of, seed_exams, start


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app[settings_key])
    return client


async def humanities_schedule(app: Any) -> int:
    async with app[sessionmaker_key]() as session:
        return await session.scalar(select(ExamSchedule.id).where(ExamSchedule.kind == "humanities")
                                    .order_by(ExamSchedule.id))


async def schedule_ids(app: Any) -> list[int]:
    async with app[sessionmaker_key]() as session:
        return list((await session.scalars(select(ExamSchedule.id).order_by(ExamSchedule.id))).all())


async def fill(app: Any, schedule_id: int) -> int:
    return await predraw.fill_schedule(app[sessionmaker_key], app[paper_cache_key], schedule_id)


async def registration_of(app: Any, index: int) -> int:
    async with app[sessionmaker_key]() as session:
        return await session.scalar(select(Registration.id).join(Physician, Registration.physician_id == Physician.id)
                                    .where(Physician.id_number == exam_login(index)))


async def predrawn_of(app: Any, registration_id: int) -> list[PredrawnPaper]:
    async with app[sessionmaker_key]() as session:
        return list((await session.scalars(select(PredrawnPaper).where(
            PredrawnPaper.registration_id == registration_id).order_by(PredrawnPaper.id))).all())


async def attempt_of(app: Any, attempt_id: int) -> Attempt:
    async with app[sessionmaker_key]() as session:
        attempt = await session.get(Attempt, attempt_id)
        assert attempt is not None
        return attempt


async def test_a_first_start_claims_the_paper_drawn_ahead(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    schedule_id = await humanities_schedule(app)
    stored = await fill(app, schedule_id)
    async with app[sessionmaker_key]() as session:
        roster = await session.scalar(select(func.count()).select_from(PredrawnPaper)
                                      .where(PredrawnPaper.schedule_id == schedule_id))
    assert stored == roster and stored >= 2
    assert await fill(app, schedule_id) == 0  # nothing missing: a second pass draws nothing
    reg = await registration_of(app, SIMPLE)
    [ahead] = await predrawn_of(app, reg)
    assert ahead.claimed_at is None and ahead.question_count == len(ahead.paper["items"])
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    attempt = await attempt_of(app, attempt_id)
    assert attempt.paper == ahead.paper and attempt.question_count == ahead.question_count
    [after] = await predrawn_of(app, reg)
    assert after.claimed_at is not None and after.claimed_by_attempt_id == attempt_id
    # The page shows the claimed paper: its snapshots were written when it was drawn.
    app[paper_cache_key].papers.clear()
    app[paper_cache_key].snapshot_questions.clear()
    page = await paper_of(doctor, attempt_id)
    assert len(page["paper"]["items"]) == ahead.question_count


async def test_a_start_without_a_paper_drawn_ahead_draws_one(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    attempt = await attempt_of(app, attempt_id)
    assert attempt.question_count == len(attempt.paper["items"]) > 0
    assert await predrawn_of(app, await registration_of(app, SIMPLE)) == []
    # Having sat it, the physician gets no paper drawn ahead for it; nor one for a paper their procedure
    # never needs (simple: humanities only).
    for schedule_id in await schedule_ids(app):
        await fill(app, schedule_id)
    assert await predrawn_of(app, await registration_of(app, SIMPLE)) == []


@pytest.mark.parametrize("overlap", [False, True])
async def test_the_second_paper_claims_its_paper_unless_it_holds_a_question_seen(exams, make_client,  # type: ignore[no-untyped-def]
                                                                                  overlap: bool) -> None:
    app = exams.app
    for schedule_id in await schedule_ids(app):
        await fill(app, schedule_id)
    reg = await registration_of(app, GENERAL)
    kinds = {}
    async with app[sessionmaker_key]() as session:
        for p in await predrawn_of(app, reg):
            kinds[(await session.get(ExamSchedule, p.schedule_id)).kind] = p
    assert set(kinds) == {"humanities", "professional"}
    doctor = await exam_doctor(make_client, exams, GENERAL)
    hum = await start(doctor, "humanities")
    if overlap:  # as if the humanities paper had held a question of the professional paper drawn ahead
        async with app[sessionmaker_key]() as session, session.begin():
            attempt = await session.get(Attempt, hum)
            record = dict(attempt.paper)
            record["items"] = [dict(record["items"][0], fp=kinds["professional"].paper["items"][0]["fp"])] + record["items"][1:]
            attempt.paper = record
        app[paper_cache_key].forget(hum)
    answers = await correct_answers(app, hum)
    assert (await doctor.post(f"/api/v1/attempts/{hum}/answers", {"device": DEVICE, "answers": answers}))[0] == 200
    assert (await doctor.post(f"/api/v1/attempts/{hum}/submit", {"device": DEVICE, "confirm": True}))[0] == 200
    pro = await attempt_of(app, await start(doctor, "professional"))
    ahead = next(p for p in await predrawn_of(app, reg) if p.id == kinds["professional"].id)
    if overlap:
        assert ahead.claimed_at is None and pro.paper["seed"] != ahead.paper["seed"]
    else:
        assert ahead.claimed_by_attempt_id == pro.id and pro.paper == ahead.paper


@pytest.mark.parametrize("change", ["pass_mark", "bank"])
async def test_a_paper_drawn_on_another_basis_is_not_claimed_and_is_redrawn(exams, make_client,  # type: ignore[no-untyped-def]
                                                                          change: str) -> None:
    app = exams.app
    schedule_id = await humanities_schedule(app)
    await fill(app, schedule_id)
    reg = await registration_of(app, SIMPLE)
    [stale] = await predrawn_of(app, reg)
    async with app[sessionmaker_key]() as session, session.begin():
        schedule = await session.get(ExamSchedule, schedule_id)
        if change == "pass_mark":  # the schedule's terms changed
            schedule.pass_mark = schedule.pass_mark - 1
        else:  # a question of the paper's banks retired
            paper = await session.get(Paper, schedule.paper_id)
            fp = stale.paper["items"][0]["fp"]
            await session.execute(update(BankQuestion).where(BankQuestion.bank_id.in_(paper.bank_ids),
                                                             BankQuestion.fingerprint == fp).values(retired=True))
    app[paper_cache_key].pools.clear()  # as when the process's cached pool expires (POOL_TTL)
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    attempt = await attempt_of(app, attempt_id)
    assert attempt.paper["seed"] != stale.paper["seed"]
    [still] = await predrawn_of(app, reg)
    assert still.claimed_at is None  # never claimed
    # The next pass deletes the stale papers and draws the others' again on the new basis.
    other = await registration_of(app, GENERAL)
    [before] = await predrawn_of(app, other)
    await fill(app, schedule_id)
    [redrawn] = await predrawn_of(app, other)
    assert redrawn.basis != before.basis and redrawn.paper["seed"] != before.paper["seed"]
    assert await predrawn_of(app, reg) == []  # it has an attempt now: nothing drawn ahead
    if change == "bank":
        assert all(it["fp"] != stale.paper["items"][0]["fp"] for it in redrawn.paper["items"])


async def test_hundred_parallel_starts_claim_one_paper_and_make_one_attempt(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    await fill(app, await humanities_schedule(app))
    reg = await registration_of(app, SIMPLE)
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    results = await asyncio.gather(*(doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
                                     for _ in range(100)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses
    async with app[sessionmaker_key]() as session:
        attempts = (await session.scalars(select(Attempt).where(Attempt.registration_id == reg))).all()
    [ahead] = await predrawn_of(app, reg)
    assert len(attempts) == 1 and ahead.claimed_by_attempt_id == attempts[0].id
    assert attempts[0].paper == ahead.paper


async def test_the_attempt_page_rebuilds_its_paper_holding_no_connection(exams, make_client,  # type: ignore[no-untyped-def]
                                                                         monkeypatch) -> None:
    app = exams.app
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    attempt_id = await start(doctor, "humanities")
    pool = app[engine_key].sync_engine.pool
    # Connections counted by the task that took them (the app's sweeper and pre-draw may hold their own
    # meanwhile); a session may give its connection back from another task, so they are keyed by record.
    owner: dict[Any, Any] = {}
    took: set[Any] = set()

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        owner[record] = asyncio.current_task()
        took.add(asyncio.current_task())

    def checkin(_dbapi: Any, record: Any) -> None:
        owner.pop(record, None)

    held: list[int] = []
    readers: list[Any] = []
    shape = papers.candidate_view

    def watched(paper: Any) -> dict[str, Any]:
        readers.append(asyncio.current_task())
        held.append(sum(task is readers[-1] for task in owner.values()))
        return shape(paper)

    monkeypatch.setattr(papers, "candidate_view", watched)
    cache = app[paper_cache_key]
    cache.papers.clear()
    cache.snapshot_questions.clear()
    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        await paper_of(doctor, attempt_id)
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)
    assert held == [0] and readers[0] in took, held  # the page did read the database, and let go first
    # A burst of page loads, each rebuilding (the cache emptied): every one answered, none 503.
    cache.papers.clear()
    results = await asyncio.gather(*(doctor.get(f"/api/v1/attempts/{attempt_id}?device={DEVICE}") for _ in range(100)))
    assert [s for s, _ in results] == [200] * 100


async def test_a_complete_schedule_is_searched_again_only_when_the_roster_or_its_basis_changes(  # type: ignore[no-untyped-def]
        exams, monkeypatch) -> None:
    app = exams.app
    schedule_id = await humanities_schedule(app)
    searches: list[int] = []
    undrawn = predraw._undrawn

    def counted(schedule: ExamSchedule, limit: int) -> Any:
        searches.append(schedule.id)
        return undrawn(schedule, limit)

    monkeypatch.setattr(predraw, "_undrawn", counted)
    complete: dict[int, Any] = {}

    async def pass_once() -> int:
        async with app[sessionmaker_key]() as session:
            roster = await predraw.roster_mark(session)
        return await predraw.fill_schedule(app[sessionmaker_key], app[paper_cache_key], schedule_id,
                                           roster=roster, complete=complete)

    assert await pass_once() > 0 and schedule_id in complete
    searches.clear()
    assert await pass_once() == 0 and searches == []  # nothing changed: not searched
    # A physician approved since (here: one taken off the roster and put back with no paper drawn).
    reg = await registration_of(app, SIMPLE)
    async with app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(Registration).where(Registration.id == reg).values(state=State.SUBMITTED))
        await session.execute(delete(PredrawnPaper).where(PredrawnPaper.registration_id == reg))
    assert await pass_once() == 0 and searches == [schedule_id]  # the roster changed: searched, nobody new
    searches.clear()
    async with app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(Registration).where(Registration.id == reg).values(state=State.APPROVED))
    assert await pass_once() == 1 and searches  # approved again: searched and drawn
    assert len(await predrawn_of(app, reg)) == 1
    # The paper's basis changes (its time limit): searched again although the roster did not change.
    searches.clear()
    async with app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(ExamSchedule).where(ExamSchedule.id == schedule_id)
                              .values(time_limit_minutes=ExamSchedule.time_limit_minutes + 1))
    assert await pass_once() > 0 and searches
