"""The registration workflow in a real browser, every role on its own page.

One physician takes the general procedure, is returned, fixes and resubmits, is approved and rated
by the institution and re-approved by the body; a second takes the simple procedure with proofs
and a report and is granted an exemption.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..photos import ONE_FACE, portrait_jpeg
from ..integration.test_registration_files import pdf_bytes
from .steps import confirm_dialog, first_login_physician, login_staff, open_registration, shot

pytestmark = pytest.mark.e2e


def fill_basic(page, photo) -> None:  # type: ignore[no-untyped-def]
    # Loaded, scripts run: a file chosen before register.js listens would never be uploaded.
    page.wait_for_url(re.compile(r"/register/basic$"))
    page.set_input_files("#photo-input", photo)
    page.wait_for_selector("text=照片已上传")
    page.select_option("[name=ethnicity]", "汉族")
    page.select_option("[name=education]", "大学本科")
    page.fill("[name=email]", "doctor@example.cn")
    page.click("[data-next-step]")
    page.wait_for_url(re.compile(r"/register/practice$"))


def fill_practice(page, *, title: str = "主治医师") -> None:  # type: ignore[no-untyped-def]
    page.select_option("[name=department_id]", label="外科")
    page.fill("[name=specialties]", "普通外科专业，神经外科专业")
    page.select_option("[name=title]", title)
    page.fill("[name=title_date]", "2018-09-01")
    page.select_option("[name=level]", "执业医师")
    page.check("input[name=resident][value=false]")
    page.select_option("#category", "临床")
    page.select_option("#scope", "外科")
    page.check("input[name=employment][value=在职]")
    page.click("[data-next-step]")
    page.wait_for_url(re.compile(r"/register/experience$"))


def fill_experience_and_self_eval(page) -> None:  # type: ignore[no-untyped-def]
    page.click("[data-add=education]")
    item = page.locator("[data-list=education] .item").first
    item.locator("[data-field=school]").fill("滨海医科大学")
    item.locator("[data-field=major]").fill("临床医学")
    item.locator("[data-field=degree]").select_option("大学本科")
    item.locator("[data-field=end_date]").fill("2014-07-01")
    page.click("[data-add=practice_history]")
    job = page.locator("[data-list=practice_history] .item").first
    job.locator("[data-field=institution]").fill("滨海市第一人民医院")
    job.locator("[data-field=start_date]").fill("2016-09-01")
    page.click("[data-next-step]")
    page.wait_for_url(re.compile(r"/register/self_eval$"))
    page.check("input[name=work_rating][value=合格]")
    page.fill("[name=work_summary]", "本周期完成门诊、手术及带教任务，无医疗差错。")
    page.check("input[name=ethics_rating][value=合格]")
    page.fill("[name=ethics_summary]", "遵守医德医风规范，尊重患者隐私。")
    page.click("[data-next-step]")
    page.wait_for_url(re.compile(r"/register/procedure$"))


def test_general_and_simple_procedure_through_every_role(make_context, screenshots, tmp_path):  # type: ignore[no-untyped-def]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(portrait_jpeg(ONE_FACE))
    proofs = []
    for n in range(2):
        path = tmp_path / f"证明材料{n}.pdf"
        path.write_bytes(pdf_bytes(n))
        proofs.append(str(path))

    officer = make_context("desktop").new_page()
    officer.on("dialog", lambda d: d.accept())
    login_staff(officer, "inst01")
    shot(officer, screenshots, "institution_home_desktop")
    open_registration(officer, "李欣欣")
    open_registration(officer, "王建国")

    # Physician 1: general procedure, on a phone.
    doctor = make_context("phone").new_page()
    doctor.on("dialog", lambda d: d.accept())
    first_login_physician(doctor, 1, phone="13900000001")
    assert "已开通报名" in doctor.inner_text("[data-state]")
    doctor.click("a.tool:has-text('我要报名')")
    doctor.wait_for_url(re.compile(r"/register/basic$"))
    shot(doctor, screenshots, "physician_step1_phone")
    fill_basic(doctor, str(photo))
    fill_practice(doctor)
    fill_experience_and_self_eval(doctor)
    # 下一步 without a choice names the field.
    doctor.click("[data-next-step]")
    expect(doctor.locator('.err[data-for="procedure"]')).to_have_text("请选择考核程序")
    doctor.check("input[name=procedure][value=general]")
    doctor.click("[data-next-step]")
    doctor.wait_for_url(re.compile(r"/register/confirm$"))
    shot(doctor, screenshots, "physician_confirm_phone")
    doctor.click("[data-submit-registration]")
    confirm_dialog(doctor, expect="提交后将由所在机构审核")
    doctor.wait_for_url(re.compile(r"/$"))
    assert "待机构审核" in doctor.inner_text("[data-state]")

    # The institution returns it with a reason.
    officer.goto("/reviews")
    officer.wait_for_selector("#reviews tbody tr")
    shot(officer, screenshots, "institution_reviews_desktop")
    officer.locator("#reviews tbody tr", has_text="李欣欣").locator("text=查看").click()
    officer.wait_for_selector("#approve-form")
    officer.fill("#return-form [name=reason]", "职称取得时间与证书不一致，请核对")
    officer.click("#return-form button[type=submit]")
    confirm_dialog(officer, expect="职称取得时间与证书不一致")
    officer.wait_for_selector("text=已退回")

    doctor.reload()
    assert "机构退回" in doctor.inner_text("[data-state]")
    assert "职称取得时间与证书不一致" in doctor.inner_text("#return-reason")
    assert "退回" in doctor.inner_text("#messages")
    shot(doctor, screenshots, "physician_returned_phone")
    doctor.goto("/register/practice")
    assert doctor.input_value("[name=specialties]") == "普通外科专业，神经外科专业"  # nothing typed was lost
    doctor.fill("[name=title_date]", "2019-09-01")
    doctor.click("[data-next-step]")
    doctor.wait_for_url(re.compile(r"/register/experience$"))
    doctor.goto("/register/confirm")
    doctor.click("[data-submit-registration]")
    confirm_dialog(doctor, expect="提交后将由所在机构审核")
    doctor.wait_for_url(re.compile(r"/$"))
    assert "待机构审核" in doctor.inner_text("[data-state]")

    officer.goto("/reviews")
    officer.locator("#reviews tbody tr", has_text="李欣欣").locator("text=查看").click()
    officer.wait_for_selector("#approve-form")
    assert officer.locator("#approve-form input[type=radio]:checked").count() == 0  # no preset rating
    officer.click("[data-review-bar] button:has-text('审核通过')")  # the bar at the bottom of the screen
    assert "请选择工作成绩评定" in officer.inner_text("#approve-form")
    officer.check("#approve-form input[name=work_rating][value=合格]")
    officer.check("#approve-form input[name=ethics_rating][value=合格]")
    officer.click("[data-review-bar] button:has-text('审核通过')")
    confirm_dialog(officer, expect="工作成绩")
    officer.wait_for_selector("text=已审核通过")
    shot(officer, screenshots, "institution_record_desktop")

    body = make_context("desktop").new_page()
    login_staff(body, "body01")
    shot(body, screenshots, "body_home_desktop")
    body.goto("/reviews")
    body.locator("#reviews tbody tr", has_text="李欣欣").locator("text=查看").click()
    body.wait_for_selector("#body-approve-form")
    body.click("#body-approve-form button[type=submit]")
    confirm_dialog(body, expect="通过后医师即可参加测评")
    body.wait_for_selector("text=已复核通过")
    doctor.reload()
    assert "审核通过" in doctor.inner_text("[data-state]")
    shot(doctor, screenshots, "physician_approved_phone")

    # Physician 2: simple procedure with proofs and a report, then an exemption.
    second = make_context("phone").new_page()
    second.on("dialog", lambda d: d.accept())
    first_login_physician(second, 2, phone="13900000002")
    second.click("a.tool:has-text('我要报名')")
    fill_basic(second, str(photo))
    fill_practice(second, title="主任医师")
    fill_experience_and_self_eval(second)
    second.check("input[name=procedure][value=simple]")
    second.set_input_files("#proof-input", proofs)
    second.wait_for_selector("#proof-list li >> nth=1")
    second.locator("#proof-list li").nth(1).locator("[data-delete-file]").click()  # withdraw a wrong upload
    confirm_dialog(second, expect="删除后需重新上传")
    expect(second.locator("#proof-list li")).to_have_count(1)
    second.fill("[name=report]", "述" * 2001)
    assert "2001 / 2000" in second.inner_text('[data-counter-for="report"]')
    second.click("[data-next-step]")
    expect(second.locator('.err[data-for="report"]')).to_contain_text("2000")
    second.fill("[name=report]", "本周期内本人认真履行岗位职责，" * 20)
    shot(second, screenshots, "physician_simple_procedure_phone")
    second.click("[data-next-step]")
    second.wait_for_url(re.compile(r"/register/confirm$"))
    second.click("[data-submit-registration]")
    confirm_dialog(second, expect="提交后将由所在机构审核")
    second.wait_for_url(re.compile(r"/$"))
    second.click("a.tool:has-text('申请免考')")
    second.wait_for_url(re.compile(r"/exemption$"))
    second.locator("input[name=condition_codes]").first.check()
    second.set_input_files("#exemption-proof-input", proofs[0])
    second.wait_for_selector("#exemption-proofs li")
    shot(second, screenshots, "physician_exemption_phone")
    second.click("#exemption-apply button[type=submit]")
    second.wait_for_url(re.compile(r"/$"))
    assert "免考申请中" in second.inner_text("#exemption-state")

    officer.goto("/reviews")
    row = officer.locator("#reviews tbody tr", has_text="王建国")
    assert "执业" in row.inner_text()  # the eligibility flag from the imported first-practice date
    row.locator("text=查看").click()
    officer.wait_for_selector("#exemption-form")
    officer.click("#exemption-form [data-decide=true]")
    officer.wait_for_selector("text=已处理免考申请")
    officer.check("#approve-form input[name=work_rating][value=合格]")
    officer.check("#approve-form input[name=ethics_rating][value=合格]")
    officer.click("#approve-form button[type=submit]")
    confirm_dialog(officer, expect="王建国")
    officer.wait_for_selector("text=已审核通过")
    body.goto("/reviews")
    body.locator("#reviews tbody tr", has_text="王建国").locator("text=查看").click()
    body.wait_for_selector("#exemption-form")
    body.click("#exemption-form [data-decide=true]")
    body.wait_for_selector("text=已处理免考申请")
    shot(body, screenshots, "body_record_desktop")

    second.reload()
    assert "免考已批准" in second.inner_text("#exemption-state")
    assert "医学人文测评" in second.inner_text("#exemption-state")
    shot(second, screenshots, "physician_exempted_phone")

    health = make_context("desktop").new_page()
    login_staff(health, "health01")
    shot(health, screenshots, "health_home_desktop")
    admin = make_context("phone").new_page()
    login_staff(admin, "admin")
    shot(admin, screenshots, "admin_home_phone")
