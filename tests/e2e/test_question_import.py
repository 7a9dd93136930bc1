"""The admin imports a Moodle course export in the browser: preview, a reload, a partial import."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..integration.test_question_import_jobs import moodle_course_export
from .steps import login_staff, shot

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_partial_import_through_the_page_survives_a_reload(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    page = make_context(kind).new_page()
    login_staff(page, "admin")
    page.goto("/admin/banks#import")
    page.fill("#import-form [name=bank]", f"浏览器导入-{kind}")
    page.set_input_files("#import-form [name=file]", files=[{
        "name": "course.xml", "mimeType": "application/xml", "buffer": moodle_course_export()}])
    page.click("#import-form [type=submit]")
    job = page.locator("#import-job")
    expect(job.locator("[data-job-state]")).to_have_text("已预览", timeout=60_000)
    expect(job.locator("[data-problem-count]")).to_have_text("3")
    expect(job.locator("[data-skip]")).to_be_checked()  # a file from another system: skipping is offered ticked
    expect(job.locator("[data-report]")).to_have_attribute("href", "/api/v1/admin/import-jobs/" + page.evaluate(
        "document.querySelector('[data-report]').href.split('/').slice(-2)[0]") + "/problems.csv")
    # Types by name (A1型题（单选）, 判断题 ...), never the codes A1 / X / TF.
    types = page.locator("#preview-table tbody tr td:nth-child(2)").all_inner_texts()
    assert types and all(t.endswith(("）", "判断题")) and ("型题" in t or t == "判断题") for t in types if t), types
    shot(page, screenshots, f"import-preview-{kind}")

    page.reload()  # the job is found again after a reload
    expect(job.locator("[data-job-state]")).to_have_text("已预览", timeout=15_000)
    expect(job.locator("[data-skip-count]")).to_have_text("2")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the import page is {overflow}px wider than the screen"

    job.locator("[data-import-confirm]").click()
    expect(job.locator("#import-ok")).to_contain_text("新增 2 道", timeout=60_000)
    expect(job.locator("#import-ok")).to_contain_text("跳过有问题的试题")
    shot(page, screenshots, f"import-done-{kind}")
