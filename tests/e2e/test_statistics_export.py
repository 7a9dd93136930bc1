"""The statistics page's exports in Chromium (phone and desktop): a click starts a background export,
the page shows its progress and downloads the finished XLSX, which holds the body's physicians."""

from __future__ import annotations

import io

import openpyxl
import pytest

from .steps import login_staff, shot

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_an_export_runs_as_a_job_and_downloads(kind, phone_context, desktop_context, screenshots) -> None:  # type: ignore[no-untyped-def]
    context = phone_context if kind == "phone" else desktop_context
    page = context.new_page()
    login_staff(page, "body01")
    page.goto("/statistics")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("link", name="导出考核结果").click()
    shot(page, screenshots, f"statistics-export-{kind}")
    data = open(download.value.path(), "rb").read()
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert rows[0][:3] == ("姓名", "证件号码", "工作单位") and len(rows) > 1
    assert download.value.suggested_filename.endswith(".xlsx")
    assert page.locator("[data-job-words]").inner_text() == "考核结果：已生成"
