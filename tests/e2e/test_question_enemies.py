"""The admin keeps questions that give each other away out of one paper, in the browser: the import
preview lists the likely pairs and one is confirmed, the cueing check on the bank page confirms one
pair and then the rest, and a question's page adds and removes an enemy. Phone and desktop."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from question_bank import Option, Question, QuestionType, TF_OPTIONS, write_questions

from .steps import confirm_dialog, login_staff, shot

pytestmark = pytest.mark.e2e


def cueing_file(tag: str) -> bytes:
    """Three facts, each an A1 question and a true and a false statement, no enemies marked."""
    qs = []
    for n, (subject, answer, wrong) in enumerate([("儿科处方", "淡绿色", "淡黄色"), ("急诊处方", "淡黄色", "淡红色"),
                                                   ("麻醉药品处方", "淡红色", "淡绿色")]):
        stem = f"（{tag}）《处方管理办法》规定，{subject}的印刷用纸颜色为"
        options = tuple(Option("ABCD"[i], t) for i, t in enumerate((answer, wrong, "白色", "淡蓝色")))
        qs += [Question(QuestionType.A1, stem + "（　　）", options, ("A",), category="浏览器/处方", code=f"{tag}-{n}A"),
               Question(QuestionType.TF, f"{stem}{answer}。", TF_OPTIONS, ("T",), category="浏览器/处方", code=f"{tag}-{n}T"),
               Question(QuestionType.TF, f"{stem}{wrong}。", TF_OPTIONS, ("F",), category="浏览器/处方", code=f"{tag}-{n}F")]
    return write_questions(qs, format="xlsx")


def fits(page) -> None:  # type: ignore[no-untyped-def]
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_enemies_from_the_import_preview_the_cueing_check_and_the_question_page(make_context, screenshots: Path,  # type: ignore[no-untyped-def]
                                                                               kind: str) -> None:
    page = make_context(kind).new_page()
    login_staff(page, "admin")
    bank = f"互斥演示-{kind}"

    # Import: the preview lists the pairs; one is ticked and stored with the questions.
    page.goto("/admin/banks#import")
    page.fill("#import-form [name=bank]", bank)
    page.set_input_files("#import-form [name=file]", files=[{
        "name": "处方.xlsx", "mimeType": "application/octet-stream", "buffer": cueing_file(kind)}])
    page.click("#import-form [type=submit]")
    job = page.locator("#import-job")
    expect(job.locator("[data-job-state]")).to_have_text("已预览", timeout=60_000)
    cues = job.locator("#preview-cueing")
    expect(cues).to_be_visible()
    expect(cues.locator("[data-cue-count]")).to_have_text("9 对")
    expect(cues.locator("[data-cue-list] li").first).to_contain_text("陈述了题干和正确答案")
    cues.locator("[data-cue-list] input[type=checkbox]").first.check()
    fits(page)
    job.screenshot(path=str(screenshots / f"enemies-import-preview-{kind}.png"))
    job.locator("[data-import-confirm]").click()
    expect(job.locator("#import-ok")).to_contain_text("新增 9 道", timeout=60_000)
    expect(job.locator("#import-ok")).to_contain_text("新增互斥题 1 对")

    # The cueing check on demand: the other eight, one confirmed, then the rest at once.
    page.goto("/admin/banks#cueing")
    page.reload()  # the same page as the import: reloaded, so the new bank is listed
    page.select_option("#cueing-form [name=bank_id]", label=bank)
    page.click("#cueing-form [type=submit]")
    pairs = page.locator("#cueing-pairs li")
    expect(page.locator("[data-cueing-summary]")).to_contain_text("发现 8 对可能互相提示的试题")
    expect(pairs).to_have_count(8)
    fits(page)
    page.locator("#cueing").screenshot(path=str(screenshots / f"enemies-cueing-check-{kind}.png"))
    pairs.first.locator("button").click()
    expect(page.locator("[data-cueing-ok]")).to_contain_text("新增 1 对互斥题")
    expect(pairs).to_have_count(7)
    page.click("[data-cueing-all]")
    confirm_dialog(page, expect="7 对试题全部设为互斥")
    expect(page.locator("[data-cueing-ok]")).to_contain_text("新增 7 对互斥题")
    expect(pairs).to_have_count(0)
    page.click("#cueing-form [type=submit]")
    expect(page.locator("[data-cueing-summary]")).to_contain_text("发现 0 对")

    # A question's page: its enemies, one found in the bank and added, then removed again.
    page.goto("/admin/banks#browse")
    page.select_option("#browse-form [name=bank_id]", label=bank)
    page.fill("#browse-form [name=q]", f"{kind}-0A")  # by code
    page.click("#browse-form [type=submit]")
    row = page.locator("#questions tbody tr").first
    expect(row).to_contain_text(f"{kind}-0A")
    row.locator("a", has_text="修改").click()
    enemies = page.locator("#enemies")
    expect(enemies.locator("[data-enemy-count]")).to_have_text("2 道")
    expect(page.locator("[name=code]")).to_have_value(f"{kind}-0A")
    enemies.locator("[name=q]").fill("急诊处方")
    enemies.locator("#enemy-search [type=submit]").click()
    results = enemies.locator("[data-enemy-results] li")
    expect(results).to_have_count(3)
    results.first.locator("button").click()
    expect(enemies.locator("[data-enemy-ok]")).to_contain_text("已设为互斥")
    expect(enemies.locator("[data-enemy-count]")).to_have_text("3 道")
    fits(page)
    shot(page, screenshots, f"enemies-question-page-{kind}")
    enemies.locator("[data-enemy-list] li", has_text="急诊处方").locator("button").click()
    expect(enemies.locator("[data-enemy-ok]")).to_have_text("已解除互斥")
    expect(enemies.locator("[data-enemy-count]")).to_have_text("2 道")
    page.reload()
    expect(enemies.locator("[data-enemy-list] li")).to_have_count(2)
