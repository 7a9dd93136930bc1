"""The exam engine over HTTP on both backends: starting, answering, submitting, results, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from exam_server.exam.models import Answer, Attempt
from exam_server.keys import sessionmaker_key

from ..exam_flows import DEVICE, GENERAL, SIMPLE, exam_doctor, first_option_answers, paper_of, seed_exams, start


@pytest.fixture
async def exams(client):  # type: ignore[no-untyped-def]
    await seed_exams(client.app["settings"] if False else _settings_of(client))
    return client


def _settings_of(client: Any) -> Any:
    from exam_server.keys import settings_key

    return client.app[settings_key]


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
