"""Administration in a browser: the admin creates an institution officer's account; the officer logs in
with the one-time password, changes it, binds a phone and opens registration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .steps import confirm_dialog, login_staff, shot

pytestmark = pytest.mark.e2e


def fits_the_screen(page) -> None:  # type: ignore[no-untyped-def]
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def test_the_admin_creates_an_officer_who_logs_in_changes_the_password_and_opens_registration(  # type: ignore[no-untyped-def]
        make_context, screenshots: Path) -> None:
    admin = make_context("desktop").new_page()
    login_staff(admin, "admin")
    admin.click("a.tool[href='/admin/accounts']")
    admin.wait_for_url("**/admin/accounts")
    expect(admin.locator("#staff-accounts tbody tr", has_text="inst01")).to_be_visible()
    # Refused in place, naming the field, before anything is stored.
    admin.select_option("#account-role", "institution")
    admin.fill("#account-form [name=username]", "x")
    admin.fill("#account-form [name=display_name]", "口腔医院新负责人")
    admin.click("#account-form button[type=submit]")
    expect(admin.locator('#account-form .err[data-for="username"]')).to_contain_text("3-32 位")
    expect(admin.locator('#account-form .err[data-for="organisation"]')).to_contain_text("请选择")
    admin.fill("#account-form [name=username]", "inst02b")
    admin.select_option("#account-organisation", "INST002")
    admin.click("#account-form button[type=submit]")
    expect(admin.locator("#otp-box")).to_be_visible()
    one_time = admin.locator("#otp-box .otp-value").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{12}", one_time)
    row = admin.locator("#staff-accounts tbody tr", has_text="inst02b")
    expect(row).to_contain_text("待首次登录改密")
    expect(row).to_contain_text("滨海市口腔医院")
    shot(admin, screenshots, "admin-accounts-created-desktop")
    # Shown once: a reload does not show it again.
    admin.reload()
    expect(admin.locator("#otp-box")).to_be_hidden()
    assert one_time not in admin.content()

    officer = make_context("phone").new_page()
    officer.goto("/login")
    officer.click(".tab[data-tab=staff]")
    officer.fill("input[name=login]", "inst02b")
    officer.fill("input[name=password]", one_time)
    officer.click("#login-form button[type=submit]")
    officer.wait_for_url("**/password")
    officer.fill("[name=old_password]", one_time)
    officer.fill("[name=new_password]", "short1")
    officer.fill("[name=confirm_password]", "short1")
    officer.click("button[type=submit]")
    expect(officer.locator('.err[data-for="new_password"]')).to_contain_text("至少 8 位")
    officer.fill("[name=new_password]", "Officer2027a")
    officer.fill("[name=confirm_password]", "Officer2027a")
    officer.click("button[type=submit]")
    officer.wait_for_url("**/phone")
    officer.fill("[name=phone]", "13800002002")
    officer.click("[data-send-code]")
    officer.wait_for_selector("text=验证码已发送")
    sms = officer.context.new_page()
    sms.goto("/demo/sms")
    code = re.search(r"13800002002.*?验证码为 (\d{6})", sms.inner_text("#sms-outbox"), re.S).group(1)  # type: ignore[union-attr]
    sms.close()
    officer.fill("[name=code]", code)
    officer.click("button[type=submit]")
    officer.wait_for_url(re.compile(r"/$"))
    expect(officer.locator("h1")).to_contain_text("滨海市口腔医院")
    fits_the_screen(officer)
    officer.click("a.tool[href='/institution/physicians']")
    officer.wait_for_url("**/institution/physicians")
    row = officer.locator("#physicians tbody tr", has_text="刘洋")
    row.locator("input[type=checkbox]").check()
    officer.click("text=为选中医师开通报名")
    expect(officer.locator("[data-form-ok]")).to_have_text("已为 1 名医师开通报名")
    expect(officer.locator("#physicians tbody tr", has_text="刘洋").locator(".st")).to_have_text("已开通报名")
    assert officer.locator("#physicians tbody tr", has_text="张晓明").count() == 0, "only its own institution"
    shot(officer, screenshots, "officer-opened-registration-phone")
    officer.goto("/institution/accounts")
    expect(officer.locator("#physician-accounts tbody tr", has_text="刘洋")).to_be_visible()
    fits_the_screen(officer)
    shot(officer, screenshots, "officer-physician-accounts-phone")

    # The admin disables the account: the officer's next page is the login page.
    admin.locator("#staff-accounts tbody tr", has_text="inst02b").get_by_role("button", name="停用").click()
    confirm_dialog(admin, expect="inst02b")
    expect(admin.locator("#staff-accounts tbody tr", has_text="inst02b")).to_contain_text("已停用")
    officer.goto("/")
    officer.wait_for_url(re.compile(r"/login"))


def test_cycles_and_code_tables_pages_on_a_phone(make_context, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    admin = make_context("phone").new_page()
    login_staff(admin, "admin")
    for path, name in (("/admin/cycles", "cycles"), ("/admin/codes", "codes"), ("/admin/accounts", "accounts")):
        admin.goto(path)
        fits_the_screen(admin)
        shot(admin, screenshots, f"admin-{name}-phone")
    admin.goto("/admin/cycles")
    admin.fill("[name=name]", "坏周期")
    admin.fill("[name=starts_on]", "2040-12-31")
    admin.fill("[name=ends_on]", "2040-01-01")
    admin.click("button[type=submit]")
    expect(admin.locator('.err[data-for="ends_on"]')).to_have_text("结束日期应晚于开始日期")
