"""Sitting papers in a browser: 我的考试, the exam page on a phone (reload, flags, an offline stretch),
results on the home page, another device taking over, extra time and ending by staff on 考试安排.

The module runs its own `dingkao demo` (its SMS limits and schedules are its own); the test reads
the keys from the server's SQLite file, never over HTTP.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.exam_flows import GENERAL, SIMPLE_STOMA, SUBMITTED, WAIVED_PRO

from .conftest import own_demo
from .exam_steps import (publish_results, LOCAL, SAVED, answer, answered_count, assert_fits_the_screen, attempt_row,
                         expect_countdown_on_server_time, first_login, keys_of, login_again, login_staff, paper_of,
                         remaining_seconds, saved_answers, shot, start_paper, wait_for, wrong_choice)
from .steps import confirm_dialog

pytestmark = pytest.mark.e2e
# A device clock two hours fast, adjustable by the test through window.__skew.
SKEWED_CLOCK = "(() => { const real = Date.now.bind(Date); window.__skew = 2 * 3600 * 1000; Date.now = () => real() + window.__skew; })()"


demo_var, demo_server = own_demo("exam-taking-demo")


def confirm_submit(page) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-submit]")
    expect(page.locator("[data-confirm]")).to_be_visible()
    page.click("[data-confirm-ok]")
    expect(page.locator("[data-result]")).to_be_visible()


def test_general_procedure_passes_both_papers_with_an_offline_stretch(make_context, demo_var: Path,
                                                                      screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    context = make_context("phone")
    page = context.new_page()
    first_login(page, GENERAL, phone="13800000000")
    expect(page.locator(".state")).to_have_text("【审核通过】")
    page.locator(".tool", has_text="我的考试").click()
    page.wait_for_url("**/exams")
    humanities, professional = page.locator(".paper[data-kind=humanities]"), page.locator(".paper[data-kind=professional]")
    expect(humanities).to_contain_text("60 分钟")
    expect(humanities.locator("[data-attempts]")).to_have_text("已考 0 次，剩余 1 次（共 1 次）")
    expect(humanities).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} 至 \d{4}-\d{2}-\d{2} \d{2}:\d{2}"))
    expect(professional.locator("[data-locked]")).to_have_text("需先通过医学人文测评")
    assert professional.locator("[data-start]").count() == 0
    shot(page, screenshots, "01-my-exams-phone")
    assert_fits_the_screen(page)

    # 开始考试 shows the 考试须知 first; stepping back starts nothing.
    page.click("[data-start=humanities]")
    notice = confirm_dialog(page, expect="考试须知", ok=False)
    assert "60 分钟" in notice and "唯一的一次机会" in notice and "自动交卷" in notice, notice
    shot(page, screenshots, "01b-exam-notice-cancelled-phone")
    expect(humanities.locator("[data-attempts]")).to_have_text("已考 0 次，剩余 1 次（共 1 次）")

    # ---- humanities: 50 questions of 2 points
    attempt = start_paper(page, "humanities")
    # The header's 退出 warns that the clock keeps running; 继续作答 keeps the doctor here.
    page.click(".topbar [data-logout]")
    warning = confirm_dialog(page, expect="退出登录不会暂停计时", ok=False)
    assert "自动交卷" in warning
    assert re.search(r"/exams/attempt/\d+$", page.url)
    paper = paper_of(demo_var, attempt)
    keys = {it.number: "".join(it.key) for it in paper.items}
    assert len(keys) == 50
    expect(page.locator("[data-q-number]")).to_have_text("第 1 题 / 共 50 题")
    assert 58 * 60 < remaining_seconds(page) <= 60 * 60
    expect(page.locator("[data-save]")).to_have_text(SAVED)
    page.click("[data-next]")
    expect(page.locator("[data-q-number]")).to_have_text("第 2 题 / 共 50 题")
    page.click("[data-prev]")
    expect(page.locator("[data-q-number]")).to_have_text("第 1 题 / 共 50 题")
    assert page.locator("[data-prev]").is_disabled()
    # Case groups (A3/A4) and matching sets (B1) show their shared part with each of their questions.
    a3 = next(it for it in paper.items if it.group_index is not None and it.question.type.value in ("A3", "A4"))
    page.click(f"[data-nav] button[data-n='{a3.number}']")
    expect(page.locator("[data-group]")).to_be_visible()
    expect(page.locator("[data-group-range]")).to_contain_text("共用以下题干")
    assert paper.groups[a3.group_index].stem[:10] in page.inner_text("[data-group-stem]")
    shot(page, screenshots, "02-case-group-phone")
    b1 = next(it for it in paper.items if it.question.type.value == "B1")
    page.click(f"[data-nav] button[data-n='{b1.number}']")
    expect(page.locator("[data-group-range]")).to_contain_text("共用备选答案")
    x = next(it for it in paper.items if it.multiple)
    page.click(f"[data-nav] button[data-n='{x.number}']")
    expect(page.locator("[data-multi]")).to_be_visible()
    assert page.locator("[data-options] input[type=checkbox]").count() >= 4
    page.click(f"[data-nav] button[data-n='1']")
    assert page.locator("[data-group]").is_hidden()

    for n in range(1, 21):
        answer(page, n, keys[n])
    expect(page.locator("[data-save]")).to_have_text(SAVED)
    wait_for(lambda: len(saved_answers(demo_var, attempt)) == 20, timeout=60, what="20 saved answers")

    # A reload resumes the same paper, answers and remaining time, at the first unanswered question.
    first_stem = paper.items[0].question.stem
    page.reload()
    page.locator("[data-main]").wait_for()
    expect(page.locator("[data-q-number]")).to_have_text("第 21 题 / 共 50 题")
    assert answered_count(page) == 20
    expect_countdown_on_server_time(page, demo_var, attempt, what="the remaining time after the reload")
    page.click("[data-nav] button[data-n='1']")
    assert first_stem[:12] in page.inner_text("[data-stem]")
    assert page.locator(f"[data-options] input[value='{keys[1][0]}']").is_checked()

    # A flag is kept with the answer and shown on the navigator.
    page.click("[data-nav] button[data-n='21']")
    page.click("[data-flag]")
    expect(page.locator("[data-flag]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-nav] button[data-n='21']")).to_have_class(re.compile(r"\bflagged\b"))
    for n in range(21, 46):
        answer(page, n, keys[n])
    expect(page.locator("[data-save]")).to_have_text(SAVED)
    wait_for(lambda: saved_answers(demo_var, attempt) == {n: keys[n] for n in range(1, 46)}, timeout=60,
             what="45 right answers in the database")
    shot(page, screenshots, "03-answering-phone")
    assert_fits_the_screen(page)

    # The confirmation lists what is unanswered (and flagged); cancelling goes back to the paper.
    page.click("[data-submit]")
    expect(page.locator("[data-confirm-text]")).to_contain_text("还有 5 题未作答：第 46、47、48、49、50 题")
    expect(page.locator("[data-confirm-flagged]")).to_contain_text("第 21 题")
    shot(page, screenshots, "04-confirm-phone")
    page.click("[data-confirm-cancel]")
    expect(page.locator("[data-confirm]")).to_be_hidden()
    confirm_submit(page)
    expect(page.locator("[data-result-words]")).to_have_text("通过")
    expect(page.locator("[data-result-score]")).to_have_text("90 / 100 分")
    expect(page.locator("[data-result-pass]")).to_have_text("60 分")
    expect(page.locator("[data-result-how]")).to_have_text("考生交卷")
    shot(page, screenshots, "05-result-pass-phone")
    assert_fits_the_screen(page)
    row = attempt_row(demo_var, attempt)
    assert (row["state"], row["score"], row["passed"], row["submit_reason"]) == ("scored", 90.0, 1, "physician")

    # ---- professional: 100 questions of 1 point, part of them answered offline
    page.click("text=返回我的考试")
    page.wait_for_url("**/exams")
    expect(humanities.locator(".badge")).to_have_text("通过")
    expect(humanities.locator(".attempt-list")).to_contain_text("90 分 · 通过 · 考生交卷")
    attempt2 = start_paper(page, "professional")
    keys2 = keys_of(demo_var, attempt2)
    assert len(keys2) == 100
    for n in range(1, 31):
        answer(page, n, keys2[n])
    expect(page.locator("[data-save]")).to_have_text(SAVED)
    wait_for(lambda: len(saved_answers(demo_var, attempt2)) == 30, timeout=60, what="30 saved answers")

    context.set_offline(True)
    for n in range(31, 71):
        answer(page, n, keys2[n])
    expect(page.locator("[data-save]")).to_have_text(LOCAL)
    assert answered_count(page) == 70
    assert len(saved_answers(demo_var, attempt2)) == 30, "nothing reached the server while offline"
    pending = page.evaluate(f"Object.keys(JSON.parse(localStorage.getItem('dk.attempt.{attempt2}')).pending).length")
    assert pending == 40
    shot(page, screenshots, "06-offline-phone")

    context.set_offline(False)
    expect(page.locator("[data-save]")).to_have_text(SAVED, timeout=20_000)
    wait_for(lambda: saved_answers(demo_var, attempt2) == {n: keys2[n] for n in range(1, 71)}, timeout=60,
             what="the 40 offline answers replayed into the database")
    assert page.evaluate(f"Object.keys(JSON.parse(localStorage.getItem('dk.attempt.{attempt2}')).pending).length") == 0

    # Saves failing (server unreachable for them), then a reload: the answers kept locally are replayed.
    page.route("**/answers", lambda route: route.abort())
    for n in range(71, 76):
        answer(page, n, keys2[n])
    expect(page.locator("[data-save]")).to_have_text(LOCAL)
    page.unroute("**/answers")
    page.reload()
    page.locator("[data-main]").wait_for()
    expect(page.locator("[data-save]")).to_have_text(SAVED, timeout=10_000)
    assert answered_count(page) == 75
    wait_for(lambda: saved_answers(demo_var, attempt2) == {n: keys2[n] for n in range(1, 76)}, timeout=60,
             what="the answers kept over the reload")
    confirm_submit(page)
    expect(page.locator("[data-result-words]")).to_have_text("通过")
    expect(page.locator("[data-result-score]")).to_have_text("75 / 100 分")

    page.goto("/")
    expect(page.locator(".state")).to_have_text("【待公布】")
    publish_results(make_context)
    page.goto("/")
    expect(page.locator(".state")).to_have_text("【考核合格】")
    expect(page.locator(".tool", has_text="我的考试")).to_be_visible()
    shot(page, screenshots, "07-home-passed-phone")
    page.goto("/exams")
    expect(page.locator("#exam-result")).to_have_text("【考核合格】")
    assert page.locator("[data-start]").count() == 0
    assert_fits_the_screen(page)


def test_failing_humanities_ends_a_general_assessment(make_context, demo_var: Path, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    page = make_context("phone").new_page()
    first_login(page, WAIVED_PRO, phone="13800000002")
    page.goto("/exams")
    professional = page.locator(".paper[data-kind=professional]")
    expect(professional.locator(".badge")).to_have_text("已免考")
    attempt = start_paper(page, "humanities")
    keys = keys_of(demo_var, attempt)
    for n in range(1, 6):
        page.click(f"[data-nav] button[data-n='{n}']")
        page.check(f"[data-options] input[value='{wrong_choice(page, keys[n])}']")
    expect(page.locator("[data-save]")).to_have_text(SAVED)
    page.click("[data-submit]")
    expect(page.locator("[data-confirm-text]")).to_contain_text("还有 45 题未作答")
    page.click("[data-confirm-ok]")
    expect(page.locator("[data-result-words]")).to_have_text("未通过")
    expect(page.locator("[data-result-score]")).to_have_text("0 / 100 分")
    shot(page, screenshots, "08-result-fail-phone")
    publish_results(make_context)
    page.goto("/")
    expect(page.locator(".state")).to_have_text("【考核不合格】")
    page.goto("/exams")
    expect(page.locator("#exam-result")).to_have_text("【考核不合格】")
    expect(page.locator(".paper[data-kind=humanities] .attempt-list")).to_contain_text("0 分 · 未通过")


def test_takeover_extra_time_and_ending_by_staff(make_context, demo_var: Path, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    phone_context = make_context("phone")
    phone_context.route("**/events*", lambda route: route.abort())  # this device never hears a push (the stream has ?token=)
    phone = phone_context.new_page()
    first_login(phone, SIMPLE_STOMA, phone="13800000005")
    phone.goto("/exams")
    expect(phone.locator(".paper[data-kind=humanities] [data-attempts]")).to_have_text("已考 0 次，剩余 3 次（共 3 次）")
    attempt = start_paper(phone, "humanities")
    keys = keys_of(demo_var, attempt)
    answer(phone, 1, keys[1])
    answer(phone, 2, keys[2])
    expect(phone.locator("[data-save]")).to_have_text(SAVED)
    expect_countdown_on_server_time(phone, demo_var, attempt, what="the phone's countdown")

    # The same physician continues on a desktop whose clock is two hours fast: it resumes the same
    # paper, answers and time (the countdown follows the server's clock, not the device's)...
    desk_context = make_context("desktop")
    desk_context.add_init_script(SKEWED_CLOCK)
    desk = desk_context.new_page()
    login_again(desk, SIMPLE_STOMA)
    desk.goto("/exams")
    desk.click("[data-continue]")
    desk.wait_for_url(f"**/exams/attempt/{attempt}")
    expect(desk.locator("[data-banner]")).to_contain_text("已在本设备继续作答")
    expect(desk.locator("[data-q-number]")).to_have_text("第 3 题 / 共 50 题")
    assert answered_count(desk) == 2
    expect_countdown_on_server_time(desk, demo_var, attempt, what="the same remaining time on the desktop")
    # The device clock jumps (a phone asleep drifts): the page re-syncs when it is shown again.
    desk.evaluate("window.__skew += 10 * 60 * 1000")
    desk.wait_for_function("() => { const [m] = document.querySelector('[data-clock]').textContent.split(':'); return +m < 55; }")
    desk.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect_countdown_on_server_time(desk, demo_var, attempt, what="the countdown right again after the re-sync")
    # ...and the phone, which hears no pushes, learns it from the refusal of its next answer and stops.
    answer(phone, 3, wrong_choice(phone, keys[3]))
    expect(phone.locator("[data-banner]")).to_contain_text("本场考试已在另一台设备上继续作答", timeout=30_000)
    assert phone.locator("[data-options] input").first.is_disabled()
    assert phone.locator("[data-submit]").is_disabled()
    expect(phone.locator("[data-banner]")).to_contain_text("本页有 1 题的作答未能上传")
    assert saved_answers(demo_var, attempt) == {1: keys[1], 2: keys[2]}
    assert phone.evaluate(f"JSON.parse(localStorage.getItem('dk.attempt.{attempt}')).pending") == {}
    shot(phone, screenshots, "09-taken-over-phone")
    # The server refuses the old device too (409 taken_over), whatever its page does.
    status = phone.evaluate("""async () => (await window.dk.api('POST', '/api/v1/attempts/%d/answers',
        {device: localStorage.getItem('dk.device'), answers: [{item: 3, choice: 'A', seq: 999}]})).data.error.code""" % attempt)
    assert status == "taken_over"
    answer(desk, 3, keys[3])
    expect(desk.locator("[data-save]")).to_have_text(SAVED)
    wait_for(lambda: saved_answers(demo_var, attempt) == {1: keys[1], 2: keys[2], 3: keys[3]}, timeout=60,
             what="the desktop's answer")

    # The invigilator sees the schedules read-only, with extra time but no ending.
    proctor = make_context("desktop").new_page()
    login_staff(proctor, "proctor01")
    proctor.locator(".tool", has_text="考试安排").click()
    proctor.locator("#schedules tbody tr", has_text="医学人文测评").locator("text=查看考生").click()
    row = proctor.locator("#attempts tbody tr", has_text="许静")
    expect(row.locator("[data-extra]")).to_be_visible()
    assert row.locator("[data-end]").count() == 0
    assert proctor.locator("#schedule-form").count() == 0

    # The body grants extra time on 考试安排; the candidate's page hears it over the event stream.
    staff = make_context("desktop").new_page()
    login_staff(staff, "body01")
    staff.locator(".tool", has_text="考试安排").click()
    staff.wait_for_url("**/schedules")
    staff.locator("#schedules tbody tr", has_text="医学人文测评").locator("text=查看考生").click()
    row = staff.locator("#attempts tbody tr", has_text="许静")
    row.locator("[data-extra]").click()
    staff.fill("#action-form [name=minutes]", "abc")
    staff.click("[data-action-ok]")
    expect(staff.locator('#action-form .err[data-for="minutes"]')).to_have_text("延长时间应为正整数（分钟）")
    expect(staff.locator('#action-form .err[data-for="reason"]')).to_have_text("请填写原因")
    staff.fill("#action-form [name=minutes]", "999")
    staff.fill("#action-form [name=reason]", "考生网络中断")
    staff.click("[data-action-ok]")
    expect(staff.locator('#action-form .err[data-for="minutes"]')).not_to_be_empty()
    staff.fill("#action-form [name=minutes]", "10")
    before = remaining_seconds(desk)
    staff.click("[data-action-ok]")
    # The banner comes only from the event stream (exam.js), so seeing it proves the push; the timeout
    # is a safety net for a busy machine, not a speed requirement (the load benchmark measures that).
    expect(desk.locator("[data-banner]")).to_contain_text("考试时间已延长", timeout=30_000)
    assert remaining_seconds(desk) >= before + 9 * 60
    expect(staff.locator("[data-attempts-ok]")).to_contain_text("已为 许静 延长 10 分钟")
    expect(row).to_contain_text("10 分钟")
    shot(staff, screenshots, "10-schedules-extra-time-desktop")
    shot(desk, screenshots, "11-extra-time-desktop")
    assert attempt_row(demo_var, attempt)["extra_minutes"] == 10

    # A third device takes over from the desktop, which is told at once by a push.
    tablet = make_context("phone").new_page()
    login_again(tablet, SIMPLE_STOMA)
    tablet.goto(f"/exams/attempt/{attempt}")
    expect(tablet.locator("[data-banner]")).to_contain_text("已在本设备继续作答")
    assert remaining_seconds(tablet) > 60 * 60
    expect(desk.locator("[data-banner]")).to_contain_text("本场考试已在另一台设备上继续作答", timeout=30_000)
    assert desk.locator("[data-options] input").first.is_disabled()
    shot(desk, screenshots, "11b-taken-over-desktop")
    desk = tablet

    # The body ends the attempt with a reason (markup in it stays text): the candidate's page shows the result.
    row.locator("[data-end]").click()
    staff.fill("#action-form [name=reason]", "<img src=x onerror=window.__pwned=1>违反考场纪律")
    staff.click("[data-action-ok]")
    expect(desk.locator("[data-result]")).to_be_visible(timeout=5000)
    expect(desk.locator("[data-result-how]")).to_have_text("考核机构结束考试")
    expect(desk.locator("[data-banner]")).to_contain_text("<img src=x onerror=window.__pwned=1>违反考场纪律")
    assert desk.evaluate("window.__pwned") is None
    expect(desk.locator("[data-result-score]")).to_have_text("6 / 100 分")
    expect(staff.locator("#attempts tbody tr", has_text="许静")).to_contain_text("已评分（考核机构结束考试）")
    shot(desk, screenshots, "12-ended-by-staff-desktop")


def test_schedules_page_creates_with_errors_by_field_and_guards_roles(make_context, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    page = make_context("desktop").new_page()
    login_staff(page, "body02")  # 临江县: none of the exam demo physicians is under this body
    page.goto("/schedules")
    expect(page.locator("#schedules tbody tr").first).to_contain_text("医学人文测评")
    form = page.locator("#schedule-form")
    form.locator("[type=submit]").click()
    expect(form.locator('.err[data-for="paper_id"]')).to_have_text("请选择试卷")
    expect(form.locator('.err[data-for="window_start"]')).to_have_text("请填写开始时间")
    humanities = form.locator("[name=paper_id] option", has_text="医学人文测评").first.get_attribute("value")
    form.locator("[name=paper_id]").select_option(value=humanities)
    expect(form.locator("[name=time_limit_minutes]")).to_have_value("60")
    # Dates from today: the demo's shared (admin's) windows run from yesterday for 30 days.
    today = dt.date.today()
    overlap_start, overlap_end = today + dt.timedelta(days=13), today + dt.timedelta(days=24)
    start, end = today + dt.timedelta(days=60), today + dt.timedelta(days=71)
    form.locator("[name=window_start]").fill(f"{overlap_start}T09:00")
    form.locator("[name=window_end]").fill(f"{overlap_start - dt.timedelta(days=10)}T09:00")
    form.locator("[name=pass_mark]").fill("300")
    form.locator("[name=time_limit_minutes]").fill("0")
    form.locator("[type=submit]").click()
    expect(form.locator('.err[data-for="time_limit_minutes"]')).not_to_be_empty()
    form.locator("[name=time_limit_minutes]").fill("45")
    form.locator("[type=submit]").click()
    expect(form.locator('.err[data-for="window_end"]')).to_have_text("结束时间必须晚于开始时间")
    expect(form.locator('.err[data-for="pass_mark"]')).to_have_text("及格分应大于 0 且不超过试卷总分 100")
    expect(form.locator("[name=pass_mark]")).to_have_attribute("aria-invalid", "true")
    shot(page, screenshots, "13-schedule-errors-desktop")
    # A window inside the admin's would give the body's physicians two open windows: refused, in words.
    form.locator("[name=window_end]").fill(f"{overlap_end}T18:00")
    form.locator("[name=pass_mark]").fill("60")
    form.locator("[type=submit]").click()
    expect(form.locator('.err[data-for="window_start"]')).to_contain_text("同一时间只能有一个开放时间段")
    form.locator("[name=window_start]").fill(f"{start}T09:00")
    form.locator("[name=window_end]").fill(f"{end}T18:00")
    form.locator("[type=submit]").click()
    shown = f"{start:%Y/%m/%d} 09:00 至 {end:%Y/%m/%d} 18:00"
    expect(form.locator("[data-form-ok]")).to_contain_text(f"已安排：医学人文测评，{shown}")
    new_row = page.locator("#schedules tbody tr", has_text="临江县")
    expect(new_row).to_contain_text("45 分钟")
    expect(new_row).to_contain_text(shown)
    # Another body's candidates stay out of sight on the shared (admin's) schedules.
    page.locator("#schedules tbody tr", has_text="全部考核机构").first.locator("text=查看考生").click()
    expect(page.locator("#attempts tbody")).to_have_text("暂无考生作答记录")
    # Scheduling the same paper twice is refused by the paper field.
    form.locator("[type=submit]").click()
    expect(form.locator('.err[data-for="paper_id"]')).to_contain_text("本周期已安排该类考试")
    shot(page, screenshots, "14-schedules-desktop")

    # The pages keep to their roles; a physician not yet approved sees why the papers are locked.
    assert page.goto("/exams").status == 403
    doctor = make_context("phone").new_page()
    first_login(doctor, SUBMITTED, phone="13800000003")
    expect(doctor.locator(".state")).to_have_text("【待机构审核】")
    assert doctor.locator(".tool", has_text="我的考试").count() == 0
    doctor.goto("/exams")
    expect(doctor.locator(".paper[data-kind=humanities] [data-locked]")).to_have_text("报名未审核通过")
    assert doctor.locator("[data-start]").count() == 0
    assert_fits_the_screen(doctor)
    assert doctor.goto("/schedules").status == 403
    assert doctor.goto("/exams/attempt/999999").status == 200  # the page shell; the API answers 404
    expect(doctor.locator("[data-load-error]")).to_have_text("考试记录不存在")
