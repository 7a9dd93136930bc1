"""The strict content security policy (issue 21) holds in the browser: every page of the app, as anonymous
and as every role, on a phone and on a desktop, runs without one violation (no inline script, handler or
style the policy refuses, nothing loaded from elsewhere). The page list comes from the app's page routes,
so pages added later are walked too. The camera pages in a real proctored attempt are watched by
test_proctored_attempt.py, and every other browser test by the fixtures in conftest.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.application import STEPS

from .conftest import DESKTOP, PHONE, run_demo, watch_csp
from .steps import first_login_physician, login_staff, physician_id_number
from .test_every_page_fits_a_phone import COUNT_FETCHES, api, page_paths

pytestmark = pytest.mark.e2e

STAFF = ("inst02", "body01", "health01", "proctor01", "admin")
PHYSICIAN = 4  # 陈晨: this test's own demo server, so no other test's physician


@pytest.fixture(scope="module")
def own_demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with run_demo(tmp_path_factory.mktemp("csp-demo")) as url:
        yield url


def new_page(browser, base: str, options: dict, seen_by: list):  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(30_000)
    context.add_init_script(COUNT_FETCHES)
    seen_by.append((context, watch_csp(context)))
    page = context.new_page()
    page.on("dialog", lambda d: d.dismiss())
    return page


def walk(page, paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    for path in paths:
        page.goto(path)
        page.wait_for_function("() => window.__openFetches === 0")


def test_no_page_violates_the_content_security_policy(browser, own_demo: str, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    contexts: list = []
    try:
        admin = new_page(browser, own_demo, DESKTOP, contexts)
        login_staff(admin, "admin")
        banks = api(admin, "GET", "/api/v1/admin/question-banks")["items"]
        question = api(admin, "GET", f"/api/v1/admin/question-banks/{banks[0]['id']}/questions?size=1")["items"][0]
        values = {"step": [*STEPS, "confirm"], "registration_id": ["1"], "question_id": [str(question["id"])],
                  "attempt_id": ["1"], "schedule_id": ["1"], "number": ["DK-0000-0000"]}
        paths = [p for p in page_paths(values) if not p.startswith("/ws/")]
        assert len(paths) > 30, paths

        # The watch itself (in a context of its own): an inline script and a style attribute added by hand
        # are reported.
        canary_seen: list = []
        canary = new_page(browser, own_demo, DESKTOP, canary_seen)
        canary.goto("/login")
        canary.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';
                                  document.body.appendChild(s);
                                  document.body.insertAdjacentHTML('beforeend', '<p style="color:red">x</p>'); }""")
        watched = canary_seen[0][1]
        for _ in range(300):  # the reports arrive as events; a safety net only
            if sum(v.startswith(("script-src", "style-src")) for v in watched) >= 2:
                break
            canary.wait_for_timeout(100)
        assert any(v.startswith("script-src") for v in watched), watched
        assert any(v.startswith("style-src") for v in watched), watched
        canary.context.close()

        for kind, options in (("phone", PHONE), ("desktop", DESKTOP)):
            walk(new_page(browser, own_demo, options, contexts), ["/login", "/verify", "/nowhere"])
            doctor = new_page(browser, own_demo, options, contexts)
            if kind == "phone":
                first_login_physician(doctor, PHYSICIAN, phone="13900000004")
            else:
                doctor.goto("/login")
                doctor.fill("input[name=login]", physician_id_number(PHYSICIAN))
                doctor.fill("input[name=password]", "Doctor2026x")
                doctor.click("button[type=submit]")
                doctor.wait_for_url(re.compile(r"/$"))
            walk(doctor, paths)
            doctor.screenshot(path=str(screenshots / f"csp-physician-{kind}.png"), full_page=True)
            for username in STAFF:
                staff = admin if (username, kind) == ("admin", "desktop") else new_page(browser, own_demo, options, contexts)
                if staff is not admin:
                    login_staff(staff, username)
                walk(staff, paths)
        problems = sorted({v for _, seen in contexts for v in seen})
        assert problems == [], problems[:40]
    finally:
        for context, _ in contexts:
            context.close()
