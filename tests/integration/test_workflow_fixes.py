"""Registration workflow fixes of issue 9: a change of procedure reopens an exemption (rule 7), the reviewer's
exemption panel names conditions in Chinese, drafts show only their state to staff, a typed name that differs
from the e-registration name is shown beside it and flagged, one limit for reason and comment boxes."""

from __future__ import annotations

import re

from sqlalchemy import select

from exam_server.web.routes import routes
from exam_server.web.keys import sessionmaker_key
from registry.codes import REASON_MAX
from registry.models import AuditLog, Exemption

from ..flows import department_ids, fill_all, step_data, upload
from .test_registration import photo, setup_doctor
from .test_registration_files import pdf_bytes


async def simple_doctor_with_granted_exemption(client, make_client):  # type: ignore[no-untyped-def]
    officer, doctor = await setup_doctor(client, make_client, 1, "李欣欣")
    status, proof = await upload(doctor, "/api/v1/registration/proofs", "proof", pdf_bytes(1), "证明.pdf",
                                 "application/pdf")
    assert status == 200, proof
    data = step_data(await department_ids(officer), photo_id=await photo(doctor), procedure="simple",
                     proof_ids=[proof["id"]], report="本周期内认真履职。")
    data["basic"]["name"] = "李欣欣"
    await fill_all(doctor, data)
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200
    status, up = await upload(doctor, "/api/v1/exemption/proofs", "proof", pdf_bytes(2), "住培合格证.pdf")
    assert status == 200, up
    status, body = await doctor.post("/api/v1/exemption", {"condition_codes": ["RESIDENCY_PASSED"],
                                                           "proof_file_ids": [up["id"]]})
    assert status == 200, body
    status, queue = await officer.get("/api/v1/reviews?procedure=simple")
    rid = queue["items"][0]["registration_id"]
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    ex = rec["exemption"]
    status, decided = await officer.post(f"/api/v1/exemptions/{ex['id']}/decide",
                                         {"approve": True, "reason": "", "version": ex["version"]})
    assert status == 200, decided
    body_client = await make_client()
    await body_client.login_staff("body01")
    status, decided = await body_client.post(f"/api/v1/exemptions/{ex['id']}/decide",
                                             {"approve": True, "reason": "", "version": decided["version"]})
    assert status == 200 and decided["state"] == "GRANTED", decided
    return officer, doctor, body_client, rid, data


