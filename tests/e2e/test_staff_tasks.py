"""Staff at their desks, in Chromium at 375x667 and 1366x768, every page checked by the page audit
(no raw codes or English, labelled inputs, styled buttons, no console errors, no sideways scroll).

- The assessment body's 监考安排 on a schedule the admin made for every body: rules saved, messages
  beside the button, an institution picked from a list, an assignment cancelled through a dialog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .page_audit import PageAudit
from .steps import login_staff, shot

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": {"width": 375, "height": 667}, "desktop": {"width": 1366, "height": 768}}


def staff_page(make_context, kind: str, username: str):  # type: ignore[no-untyped-def]
    page = make_context(kind, viewport=VIEWPORTS[kind]).new_page()
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
    audit.check("考试安排")
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
