"""The system administrator's main task, end to end in Chromium at 375x667 and 1366x768: accounts, cycles,
code tables, the assessment bodies' contact, question banks, papers, schedules and statistics. Every page
on the way is audited (no raw codes or English shown, labelled inputs, styled buttons, no console errors,
no sideways scroll), and every irreversible or costly step goes through the project's confirmation dialog,
which says what will happen and to whom, and is reported afterwards.

On the same server, the other dangerous steps this issue puts behind a dialog: the body ending a
candidate's exam on 考试安排 (it is submitted and scored at once, and counts as an attempt), and the
physician withdrawing the face-data consent.

The module runs its own demo server: it switches the current cycle, retires a question, disables an
account and ends an exam, which other tests rely on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from exam_server.demo.exams import EXAM_PHYSICIANS

from .conftest import own_demo
from .exam_steps import csrf_headers, first_login
from .page_audit import PageAudit
from .steps import confirm_dialog, first_login_physician, login_staff, shot

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": {"width": 375, "height": 667}, "desktop": {"width": 1366, "height": 768}}
PLACE = {"phone": "手机", "desktop": "电脑"}  # told apart in text the page shows (which must be Chinese)
YEAR = {"phone": 2030, "desktop": 2033}


demo_var, demo_server = own_demo("admin-desk")


@pytest.fixture
def make_context(make_context):  # type: ignore[no-untyped-def]
    """The shared contexts (CSP violations fail the test) at this issue's desktop size, 1366x768."""
    return lambda kind, **options: make_context(kind, **{"viewport": VIEWPORTS[kind], **options})


