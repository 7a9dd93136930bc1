"""The assessment body's and the institution officer's main tasks, end to end in Chromium at 375x667 and
1366x768: manual identity verification, publication of results, reviewing and approving a record.
Every page on the way is audited (no raw codes or English shown, labelled inputs, styled buttons, no console
errors), and every irreversible step goes through the project's confirmation dialog."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .page_audit import PageAudit
from .steps import confirm_dialog, login_staff, shot

pytestmark = pytest.mark.e2e
VIEWS = {"phone": {"viewport": {"width": 375, "height": 667}}, "desktop": {"viewport": {"width": 1366, "height": 768}}}


def test_body_verifies_identity_by_hand(make_context, screenshots) -> None:  # type: ignore[no-untyped-def]
    from exam_server.demo.exams import EXAM_PHYSICIANS

    names = [p[0] for p in EXAM_PHYSICIANS]
    for view, who, verdict in (("phone", names[0], "verified"), ("desktop", names[1], "refused")):
        page = make_context(view, **VIEWS[view]).new_page()
        audit = PageAudit(page)
        login_staff(page, "body01")
        audit.check("考核机构工作台")
        page.click("a.tool:has-text('人工核验身份')")
        page.wait_for_url(re.compile(r"/identity/manual$"))
        entry = page.locator(".manual-entry", has_text=who)
        entry.wait_for()
        audit.check("人工核验身份")
        assert "报名照片未能登记人脸信息" in entry.inner_text()
        shot(page, screenshots, f"manual-queue-{view}")
        entry.locator("[data-decide=verified]").click()
        assert "请填写核验说明" in entry.inner_text()
        entry.locator("select[name=method]").select_option("in_person" if verdict == "verified" else "video")
        entry.locator("input[name=note]").fill("核对身份证原件，与本人一致" if verdict == "verified" else "证件照片与本人不符")
        entry.locator(f"[data-decide={verdict}]").click()
        text = confirm_dialog(page, expect=who)
        assert ("无需人脸核验" if verdict == "verified" else "仍不能开始") in text
        page.wait_for_selector("[data-form-ok]:not([hidden])")
        ok = page.inner_text("[data-form-ok]")
        assert who in ok and ("核验通过" if verdict == "verified" else "核验不通过") in ok
        expect(page.locator(".manual-entry", has_text=who)).to_have_count(0)
        row = page.locator("#manual-decisions tbody tr", has_text=who).first
        assert "滨海市考核中心" in row.inner_text()
        audit.check("人工核验身份（已核验）")
        shot(page, screenshots, f"manual-decided-{view}")


def _decide(db, index: int, state: str) -> None:  # type: ignore[no-untyped-def]
    """Put a demo physician's registration at a decided result (the exam tests cover how one is reached)."""
    import datetime as dt
    import sqlite3

    from .steps import physician_id_number

    rating = "合格" if state == "PASSED" else "不合格"
    with sqlite3.connect(db) as conn:
        pid = conn.execute("SELECT id FROM physicians WHERE id_number = ?", (physician_id_number(index),)).fetchone()[0]
        cycle = conn.execute("SELECT id FROM cycles WHERE is_current = 1").fetchone()[0]
        now = dt.datetime.utcnow().isoformat(sep=" ")
        conn.execute(
            "INSERT INTO registrations (physician_id, cycle_id, state, version, data, procedure, work_rating, "
            "ethics_rating, submitted_at, updated_at) VALUES (?, ?, ?, 1, '{}', 'general', '合格', ?, ?, ?) "
            "ON CONFLICT (physician_id, cycle_id) DO UPDATE SET state = excluded.state, version = version + 1, "
            "ethics_rating = excluded.ethics_rating, updated_at = excluded.updated_at",
            (pid, cycle, state, rating, now, now))


