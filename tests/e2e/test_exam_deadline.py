"""Time-up in a browser: a physician closes the browser and the sweeper submits at the deadline; another
keeps the page open through zero (作答时间已到，正在交卷), with a last answer given offline that arrives too late.

The module runs its own `dingkao demo`: it ends the humanities window ~35 s from now (an attempt's
deadline is min(start + limit, window end) + extra time), which would close the paper for every other test.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.exam_flows import GENERAL, SIMPLE

from .conftest import own_demo
from .exam_steps import (publish_results, LOCAL, SAVED, answer, attempt_row, csrf_headers, first_login, keys_of, login_again, login_staff,
                         remaining_seconds, saved_answers, shot, start_paper, wait_for)

pytestmark = pytest.mark.e2e
WINDOW_LEFT = 35  # seconds from the window change to the window's end
GRACE_SECONDS = 10  # DINGKAO_EXAM_GRACE_SECONDS, the demo's default


demo_var, demo_server = own_demo("exam-deadline-demo")


def end_humanities_window_soon(context) -> dt.datetime:  # type: ignore[no-untyped-def]
    """As the admin, through the schedules API: the demo humanities window ends WINDOW_LEFT s from now."""
    r = context.request.get("/api/v1/schedules", headers=csrf_headers(context))
    assert r.ok, r.text()
    schedule = next(s for s in r.json()["items"] if s["kind"] == "humanities")
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=WINDOW_LEFT)
    r = context.request.post(f"/api/v1/schedules/{schedule['id']}/window",
                             data=json.dumps({"window_start": schedule["window_start"], "window_end": end.isoformat()}),
                             headers={**csrf_headers(context), "Content-Type": "application/json"})
    assert r.ok, r.text()
    return end.replace(tzinfo=None)


def scored(var: Path, attempt_id: int) -> dict | None:  # type: ignore[type-arg]
    row = attempt_row(var, attempt_id)
    return row if row["state"] == "scored" else None


def test_sweeper_submits_at_the_deadline_with_or_without_a_browser(make_context, demo_var: Path,
                                                                   screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    closer_context, stayer_context = make_context("phone"), make_context("phone")
    closer, stayer = closer_context.new_page(), stayer_context.new_page()
    first_login(closer, SIMPLE, phone="13800000001")
    first_login(stayer, GENERAL, phone="13800000010")
    admin_context = make_context("desktop")
    login_staff(admin_context.new_page(), "admin")
    window_end = end_humanities_window_soon(admin_context)

    # The first physician answers three questions and closes the browser.
    closer.goto("/exams")
    closer_attempt = start_paper(closer, "humanities")
    assert remaining_seconds(closer) <= WINDOW_LEFT
    keys = keys_of(demo_var, closer_attempt)
    for n in (1, 2, 3):
        answer(closer, n, keys[n])
    expect(closer.locator("[data-save]")).to_have_text(SAVED)
    closer_context.close()

    # The second keeps the page open; just before the deadline the network goes, and one more answer is given.
    stayer.goto("/exams")
    stayer_attempt = start_paper(stayer, "humanities")
    keys2 = keys_of(demo_var, stayer_attempt)
    answer(stayer, 1, keys2[1])
    expect(stayer.locator("[data-save]")).to_have_text(SAVED)
    deadline = dt.datetime.fromisoformat(attempt_row(demo_var, stayer_attempt)["deadline"])
    assert deadline == window_end == dt.datetime.fromisoformat(attempt_row(demo_var, closer_attempt)["deadline"])
    wait_for(lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None) >= deadline - dt.timedelta(seconds=5),
             timeout=WINDOW_LEFT, what="five seconds before the deadline")
    stayer_context.set_offline(True)
    answer(stayer, 2, keys2[2])
    expect(stayer.locator("[data-save]")).to_have_text(LOCAL)

    # At zero the page stops input and says it is submitting.
    expect(stayer.locator("[data-timeup]")).to_be_visible(timeout=10_000)
    expect(stayer.locator("[data-timeup]")).to_contain_text("作答时间已到，正在交卷")
    assert stayer.locator("[data-options] input").first.is_disabled()
    stayer.screenshot(path=str(screenshots / "exam-20-time-up-phone.png"))

    # The sweeper submits and scores both once the grace after the deadline has passed (answers in
    # flight still count until then), with no browser for the first.
    for attempt_id, points in ((closer_attempt, 6.0), (stayer_attempt, 2.0)):
        row = wait_for(lambda a=attempt_id: scored(demo_var, a), timeout=60, what=f"attempt {attempt_id} scored")
        late = (dt.datetime.fromisoformat(row["submitted_at"]) - deadline).total_seconds()
        assert late > GRACE_SECONDS, late
        assert (row["submit_reason"], row["score"], row["passed"]) == ("time_up", points, 0)

    # Back online, the late answer is refused and reported, and the page shows the result.
    stayer_context.set_offline(False)
    expect(stayer.locator("[data-banner]")).to_contain_text("第 2 题在截止时间之后的作答未能保存", timeout=15_000)
    expect(stayer.locator("[data-result-how]")).to_have_text("时间到自动交卷")
    expect(stayer.locator("[data-result-words]")).to_have_text("未通过")
    expect(stayer.locator("[data-result-score]")).to_have_text("2 / 100 分")
    assert saved_answers(demo_var, stayer_attempt) == {1: keys2[1]}
    shot(stayer, screenshots, "21-late-answer-refused-phone")
    stayer.goto("/")
    expect(stayer.locator(".state")).to_have_text("【待公布】")  # decided (one attempt), not yet published
    publish_results(make_context)
    stayer.goto("/")
    expect(stayer.locator(".state")).to_have_text("【考核不合格】")

    # The window's end decides the simple-procedure physician too (attempts were left, the time was not).
    again = make_context("phone").new_page()
    login_again(again, SIMPLE)

    def home_says_failed() -> bool:
        publish_results(make_context)
        again.goto("/")
        return again.locator(".state").inner_text() == "【考核不合格】"

    wait_for(home_says_failed, timeout=60, what="考核不合格 on the home page")
    shot(again, screenshots, "22-home-failed-after-window-phone")
    again.goto("/exams")
    humanities = again.locator(".paper[data-kind=humanities]")
    expect(humanities.locator(".attempt-list")).to_contain_text("6 分 · 未通过 · 时间到自动交卷")
    expect(again.locator("#exam-result")).to_have_text("【考核不合格】")
    assert again.locator("[data-start]").count() == 0
