"""The page audit finds each kind of problem it promises, names it readably, and passes a clean page."""

from __future__ import annotations

import pytest

from .page_audit import PageAudit

pytestmark = pytest.mark.e2e

STYLE = """<style>
body { margin: 0; font-size: 16px; }
.btn { background: #fff; border: 1px solid #ccc; border-radius: 8px; padding: 8px 14px; }
.styled::file-selector-button { background: #fff; border: 1px solid #ccc; border-radius: 8px; }
</style>"""

CLEAN = STYLE + """
<h1>监考安排</h1>
<p>请上传 PDF 或 XLSX 文件，联系 help@example.cn 或 https://example.cn/help，用户名 inst03。</p>
<p>题型：A1型题、X型题，选项 A、B、C。</p>
<label>考试安排 <select name="schedule"><option>2026 年第四季度</option></select></label>
<input aria-label="医师姓名" name="q">
<input type="hidden" name="csrf" value="not_shown_to_anyone">
<input class="styled" type="file" aria-label="题库文件">
<button class="btn" type="button">保存</button>
<p hidden>raw_code HIDDEN_STATE heartbeat</p>
<p><span translate="no">Zhang Wei</span> 的记录</p>
<svg viewBox="0 0 100 50" width="360" height="180"><text x="0" y="20" font-size="4">周期进度</text></svg>
"""

DIRTY = STYLE + """
<p>题型 A1 / X / TF，状态 NOT_OPENED，字段 exam_schedule，最新 heartbeat</p>
<input name="duration" value="5">
<button type="button">取消</button>
<input type="file" aria-label="照片">
<img src="data:image/png;base64,broken" alt="照片">
<svg viewBox="0 0 1000 500" width="300" height="150"><text x="0" y="20" font-size="20">合格率</text></svg>
<div class="wide" style="width: 3000px">宽</div>
<script>console.error("boom")</script>
"""


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 375, "height": 667}, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_a_clean_page_passes(page) -> None:  # type: ignore[no-untyped-def]
    audit = PageAudit(page)
    page.set_content(CLEAN)
    # 4 user units at a 3.6x scale paint a 14.4 px label: the painted size counts, not the attribute.
    audit.check("clean page")


def test_each_kind_of_problem_is_named(page) -> None:  # type: ignore[no-untyped-def]
    audit = PageAudit(page)
    page.set_content(DIRTY)
    found = audit.problems()
    text = "\n".join(found)
    for expected in (
        'raw question-type code "A1"', 'raw question-type code "X"', 'raw question-type code "TF"',
        'raw status code "NOT_OPENED"', 'raw identifier "exam_schedule"', 'English word "heartbeat"',
        "input[name=duration] has no label", "unstyled (browser-default) button «取消»",
        "file input shows the browser's own chooser button", "broken image",
        "chart label «合格率» rendered at 6.0px", "the page scrolls sideways", "console error: boom",
    ):
        assert expected in text, f"{expected!r} not reported in:\n{text}"
    # Console errors are reported once; the page itself is re-read on every call.
    again = "\n".join(audit.problems())
    assert "console error" not in again and "heartbeat" in again
    with pytest.raises(AssertionError, match="problem"):
        audit.check("dirty page")


def test_allowed_words_are_per_call(page) -> None:  # type: ignore[no-untyped-def]
    audit = PageAudit(page)
    page.set_content(STYLE + "<p>账号 admin 已停用</p>")
    assert any('"admin"' in p for p in audit.problems())
    audit.check("admin list", allow_words=["admin"])
