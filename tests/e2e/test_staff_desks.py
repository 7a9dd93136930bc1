"""Staff at their desks, in Chromium at 375x667 and 1366x768, every page checked by the page audit
(no raw codes or English, labelled inputs, styled buttons, no console errors, no sideways scroll).

- The assessment body's 监考安排 on a schedule the admin made for every body: rules saved, messages
  beside the button, an institution picked from a list, an assignment cancelled through a dialog.
- The body's 违规复核: the registration photo beside the evidence, the timeline in time order with
  its numbers whole, 确认违规 + 作废本次考试 through a dialog that says to whom and what, and a
  report of what was done.

The module runs its own demo server: it voids attempts and changes assignments other tests rely on.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from exam_server.demo.exams import EXAM_PHYSICIANS

from .conftest import own_demo
from .exam_steps import csrf_headers, first_login, keys_of
from .page_audit import PageAudit
from .steps import confirm_dialog, login_staff, shot

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": {"width": 375, "height": 667}, "desktop": {"width": 1366, "height": 768}}
PLACE = {"phone": "手机", "desktop": "电脑"}  # told apart in text the page shows (which must be Chinese)


demo_var, demo_server = own_demo("staff-desk")


@pytest.fixture
def make_context(make_context):  # type: ignore[no-untyped-def]
    """The shared contexts (CSP violations fail the test) at this issue's desktop size, 1366x768."""
    return lambda kind, **options: make_context(kind, **{"viewport": VIEWPORTS[kind], **options})


def staff_page(make_context, kind: str, username: str):  # type: ignore[no-untyped-def]
    page = make_context(kind).new_page()
    audit = PageAudit(page)
    login_staff(page, username)
    return page, audit


