"""A physician who passed downloads the certificate; its QR code, opened in a fresh browser, says genuine.

The pass is put in the demo database directly (the exam-taking browser tests cover how the engine
records one); publication, download and verification go through the pages.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pytest

from exam_server.demo.seed import PHYSICIANS

from .steps import confirm_dialog, first_login_physician, login_staff, physician_id_number

pytestmark = pytest.mark.e2e
INDEX = 5  # 刘洋, 滨海市口腔医院, under body01 (the administration test may have opened his registration)


def _record_pass(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        pid = conn.execute("SELECT id FROM physicians WHERE id_number = ?", (physician_id_number(INDEX),)).fetchone()[0]
        cycle = conn.execute("SELECT id FROM cycles WHERE is_current = 1").fetchone()[0]
        now = dt.datetime.utcnow().isoformat(sep=" ")
        conn.execute(
            "INSERT INTO registrations (physician_id, cycle_id, state, version, data, procedure, work_rating, "
            "ethics_rating, submitted_at, updated_at) VALUES (?, ?, 'PASSED', 1, '{}', 'general', '合格', '合格', ?, ?) "
            "ON CONFLICT (physician_id, cycle_id) DO UPDATE SET state = 'PASSED', version = version + 1, "
            "procedure = 'general', work_rating = '合格', ethics_rating = '合格', submitted_at = excluded.submitted_at, "
            "updated_at = excluded.updated_at",
            (pid, cycle, now, now))


def _qr_url(pdf: Path) -> str:
    cv2 = pytest.importorskip("cv2")
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))], check=True)
    image = cv2.imread(str(pdf.with_suffix(".png")))
    # OpenCV's classic detector misses some valid codes (the number and signature change every run);
    # its ArUco-based one reads them. Either reading counts.
    detectors = [cv2.QRCodeDetectorAruco()] if hasattr(cv2, "QRCodeDetectorAruco") else []
    found = next((text for d in (*detectors, cv2.QRCodeDetector()) if (text := d.detectAndDecode(image)[0])), "")
    assert found, "no QR code found on the certificate"
    return found


def test_passed_physician_downloads_certificate_and_its_qr_verifies(make_context, demo_database, screenshots, tmp_path):  # type: ignore[no-untyped-def]
    _record_pass(demo_database)
    body = make_context("desktop").new_page()
    login_staff(body, "body01")
    body.goto("/results/manage")
    body.click("#publish-form button[type=submit]")
    confirm_dialog(body, expect=PHYSICIANS[INDEX][0])
    body.wait_for_selector("[data-publish-report]:not([hidden])")
    assert PHYSICIANS[INDEX][0] in body.inner_text("[data-publish-report]")
    body.screenshot(path=str(screenshots / "results-manage-desktop.png"), full_page=True)
    # The institution's certificates as a ZIP: a background job whose progress the page shows.
    with body.expect_download(timeout=60_000) as zipped:
        body.get_by_role("link", name="滨海市口腔医院 合格证书（ZIP）").click()
    names = zipfile.ZipFile(zipped.value.path()).namelist()  # other tests on this demo may have passed others there
    assert names and all(n.endswith(".pdf") for n in names)
    assert zipped.value.suggested_filename == "滨海市口腔医院-合格证书.zip"
    assert body.locator("[data-zip-progress] [data-job-words]").inner_text() == "滨海市口腔医院：已生成"
    assert body.locator("[data-zip-progress] [data-job-count]").inner_text() == f"{len(names)} / {len(names)} 份"

    doctor = make_context("phone").new_page()
    first_login_physician(doctor, INDEX, phone="13900000005")
    doctor.goto("/")
    doctor.click("#result-link")
    doctor.wait_for_url(re.compile(r"/result$"))
    assert doctor.locator("#result-words").inner_text() == "【考核合格】"
    number = doctor.locator("#certificate-number").inner_text().strip()
    doctor.screenshot(path=str(screenshots / "result-phone.png"), full_page=True)
    overflow = doctor.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    with doctor.expect_download() as info:
        doctor.click("#download-certificate")
    pdf = tmp_path / "certificate.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    url = _qr_url(pdf)
    assert f"/verify/{number}?s=" in url

    stranger = make_context("desktop").new_page()  # a fresh browser, not logged in
    stranger.goto(url)
    verdict = stranger.locator("[data-verify-status]")
    assert verdict.get_attribute("data-verify-status") == "genuine"
    assert "证书真实有效" in verdict.inner_text()
    name = PHYSICIANS[INDEX][0]
    assert name[0] + "*" in verdict.inner_text() and name not in stranger.content()
    stranger.screenshot(path=str(screenshots / "verify-genuine-desktop.png"), full_page=True)


def test_statistics_page_charts_on_phone_and_desktop(make_context, screenshots):  # type: ignore[no-untyped-def]
    for view, user in (("desktop", "body01"), ("phone", "health01")):
        page = make_context(view).new_page()
        login_staff(page, user)
        page.click("a.tool:has-text('统计与导出')")
        page.wait_for_url(re.compile(r"/statistics$"))
        assert page.locator("figure.chart-box svg").count() == 7
        page.screenshot(path=str(screenshots / f"statistics-{view}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, view
