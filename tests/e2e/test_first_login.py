"""The foundation in a browser: a physician's first login on a phone, the institution opening registration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from exam_server.demo.seed import PHYSICIANS, STAFF_PASSWORD, demo_id_number
from exam_server.demo.exams import EXAM_PHYSICIANS

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Doctor2026x"


def id_number(index: int) -> str:
    _name, born, seq, *_ = PHYSICIANS[index]
    return demo_id_number("120101", born, seq)


def shot(page, screenshots: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def assert_fits_the_screen(page) -> None:  # type: ignore[no-untyped-def]
    """No sideways scrolling of the page itself (wide tables scroll inside their own box)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def path_of(page) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"^https?://[^/]+", "", page.url)


def first_login(page, index: int, phone: str, screenshots: Path, tag: str) -> None:  # type: ignore[no-untyped-def]
    """Initial password, forced password change, phone binding with the code from /demo/sms."""
    page.goto("/login")
    shot(page, screenshots, f"01-login-{tag}")
    page.fill("input[name=login]", id_number(index))
    page.fill("input[name=password]", "666666")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/password")
    assert page.locator(".notice").inner_text() == "首次登录或密码已被重置，请先修改密码。"
    shot(page, screenshots, f"02-password-{tag}")
    # A weak password is refused in place, naming the field.
    page.fill("input[name=old_password]", "666666")
    page.fill("input[name=new_password]", "abc12")
    page.fill("input[name=confirm_password]", "abc12")
    page.click("form button[type=submit]")
    page.locator('.err[data-for="new_password"]').filter(has_text="新密码至少 8 位").wait_for()
    assert path_of(page) == "/password"
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=confirm_password]", NEW_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/phone")
    # The home page is out of reach until the phone is bound.
    page.goto("/")
    page.wait_for_url("**/phone")
    shot(page, screenshots, f"03-phone-{tag}")
    page.fill("input[name=phone]", phone)
    page.click("[data-send-code]")
    page.locator("[data-form-ok]").filter(has_text="验证码已发送").wait_for()
    # The button waits out the resend interval, counting down.
    assert page.locator("[data-send-code]").is_disabled()
    expect(page.locator("[data-send-code]")).to_have_text(re.compile(r"^\d+ 秒后重发$"))
    sms_page = page.context.new_page()
    sms_page.goto("/demo/sms")
    text = sms_page.locator("#sms-outbox li").filter(has_text=phone).first.inner_text()
    sms_page.close()
    code = re.search(r"验证码为 (\d{6})", text).group(1)  # type: ignore[union-attr]
    page.fill("input[name=code]", code)
    shot(page, screenshots, f"04-phone-filled-{tag}")
    page.click("#phone-form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def officer_opens_registration(page, physician_name: str, screenshots: Path, tag: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.click(".tab[data-tab=staff]")
    page.fill("input[name=login]", "inst01")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.click("a[href='/institution/physicians']")
    page.wait_for_url("**/institution/physicians")
    row = page.locator("#physicians tbody tr").filter(has_text=physician_name)
    row.wait_for()
    assert row.locator("td.st").inner_text() == "未开通报名"
    # Only the physicians of INST001 are listed (the registration demo's and the exam demo's).
    inst001 = sum(1 for p in PHYSICIANS if p[3] == "INST001") + sum(1 for p in EXAM_PHYSICIANS if p[3] == "INST001")
    assert page.locator("#physicians tbody tr").count() == inst001
    assert page.locator("#physician-total").inner_text() == f"共 {inst001} 名医师"
    shot(page, screenshots, f"07-institution-before-{tag}")
    row.locator("input[type=checkbox]").check()
    page.get_by_role("button", name="为选中医师开通报名").click()
    page.locator("[data-form-ok]").filter(has_text="已为 1 名医师开通报名").wait_for()
    page.locator("#physicians tbody tr").filter(has_text=physician_name).locator("td.st").filter(
        has_text="已开通报名").wait_for()
    # An opened physician can no longer be selected for opening.
    assert page.locator("#physicians tbody tr").filter(has_text=physician_name).locator(
        "input[type=checkbox]").is_disabled()
    shot(page, screenshots, f"08-institution-after-{tag}")


@pytest.mark.parametrize("index, physician_view, officer_view", [
    (0, "phone", "desktop"),  # the story as the issue tells it
    (3, "desktop", "phone"),  # the same pages at the other viewport
])
def test_first_login_then_the_institution_opens_registration(make_context, screenshots: Path, index: int,
                                                             physician_view: str, officer_view: str) -> None:  # type: ignore[no-untyped-def]
    name = PHYSICIANS[index][0]
    doctor = make_context(physician_view).new_page()
    first_login(doctor, index, f"1391234{index:04d}", screenshots, physician_view)
    state = doctor.locator(".state")
    assert state.inner_text() == "【未开通报名】"
    assert state.get_attribute("data-state") == "NOT_OPENED"
    assert "1201*****" + id_number(index)[-2:] in doctor.locator(".facts").inner_text()
    assert id_number(index) not in doctor.content(), "the full ID number never reaches the page"
    assert doctor.locator(".tool.disabled").filter(has_text="我要报名").count() == 1
    shot(doctor, screenshots, f"05-home-not-opened-{physician_view}")
    if physician_view == "phone":
        assert_fits_the_screen(doctor)

    officer = make_context(officer_view).new_page()
    officer_opens_registration(officer, name, screenshots, officer_view)
    if officer_view == "phone":
        assert_fits_the_screen(officer)

    doctor.reload()
    assert doctor.locator(".state").inner_text() == "【已开通报名】"
    assert doctor.locator(".state").get_attribute("data-state") == "OPENED"
    assert doctor.locator("a.tool[href='/register']").filter(has_text="我要报名").count() == 1
    shot(doctor, screenshots, f"06-home-opened-{physician_view}")
    if physician_view == "phone":
        assert_fits_the_screen(doctor)


def test_every_first_login_page_fits_a_phone(phone_context, demo_server: str) -> None:  # type: ignore[no-untyped-def]
    page = phone_context.new_page()
    for path in ("/login", "/demo/sms"):
        page.goto(path)
        assert_fits_the_screen(page)
    # Inputs are large enough to tap (at least 40 CSS pixels high).
    page.goto("/login")
    for selector in ("input[name=login]", "input[name=password]", "#login-form button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 40 and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector


def test_the_login_form_labels_its_field_for_the_chosen_tab(phone_context) -> None:  # type: ignore[no-untyped-def]
    page = phone_context.new_page()
    page.goto("/login")
    physician_label, staff_label = page.locator("[data-label-physician]"), page.locator("[data-label-staff]")
    expect(physician_label).to_be_visible()
    expect(staff_label).to_be_hidden()
    page.click(".tab[data-tab=staff]")
    expect(staff_label).to_be_visible()
    expect(physician_label).to_be_hidden()
    assert page.locator("input[name=login]").get_attribute("placeholder") == "工作人员用户名"
    page.click(".tab[data-tab=physician]")
    expect(physician_label).to_be_visible()
    expect(staff_label).to_be_hidden()


def test_the_top_bar_stays_on_one_line_on_a_phone(phone_context) -> None:  # type: ignore[no-untyped-def]
    page = phone_context.new_page()
    page.goto("/login")
    page.click(".tab[data-tab=staff]")
    page.fill("input[name=login]", "inst01")  # the longest name and role among the demo accounts
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    for selector in (".topbar .brand", ".topbar [data-logout]"):
        # One line of text (plus the button's padding and border) is less than 1.5 lines.
        inner = page.locator(selector).evaluate(
            "e => { const s = getComputedStyle(e); return [parseFloat(s.lineHeight), e.clientHeight"
            " - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom)]; }")
        line, text_height = inner
        assert text_height < 1.5 * line, f"{selector} wraps onto {text_height / line:.1f} lines"
    assert_fits_the_screen(page)


def test_a_wrong_password_shows_the_chinese_error_on_the_login_page(phone_context, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    page = phone_context.new_page()
    page.goto("/login")
    page.fill("input[name=login]", id_number(1))
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-form button[type=submit]")
    error = page.locator('.err[data-for="password"]')
    error.filter(has_text="证件号码或密码错误").wait_for()
    assert error.inner_text() == "证件号码或密码错误"
    assert page.locator("input[name=password]").get_attribute("aria-invalid") == "true"
    assert path_of(page) == "/login"
    shot(page, screenshots, "09-login-wrong-password-phone")
    assert_fits_the_screen(page)

    # A mistyped ID number is caught by its check digit, at the field.
    number = id_number(1)
    page.fill("input[name=login]", number[:17] + ("0" if number[17] != "0" else "1"))
    page.fill("input[name=password]", "666666")
    page.click("#login-form button[type=submit]")
    page.locator('.err[data-for="login"]').filter(has_text="居民身份证号码校验位不正确").wait_for()

    # Staff get their own wording.
    page.click(".tab[data-tab=staff]")
    page.fill("input[name=login]", "inst02")
    page.fill("input[name=password]", "wrong-password")
    page.click("#login-form button[type=submit]")
    page.locator('.err[data-for="password"]').filter(has_text="用户名或密码错误").wait_for()
    assert path_of(page) == "/login"