async def test_a_change_of_procedure_sends_a_granted_exemption_back_to_review(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer, doctor, body_client, rid, data = await simple_doctor_with_granted_exemption(client, make_client)
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert rec["exemption"]["waived_paper"] == "医学人文测评"
    # Returned, the physician keeps the procedure: the exemption stays granted.
    status, body = await officer.post(f"/api/v1/registrations/{rid}/return", {"reason": "职称日期有误", "version": rec["version"]})
    assert status == 200, body
    status, body = await doctor.post("/api/v1/registration/steps/procedure", {"data": data["procedure"], "complete": True})
    assert status == 200, body
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert rec["exemption"]["state"] == "GRANTED"
    # Switching to the general procedure changes what it would waive: back to the institution's review.
    status, body = await doctor.post("/api/v1/registration/steps/procedure", {
        "data": {"procedure": "general", "report": "", "proof_file_ids": []}, "complete": True})
    assert status == 200, body
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert rec["exemption"]["state"] == "SUBMITTED" and rec["exemption"]["waived_paper"] == "业务水平测评"
    status, page, _ = await doctor.page("/")
    assert "免考申请中（待机构审核）" in page and "免考已批准" not in page
    status, msgs = await doctor.get("/api/v1/messages")
    assert any("免考申请（原免考医学人文测评）需重新审核" in m["text"] for m in msgs["items"])
    async with client.app[sessionmaker_key]() as s:
        exemption = await s.scalar(select(Exemption))
        assert exemption.body_decided_by is None and exemption.institution_decided_by is None
        actions = (await s.scalars(select(AuditLog.action).where(AuditLog.entity == "exemption"))).all()
    assert actions[-1] == "exemption_back_to_review"
    # It is reviewed again by both, now waiving the professional test.
    ex = rec["exemption"]
    assert (await body_client.post(f"/api/v1/exemptions/{ex['id']}/decide",
                                   {"approve": True, "reason": "", "version": ex["version"]}))[0] == 409


async def test_the_exemption_panel_names_conditions_in_chinese(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer, doctor, body_client, rid, _ = await simple_doctor_with_granted_exemption(client, make_client)
    status, conds = await doctor.get("/api/v1/exemption-conditions")
    name = {c["code"]: c["name"] for c in conds["items"]}["RESIDENCY_PASSED"]
    assert re.search(r"[\u4e00-\u9fff]", name)
    for api in (officer, body_client):
        status, rec = await api.get(f"/api/v1/registrations/{rid}")
        assert rec["exemption"]["conditions"] == [{"code": "RESIDENCY_PASSED", "name": name}]
    # The page's script shows the names, never the codes.
    script = (await (await officer.session.get(officer.base + "/static/review.js")).text())
    assert "conditions.map(function (c) { return c.name; })" in script and "condition_codes.join" not in script
    # A retired condition is still named on an old application.
    admin = await make_client()
    await admin.login_staff("admin")
    status, body = await admin.post("/api/v1/admin/exemption-conditions",
                                    {"code": "RESIDENCY_PASSED", "name": name, "active": False})
    assert status == 200, body
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert rec["exemption"]["conditions"][0]["name"] == name


async def test_staff_see_only_the_state_of_an_unsubmitted_draft(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer, doctor = await setup_doctor(client, make_client)
    photo_id = await photo(doctor)
    data = step_data(await department_ids(officer), photo_id=photo_id)
    data["basic"]["email"] = "secret.draft@example.cn"
    await fill_all(doctor, data)
    status, queue = await officer.get("/api/v1/reviews?state=DRAFT")
    item = queue["items"][0]
    assert item["state"] == "DRAFT" and item["procedure"] is None and item["department"] is None
    rid = item["registration_id"]
    for username in ("inst01", "body01", "health01", "admin"):
        api = await make_client()
        await api.login_staff(username)
        status, rec = await api.get(f"/api/v1/registrations/{rid}")
        assert status == 200 and rec["draft"] is True and rec["state_words"] == "待提交", rec
        assert rec["steps"] is None and rec["files"] == [] and "secret.draft" not in str(rec)
        assert (await api.get(f"/api/v1/files/{photo_id}"))[0] == 404, username
    assert (await doctor.get(f"/api/v1/files/{photo_id}"))[0] == 200
    # Once submitted, the reviewers see everything.
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert "draft" not in rec and rec["steps"]["basic"]["email"] == "secret.draft@example.cn"
    assert (await officer.get(f"/api/v1/files/{photo_id}"))[0] == 200


async def test_reviewers_see_the_registered_name_and_a_different_typed_one_flagged(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer, doctor = await setup_doctor(client, make_client)
    data = step_data(await department_ids(officer), photo_id=await photo(doctor))
    data["basic"]["name"] = "张小明"  # the e-registration says 张晓明
    await fill_all(doctor, data)
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200
    status, queue = await officer.get("/api/v1/reviews")
    item = queue["items"][0]
    assert (item["name"], item["name_typed"], item["name_differs"]) == ("张晓明", "张小明", True)
    status, rec = await officer.get(f"/api/v1/registrations/{item['registration_id']}")
    assert rec["physician"]["name"] == "张晓明"
    assert rec["physician"]["name_typed"] == "张小明" and rec["physician"]["name_differs"] is True
    # The same name typed with spaces or full-width characters is not a difference.
    status, body = await officer.post(f"/api/v1/registrations/{item['registration_id']}/return",
                                      {"reason": "请核对姓名", "version": rec["version"]})
    assert status == 200, body
    data["basic"]["name"] = " 张 晓明 "
    await fill_all(doctor, data)
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200
    status, rec = await officer.get(f"/api/v1/registrations/{item['registration_id']}")
    assert rec["physician"]["name_differs"] is False


REASON_FIELDS = ("reason", "comment", "note")


def test_every_reason_and_comment_field_of_the_api_has_the_one_limit() -> None:
    import exam_server.app  # noqa: F401  (registers every handler module's endpoints)

    seen = 0
    for ep in routes.endpoints:
        if ep.body is None:
            continue
        for name, info in ep.body.model_fields.items():
            if name in REASON_FIELDS:
                seen += 1
                limits = [getattr(m, "max_length", None) for m in info.metadata]
                assert REASON_MAX in limits, (ep.path, name, limits)
    assert seen >= 6


async def test_pages_and_api_agree_on_the_reason_limit(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer, doctor = await setup_doctor(client, make_client)
    await fill_all(doctor, step_data(await department_ids(officer), photo_id=await photo(doctor)))
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200
    status, queue = await officer.get("/api/v1/reviews")
    item = queue["items"][0]
    rid, version = item["registration_id"], item["version"]
    body_client, health = await make_client(), await make_client()
    await body_client.login_staff("body01")
    await health.login_staff("health01")
    boxes = []
    for api, path in ((officer, f"/records/{rid}"), (body_client, f"/records/{rid}"), (doctor, "/exemption"),
                      (health, "/health/physicians")):
        status, page, _ = await api.page(path)
        assert status == 200, path
        boxes += re.findall(r'<(?:textarea|input)[^>]*name="(?:reason|comment|note)"[^>]*>', page)
        boxes += re.findall(r'data-reason-max="(\d+)"', page)
    assert len(boxes) >= 6
    assert all(f'maxlength="{REASON_MAX}"' in b or b == str(REASON_MAX) for b in boxes), boxes
    # The API refuses one character more with the field's name and the same limit; exactly the limit passes.
    status, body = await officer.post(f"/api/v1/registrations/{rid}/return", {"reason": "因" * (REASON_MAX + 1), "version": version})
    assert status == 400 and body["error"]["fields"]["reason"] == f"退回原因不能超过 {REASON_MAX} 个字符", body
    status, body = await officer.post(f"/api/v1/registrations/{rid}/approve", {
        "work_rating": "不合格", "ethics_rating": "合格", "comment": "意" * (REASON_MAX + 1), "version": version})
    assert status == 400 and body["error"]["fields"]["comment"] == f"评定意见不能超过 {REASON_MAX} 个字符", body
    status, body = await officer.post(f"/api/v1/registrations/{rid}/return", {"reason": "因" * REASON_MAX, "version": version})
    assert status == 200, body
