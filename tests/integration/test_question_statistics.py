"""Question statistics (item analysis) for the admin and the XLSX exports of attempts and question
statistics, each within its scope. Runs on both backends, with attempts sat through the engine."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from exam_server.exam.models import Attempt
from exam_server.web.keys import sessionmaker_key, settings_key

from ..exam_flows import GENERAL, SIMPLE, DEVICE, correct_answers, exam_doctor, seed_exams, start

SIMPLE_STOMA = 5  # 许静, INST002


@pytest.fixture
async def sat(client, make_client):  # type: ignore[no-untyped-def]
    """Three physicians sat the humanities paper: all right, all wrong, the second half right."""
    await seed_exams(client.app[settings_key])
    out = {}
    for index, wrong in ((GENERAL, 0), (SIMPLE, 10_000), (SIMPLE_STOMA, None)):
        doctor = await exam_doctor(make_client, client, index)
        attempt = await start(doctor, "humanities")
        answers = await correct_answers(client.app, attempt)
        answers = await correct_answers(client.app, attempt, wrong=len(answers) // 2 if wrong is None else wrong)
        assert (await doctor.post(f"/api/v1/attempts/{attempt}/answers", {"device": DEVICE, "answers": answers}))[0] == 200
        status, body = await doctor.post(f"/api/v1/attempts/{attempt}/submit", {"device": DEVICE, "confirm": True})
        assert status == 200, body
        out[index] = (attempt, len(answers), doctor)
    return out


async def staff(make_client, username: str):  # type: ignore[no-untyped-def]
    api = await make_client()
    await api.login_staff(username)
    return api


def _sheet(data: bytes) -> list[tuple[Any, ...]]:
    return list(openpyxl.load_workbook(io.BytesIO(data), read_only=True).active.values)


async def test_admin_sees_item_analysis_with_flags_on_the_bank_page(client, make_client, sat):  # type: ignore[no-untyped-def]
    n = sat[GENERAL][1]
    admin = await staff(make_client, "admin")
    status, body = await admin.get("/api/v1/admin/question-statistics")
    assert status == 200, body
    items = body["items"]
    # Every drawn item counted once per attempt; right answers: all, none, and the second half.
    assert sum(r["drawn"] for r in items) == 3 * n
    assert sum(r["correct"] for r in items) == n + (n - n // 2)
    assert all(r["question"] is not None and 0 <= r["share_correct"] <= 1 for r in items)
    # Upper 27% (one of three attempts) is the all-right one, the lower the all-wrong one: a question
    # both drew discriminates fully; none is negative.
    async with client.app[sessionmaker_key]() as s:
        papers = {a.id: {it["fp"] for it in a.paper["items"]} for a in (await s.scalars(select(Attempt))).all()}
    both = papers[sat[GENERAL][0]] & papers[sat[SIMPLE][0]]
    assert both and all(r["discrimination"] == 1.0 for r in items if r["fingerprint"] in both)
    assert not any(r["discrimination"] is not None and r["discrimination"] < 0 for r in items)
    # A question only the all-wrong attempt drew never had its key chosen.
    assert all(r["never_chosen"] for r in items if r["correct"] == 0)
    # Flags need 10 draws: three attempts flag nothing.
    assert not any(r["flags"] for r in items)
    # With a lower threshold the same data flags: the page shows them (checked through the function).
    from exam_server.results.statistics import question_statistic_rows
    from registry.scope import Actor
    from registry.roles import Role

    async with client.app[sessionmaker_key]() as s:
        flagged = await question_statistic_rows(s, Actor(role=Role.ADMIN, account_id=0), min_drawn=1)
    assert any("过难" in r["flags"] for r in flagged) and any("过易" in r["flags"] for r in flagged)

    bank = (await admin.get("/api/v1/admin/question-statistics"))[1]
    status, page, _ = await admin.page("/admin/banks")
    assert status == 200 and "试题作答统计" in page and 'id="item-stats-table"' in page
    assert f'data-question="{items[0]["question"]}"' in page
    status, data = await admin.get("/api/v1/exports/question-statistics.xlsx")
    assert status == 200
    rows = _sheet(data)
    assert rows[0] == ("题目编号", "题干", "被抽次数", "作答次数", "正确率", "区分度", "从未被选的选项", "标记")
    assert len(rows) == len(bank["items"]) + 1
    assert (await admin.get("/api/v1/admin/question-statistics?bank_id=x"))[0] == 400
    assert (await admin.get("/api/v1/admin/question-statistics?bank_id=99999"))[1] == {"items": []}

    # Only the admin: every other role is refused, page and API and export.
    for username in ("body01", "inst01", "health01"):
        other = await staff(make_client, username)
        assert (await other.get("/api/v1/admin/question-statistics"))[0] == 403
        assert (await other.get("/api/v1/exports/question-statistics.xlsx"))[0] == 403
        assert (await other.page("/admin/banks"))[0] == 403
    doctor = sat[GENERAL][2]
    assert (await doctor.get("/api/v1/admin/question-statistics"))[0] == 403


async def test_attempt_export_stays_within_each_roles_scope(client, make_client, sat):  # type: ignore[no-untyped-def]
    expected = {"admin": {"周文", "吴敏", "许静"}, "health01": {"周文", "吴敏", "许静"}, "body01": {"周文", "吴敏", "许静"},
                "inst01": {"周文", "吴敏"}, "inst02": {"许静"}, "body02": set(), "inst03": set()}
    for username, names in expected.items():
        api = await staff(make_client, username)
        status, data = await api.get("/api/v1/exports/attempts.xlsx")
        assert status == 200, username
        rows = _sheet(data)
        assert rows[0] == ("姓名", "证件号码", "工作单位", "试卷", "第几次", "开始时间", "交卷时间", "得分", "合格分", "结论")
        assert {r[0] for r in rows[1:]} == names, username
        assert all("*" in r[1] for r in rows[1:])  # ID numbers masked
    # The body sees each conclusion; the institution sees 待公布 until the scores are published
    # (docs/assessment-rules.md, "Results before publication").
    _, data = await (await staff(make_client, "body01")).get("/api/v1/exports/attempts.xlsx")
    outcome = {r[0]: r[9] for r in _sheet(data)[1:] if r[0] in ("周文", "吴敏")}
    assert outcome == {"周文": "合格", "吴敏": "不合格"}
    _, data = await (await staff(make_client, "inst01")).get("/api/v1/exports/attempts.xlsx")
    assert {r[0]: (r[7], r[9]) for r in _sheet(data)[1:]} == {"周文": ("待公布", "待公布"), "吴敏": ("待公布", "待公布")}
    doctor = sat[GENERAL][2]
    assert (await doctor.get("/api/v1/exports/attempts.xlsx"))[0] == 403
    proctor = await staff(make_client, "proctor01")
    assert (await proctor.get("/api/v1/exports/attempts.xlsx"))[0] == 403
