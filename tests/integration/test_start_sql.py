"""Starting an attempt in two statements on PostgreSQL (exam.start_sql): it writes what the ORM start
writes, takes only the plain success, and leaves every refusal and race to the ORM path."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from exam_server.demo.exams import exam_login
from exam_server.exam import start_sql
from exam_server.exam.models import Attempt, QuestionSnapshot
from exam_server.exam.papers import PaperCache, rebuild
from exam_server.web.keys import sessionmaker_key, settings_key
from exam_server.exam.keys import hot_path_key, paper_cache_key
from exam_server.identity import consent
from exam_server.identity.models import FaceConsent, IdentityCheck
from registry.db import utcnow
from registry.models import AuditLog, Physician

from ..exam_flows import DEVICE, GENERAL, SIMPLE, exam_doctor, paper_of, seed_exams, start


@pytest.fixture
async def exams(client, backend):  # type: ignore[no-untyped-def]
    if backend != "postgres":
        pytest.skip("the two-statement start is PostgreSQL's (SQLite keeps the ORM start)")
    await seed_exams(client.app[settings_key])
    return client


async def physician_id(app: Any, index: int) -> int:
    async with app[sessionmaker_key]() as session:
        return int(await session.scalar(select(Physician.id).where(Physician.id_number == exam_login(index))))


async def warm(app: Any, make_client: Any, client: Any) -> None:
    """One start over HTTP loads the humanities pool into this process's cache, as in a sitting."""
    await start(await exam_doctor(make_client, client, GENERAL), "humanities")
    assert app[paper_cache_key].pools


def fast(app: Any, pid: int, *, kind: str = "humanities", face_check: bool = False, device: str = DEVICE) -> Any:
    cache = app[paper_cache_key]

    async def load_pool(paper_id: int, bank_ids: Any) -> Any:
        async with app[sessionmaker_key]() as session:
            return await cache.pool_of(session, paper_id, bank_ids)

    return start_sql.start(app[hot_path_key].pool, cache, load_pool, physician_id=pid, account_id=None, kind=kind,
                           device_id=device, face_check=face_check, now=utcnow(), request_id="req-fast-start-1")


async def test_writes_what_the_orm_start_writes(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    pid = await physician_id(app, SIMPLE)
    started = await fast(app, pid)
    assert started is not None
    async with app[sessionmaker_key]() as session:
        attempt = await session.get(Attempt, started.attempt_id)
        assert attempt is not None and attempt.physician_id == pid and attempt.state == "in_progress"
        assert attempt.attempt_no == 1 and attempt.device_id == DEVICE and attempt.deadline == started.deadline
        assert attempt.question_count == len(attempt.paper["items"]) > 0
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "attempt.start",
                                                            AuditLog.entity_id == str(attempt.id)))
        assert audit is not None and audit.request_id == "req-fast-start-1"
        assert audit.detail["attempt_no"] == 1 and audit.detail["deadline"] == started.deadline.isoformat()
        # Every drawn question is snapshotted: another process (an empty cache) rebuilds the same paper.
        keys = attempt.paper["snaps"]
        assert await session.scalar(select(func.count()).select_from(QuestionSnapshot)
                                    .where(QuestionSnapshot.fingerprint.in_(keys))) == len(set(keys))
        rebuilt = await rebuild(session, PaperCache(), attempt.id, attempt.paper)
    cached = app[paper_cache_key].papers[started.attempt_id]
    assert [it.question.fingerprint for it in rebuilt.items] == [it.question.fingerprint for it in cached.items]
    assert [[o.label for o in it.options] for it in rebuilt.items] == [[o.label for o in it.options] for it in cached.items]
    # The physician's page sees it as any other attempt.
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    page = await paper_of(doctor, started.attempt_id)
    assert len(page["paper"]["items"]) == attempt.question_count


async def test_refusals_are_left_to_the_orm_path(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    pid = await physician_id(app, SIMPLE)
    await warm(app, make_client, exams)
    general = await physician_id(app, GENERAL)
    assert await fast(app, general, kind="professional") is None  # humanities first (and one in progress)
    assert await fast(app, pid) is not None
    assert await fast(app, pid, device="device-bbbbbbbb") is None  # one in progress already
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    status, body = await doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
    assert status == 409 and body["error"]["code"] == "locked_other_in_progress", body


async def test_simultaneous_starts_with_a_warm_pool_make_one_attempt(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    await warm(app, make_client, exams)
    doctor = await exam_doctor(make_client, exams, SIMPLE)
    results = await asyncio.gather(*(doctor.post("/api/v1/exams/start", {"kind": "humanities", "device": DEVICE})
                                     for _ in range(50)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1 and set(statuses) <= {201, 409}, statuses
    pid = await physician_id(app, SIMPLE)
    async with app[sessionmaker_key]() as session:
        assert await session.scalar(select(func.count()).select_from(Attempt).where(Attempt.physician_id == pid)) == 1


async def test_the_identity_check_opens_one_attempt(exams, make_client) -> None:  # type: ignore[no-untyped-def]
    app = exams.app
    await warm(app, make_client, exams)
    pid = await physician_id(app, SIMPLE)
    assert await fast(app, pid, face_check=True) is None  # no consent, no check: the ORM path refuses
    now = utcnow()
    async with app[sessionmaker_key]() as session, session.begin():
        session.add(FaceConsent(physician_id=pid, text_version=consent.VERSION, accepted_at=now))
        stale = IdentityCheck(physician_id=pid, kind="humanities", steps=[], state="passed", distance=0.3,
                              created_at=now - dt.timedelta(hours=2), decided_at=now - dt.timedelta(hours=2))
        check = IdentityCheck(physician_id=pid, kind="humanities", steps=[], state="passed", distance=0.3,
                              created_at=now, decided_at=now)
        session.add_all([stale, check])
    started = await fast(app, pid, face_check=True)
    assert started is not None
    async with app[sessionmaker_key]() as session:
        used = dict((await session.execute(select(IdentityCheck.id, IdentityCheck.used_by_attempt_id)
                                           .where(IdentityCheck.physician_id == pid))).all())
    assert used == {stale.id: None, check.id: started.attempt_id}  # the live one, not the two-hour-old one
