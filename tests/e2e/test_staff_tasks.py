"""The assessment body's and the institution officer's main tasks, end to end in Chromium at 375x667 and
1366x768: manual identity verification, publication of results, reviewing and approving a record.
Every page on the way is audited (no raw codes or English shown, labelled inputs, styled buttons, no console
errors), and every irreversible step goes through the project's confirmation dialog."""

from __future__ import annotations

import re

import pytest

from .steps import confirm_dialog, login_staff, shot

pytestmark = pytest.mark.e2e
VIEWS = {"phone": {"viewport": {"width": 375, "height": 667}}, "desktop": {"viewport": {"width": 1366, "height": 768}}}


def test_body_verifies_identity_by_hand(make_context, screenshots) -> None:  # type: ignore[no-untyped-def]
    from exam_server.demo.exams import EXAM_PHYSICIANS

    names = [p[0] for p in EXAM_PHYSICIANS]
    for view, who, verdict in (("phone", names[0], "verified"), ("desktop", names[1], "refused")):
        page = make_context(view, **VIEWS[view]).new_page()
        login_staff(page, "body01")
        page.click("a.tool:has-text('人工核验身份')")
        page.wait_for_url(re.compile(r"/identity/manual$"))
        entry = page.locator(".manual-entry", has_text=who)
        entry.wait_for()
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
        assert page.locator(".manual-entry", has_text=who).count() == 0
        row = page.locator("#manual-decisions tbody tr", has_text=who).first
        assert "滨海市考核中心" in row.inner_text()
        shot(page, screenshots, f"manual-decided-{view}")
