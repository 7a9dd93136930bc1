"""The registration workflow end to end over the API, on both storage backends."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from exam_server.web.keys import sessionmaker_key
from registry.models import AuditLog, Message, Registration, StoredFile

from ..flows import department_ids, fill_all, open_for, ready_doctor, step_data, upload
from ..photos import NO_FACE, ONE_FACE, TWO_FACES, png_bytes, portrait_jpeg


async def snapshot(api, reg_id=None):  # type: ignore[no-untyped-def]
    async with api.app[sessionmaker_key]() as s:
        regs = (await s.execute(select(Registration.id, Registration.state, Registration.version,
                                       Registration.data).order_by(Registration.id))).all()
        files = await s.scalar(select(func.count()).select_from(StoredFile))
    return [tuple(r) for r in regs], files


async def setup_doctor(client, make_client, index=0, name="张晓明"):  # type: ignore[no-untyped-def]
    officer = await make_client()
    await officer.login_staff("inst01" if index < 4 else "inst02")
    await open_for(officer, name)
    doctor = await ready_doctor(make_client, client, index)
    return officer, doctor


async def photo(doctor):  # type: ignore[no-untyped-def]
    status, body = await upload(doctor, "/api/v1/registration/photo", "photo", portrait_jpeg(ONE_FACE), "me.jpg",
                                "image/jpeg")
    assert status == 200, body
    return body["id"]


async def test_general_procedure_return_fix_resubmit_approve_and_body_approve(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    data = step_data(await department_ids(officer), photo_id=await photo(doctor))
    await fill_all(doctor, data)
    status, body = await doctor.post("/api/v1/registration/submit")
    assert status == 200 and body["state"] == "SUBMITTED"
    status, body = await doctor.post("/api/v1/registration/steps/basic", {"data": data["basic"], "complete": False})
    assert status == 409 and "不能再修改" in body["error"]["message"]

    status, queue = await officer.get("/api/v1/reviews?state=SUBMITTED")
    item = queue["items"][0]
    rid, version = item["registration_id"], item["version"]
    status, body = await officer.post(f"/api/v1/registrations/{rid}/return", {"reason": "", "version": version})
    assert status == 400 and body["error"]["fields"]["reason"] == "请填写退回原因"
    status, body = await officer.post(f"/api/v1/registrations/{rid}/return",
                                      {"reason": "职称取得时间有误，请核对", "version": version})
    assert status == 200 and body["state"] == "RETURNED"
    status, page, _ = await doctor.page("/")
    assert "机构退回" in page and "职称取得时间有误，请核对" in page
    status, msgs = await doctor.get("/api/v1/messages")
    assert any("职称取得时间有误" in m["text"] for m in msgs["items"])

    # Everything typed is still there; fix one field and resubmit.
    status, reg = await doctor.get("/api/v1/registration")
    assert reg["steps"]["experience"]["education"][0]["school"] == "滨海医科大学"
    fixed = dict(data["practice"], title_date="2016-09-01")
    status, _ = await doctor.post("/api/v1/registration/steps/practice", {"data": fixed, "complete": True})
    assert status == 200
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200

    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert rec["steps"]["practice"]["title_date"] == "2016-09-01"
    status, body = await officer.post(f"/api/v1/registrations/{rid}/approve", {
        "work_rating": "合格", "ethics_rating": "合格", "comment": "", "version": rec["version"]})
    assert status == 200 and body["state"] == "INSTITUTION_APPROVED"
    # Approving twice is refused.
    status, again = await officer.post(f"/api/v1/registrations/{rid}/approve", {
        "work_rating": "合格", "ethics_rating": "合格", "comment": "", "version": body["version"]})
    assert status == 409

    body_client = await make_client()
    await body_client.login_staff("body01")
    status, queue = await body_client.get("/api/v1/reviews?state=INSTITUTION_APPROVED")
    assert [i["registration_id"] for i in queue["items"]] == [rid]
    status, body = await body_client.post(f"/api/v1/registrations/{rid}/body-approve", {"version": body["version"]})
    assert status == 200 and body["state"] == "APPROVED"
    status, page, _ = await doctor.page("/")
    assert "审核通过" in page
    async with client.app[sessionmaker_key]() as s:
        actions = (await s.scalars(select(AuditLog.action).where(AuditLog.entity == "registration",
                                                                 AuditLog.entity_id == str(rid)))).all()
    assert actions.count("submit") == 2 and "institution_return" in actions and "body_approve" in actions


async def test_save_keeps_partial_data_and_next_names_missing_fields(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    status, _ = await doctor.post("/api/v1/registration/steps/basic", {"data": {"name": "张晓明"}, "complete": False})
    assert status == 200
    status, body = await doctor.post("/api/v1/registration/steps/basic", {"data": {"name": "张晓明"}, "complete": True})
    assert status == 400
    fields = body["error"]["fields"]
    assert fields["photo_file_id"] == "请上传照片" and fields["email"] == "请填写电子邮件"
    status, reg = await doctor.get("/api/v1/registration")
    assert reg["state"] == "DRAFT" and reg["steps"]["basic"]["name"] == "张晓明"
    bad = {"name": "x" * 33, "gender": "未知", "birth_date": "2999-01-01", "email": "not-an-email", "mobile": "123"}
    before = await snapshot(doctor)
    status, body = await doctor.post("/api/v1/registration/steps/basic", {"data": bad, "complete": False})
    assert status == 400
    assert set(body["error"]["fields"]) == {"name", "gender", "birth_date", "email", "mobile"}
    status, body = await doctor.post("/api/v1/registration/steps/basic", {"data": {"role": "admin"}, "complete": False})
    assert status == 400 and "role" in body["error"]["fields"]
    status, body = await doctor.post("/api/v1/registration/steps/nope", {"data": {}, "complete": False})
    assert status == 404
    assert await snapshot(doctor) == before
    status, body = await doctor.post("/api/v1/registration/submit")
    assert status == 400 and "请先完善" in body["error"]["message"]


async def test_scope_list_depends_on_category_and_is_optional_for_residents(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    data = step_data(await department_ids(officer), photo_id=None)["practice"]
    status, body = await doctor.post("/api/v1/registration/steps/practice",
                                     {"data": dict(data, practice_category="口腔", practice_scope="内科"), "complete": True})
    assert status == 400 and "不属于执业类别" in body["error"]["fields"]["practice_scope"]
    status, body = await doctor.post("/api/v1/registration/steps/practice",
                                     {"data": dict(data, practice_scope=None), "complete": True})
    assert status == 400 and "practice_scope" in body["error"]["fields"]
    status, body = await doctor.post("/api/v1/registration/steps/practice",
                                     {"data": dict(data, practice_scope=None, resident=True), "complete": True})
    assert status == 200, body


async def test_empty_department_list_gives_the_maintain_hint(client, make_client):
    officer = await make_client()
    await officer.login_staff("inst03")
    # Every demo institution has departments; an institution that removed them all gets the hint.
    for dept in await department_ids(officer):
        assert (await officer.post(f"/api/v1/departments/{dept}/delete"))[0] == 200
    await open_for(officer, "孙海燕")
    doctor = await ready_doctor(make_client, client, 6)
    data = step_data([], photo_id=None)["practice"]
    status, body = await doctor.post("/api/v1/registration/steps/practice",
                                     {"data": dict(data, practice_category="中医", practice_scope="中医"), "complete": True})
    assert status == 400 and "完善系统的科室信息" in body["error"]["fields"]["department_id"]
    status, reg = await doctor.get("/api/v1/registration")
    assert reg["departments_empty"] is True


async def test_report_is_counted_as_the_reader_sees_characters(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    base = {"procedure": "simple", "proof_file_ids": []}
    status, body = await doctor.post("/api/v1/registration/steps/procedure",
                                     {"data": dict(base, report="述" * 2001), "complete": False})
    assert status == 400 and "2000" in body["error"]["fields"]["report"]
    family = "👨‍👩‍👧"  # one character on screen, five code points
    status, body = await doctor.post("/api/v1/registration/steps/procedure",
                                     {"data": dict(base, report=family * 2000), "complete": False})
    assert status == 200, body
    status, body = await doctor.post("/api/v1/registration/steps/procedure",
                                     {"data": dict(base, report="述" * 2000), "complete": True})
    assert status == 400 and "证明材料" in body["error"]["fields"]["proof_file_ids"]


async def test_photo_must_be_a_jpeg_with_exactly_one_face(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    before = await snapshot(doctor)
    cases = [
        (png_bytes(ONE_FACE), "photo.jpg", "PNG"),
        (portrait_jpeg(TWO_FACES), "two.jpg", "多张人脸"),
        (portrait_jpeg(NO_FACE), "none.jpg", "未检测到人脸"),
        (b"%PDF-1.4\n" + b"0" * 100, "doc.jpg", "JPG"),
        (b"", "empty.jpg", "照片"),
    ]
    for data, name, reason in cases:
        status, body = await upload(doctor, "/api/v1/registration/photo", "photo", data, name, "image/jpeg")
        assert status == 400, (name, body)
        assert reason in body["error"]["fields"]["photo"], (name, body)
    status, body = await upload(doctor, "/api/v1/registration/photo", "photo", b"\xff\xd8" + b"0" * (2 * 1024 * 1024),
                                "big.jpg", "image/jpeg")
    assert status == 413 and "2 MB" in body["error"]["message"]
    status, body = await upload(doctor, "/api/v1/registration/photo", "file", portrait_jpeg(ONE_FACE), "a.jpg")
    assert status == 400 and "photo" in body["error"]["fields"]
    assert await snapshot(doctor) == before


async def test_simple_procedure_proofs_limit_and_exemption_granted(client, make_client):
    from .test_registration_files import pdf_bytes

    officer, doctor = await setup_doctor(client, make_client, 1, "李欣欣")
    ids = []
    for n in range(10):
        status, body = await upload(doctor, "/api/v1/registration/proofs", "proof", pdf_bytes(n), f"证明{n}.pdf",
                                    "application/pdf")
        assert status == 200, body
        ids.append(body["id"])
    before = await snapshot(doctor)
    status, body = await upload(doctor, "/api/v1/registration/proofs", "proof", pdf_bytes(11), "证明11.pdf")
    assert status == 400 and "10" in body["error"]["message"]
    assert await snapshot(doctor) == before

    data = step_data(await department_ids(officer), photo_id=await photo(doctor), procedure="simple",
                     proof_ids=ids[:2], report="本周期内认真履职，" * 50)
    data["basic"]["name"] = "李欣欣"
    await fill_all(doctor, data)
    assert (await doctor.post("/api/v1/registration/submit"))[0] == 200

    status, conds = await doctor.get("/api/v1/exemption-conditions")
    code = conds["items"][0]["code"]
    status, body = await doctor.post("/api/v1/exemption", {"condition_codes": [code], "proof_file_ids": []})
    assert status == 400 and "proof_file_ids" in body["error"]["fields"]
    status, body = await doctor.post("/api/v1/exemption", {"condition_codes": [code], "proof_file_ids": [ids[0]]})
    assert status == 400  # a registration proof is not an exemption proof
    status, up = await upload(doctor, "/api/v1/exemption/proofs", "proof", pdf_bytes(99), "住培合格证.pdf")
    assert status == 200, up
    status, body = await doctor.post("/api/v1/exemption", {"condition_codes": ["NOPE"], "proof_file_ids": [up["id"]]})
    assert status == 400 and "condition_codes" in body["error"]["fields"]
    status, body = await doctor.post("/api/v1/exemption", {"condition_codes": [code], "proof_file_ids": [up["id"]]})
    assert status == 200
    status, body = await doctor.post("/api/v1/exemption", {"condition_codes": [code], "proof_file_ids": [up["id"]]})
    assert status == 409

    status, queue = await officer.get("/api/v1/reviews?procedure=simple")
    item = queue["items"][0]
    assert item["eligibility"] and "执业" in item["eligibility"]
    status, rec = await officer.get(f"/api/v1/registrations/{item['registration_id']}")
    ex = rec["exemption"]
    assert ex["state"] == "SUBMITTED" and ex["waived_paper"] == "医学人文测评"
    body_client = await make_client()
    await body_client.login_staff("body01")
    status, body = await body_client.post(f"/api/v1/exemptions/{ex['id']}/decide",
                                          {"approve": True, "reason": "", "version": ex["version"]})
    assert status == 409  # the institution decides first
    status, body = await officer.post(f"/api/v1/exemptions/{ex['id']}/decide",
                                      {"approve": True, "reason": "", "version": ex["version"]})
    assert status == 200 and body["state"] == "INSTITUTION_APPROVED"
    status, body = await body_client.post(f"/api/v1/exemptions/{ex['id']}/decide",
                                          {"approve": True, "reason": "", "version": body["version"]})
    assert status == 200 and body["state"] == "GRANTED"
    status, page, _ = await doctor.page("/")
    assert "免考已批准" in page and "医学人文测评" in page


async def test_a_failing_rating_fails_the_assessment(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    await fill_all(doctor, step_data(await department_ids(officer), photo_id=await photo(doctor)))
    await doctor.post("/api/v1/registration/submit")
    status, queue = await officer.get("/api/v1/reviews")
    item = queue["items"][0]
    status, body = await officer.post(f"/api/v1/registrations/{item['registration_id']}/approve", {
        "work_rating": "不合格", "ethics_rating": "合格", "comment": "", "version": item["version"]})
    assert status == 400 and "comment" in body["error"]["fields"]
    status, body = await officer.post(f"/api/v1/registrations/{item['registration_id']}/approve", {
        "work_rating": "优秀", "ethics_rating": "合格", "comment": "x", "version": item["version"]})
    assert status == 400 and "work_rating" in body["error"]["fields"]
    status, body = await officer.post(f"/api/v1/registrations/{item['registration_id']}/approve", {
        "work_rating": "不合格", "ethics_rating": "合格", "comment": "本周期发生医疗事故", "version": item["version"]})
    # Not final on the institution's word: the body re-reviews it.
    assert status == 200 and body["state"] == "INSTITUTION_APPROVED"
    status, page, _ = await doctor.page("/")
    assert "考核不合格" not in page and "待考核机构复核" in page
    rid = item["registration_id"]
    body_client = await make_client()
    await body_client.login_staff("body01")
    status, rec = await body_client.get(f"/api/v1/registrations/{rid}")
    # A failing rating cannot be approved past, nor returned to the physician.
    for path, payload in (("body-approve", {}), ("body-return", {"reason": "资料不全"})):
        status, answer = await body_client.post(f"/api/v1/registrations/{rid}/{path}", {**payload, "version": rec["version"]})
        assert status == 409 and answer["error"]["message"] == "所在机构评定为不合格：请确认不合格，或退回机构重新评定"
    # Returned to the institution: 待机构审核 again, ratings cleared, the reason shown to the institution.
    status, answer = await body_client.post(f"/api/v1/registrations/{rid}/body-return-to-institution",
                                            {"reason": "事故责任认定尚未完成，请核实后重新评定", "version": rec["version"]})
    assert status == 200 and answer["state"] == "SUBMITTED", answer
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    assert rec["work_rating"] is None and rec["return_reason"] == "事故责任认定尚未完成，请核实后重新评定"
    status, body = await officer.post(f"/api/v1/registrations/{rid}/approve", {
        "work_rating": "不合格", "ethics_rating": "合格", "comment": "责任已认定", "version": rec["version"]})
    assert status == 200 and body["state"] == "INSTITUTION_APPROVED"
    # Confirm-fail refuses a passing rating; here it confirms: 考核不合格.
    status, answer = await body_client.post(f"/api/v1/registrations/{rid}/body-confirm-fail", {"version": body["version"]})
    assert status == 200 and answer["state"] == "FAILED", answer
    status, page, _ = await doctor.page("/")
    assert "待公布" in page and "考核不合格" not in page  # the result is the body's to publish
    body_officer = await make_client()
    await body_officer.login_staff("body01")
    assert (await body_officer.post("/api/v1/results/publish", {}))[1]["published"] == 1
    status, page, _ = await doctor.page("/")
    assert "考核不合格" in page
    async with client.app[sessionmaker_key]() as s:
        moves = (await s.scalars(select(AuditLog.action).where(AuditLog.entity == "registration",
                                                                AuditLog.entity_id == str(rid)).order_by(AuditLog.id))).all()
    assert moves[-4:] == ["institution_fail", "body_return_to_institution", "institution_fail", "body_confirm_fail"]


async def test_the_body_cannot_confirm_a_fail_on_a_passing_rating(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    await fill_all(doctor, step_data(await department_ids(officer), photo_id=await photo(doctor)))
    await doctor.post("/api/v1/registration/submit")
    status, queue = await officer.get("/api/v1/reviews")
    item = queue["items"][0]
    status, body = await officer.post(f"/api/v1/registrations/{item['registration_id']}/approve", {
        "work_rating": "合格", "ethics_rating": "合格", "comment": "", "version": item["version"]})
    body_client = await make_client()
    await body_client.login_staff("body01")
    for path, payload in (("body-confirm-fail", {}), ("body-return-to-institution", {"reason": "重新评定"})):
        status, answer = await body_client.post(f"/api/v1/registrations/{item['registration_id']}/{path}",
                                                {**payload, "version": body["version"]})
        assert status == 409 and answer["error"]["message"] == "所在机构评定为合格：只能复核通过或退回医师修改"


async def test_concurrent_reviewers_cannot_both_act(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    await fill_all(doctor, step_data(await department_ids(officer), photo_id=await photo(doctor)))
    await doctor.post("/api/v1/registration/submit")
    other = await make_client()
    await other.login_staff("inst01")
    status, queue = await officer.get("/api/v1/reviews")
    item = queue["items"][0]
    rid, version = item["registration_id"], item["version"]
    results = await asyncio.gather(
        officer.post(f"/api/v1/registrations/{rid}/approve", {"work_rating": "合格", "ethics_rating": "合格",
                                                              "comment": "", "version": version}),
        other.post(f"/api/v1/registrations/{rid}/return", {"reason": "照片不清晰", "version": version}),
    )
    statuses = sorted(s for s, _ in results)
    assert statuses == [200, 409], results
    async with client.app[sessionmaker_key]() as s:
        moves = (await s.scalars(select(AuditLog.action).where(AuditLog.entity == "registration",
                                                               AuditLog.entity_id == str(rid)))).all()
    assert ("institution_approve" in moves) != ("institution_return" in moves)


async def test_another_institution_cannot_see_or_act_on_a_record(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    await fill_all(doctor, step_data(await department_ids(officer), photo_id=await photo(doctor)))
    await doctor.post("/api/v1/registration/submit")
    status, queue = await officer.get("/api/v1/reviews")
    item = queue["items"][0]
    rid = item["registration_id"]
    foreign = await make_client()
    await foreign.login_staff("inst02")
    before = await snapshot(foreign)
    # Another institution's record reads as a missing one (404), never 403: ids reveal nothing.
    assert (await foreign.get(f"/api/v1/registrations/{rid}"))[0] == 404
    status, body = await foreign.post(f"/api/v1/registrations/{rid}/approve", {
        "work_rating": "合格", "ethics_rating": "合格", "comment": "", "version": item["version"]})
    assert status == 404 and body["error"]["message"] == "报名记录不存在"
    assert (await foreign.post("/api/v1/registrations/batch-approve", {"registration_ids": [rid]}))[0] == 404
    status, queue = await foreign.get("/api/v1/reviews")
    assert queue["items"] == []
    other_body = await make_client()
    await other_body.login_staff("body02")
    assert (await other_body.get(f"/api/v1/registrations/{rid}"))[0] == 404
    status, rec = await officer.get(f"/api/v1/registrations/{rid}")
    photo_id = rec["steps"]["basic"]["photo_file_id"]
    assert (await foreign.get(f"/api/v1/files/{photo_id}"))[0] == 404
    other_doctor = await ready_doctor(make_client, client, 4)
    assert (await other_doctor.get(f"/api/v1/files/{photo_id}"))[0] == 404
    status, raw = await officer.get(f"/api/v1/files/{photo_id}")
    assert status == 200 and raw[:2] == b"\xff\xd8"
    assert await snapshot(foreign) == before


async def test_batch_approval_is_all_or_nothing(client, make_client):
    officer = await make_client()
    await officer.login_staff("inst01")
    depts = await department_ids(officer)
    rids = []
    for index, name in [(0, "张晓明"), (1, "李欣欣")]:
        await open_for(officer, name)
        doctor = await ready_doctor(make_client, client, index)
        await fill_all(doctor, step_data(depts, photo_id=await photo(doctor)))
        await doctor.post("/api/v1/registration/submit")
    status, queue = await officer.get("/api/v1/reviews?state=SUBMITTED")
    rids = [i["registration_id"] for i in queue["items"]]
    assert len(rids) == 2
    status, body = await officer.post("/api/v1/registrations/batch-approve", {"registration_ids": rids + [999999]})
    assert status == 404
    status, body = await officer.post("/api/v1/registrations/batch-approve", {"registration_ids": []})
    assert status == 400
    status, body = await officer.post("/api/v1/registrations/batch-approve", {"registration_ids": rids})
    assert status == 200 and body["approved"] == 2
    status, body = await officer.post("/api/v1/registrations/batch-approve", {"registration_ids": rids})
    assert status == 409
    async with client.app[sessionmaker_key]() as s:
        states = (await s.scalars(select(Registration.state))).all()
        msgs = await s.scalar(select(func.count()).select_from(Message).where(Message.text.like("%审核通过%")))
    assert set(states) == {"INSTITUTION_APPROVED"} and msgs == 2


async def test_health_administration_moves_a_physician_and_the_record_follows(client, make_client):
    officer, doctor = await setup_doctor(client, make_client)
    health = await make_client()
    await health.login_staff("health01")
    status, listing = await health.get("/api/v1/physicians?q=张晓明")
    pid = listing["items"][0]["physician_id"]
    status, options = await health.get("/api/v1/institution-options")
    names = {o["name"]: o["id"] for o in options["items"]}
    assert "临江县中医医院" not in names  # another region
    status, body = await health.post(f"/api/v1/physicians/{pid}/transfer",
                                     {"institution_id": names["滨海市口腔医院"], "reason": ""})
    assert status == 400 and "reason" in body["error"]["fields"]
    status, body = await health.post(f"/api/v1/physicians/{pid}/transfer",
                                     {"institution_id": names["滨海市口腔医院"], "reason": "已调入口腔医院"})
    assert status == 200
    other = await make_client()
    await other.login_staff("inst02")
    status, listing = await other.get("/api/v1/physicians?q=张晓明")
    assert listing["items"][0]["state"] == "OPENED"
    status, listing = await officer.get("/api/v1/physicians?q=张晓明")
    assert listing["items"] == []
    assert (await officer.post("/api/v1/registrations/open", {"physician_ids": [pid]}))[0] == 404
    status, msgs = await doctor.get("/api/v1/messages")
    assert any("滨海市口腔医院" in m["text"] for m in msgs["items"])
    assert (await officer.post(f"/api/v1/physicians/{pid}/transfer",
                               {"institution_id": 1, "reason": "x"}))[0] == 403


async def test_an_unused_upload_can_be_withdrawn_to_free_a_slot(client, make_client):
    from .test_registration_files import pdf_bytes

    officer, doctor = await setup_doctor(client, make_client)
    ids = []
    for n in range(10):
        status, body = await upload(doctor, "/api/v1/registration/proofs", "proof", pdf_bytes(n), f"p{n}.pdf")
        assert status == 200, body
        ids.append(body["id"])
    await doctor.post("/api/v1/registration/steps/procedure",
                      {"data": {"procedure": "simple", "report": "x", "proof_file_ids": [ids[0]]}, "complete": False})
    status, body = await doctor.post(f"/api/v1/registration/files/{ids[0]}/delete")
    assert status == 400 and "正在" in body["error"]["message"]
    other = await ready_doctor(make_client, client, 1)
    await open_for(officer, "李欣欣")
    assert (await other.post(f"/api/v1/registration/files/{ids[1]}/delete"))[0] == 404
    status, _ = await doctor.post(f"/api/v1/registration/files/{ids[1]}/delete")
    assert status == 200
    assert (await officer.get(f"/api/v1/files/{ids[1]}"))[0] == 404
    status, body = await upload(doctor, "/api/v1/registration/proofs", "proof", pdf_bytes(11), "p11.pdf")
    assert status == 200, body
