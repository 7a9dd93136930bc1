"""Every page on a 375 px phone, as every role: the page itself never scrolls sideways (wide tables
scroll inside their own box), a long e-mail address and a long institution name wrap on the
confirmation and record pages. The page list comes from the app's page routes, so pages added later
are walked too. On the way, a 不合格 rating goes through the body's re-review on a phone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import exam_server.app  # noqa: F401  (imports every handler module, which registers its pages)
from exam_server.web.routes import page_routes
from registry.application import STEPS

from ..flows import step_data
from ..photos import ONE_FACE, portrait_jpeg
from .steps import confirm_dialog, first_login_physician, login_staff, open_registration, shot

pytestmark = pytest.mark.e2e

LONG_EMAIL = "sun.haiyan.department-of-traditional-chinese-internal-medicine@linjiang-county-tcm-hospital.example.cn"
LONG_INSTITUTION = "临江县中医医院（LinjiangCountyHospitalOfTraditionalChineseMedicineAndIntegratedMedicineCentre）"


# Counts the page's fetches still open (body read, plus a moment to render what came), so a page is
# measured once its data is in: networkidle would add a fixed half second to each of the 210 pages.
COUNT_FETCHES = """(() => {
  const fetch = window.fetch; window.__openFetches = 0;
  window.fetch = (...args) => {
    window.__openFetches++;
    const done = () => setTimeout(() => window.__openFetches--, 50);
    const response = fetch(...args);
    response.then(r => r.clone().arrayBuffer().then(done, done), done);
    return response;
  };
})()"""


def phone_page(make_context):  # type: ignore[no-untyped-def]
    # Widths are CSS pixels whatever the pixel ratio; at 1 the browser paints a quarter of the pixels.
    context = make_context("phone", device_scale_factor=1)
    context.add_init_script(COUNT_FETCHES)
    return context.new_page()


def overflow(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def page_paths(values: dict[str, list[str]]) -> list[str]:
    """Every GET page of the app, parameters filled from `values`."""
    out = []
    for route in page_routes:
        if route.method != "GET":  # type: ignore[union-attr]
            continue
        path = route.path  # type: ignore[union-attr]
        names = re.findall(r"\{([^}:]+)", path)
        if not names:
            out.append(path)
            continue
        for value in values.get(names[0], []):
            out.append(path.replace("{" + names[0] + "}", value))
    return out


def api(page, method: str, path: str, **kw: Any) -> Any:  # type: ignore[no-untyped-def]
    csrf = next((c["value"] for c in page.context.cookies() if c["name"] == "dk_csrf"), "")
    response = page.context.request.fetch(path, method=method, headers={"X-CSRF-Token": csrf}, **kw)
    assert response.ok, (path, response.status, response.text())
    return response.json()


def walk(page, paths: list[str], who: str, screenshots, problems: list[str]) -> None:  # type: ignore[no-untyped-def]
    for path in paths:
        page.goto(path)
        page.wait_for_function("() => window.__openFetches === 0")
        wide = overflow(page)
        if wide > 0:
            shot(page, screenshots, f"too-wide-{who}-{path.strip('/').replace('/', '_') or 'home'}")
            problems.append(f"{who} {path}: {wide}px wider than the screen")


def test_every_page_fits_a_phone_for_every_role(make_context, screenshots, tmp_path) -> None:  # type: ignore[no-untyped-def]
    officer = phone_page(make_context)
    officer.on("dialog", lambda d: d.accept())
    login_staff(officer, "inst03")
    open_registration(officer, "孙海燕")
    if not api(officer, "GET", "/api/v1/departments")["items"]:
        api(officer, "POST", "/api/v1/departments", data={"name": "中医内科"})
    departments = [d["id"] for d in api(officer, "GET", "/api/v1/departments")["items"]]

    doctor = phone_page(make_context)
    doctor.on("dialog", lambda d: d.accept())
    first_login_physician(doctor, 6, phone="13900000006")
    photo = api(doctor, "POST", "/api/v1/registration/photo", timeout=120_000,  # face analysis on a busy machine
                multipart={"photo": {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": portrait_jpeg(ONE_FACE)}})
    data = step_data(departments, photo_id=photo["id"])
    data["basic"].update(name="孙海燕", email=LONG_EMAIL, birth_date="1979-04-02", gender="女")
    data["practice"].update(practice_category="中医", practice_scope="中医", specialties=["中医内科专业"])
    for step, payload in data.items():
        api(doctor, "POST", f"/api/v1/registration/steps/{step}", data={"data": payload, "complete": True})

    problems: list[str] = []
    walk(doctor, page_paths({"step": [*STEPS, "confirm"]}), "physician", screenshots, problems)
    doctor.goto("/register/confirm")
    assert LONG_EMAIL in doctor.inner_text("main, body")
    shot(doctor, screenshots, "phone-confirm-long-email")
    doctor.click("[data-submit-registration]")
    confirm_dialog(doctor, expect="提交后将由所在机构审核")
    doctor.wait_for_url(re.compile(r"/$"))
    walk(doctor, ["/", "/exemption"], "physician", screenshots, problems)

    rid = str(api(officer, "GET", "/api/v1/reviews")["items"][0]["registration_id"])
    admin = phone_page(make_context)
    login_staff(admin, "admin")
    banks = api(admin, "GET", "/api/v1/admin/question-banks")["items"]
    questions = api(admin, "GET", f"/api/v1/admin/question-banks/{banks[0]['id']}/questions?size=1")["items"]
    values = {"step": [*STEPS, "confirm"], "registration_id": [rid], "question_id": [str(questions[0]["id"])]}
    for username in ("inst03", "body02", "health01", "proctor01", "admin"):
        staff = officer if username == "inst03" else admin if username == "admin" else phone_page(make_context)
        if staff not in (officer, admin):
            login_staff(staff, username)
        walk(staff, page_paths(values), username, screenshots, problems)
    assert problems == []

    # The record page with the long e-mail, and a long institution name in the same place, wraps.
    officer.goto(f"/records/{rid}")
    officer.wait_for_selector("#approve-form")
    assert LONG_EMAIL in officer.inner_text("#record-body")
    officer.evaluate("""name => { for (const dd of document.querySelectorAll('#record-body dd'))
        if (dd.textContent === '临江县中医医院') dd.textContent = name; }""", LONG_INSTITUTION)
    assert LONG_INSTITUTION in officer.inner_text("#record-body")
    assert overflow(officer) <= 0, "a long institution name widens the record page"
    shot(officer, screenshots, "phone-record-long-email-and-institution")

    # A 不合格 rating on a phone: the body confirms it, and only then is the result 考核不合格.
    officer.reload()
    officer.wait_for_selector("#approve-form")
    officer.check("#approve-form input[name=work_rating][value=不合格]")
    officer.check("#approve-form input[name=ethics_rating][value=合格]")
    officer.fill("#approve-form [name=comment]", "本周期内发生医疗事故，负主要责任")
    officer.click("#approve-form button[type=submit]")
    confirm_dialog(officer, expect="经考核机构确认后考核结果为不合格")
    officer.wait_for_selector("text=已审核通过")
    doctor.goto("/")
    assert "待考核机构复核" in doctor.inner_text("[data-state]")
    body = phone_page(make_context)
    login_staff(body, "body02")
    body.goto(f"/records/{rid}")
    body.wait_for_selector("#body-confirm-fail-form")
    assert body.locator("#body-approve-form").is_hidden()
    shot(body, screenshots, "phone-body-confirms-fail")
    assert overflow(body) <= 0
    body.click("#body-confirm-fail-form button[type=submit]")
    confirm_dialog(body, expect="暂停其执业活动")
    body.wait_for_selector("text=已确认不合格")
    doctor.reload()
    # Decided, and the physician's to read once the body publishes it.
    assert "待公布" in doctor.inner_text("[data-state]")