def test_body_publishes_results_after_confirming_who(make_context, demo_database, screenshots) -> None:  # type: ignore[no-untyped-def]
    from exam_server.demo.seed import PHYSICIANS

    _decide(demo_database, 3, "PASSED")   # 赵丽, 滨海市第一人民医院 (body01)
    _decide(demo_database, 4, "FAILED")   # 陈晨, 滨海市口腔医院 (body01)
    passed, failed = PHYSICIANS[3][0], PHYSICIANS[4][0]

    # body02 has no seal: the page says so before anything is tried.
    other = make_context("phone", **VIEWS["phone"]).new_page()
    login_staff(other, "body02")
    other.goto("/results/manage")
    assert "尚未上传考核机构印章" in other.inner_text("[data-no-seal]")
    shot(other, screenshots, "publish-no-seal-phone")

    for view in ("phone", "desktop"):
        page = make_context(view, **VIEWS[view]).new_page()
        audit = PageAudit(page)
        login_staff(page, "body01")
        page.click("a.tool:has-text('结果公布')")
        page.wait_for_url(re.compile(r"/results/manage$"))
        audit.check("结果公布与证书")
        page.click("#publish-form button[type=submit]")
        if view == "phone":  # first look, then step back: nothing is published
            text = confirm_dialog(page, expect="公布后不能撤回", ok=False)
            assert passed in text and failed in text and re.search(r"确认公布 \d+ 名医师的考核结果", text), text
            assert page.locator("[data-publish-report]").is_hidden()
            continue
        page.locator("dialog.dk-dialog[open]").wait_for()
        shot(page, screenshots, f"publish-confirm-{view}")
        confirm_dialog(page, expect=passed)
        report = page.locator("[data-publish-report]")
        report.wait_for()
        words = report.inner_text()
        assert passed in words and failed in words and "已签发合格证书" in words, words
        # The certificate list below shows the certificate just issued, without a reload.
        page.locator("#certificate-list tbody tr[data-certificate]", has_text=passed).wait_for()
        audit.check("结果公布（已公布）")
        shot(page, screenshots, f"publish-report-{view}")
        # Nothing left: saying so instead of publishing nothing.
        page.click("#publish-form button[type=submit]")
        page.wait_for_selector("#publish-form [data-form-error]:not([hidden])")
        assert "无需公布" in page.inner_text("#publish-form [data-form-error]")


def test_officer_reviews_a_long_record_and_the_body_re_reviews(make_context, screenshots) -> None:  # type: ignore[no-untyped-def]
    from exam_server.demo.exams import EXAM_PHYSICIANS

    submitted, rated = EXAM_PHYSICIANS[3][0], EXAM_PHYSICIANS[4][0]  # 冯雪 待机构审核, 何平 待考核机构复核 (inst01)
    for view, who in (("phone", "inst01"), ("desktop", "body01")):
        page = make_context(view, **VIEWS[view]).new_page()
        audit = PageAudit(page)
        login_staff(page, who)
        page.click("a.tool[href='/reviews']")
        page.wait_for_url(re.compile(r"/reviews"))
        name = submitted if who == "inst01" else rated
        page.locator("#reviews tbody tr", has_text=name).locator("text=查看").click()
        page.wait_for_url(re.compile(r"/records/\d+$"))
        bar = page.locator("[data-review-bar]")
        bar.wait_for()
        audit.check(f"报名记录（{who}）")
        # The decision bar is on screen at the top of the record, without scrolling.
        box = bar.bounding_box()
        assert box is not None and box["y"] + box["height"] <= VIEWS[view]["viewport"]["height"] + 1, box
        if who == "inst01":
            assert "未填写" in page.inner_text("#record-body")  # empty fields say so
            assert page.locator("#approve-form input[type=radio]:checked").count() == 0
            shot(page, screenshots, f"record-bar-{view}")
            bar.locator("button", has_text="审核通过").click()
            assert "请选择工作成绩评定" in page.inner_text("#approve-form")
            page.check("#approve-form input[name=work_rating][value=合格]")
            page.check("#approve-form input[name=ethics_rating][value=合格]")
            bar.locator("button", has_text="审核通过").click()
            text = confirm_dialog(page, expect=name)
            assert "合格" in text
            page.wait_for_selector("text=已审核通过")
        else:
            shot(page, screenshots, f"record-bar-{view}")
            bar.locator("button", has_text="复核通过").click()
            confirm_dialog(page, expect="通过后医师即可参加测评")
            page.wait_for_selector("text=已复核通过")
        audit.check(f"报名记录（{who}，已处理）")
