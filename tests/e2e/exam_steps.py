"""Browser steps for the exam pages, and the test's oracle: the demo server's own SQLite file.

The keys never leave the server over HTTP; to answer right (or wrong) on purpose a test reads the
attempt's drawn paper and question snapshots from the database file and rebuilds the keys with
the question_bank code, exactly as the server scores them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from exam_server.demo.exams import exam_login
from question_bank import question_from_dict
from question_bank.drawing import DrawnPaper, paper_from_record

from .steps import confirm_dialog, login_staff

NEW_PASSWORD = "Doctor2026x"
SAVED, LOCAL = "已保存", "仅保存在本机，联网后自动上传"


# ---------------------------------------------------------------- the database oracle


def _db(var: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{var / 'dingkao.sqlite3'}?mode=ro", uri=True, timeout=10)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def paper_of(var: Path, attempt_id: int) -> DrawnPaper:
    """An attempt's drawn paper, keys included, rebuilt from the stored record and snapshots."""
    with contextlib.closing(_db(var)) as db:
        record = _json(db.execute("SELECT paper FROM exam_attempts WHERE id = ?", (attempt_id,)).fetchone()[0])
        keys = sorted(set(record["snaps"]))
        rows = db.execute(f"SELECT fingerprint, payload FROM exam_question_snapshots WHERE fingerprint IN "
                          f"({','.join('?' * len(keys))})", keys).fetchall()
    payloads = {k: _json(p) for k, p in rows}
    questions = {item["fp"]: question_from_dict(payloads[snap]) for snap, item in zip(record["snaps"], record["items"])}
    return paper_from_record(record, questions)


def keys_of(var: Path, attempt_id: int) -> dict[int, str]:
    """Item number -> the correct display labels (e.g. "ACD") of an attempt's drawn paper."""
    return {it.number: "".join(it.key) for it in paper_of(var, attempt_id).items}


def saved_answers(var: Path, attempt_id: int) -> dict[int, str]:
    with contextlib.closing(_db(var)) as db:
        rows = db.execute("SELECT item_number, choice FROM exam_answers WHERE attempt_id = ?", (attempt_id,)).fetchall()
    return {int(n): c for n, c in rows}


def attempt_row(var: Path, attempt_id: int) -> dict[str, Any]:
    with contextlib.closing(_db(var)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM exam_attempts WHERE id = ?", (attempt_id,)).fetchone()
    return dict(row)


def wait_for(check, *, timeout: float, what: str):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


# ---------------------------------------------------------------- browser steps


def first_login(page, index: int, phone: str) -> None:  # type: ignore[no-untyped-def]
    """Exam demo physician ``index``: initial password, forced change, phone bound with the code from /demo/sms."""
    page.goto("/login")
    page.fill("input[name=login]", exam_login(index))
    page.fill("input[name=password]", "666666")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/password")
    page.fill("[name=old_password]", "666666")
    page.fill("[name=new_password]", NEW_PASSWORD)
    page.fill("[name=confirm_password]", NEW_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url("**/phone")
    page.fill("[name=phone]", phone)
    page.click("[data-send-code]")
    page.locator("[data-form-ok]").filter(has_text="验证码已发送").wait_for()
    sms = page.context.new_page()
    sms.goto("/demo/sms")
    text = sms.locator("#sms-outbox li").filter(has_text=phone).first.inner_text()
    sms.close()
    page.fill("[name=code]", re.search(r"验证码为 (\d{6})", text).group(1))  # type: ignore[union-attr]
    page.click("#phone-form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def login_again(page, index: int) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login")
    page.fill("input[name=login]", exam_login(index))
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def start_paper(page, kind: str) -> int:  # type: ignore[no-untyped-def]
    """On 我的考试: 开始考试 for ``kind``; returns the attempt id once the first question shows."""
    page.click(f"[data-start={kind}]")
    confirm_dialog(page, expect="考试须知")
    page.wait_for_url(re.compile(r"/exams/attempt/\d+$"))
    page.locator("[data-main]").wait_for()
    expect(page.locator("[data-q-number]")).to_contain_text("第 ")
    expect(page.locator("[data-clock]")).to_have_text(re.compile(r"^\d"))
    return int(page.url.rsplit("/", 1)[1])


def answer(page, number: int, choice: str) -> None:  # type: ignore[no-untyped-def]
    """Jump to question ``number`` with the navigator and pick ``choice`` (one or more labels)."""
    page.click(f"[data-nav] button[data-n='{number}']")
    expect(page.locator("[data-q-number]")).to_have_text(re.compile(rf"^第 {number} 题 "))
    for label in choice:
        page.check(f"[data-options] input[value='{label}']")


def wrong_choice(page, key: str) -> str:  # type: ignore[no-untyped-def]
    """A label of the question on screen that is not (all of) its key."""
    labels = page.locator("[data-options] input").evaluate_all("els => els.map(e => e.value)")
    return next(label for label in labels if label not in key)


def answered_count(page) -> int:  # type: ignore[no-untyped-def]
    return page.locator("[data-nav] button.answered").count()


def remaining_seconds(page) -> int:  # type: ignore[no-untyped-def]
    expect(page.locator("[data-clock]")).to_have_text(re.compile(r"^\d"))
    parts = [int(p) for p in page.inner_text("[data-clock]").split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def server_seconds_left(var: Path, attempt_id: int) -> float:
    deadline = dt.datetime.fromisoformat(attempt_row(var, attempt_id)["deadline"])
    return (deadline - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds()


def expect_countdown_on_server_time(page, var: Path, attempt_id: int, *, what: str) -> None:  # type: ignore[no-untyped-def]
    # Against the stored deadline, read at the same moment: two readings taken seconds apart on a busy
    # machine would differ by however long the steps between them took.
    wait_for(lambda: abs(remaining_seconds(page) - server_seconds_left(var, attempt_id)) <= 3, timeout=30, what=what)


def assert_fits_the_screen(page) -> None:  # type: ignore[no-untyped-def]
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def shot(page, directory: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    # The exam page as the candidate sees it (a full-page capture misplaces its sticky clock bar).
    page.screenshot(path=str(directory / f"exam-{name}.png"), full_page="/exams/attempt/" not in page.url)


def csrf_headers(context) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = next(c["value"] for c in context.cookies() if c["name"] == "dk_csrf")
    return {"X-CSRF-Token": token, "Accept": "application/json"}


def publish_results(make_context, body: str = "body01") -> None:  # type: ignore[no-untyped-def]
    """The body publishes its decided results (until then the physician reads 待公布)."""
    context = make_context("desktop")
    page = context.new_page()
    login_staff(page, body)
    response = page.request.post("/api/v1/results/publish", data="{}",
                                 headers={**csrf_headers(context), "Content-Type": "application/json"})
    assert response.status == 200, response.text()
    context.close()
