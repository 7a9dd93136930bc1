"""Reusable flows for exam-engine tests: a demo exam physician ready to sit, answering a paper."""

from __future__ import annotations

from typing import Any

from exam_server.demo.exams import exam_login, seed_exam_demo
from exam_server.web.keys import sms_key
from exam_server.settings import Settings

from .helpers import Api

DEVICE = "device-aaaaaaaa"
GENERAL, SIMPLE, WAIVED_PRO, SUBMITTED, INST_APPROVED, SIMPLE_STOMA = range(6)


async def seed_exams(settings: Settings) -> None:
    assert await seed_exam_demo(settings)


async def exam_doctor(make_client: Any, client: Api, index: int) -> Api:
    """Another browser logged in as exam-demo physician ``index``, past the first-login steps."""
    doctor = await make_client()
    await doctor.ready_physician(sms_outbox=client.app[sms_key].outbox, login=exam_login(index), phone=f"1370000{index:04d}")
    return doctor


async def start(doctor: Api, kind: str, device: str = DEVICE) -> int:
    status, body = await doctor.post("/api/v1/exams/start", {"kind": kind, "device": device})
    assert status == 201, body
    return int(body["attempt_id"])


async def paper_of(doctor: Api, attempt_id: int, device: str = DEVICE) -> dict[str, Any]:
    status, body = await doctor.get(f"/api/v1/attempts/{attempt_id}?device={device}")
    assert status == 200, body
    return body


def first_option_answers(paper: dict[str, Any], *, seq: int = 1) -> list[dict[str, Any]]:
    return [{"item": it["number"], "choice": it["options"][0]["label"], "seq": seq} for it in paper["paper"]["items"]]


async def correct_answers(app: Any, attempt_id: int, *, wrong: int = 0, seq: int = 1) -> list[dict[str, Any]]:
    """The right answer to every item, read server-side as scoring does (the first ``wrong`` items get a
    wrong one) - the test's oracle; no endpoint ever reveals keys."""
    from exam_server.exam import papers
    from exam_server.exam.models import Attempt
    from exam_server.web.keys import sessionmaker_key

    async with app[sessionmaker_key]() as session:
        attempt = await session.get(Attempt, attempt_id)
        paper = await papers.rebuild(session, papers.PaperCache(), attempt_id, attempt.paper)
    out = []
    for it in paper.items:
        key = "".join(it.key)
        if it.number <= wrong:
            key = next(o.label for o in it.options if o.label not in it.key)
        out.append({"item": it.number, "choice": key, "seq": seq})
    return out


async def set_deadline_past(app: Any, attempt_id: int, seconds: int = 60) -> None:
    """Time passes: the attempt's deadline moves into the past (as if its time limit ran out)."""
    import datetime as dt

    from sqlalchemy import update

    from exam_server.exam.models import Attempt
    from exam_server.web.keys import sessionmaker_key
    from registry.db import utcnow

    async with app[sessionmaker_key]() as session, session.begin():
        await session.execute(update(Attempt).where(Attempt.id == attempt_id)
                              .values(deadline=utcnow() - dt.timedelta(seconds=seconds)))