def _tool(page, audit: PageAudit, words: str, path: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """From the home page, open a tool by the words on its tile, and audit what opens."""
    page.goto("/")
    page.click(f"a.tool:has-text('{words}')")
    page.wait_for_url(re.compile(re.escape(path) + r"(\?.*)?$"))
    page.wait_for_load_state("networkidle")
    audit.check(label)


def _ok(page, *words: str) -> str:  # type: ignore[no-untyped-def]
    """Wait until the page's report of what was done says all of ``words``; returns it."""
    box = page.locator("[data-form-ok]:not([hidden]), [data-done-box]:not([hidden])").first
    for w in words:
        expect(box).to_contain_text(w)
    # The report comes from app.js on the reloaded page; the page's own script (deferred, after it) must
    # have run before the next click, or the click lands on a button nothing listens to yet.
    page.wait_for_load_state("load")
    return box.inner_text()


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_the_admin_runs_the_cycle_accounts_banks_and_papers(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    page = make_context(kind).new_page()
    audit = PageAudit(page)
    login_staff(page, "admin")
    audit.check("系统管理员首页")
    assert page.inner_text("header .who").strip() == "系统管理员"  # the name, not the name and then the same role
    shot(page, screenshots, f"admin-home-{kind}")

    # 账户管理: create an invigilator account, then disable it through the dialog.
    _tool(page, audit, "账户管理", "/admin/accounts", "账户管理")
    username = f"proctor_{kind}"
    page.select_option("#account-role", label="监考员")
    page.fill("#account-form input[name=username]", username)
    page.fill("#account-form input[name=display_name]", f"{PLACE[kind]}监考员")
    page.locator("#account-organisation").select_option(index=1)
    page.click("#account-form button[type=submit]")
    _ok(page, "已创建账户", username)
    expect(page.locator("#otp-box")).to_be_visible()
    row = page.locator(f"#staff-accounts tr[data-username='{username}']")
    row.wait_for()
    audit.check("账户管理（已新建）")
    row.locator("button", has_text="停用").click()
    text = confirm_dialog(page, expect=f"{PLACE[kind]}监考员", ok=False)  # first step back: nothing happens
    assert username in text and "登录立即失效" in text, text
    expect(row.locator("td.st")).to_have_text("待首次登录改密")
    row.locator("button", has_text="停用").click()
    confirm_dialog(page, expect=username)
    _ok(page, "已停用", username, "登录已失效")
    expect(page.locator(f"#staff-accounts tr[data-username='{username}'] td.st")).to_have_text("已停用")
    audit.check("账户管理（已停用）")
    shot(page, screenshots, f"admin-accounts-{kind}")

    # 考核周期: a new cycle; switching to it asks first and says what it does, then reports.
    _tool(page, audit, "考核周期", "/admin/cycles", "考核周期")
    name = f"{YEAR[kind]}—{YEAR[kind] + 2} 年度"
    page.fill("input[name=name]", name)
    page.fill("input[name=starts_on]", f"{YEAR[kind]}-01-01")
    page.fill("input[name=ends_on]", f"{YEAR[kind] + 2}-12-31")
    page.click("form[data-api] button[type=submit]")
    _ok(page, "已新建考核周期")
    # Creating one as the current cycle asks first; stepping back creates nothing.
    page.fill("input[name=name]", f"{YEAR[kind] + 1}—{YEAR[kind] + 3} 年度")
    page.fill("input[name=starts_on]", f"{YEAR[kind] + 1}-01-01")
    page.fill("input[name=ends_on]", f"{YEAR[kind] + 3}-12-31")
    page.check("input[name=current]")
    page.click("form[data-api] button[type=submit]")
    confirm_dialog(page, expect="新建并设为当前考核周期", ok=False)
    expect(page.locator("#cycles tr", has_text=f"{YEAR[kind] + 1}—")).to_have_count(0)
    page.uncheck("input[name=current]")
    page.fill("input[name=name]", "")
    current = page.locator("#cycles tbody tr:not(:has([data-make-current]))").locator("td").first.inner_text()
    row = page.locator("#cycles tr", has_text=name)
    row.locator("[data-make-current]").click()
    text = confirm_dialog(page, expect=name)
    assert "原周期的记录保留" in text, text
    _ok(page, f"已将“{name}”设为当前考核周期")
    expect(page.locator("#cycles tbody tr:not(:has([data-make-current]))")).to_contain_text(name)
    audit.check("考核周期（已切换）")
    shot(page, screenshots, f"admin-cycles-{kind}")
    page.locator("#cycles tr", has_text=current).locator("[data-make-current]").click()  # and back
    confirm_dialog(page, expect=current)
    _ok(page, f"已将“{current}”设为当前考核周期")
    expect(page.locator("#cycles tbody tr:not(:has([data-make-current]))")).to_contain_text(current)

    # 代码表: a new 职称, then stopped through the dialog.
    _tool(page, audit, "代码表", "/admin/codes", "代码表")
    code = f"{PLACE[kind]}测试职称"
    form = page.locator("form[data-api='/api/v1/admin/code-tables']")
    form.locator("select[name=table]").select_option(label="职称")
    form.locator("input[name=value]").fill(code)
    form.locator("button[type=submit]").click()
    row = page.locator("#added-codes tr", has_text=code)
    row.wait_for()
    page.wait_for_load_state("load")  # the reloaded page's admin.js listens for the click (see _ok)
    row.locator("[data-code-active]").click()
    confirm_dialog(page, expect=code)
    _ok(page, f"已停用代码“{code}”")
    expect(page.locator("#added-codes tr", has_text=code)).to_contain_text("停用")
    audit.check("代码表（已停用）")

    # 考核机构联系方式: saved, and said so.
    _tool(page, audit, "考核机构联系方式", "/admin/bodies", "考核机构联系方式")
    panel = page.locator("form[data-body]").first
    panel.locator("input[name=contact]").fill(f"电话 022-1234567{len(kind)}（工作日 8:30-17:00）")
    panel.locator("button[type=submit]").click()
    _ok(page, "的联系方式")
    audit.check("考核机构联系方式（已保存）")
    shot(page, screenshots, f"admin-bodies-{kind}")

    # 题库管理: retire a question (asked first, with its stem), reported, then restored.
    _tool(page, audit, "题库管理", "/admin/banks", "题库管理")
    first = page.locator("#questions tbody tr[data-question-id]").first
    first.wait_for()
    qid = first.get_attribute("data-question-id")
    audit.check("题库管理（试题列表）")
    first.locator("button", has_text="停用").click()
    text = confirm_dialog(page, expect=f"停用试题 {qid}")
    assert "不再抽到这道题" in text and "照常作答计分" in text, text
    ok = page.locator("[data-browse-ok]")
    expect(ok).to_contain_text("已停用")
    expect(page.locator(f"#questions tbody tr[data-question-id='{qid}']")).to_have_count(0)  # out of 在用
    page.select_option("#browse-form select[name=status]", "retired")
    row = page.locator(f"#questions tbody tr[data-question-id='{qid}']")
    row.locator("button", has_text="恢复").click()
    expect(ok).to_contain_text("已恢复")
    audit.check("题库管理（已停用并恢复）")
    shot(page, screenshots, f"admin-banks-{kind}")

    # 试卷管理: check a paper can be drawn from a bank (nothing saved).
    _tool(page, audit, "试卷管理", "/admin/papers", "试卷管理")
    cells = page.locator("#papers td").all_inner_texts()
    assert "不限" in cells and not [c for c in cells if re.fullmatch(r"\d+\.0", c.strip())], cells  # marks as written
    shot(page, screenshots, f"admin-papers-{kind}")

    # The rest of the admin's desk: opened and audited.
    for words, path in (("免考条件维护", "/admin/conditions"), ("人工核验身份", "/identity/manual"),
                        ("考试安排", "/schedules"), ("全部报名记录", "/reviews"), ("统计与导出", "/statistics")):
        _tool(page, audit, words, path, words)
        shot(page, screenshots, f"admin-{path.strip('/').replace('/', '-')}-{kind}")


def _api(page, method: str, path: str, body: Any = None) -> Any:  # type: ignore[no-untyped-def]
    response = page.request.fetch(path, method=method, data=None if body is None else body,
                                  headers={**csrf_headers(page.context), "Content-Type": "application/json"})
    assert response.ok, (path, response.status, response.text())
    return response.json()


@pytest.mark.parametrize("kind", ["phone", "desktop"])
def test_ending_an_exam_says_to_whom_and_what_then_reports(make_context, screenshots: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    index = 0 if kind == "phone" else 5
    name = EXAM_PHYSICIANS[index][0]
    doctor = make_context("desktop").new_page()
    first_login(doctor, index, phone=f"1380077{index:04d}")
    attempt = _api(doctor, "POST", "/api/v1/exams/start", {"kind": "humanities", "device": "device-admin-0001"})["attempt_id"]

    page = make_context(kind).new_page()
    audit = PageAudit(page)
    login_staff(page, "body01")
    page.goto("/schedules")
    page.locator("#schedules tbody tr", has_text="医学人文测评").first.locator("button", has_text="查看考生").click()
    row = page.locator(f"tr[data-attempt-id='{attempt}']")
    row.locator("[data-end]").click()
    modal = page.locator("#action-modal")
    expect(modal).to_be_visible()
    expect(modal.locator("#action-title")).to_have_text(f"结束 {name} 的考试？")
    expect(modal.locator("[data-end-consequence]")).to_contain_text("不能撤销")
    audit.check("结束考试（确认）")
    shot(page, screenshots, f"end-attempt-confirm-{kind}")
    modal.locator("[data-action-cancel]").click()  # stepping back ends nothing
    expect(row).to_contain_text("进行中")
    row.locator("[data-end]").click()
    modal.locator("[data-action-ok]").click()
    expect(modal.locator(".err[data-for=reason]")).to_have_text("请填写原因")
    modal.locator("textarea[name=reason]").fill(f"考生在{PLACE[kind]}上报告设备故障，经核实结束考试")
    modal.locator("[data-action-ok]").click()
    expect(modal).to_be_hidden()
    report = page.locator("[data-attempts-ok]")
    expect(report).to_contain_text(f"已结束 {name}")
    expect(report).to_contain_text("交卷")
    expect(page.locator(f"tr[data-attempt-id='{attempt}']")).not_to_contain_text("进行中")
    audit.check("结束考试（已结束）")


def test_withdrawing_the_face_consent_asks_first_then_reports(make_context, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    for kind, index in (("phone", 2), ("desktop", 3)):
        page = make_context(kind).new_page()
        audit = PageAudit(page)
        first_login(page, index, phone=f"1380066{index:04d}")
        page.goto("/proctoring/consent?next=/exams")
        page.click("[data-accept]")
        page.wait_for_url(re.compile(r"^[^?]*/exams$"))  # 我的考试 itself, not the consent page naming it
        page.goto("/proctoring/consent?next=/exams")
        withdraw = page.locator("[data-withdraw]")
        expect(withdraw).to_be_visible()
        audit.check("人脸信息采集授权（已同意）")
        withdraw.click()
        text = confirm_dialog(page, expect="人工核验身份", ok=False)  # kept: nothing changes
        assert "不能开始新的考试" in text, text
        expect(page.locator("[data-state]")).to_contain_text("已于")
        withdraw.click()
        confirm_dialog(page, expect="撤回人脸信息采集授权")
        done = page.locator("[data-done-box]")
        expect(done).to_contain_text("已撤回人脸信息采集授权")
        expect(page.locator("[data-state]")).to_contain_text("尚未同意")
        expect(page.locator("[data-accept]")).to_be_visible()
        audit.check("人脸信息采集授权（已撤回）")
        shot(page, screenshots, f"consent-withdrawn-{kind}")


def test_the_body_revokes_a_certificate_with_a_category_after_confirming(make_context, demo_var: Path, screenshots: Path) -> None:  # type: ignore[no-untyped-def]
    from exam_server.demo.seed import PHYSICIANS

    from .test_staff_tasks import _decide

    for index in (3, 4):  # 赵丽, 陈晨: body01's
        _decide(demo_var / "dingkao.sqlite3", index, "PASSED")
    _decide(demo_var / "dingkao.sqlite3", 0, "FAILED")  # 张晓明, who asks for a review below
    publisher = make_context("desktop").new_page()
    login_staff(publisher, "body01")
    published = _api(publisher, "POST", "/api/v1/results/publish", {})
    assert published["certificates"] >= 2, published

    for kind, index, category in (("phone", 3, "考试违规经查实"), ("desktop", 4, "证书信息有误")):
        name = PHYSICIANS[index][0]
        page = make_context(kind).new_page()
        audit = PageAudit(page)
        login_staff(page, "body01")
        page.click("a.tool:has-text('结果公布')")
        page.wait_for_url(re.compile(r"/results/manage$"))
        page.fill("#certificate-search input[name=q]", name)
        page.click("#certificate-search button[type=submit]")
        row = page.locator("#certificate-list tbody tr[data-certificate]", has_text=name)
        expect(row).to_have_count(1)
        expect(row.locator("td.st")).to_have_text("有效")
        number = row.get_attribute("data-certificate")
        audit.check("合格证书查询")
        row.locator("[data-revoke]").click()
        form = page.locator(".revoke-form")
        form.locator("button[type=submit]").click()  # the category is required, and the note
        expect(form.locator(".err[data-for=category]")).to_have_text("请选择撤销原因类别")
        expect(form.locator(".err[data-for=reason]")).to_have_text("请填写撤销说明")
        form.locator("select[name=category]").select_option(label=category)
        form.locator("input[name=reason]").fill(f"经核查，{PLACE[kind]}端撤销")
        audit.check("撤销证书（填写原因）")
        shot(page, screenshots, f"revoke-form-{kind}")
        form.locator("button[type=submit]").click()
        if kind == "phone":  # first step back: nothing revoked
            text = confirm_dialog(page, expect=name, ok=False)
            assert number in text and category in text and "不能撤回" in text, text
            expect(row.locator("td.st")).to_have_text("有效")
            form.locator("button[type=submit]").click()
        confirm_dialog(page, expect=number)
        report = page.locator("[data-revoke-report]")
        expect(report).to_contain_text(f"已撤销 {name}")
        expect(report).to_contain_text(category)
        row = page.locator(f"#certificate-list tbody tr[data-certificate='{number}']")
        expect(row.locator("td.st")).to_contain_text(f"已撤销（{category}")
        expect(row.locator("[data-revoke]")).to_have_count(0)
        audit.check("撤销证书（已撤销）")
        shot(page, screenshots, f"revoke-report-{kind}")
        # The public check says so, with the category.
        page.goto(f"/verify?q={number}")
        expect(page.locator("[data-verify-status]")).to_contain_text(f"证书已撤销（{category}）")

    # 复核申请: 张晓明 asks for a review of his 不合格; the body's decision is confirmed, then reported.
    doctor = make_context("phone").new_page()
    first_login_physician(doctor, 0, phone="13900000080")
    _api(doctor, "POST", "/api/v1/my/result/review", {"reason": "工作成绩评定有误，请复核"})
    name = PHYSICIANS[0][0]
    page = make_context("desktop").new_page()
    audit = PageAudit(page)
    login_staff(page, "body01")
    page.goto("/results/manage")
    review = page.locator("form[data-api*='/result-reviews/']")
    audit.check("复核申请（待处理）")
    review.locator("select[name=decision]").select_option(label="维持原结论")
    review.locator("input[name=note]").fill("经复核，原评定依据充分")
    review.locator("button[type=submit]").click()
    text = confirm_dialog(page, expect=name, ok=False)
    assert "不能撤回" in text, text
    expect(review).to_be_visible()  # nothing submitted
    review.locator("button[type=submit]").click()
    confirm_dialog(page, expect=name)
    expect(page.locator("[data-done-box]")).to_contain_text(f"已提交 {name} 的复核结论")
    expect(page.locator("form[data-api*='/result-reviews/']")).to_have_count(0)
    audit.check("复核申请（已处理）")

    # Replacing the seal asks first, then says it was replaced, beside the seal.
    page.set_input_files("#seal-form input[name=seal]", files=[{"name": "seal.png", "mimeType": "image/png", "buffer": _seal_png()}])
    page.click("#seal-form button[type=submit]")
    confirm_dialog(page, expect="新印章")
    expect(page.locator("[data-seal-done]")).to_contain_text("已替换考核机构印章")
    audit.check("考核机构印章（已替换）")


def _seal_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((10, 10, 290, 290), outline=(200, 0, 0, 255), width=18)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()
