"""Browser steps shared by the end-to-end tests (Playwright sync API)."""

from __future__ import annotations

import re
from pathlib import Path

from exam_server.demo.seed import PHYSICIANS, STAFF_PASSWORD, demo_id_number


def physician_id_number(index: int) -> str:
    _, born, seq, *_ = PHYSICIANS[index]
    return demo_id_number("120101", born, seq)


def login_staff(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.click(".tab[data-tab=staff]")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def first_login_physician(page, index: int, *, phone: str, new_password: str = "Doctor2026x") -> None:  # type: ignore[no-untyped-def]
    """Log in with 666666 and go through the forced password change and phone binding."""
    page.goto("/login")
    page.fill("input[name=login]", physician_id_number(index))
    page.fill("input[name=password]", "666666")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/password$"))
    page.fill("[name=old_password]", "666666")
    page.fill("[name=new_password]", new_password)
    page.fill("[name=confirm_password]", new_password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/phone$"))
    page.fill("[name=phone]", phone)
    page.click("[data-send-code]")
    page.wait_for_selector("text=验证码已发送")
    sms = page.context.new_page()
    sms.goto("/demo/sms")
    text = sms.inner_text("#sms-outbox")
    sms.close()
    code = re.search(rf"{phone}.*?验证码为 (\d{{6}})", text, re.S).group(1)  # type: ignore[union-attr]
    page.fill("[name=code]", code)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def open_registration(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/institution/physicians")
    row = page.locator("#physicians tbody tr", has_text=name)
    row.locator("input[type=checkbox]").check()
    page.click("text=为选中医师开通报名")
    page.wait_for_selector("text=已为 1 名医师开通报名")


def shot(page, directory: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def confirm_dialog(page, *, expect: str | None = None, ok: bool = True) -> str:  # type: ignore[no-untyped-def]
    """Answer the project's confirmation dialog (app.js ``dk.confirmDialog``); returns its text."""
    dialog = page.locator("dialog.dk-dialog[open]")
    dialog.wait_for()
    text = dialog.inner_text()
    if expect is not None:
        assert expect in text, text
    dialog.locator("[data-dialog-ok]" if ok else "[data-dialog-cancel]").click()
    dialog.wait_for(state="detached")
    return text