def near(page, message: str, button: str) -> float:  # type: ignore[no-untyped-def]
    """Vertical distance in CSS px between a message and its button."""
    m, b = page.locator(message).bounding_box(), page.locator(button).bounding_box()
    assert m and b
    return abs((m["y"] + m["height"] / 2) - (b["y"] + b["height"] / 2))


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_the_body_sets_proctoring_for_a_schedule_made_for_every_body(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    page, audit = staff_page(make_context, kind, "body01")
    page.goto("/schedules")
    row = page.locator("#schedules tbody tr", has_text="全部考核机构").first
    expect(row.locator("[data-review]")).to_be_visible()
    audit.check("考试安排")
    if kind == "desktop":  # the whole table fits: 违规复核 is not scrolled out of sight
        wrap = page.locator("#schedules").locator("xpath=..")
        assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the 考试安排 table is clipped"
        link, box = row.locator("[data-review]").bounding_box(), wrap.bounding_box()
        assert link and box and link["x"] + link["width"] <= box["x"] + box["width"]
    row.locator("[data-proctoring]").click()
    page.wait_for_url("**/proctoring")
    facts = page.locator("[data-schedule-facts]")
    expect(facts).to_contain_text("试卷")
    expect(facts).to_contain_text("全部考核机构")
    expect(page.locator("[data-rules-words]")).to_contain_text("只对本机构的考生生效")
    audit.check("监考安排")

    # A wrong interval is refused beside the button, naming the field; a right one is saved.
    page.fill("#rules-form [name=frame_seconds]", "3")
    page.click("#rules-form button[type=submit]")
    expect(page.locator('#rules-form .err[data-for="frame_seconds"]')).to_contain_text("5 到 120")
    expect(page.locator("#rules-form [data-form-error]")).to_be_visible()
    assert near(page, "#rules-form [data-form-error]", "#rules-form button[type=submit]") < 120
    page.fill("#rules-form [name=frame_seconds]", "20")
    page.select_option("#rules-form [name=action_another_person]", "warn")
    page.click("#rules-form button[type=submit]")
    expect(page.locator("#rules-form [data-form-ok]")).to_contain_text("已保存：每 20 秒拍照一次")
    assert near(page, "#rules-form [data-form-ok]", "#rules-form button[type=submit]") < 120
    page.reload()
    expect(page.locator("#rules-form [name=frame_seconds]")).to_have_value("20")

    # An institution from a list (its name and number of candidates), never a raw number.
    page.select_option("#assign-form [name=mode]", "institution")
    institution = page.locator("#assign-form [name=institution_id] option").first.inner_text()
    assert "名考生" in institution, institution
    name = institution.split("（")[0]
    page.click("#assign-form button[type=submit]")
    expect(page.locator("#assign-form [data-form-ok]")).to_contain_text("负责" + name)
    row = page.locator("#assignment-table tbody tr", has_text="机构：" + name).first
    expect(row).to_be_visible()
    audit.check("监考安排（已分配）")
    shot(page, screenshots, f"body-proctoring-{kind}")

    # Cancelling asks in words, in the styled dialog; keeping it changes nothing.
    row.locator("button", has_text="取消分配").click()
    dialog = page.locator("dialog.dk-dialog")
    expect(dialog).to_contain_text("机构：" + name)
    audit.check("取消分配的确认")
    shot(page, screenshots, f"body-proctoring-cancel-dialog-{kind}")
    dialog.locator("[data-dialog-cancel]").click()
    expect(row).to_be_visible()
    row.locator("button", has_text="取消分配").click()
    page.locator("dialog.dk-dialog [data-dialog-ok]").click()
    expect(page.locator("#assign-form [data-form-ok]")).to_contain_text("已取消")
    expect(page.locator("#assignment-table tbody tr", has_text="机构：" + name)).to_have_count(0)
    audit.check("监考安排（已取消）")


def api(page, method: str, path: str, body: Any = None, **headers: str) -> Any:  # type: ignore[no-untyped-def]
    response = page.request.fetch(path, method=method, data=None if body is None else body,
                                  headers={**csrf_headers(page.context), "Content-Type": "application/json", **headers})
    assert response.ok, (path, response.status, response.text())
    return response.json()


def copied_and_submitted(make_context, var: Path, index: int, copies: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Exam demo physician `index` starts 医学人文测评, copies `copies` times (a 复制粘贴 violation
    the rules flag for review), answers every question right and submits: a scored pass."""
    page = make_context("desktop").new_page()
    first_login(page, index, phone=f"1380099{index:04d}")
    started = api(page, "POST", "/api/v1/exams/start", {"kind": "humanities", "device": "device-desk-0001"})
    attempt, token = int(started["attempt_id"]), started["token"]
    for _ in range(copies):
        api(page, "POST", f"/api/v1/attempts/{attempt}/proctor-events", {"kind": "copy"}, **{"X-Attempt-Token": token})
    answers = [{"item": n, "choice": key, "seq": 1} for n, key in keys_of(var, attempt).items()]
    api(page, "POST", f"/api/v1/attempts/{attempt}/answers", {"device": "device-desk-0001", "answers": answers},
        **{"X-Attempt-Token": token})
    done = api(page, "POST", f"/api/v1/attempts/{attempt}/submit", {"device": "device-desk-0001", "confirm": True},
               **{"X-Attempt-Token": token})
    assert done["attempt"]["passed"] is True, done
    page.context.close()
    return attempt, EXAM_PHYSICIANS[index][0]


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_the_body_reviews_a_violation_and_voids_the_attempt(make_context, demo_var: Path, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    attempt, name = copied_and_submitted(make_context, demo_var, 0 if kind == "phone" else 5, copies=12)
    page, audit = staff_page(make_context, kind, "body01")
    page.goto("/schedules")
    row = page.locator("#schedules tbody tr", has_text="医学人文测评").first
    expect(row.locator("[data-review]")).to_be_visible()
    row.locator("[data-review]").click()
    page.wait_for_url("**/review")
    expect(page.locator("h1")).to_have_text("违规复核")
    page.click(f"[data-open='{attempt}']")
    title = page.locator("[data-attempt-title]")
    expect(title).to_contain_text(name)
    expect(title).to_contain_text("第 1 次考试")
    item = page.locator("[data-violation]", has_text="复制粘贴").first
    # The registration photo (or, without one, a placeholder saying so) comes first in the row.
    expect(item.locator(".compare figure").first.locator("figcaption")).to_have_text("报名照片")

    # The timeline: in time order, each line's number whole (line 10 reads "10.", not "0.").
    lines = page.locator("[data-timeline] li")
    assert lines.count() >= 10, lines.count()
    times = lines.locator("time").all_inner_texts()
    assert times == sorted(times, key=lambda t: dt.datetime.strptime(t, "%Y/%m/%d %H:%M:%S")), times
    marker_fits = page.evaluate("""() => {
        const ol = document.querySelector('[data-timeline]'), li = ol.children[9];
        const probe = document.createElement('span'); probe.textContent = '10.'; probe.style.font = getComputedStyle(li).font;
        document.body.appendChild(probe); const need = probe.getBoundingClientRect().width; probe.remove();
        return parseFloat(getComputedStyle(ol).paddingLeft) >= need + 4; }""")
    assert marker_fits, "the timeline's numbers are cut off"
    audit.check("违规复核")

    # Without a note: refused beside the buttons, nothing asked, nothing done.
    item.locator("[data-confirm]").click()
    expect(item.locator("[data-form-error]")).to_contain_text("请填写复核意见")
    expect(page.locator("dialog.dk-dialog")).to_have_count(0)

    item.locator("textarea[name=note]").fill("监考画面与事件记录显示多次复制题目")
    item.locator("input[name=void]").check()
    item.locator("[data-confirm]").click()
    dialog = page.locator("dialog.dk-dialog")
    for words in (name, "医学人文测评 第 1 次考试", "作废", "撤销", "站内消息", "不能撤销"):
        expect(dialog).to_contain_text(words)
    audit.check("作废的确认")
    shot(page, screenshots, f"review-void-dialog-{kind}")
    dialog.locator("[data-dialog-cancel]").click()   # changed their mind: nothing happens
    expect(item).to_contain_text("待复核")
    item.locator("[data-confirm]").click()
    page.locator("dialog.dk-dialog [data-dialog-ok]").click()
    report = page.locator("[data-report]")
    expect(report).to_contain_text(f"已确认 {name} 的违规")
    expect(report).to_contain_text("第 1 次考试已作废")
    expect(report).to_contain_text("已通知考生")
    expect(page.locator("[data-violation]", has_text="复制粘贴").first).to_contain_text("已确认违规")
    expect(title).to_contain_text("已作废")
    audit.check("违规复核（已作废）")
    shot(page, screenshots, f"review-voided-{kind}")


def sitting_candidate(make_context, index: int):  # type: ignore[no-untyped-def]
    """Exam demo physician `index` with 医学人文测评 open on the exam page (its event stream open)."""
    page = make_context("desktop").new_page()
    first_login(page, index, phone=f"1380099{index:04d}")
    page.goto("/exams")
    page.click("[data-start=humanities]")
    confirm_dialog(page, expect="考试须知")
    page.wait_for_url(re.compile(r"/exams/attempt/\d+$"))
    page.locator("[data-main]").wait_for()
    return page, int(page.url.rsplit("/", 1)[1])


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_the_invigilator_watches_warns_and_extends_time(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    candidate, attempt = sitting_candidate(make_context, 1 if kind == "phone" else 2)
    name = EXAM_PHYSICIANS[1 if kind == "phone" else 2][0]
    page, audit = staff_page(make_context, kind, "proctor01")
    page.click("a.tool[href='/invigilation']")
    page.wait_for_url("**/invigilation")
    expect(page.locator("[data-link]")).to_have_text("实时连接")
    card = page.locator(f".cand[data-attempt='{attempt}']")
    # The demo runs without the camera: a placeholder (or the registration photo), never a broken
    # image, and 在线 because the exam page is open.
    expect(card).to_contain_text(name)
    expect(card.locator("[data-connection]")).to_have_text(re.compile("^在线"))
    assert card.locator(".no-picture, img.ref").count() == 1
    expect(page.locator("[data-camera-off]")).to_be_visible()
    audit.check("监考工作台")
    shot(page, screenshots, f"invigilator-dashboard-{kind}")

    card.click()
    dialog = page.locator("dialog[data-detail]")
    expect(dialog.locator("[data-detail-title]")).to_contain_text(name)
    expect(dialog.locator(".compare figure").first.locator("figcaption")).to_have_text("报名照片")
    expect(dialog.get_by_label("延长时间（分钟，1–240）")).to_have_value("5")
    audit.check("考生详情")
    dialog.locator("[data-warn-form] [name=message]").fill(f"请勿离开座位（{PLACE[kind]}）")
    dialog.locator("[data-warn]").click()
    expect(dialog.locator("[data-form-ok]")).to_have_text(f"已向 {name} 发送提醒")
    expect(candidate.locator("[data-banner]")).to_contain_text(f"监考员提醒：请勿离开座位（{PLACE[kind]}）")
    dialog.locator("[data-extra-form] [name=minutes]").fill("0")
    dialog.locator("[data-extra]").click()
    expect(dialog.locator('[data-extra-form] .err[data-for="minutes"]')).not_to_be_empty()
    dialog.locator("[data-extra-form] [name=minutes]").fill("10")
    dialog.locator("[data-extra]").click()
    expect(dialog.locator("[data-form-ok]")).to_have_text(f"已为 {name} 延长 10 分钟")
    expect(candidate.locator("[data-banner]")).to_contain_text("考试时间已延长")
    shot(page, screenshots, f"invigilator-detail-{kind}")
    audit.check("考生详情（已提醒、已延时）")
    dialog.locator("[data-close]").click()

    # The feed: the warning, with its time, in words; never a raw heartbeat line.
    feed = page.locator("[data-alerts]")
    expect(feed.locator("li", has_text=f"请勿离开座位（{PLACE[kind]}）")).to_have_count(1)
    line = feed.locator("li", has_text=f"请勿离开座位（{PLACE[kind]}）").inner_text()
    assert re.match(r"^\d{2}:\d{2}:\d{2} ", line) and name in line and "监考员提醒" in line, line
    assert "heartbeat" not in feed.inner_text()
    audit.check("监考工作台（提醒后）")
    candidate.context.close()


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_the_statistics_charts_are_readable(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Every chart label painted at 12 px or more (the page audit measures the painted size); the
    progress chart's axes show the data: a value axis up to the largest count, the days around it."""
    for username in ("body01", "admin"):
        page, audit = staff_page(make_context, kind, username)
        page.goto("/statistics")
        chart = page.locator("[data-chart=progress] svg")
        expect(chart).to_be_visible()
        audit.check(f"统计（{username}）")
        texts = chart.locator("text").evaluate_all("els => els.map(e => e.textContent)")
        assert "人数" in texts and "已提交" in texts, texts
        days = [t for t in texts if re.fullmatch(r"\d{2}-\d{2}", t)]
        assert len(days) >= 2, texts  # the time axis is labelled
        # The line rises to the top of its value axis somewhere: the axis is scaled to the data.
        ticks = sorted(float(t) for t in texts if re.fullmatch(r"\d+(\.\d+)?", t))
        dots = chart.locator("circle").count()
        assert dots >= 7 and ticks[-1] > 0, (dots, ticks)
        shot(page, screenshots, f"statistics-{username}-{kind}")
        page.context.close()


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_registration_step_one_has_no_broken_image_before_a_photo(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    from .steps import first_login_physician, open_registration

    officer_name, name, index = {"phone": ("inst03", "孙海燕", 6), "desktop": ("inst01", "张晓明", 0)}[kind]
    officer, _ = staff_page(make_context, "desktop", officer_name)
    open_registration(officer, name)
    officer.context.close()
    page = make_context(kind).new_page()
    audit = PageAudit(page)
    first_login_physician(page, index, phone=f"139000000{index}7")
    page.goto("/register/basic")
    expect(page.locator("[data-photo-empty]")).to_have_text("尚未上传照片")
    expect(page.locator("#photo-preview")).to_be_hidden()
    audit.check("我要报名 第 1 步（未上传照片）")
    shot(page, screenshots, f"register-basic-no-photo-{kind}")


STAFF_LISTS = {
    "inst01": {"/reviews": "报名审核", "/institution/physicians": "本机构医师", "/institution/departments": "科室",
               "/institution/accounts": "本机构账号"},
    "admin": {"/admin/accounts": "账号管理", "/admin/banks": "题库", "/admin/codes": "代码表",
              "/admin/conditions": "考核条件"},
    "health01": {"/health/physicians": "辖区医师"},
}


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_the_staff_lists_label_their_filters_and_show_no_codes(make_context, kind: str) -> None:  # type: ignore[no-untyped-def]
    """The lists' filter boxes say what they filter (a screen reader names them too), and the code tables
    show Chinese names, not the codes behind them."""
    problems: list[str] = []
    for username, pages in STAFF_LISTS.items():
        page, audit = staff_page(make_context, kind, username)
        for path, title in pages.items():
            page.goto(path)
            page.wait_for_load_state("networkidle")
            problems += [f"{path}: {p}" for p in audit.problems()]
    assert not problems, "\n".join(problems)
