"""A window changes while the candidate's exam page is open (issue 18): the body shortens its window,
then grants extra time; the countdown follows each change without a reload, and the page never shows a
submission that did not happen.

The module runs its own `dingkao demo`: it ends the admin's humanities window and opens the body's
own in its place (never two open windows for one physician and paper), which would change the
papers of every other test.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.exam_flows import SIMPLE

from .conftest import own_demo
from .exam_steps import (SAVED, answer, attempt_row, csrf_headers, first_login, keys_of, login_staff,
                         remaining_seconds, shot, start_paper, wait_for)

pytestmark = pytest.mark.e2e


demo_var, demo_server = own_demo("exam-schedule-changes-demo")


def call(context, method: str, path: str, body: Any = None) -> Any:  # type: ignore[no-untyped-def]
    headers = {**csrf_headers(context), "Content-Type": "application/json"}
    r = context.request.fetch(path, method=method, headers=headers,
                              data=json.dumps(body) if body is not None else None)
    assert r.ok, r.text()
    return r.json()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def test_the_countdown_follows_a_shortened_window_and_extra_time(make_context, demo_var: Path,
                                                                 screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    admin, body = make_context("desktop"), make_context("desktop")
    login_staff(admin.new_page(), "admin")
    login_staff(body.new_page(), "body01")
    admins = next(s for s in call(admin, "GET", "/api/v1/schedules")["items"] if s["kind"] == "humanities")
    # The hand-over lies a little ahead: were the admin's window to end before the body's exists, the
    # sweeper would close it with nothing else open and decide this physician 考核不合格 (rule 8).
    switch = utc_now() + dt.timedelta(seconds=20)
    call(admin, "POST", f"/api/v1/schedules/{admins['id']}/window",
         {"window_start": admins["window_start"], "window_end": switch.isoformat()})
    own = call(body, "POST", "/api/v1/schedules", {
        "paper_id": admins["paper_id"], "window_start": switch.isoformat(),
        "window_end": (switch + dt.timedelta(days=1)).isoformat(), "time_limit_minutes": 60,
        "attempts_allowed": 3, "pass_mark": 60})
    assert utc_now() < switch, "both schedules must be saved before the hand-over for this test to mean anything"

    context = make_context("phone")
    page = context.new_page()
    first_login(page, SIMPLE, phone="13800000031")
    wait_for(lambda: utc_now() > switch, timeout=30, what="the body's window to open")
    page.goto("/exams")
    attempt_id = start_paper(page, "humanities")
    assert attempt_row(demo_var, attempt_id)["schedule_id"] == own["id"]
    assert remaining_seconds(page) > 55 * 60
    keys = keys_of(demo_var, attempt_id)
    answer(page, 1, keys[1])
    expect(page.locator("[data-save]")).to_have_text(SAVED)

    # The body shortens its window to end two minutes from now: the open page's countdown follows.
    end = utc_now() + dt.timedelta(minutes=2)
    moved = call(body, "POST", f"/api/v1/schedules/{own['id']}/window",
                 {"window_start": own["window_start"], "window_end": end.isoformat()})
    assert moved["attempts_moved"] == 1
    expect(page.locator("[data-banner]")).to_contain_text("截止时间提前", timeout=15_000)
    wait_for(lambda: remaining_seconds(page) <= 120, timeout=15, what="the countdown at the new window end")
    assert dt.datetime.fromisoformat(attempt_row(demo_var, attempt_id)["deadline"]) == end.replace(tzinfo=None)
    shot(page, screenshots, "30-window-shortened-phone")

    # Then three minutes of extra time: it runs past the window's end, and the countdown follows again.
    attempts = call(body, "GET", f"/api/v1/schedules/{own['id']}/attempts")["items"]
    assert [a["id"] for a in attempts] == [attempt_id]
    granted = call(body, "POST", f"/api/v1/attempts/{attempt_id}/extra-time", {"minutes": 3, "reason": "网络中断"})
    assert granted["extra_minutes"] == 3
    expect(page.locator("[data-banner]")).to_contain_text("考试时间已延长（累计 3 分钟）", timeout=15_000)
    wait_for(lambda: 120 < remaining_seconds(page) <= 300, timeout=15, what="the countdown with the extra time")
    shot(page, screenshots, "31-extra-time-after-shortening-phone")

    # The page never shows a submission that did not happen: still answering, then the physician's own.
    expect(page.locator("[data-timeup]")).to_be_hidden()
    expect(page.locator("[data-result]")).to_be_hidden()
    answer(page, 2, keys[2])
    expect(page.locator("[data-save]")).to_have_text(SAVED)
    page.click("[data-submit]")
    expect(page.locator("[data-confirm]")).to_be_visible()
    page.click("[data-confirm-ok]")
    expect(page.locator("[data-result]")).to_be_visible()
    expect(page.locator("[data-result-how]")).to_have_text("考生交卷")
    expect(page.locator("[data-result-score]")).to_have_text("4 / 100 分")
    row = attempt_row(demo_var, attempt_id)
    assert (row["state"], row["submit_reason"], row["score"]) == ("scored", "physician", 4.0)
    shot(page, screenshots, "32-submitted-after-changes-phone")
