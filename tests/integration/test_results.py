"""Results: publication, the physician's view, review requests, certificates and their verification,
seals, downloads, statistics and exports per role. Runs on both backends.

Results today come only from registration states (the exam engine will add paper scores), so the
tests put registrations in PASSED / FAILED directly, as the engine and the rating review would.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib

import openpyxl
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import func, select, update

from exam_server.web.keys import sessionmaker_key, sms_key
from exam_server.results.models import BodySeal, Certificate, PublishedResult, ResultReview
from registry.models import AuditLog, Cycle, Message, Physician, Registration

from ..helpers import Api, physician_login

# Demo physicians: 0-3 at INST001 (BODY01), 4-5 at INST002 (BODY01), 6 at INST003 (BODY02).


async def _physician_id(api: Api, index: int) -> int:
    async with api.app[sessionmaker_key]() as s:
        return int(await s.scalar(select(Physician.id).where(Physician.id_number == physician_login(index))))


async def decided(api: Api, index: int, state: str, *, ethics: str = "合格") -> int:
    """A registration of the current cycle in a final state, as the engine or the rating review leaves it."""
    pid = await _physician_id(api, index)
    async with api.app[sessionmaker_key]() as s, s.begin():
        cycle = await s.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
        reg = Registration(physician_id=pid, cycle_id=cycle.id, state=state, data={}, procedure="general",
                           work_rating="合格", ethics_rating=ethics, submitted_at=dt.datetime(2026, 3, 1),
                           body_reviewed_at=dt.datetime(2026, 3, 5))
        s.add(reg)
        await s.flush()
        return reg.id


async def doctor(client: Api, make_client, index: int) -> Api:  # type: ignore[no-untyped-def]
    api = await make_client()
    await api.ready_physician(index, client.app[sms_key].outbox)
    return api


async def staff(make_client, username: str) -> Api:  # type: ignore[no-untyped-def]
    api = await make_client()
    await api.login_staff(username)
    return api


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def _seal_png() -> bytes:
    im = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((10, 10, 290, 290), outline=(220, 0, 0, 255), width=20)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _bomb_png(side: int = 60000) -> bytes:
    """A tiny PNG whose header claims side x side pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress(b"\x00" * 1000)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


async def upload_seal(api: Api, data: bytes, filename: str = "seal.png"):  # type: ignore[no-untyped-def]
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("seal", data, filename=filename, content_type="image/png")
    return await api.request("POST", "/api/v1/body/seal", data=form)


async def test_publication_in_scope_then_the_physician_sees_the_result_with_reasons(client, make_client):  # type: ignore[no-untyped-def]
    passed_reg = await decided(client, 0, "PASSED")
    failed_reg = await decided(client, 1, "FAILED", ethics="不合格")
    await decided(client, 6, "FAILED")  # INST003, under BODY02
    zhang, li = await doctor(client, make_client, 0), await doctor(client, make_client, 1)
    assert (await zhang.get("/api/v1/my/result"))[1]["status"] == "待公布"
    status, _ = await zhang.get("/api/v1/my/certificate.pdf")
    assert status == 404

    body01, body02, inst01 = [await staff(make_client, u) for u in ("body01", "body02", "inst01")]
    async with client.app[sessionmaker_key]() as s:
        inst1 = (await s.execute(select(Physician.institution_id).where(Physician.id == await _physician_id(client, 0)))).scalar()
    # Outside the body's scope, or the wrong role: refused, nothing published.
    status, body = await body02.post("/api/v1/results/publish", {"institution_id": inst1})
    assert status == 404 and body["error"]["message"] == "机构不存在"  # as a missing one
    assert (await inst01.post("/api/v1/results/publish", {}))[0] == 403
    assert (await body01.post("/api/v1/results/publish", {"institution_id": 0}))[0] == 400
    assert (await body01.post("/api/v1/results/publish", {"institution_id": "x"}))[0] == 400
    async with client.app[sessionmaker_key]() as s:
        assert await s.scalar(select(func.count()).select_from(PublishedResult)) == 0

    outbox = client.app[sms_key].outbox
    sent_before = len(outbox)
    status, preview = await body01.get("/api/v1/results/publish-preview?institution_id=")
    assert status == 200 and (preview["count"], preview["passed"], preview["failed"]) == (2, ["张晓明"], ["李欣欣"]), preview
    assert preview["sealed"] is True and preview["refusal"] is None and preview["scope"] == "本考核机构辖区全部机构"
    assert (await body02.get(f"/api/v1/results/publish-preview?institution_id={inst1}"))[0] == 404
    assert (await inst01.get("/api/v1/results/publish-preview"))[0] == 403
    assert (await body01.get("/api/v1/results/publish-preview?institution_id=x"))[0] == 400
    status, body = await body01.post("/api/v1/results/publish", {})
    assert status == 200 and body["published"] == 2, body  # INST003's result is BODY02's to publish
    assert (body["passed"], body["failed"], body["certificates"]) == (["张晓明"], ["李欣欣"], 1), body
    assert (await body01.post("/api/v1/results/publish", {}))[1]["published"] == 0
    texts = [m.text for m in list(outbox)[: len(outbox) - sent_before]]
    assert any("合格" in t and "证书" in t for t in texts) and any("复核" in t for t in texts)

    status, mine = await zhang.get("/api/v1/my/result")
    assert status == 200 and mine["result"] == "合格" and mine["certificate_number"].startswith("DK")
    assert mine["papers"] == [] and mine["review_deadline"] is None
    status, theirs = await li.get("/api/v1/my/result")
    assert theirs["result"] == "不合格" and theirs["reasons"] == ["职业道德评定为不合格"]
    assert theirs["certificate_number"] is None and theirs["review_deadline"]
    async with client.app[sessionmaker_key]() as s:
        msgs = (await s.scalars(select(Message.text))).all()
        assert any("考核结果已公布" in m for m in msgs)
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 1
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "publish_results")) == 1

    # Downloads: the notice and the certificate, with the name and number in the text layer.
    status, pdf = await zhang.get("/api/v1/my/certificate.pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert "张晓明" in text and mine["certificate_number"] in text and "未加盖考核机构印章" not in text  # the demo's seal
    status, pdf = await li.get("/api/v1/my/result-notice.pdf")
    assert status == 200 and "职业道德评定为不合格" in _pdf_text(pdf)
    assert passed_reg and failed_reg


async def test_review_request_inside_30_days_once_and_only_for_a_fail(client, make_client):  # type: ignore[no-untyped-def]
    failed_reg = await decided(client, 1, "FAILED", ethics="不合格")
    await decided(client, 0, "PASSED")
    li, zhang = await doctor(client, make_client, 1), await doctor(client, make_client, 0)
    body01, body02 = await staff(make_client, "body01"), await staff(make_client, "body02")
    status, body = await li.post("/api/v1/my/result/review", {"reason": "评定有误"})
    assert status == 400 and "尚未公布" in body["error"]["message"]
    assert (await body01.post("/api/v1/results/publish", {}))[0] == 200

    assert (await li.post("/api/v1/my/result/review", {"reason": ""}))[0] == 400
    assert (await li.post("/api/v1/my/result/review", {"reason": "x" * 501}))[0] == 400
    status, body = await zhang.post("/api/v1/my/result/review", {"reason": "想复核"})
    assert status == 400 and "不合格" in body["error"]["message"]

    # 31 days after publication: too late.
    async with client.app[sessionmaker_key]() as s, s.begin():
        await s.execute(update(PublishedResult).where(PublishedResult.registration_id == failed_reg)
                        .values(published_at=dt.datetime.utcnow() - dt.timedelta(days=31)))
    status, body = await li.post("/api/v1/my/result/review", {"reason": "评定有误"})
    assert status == 400 and "30 日" in body["error"]["message"]
    async with client.app[sessionmaker_key]() as s, s.begin():
        await s.execute(update(PublishedResult).where(PublishedResult.registration_id == failed_reg)
                        .values(published_at=dt.datetime.utcnow() - dt.timedelta(days=29)))
    status, body = await li.post("/api/v1/my/result/review", {"reason": "职业道德评定依据不足"})
    assert status == 200 and body["state"] == "pending"
    review_id = body["id"]
    status, body = await li.post("/api/v1/my/result/review", {"reason": "再次申请"})
    assert status == 400 and "重复" in body["error"]["message"]

    status, body = await body01.get("/api/v1/result-reviews?state=pending")
    assert [r["id"] for r in body["items"]] == [review_id]
    assert (await body02.get("/api/v1/result-reviews"))[1]["items"] == []
    status, body = await body02.post(f"/api/v1/result-reviews/{review_id}/decide", {"decision": "changed", "note": "越权"})
    assert status == 403
    assert (await body01.post(f"/api/v1/result-reviews/{review_id}/decide", {"decision": "maybe", "note": "x"}))[0] == 400
    assert (await body01.post(f"/api/v1/result-reviews/{review_id}/decide", {"decision": "changed", "note": ""}))[0] == 400
    async with client.app[sessionmaker_key]() as s:
        assert (await s.get(Registration, failed_reg)).state == "FAILED"

    status, body = await body01.post(f"/api/v1/result-reviews/{review_id}/decide",
                                     {"decision": "changed", "note": "经复核，职业道德评定改为合格"})
    assert status == 200 and body["state"] == "changed"
    status, body = await body01.post(f"/api/v1/result-reviews/{review_id}/decide", {"decision": "upheld", "note": "再改"})
    assert status == 409
    async with client.app[sessionmaker_key]() as s:
        reg = await s.get(Registration, failed_reg)
        assert reg.state == "PASSED"
        actions = (await s.scalars(select(AuditLog.action).where(AuditLog.entity_id == str(failed_reg)))).all()
        assert "request_review" in actions and "review_change" in actions and "issue_certificate" in actions
    status, mine = await li.get("/api/v1/my/result")
    assert mine["result"] == "合格" and mine["certificate_number"] and mine["review"]["state"] == "changed"


async def test_review_upheld_keeps_the_fail(client, make_client):  # type: ignore[no-untyped-def]
    reg_id = await decided(client, 1, "FAILED", ethics="不合格")
    li, body01 = await doctor(client, make_client, 1), await staff(make_client, "body01")
    await body01.post("/api/v1/results/publish", {})
    _, body = await li.post("/api/v1/my/result/review", {"reason": "请复核"})
    status, body = await body01.post(f"/api/v1/result-reviews/{body['id']}/decide", {"decision": "upheld", "note": "维持"})
    assert status == 200 and body["state"] == "upheld"
    async with client.app[sessionmaker_key]() as s:
        assert (await s.get(Registration, reg_id)).state == "FAILED"
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 0
    status, pdf = await li.get("/api/v1/my/result-notice.pdf")
    assert "复核维持原结论" in _pdf_text(pdf)


async def test_verification_genuine_forged_altered_revoked_and_rate_limited(client, make_client):  # type: ignore[no-untyped-def]
    await decided(client, 0, "PASSED")
    body01 = await staff(make_client, "body01")
    await body01.post("/api/v1/results/publish", {})
    async with client.app[sessionmaker_key]() as s:
        cert = await s.scalar(select(Certificate))
    number, sig = cert.number, cert.signature
    public = await make_client()  # no login

    status, body = await public.get(f"/api/v1/verify?q={number}")
    assert status == 200 and body["status"] == "genuine" and body["certificate"]["name"] == "张**"
    qr = f"https://dk.example.cn/verify/{number}?s={sig}"
    from urllib.parse import quote

    assert (await public.get(f"/api/v1/verify?q={quote(qr)}"))[1]["status"] == "genuine"
    status, page, _ = await public.page(f"/verify/{number}?s={sig}")
    assert status == 200 and 'data-verify-status="genuine"' in page and "张**" in page and "张晓明" not in page

    assert (await public.get("/api/v1/verify?q=DK2026ABCDEFGH23"))[1]["status"] == "forged"
    forged_sig = "A" * 22
    assert (await public.get(f"/api/v1/verify?q={quote(f'/verify/{number}?s={forged_sig}')}"))[1]["status"] == "forged"
    for junk in ("", "hello", "x" * 3000, "DK2026<script>", "%00%ff"):
        status, body = await public.get(f"/api/v1/verify?q={quote(junk)}")
        assert status == 400 and body["error"]["message"], junk
    status, page, _ = await public.page("/verify?q=%3Cscript%3E")
    assert status == 200 and "<script>" not in page and "格式不正确" in page

    # Altered: the stored record edited after issue no longer matches its signature.
    async with client.app[sessionmaker_key]() as s, s.begin():
        c = await s.get(Certificate, cert.id)
        c.facts = {**c.facts, "name": "李四"}
    assert (await public.get(f"/api/v1/verify?q={number}"))[1]["status"] == "altered"
    async with client.app[sessionmaker_key]() as s, s.begin():
        c = await s.get(Certificate, cert.id)
        c.facts = {**c.facts, "name": "张晓明"}

    # The body finds it on its results page by name or number (typed loosely); another body does not.
    body02 = await staff(make_client, "body02")
    for q in ("晓明", number.lower(), f"{number[:6]} {number[6:]}"):
        status, found = await body01.get(f"/api/v1/certificates?q={quote(q)}")
        assert status == 200 and [c["number"] for c in found["items"]] == [number], (q, found)
    assert found["items"][0]["name"] == "张晓明" and found["items"][0]["revoked_at"] is None
    assert (await body01.get(f"/api/v1/certificates?q={quote('李欣欣')}"))[1]["items"] == []
    assert (await body02.get(f"/api/v1/certificates?q={number}"))[1]["items"] == []
    assert (await body02.get("/api/v1/certificates"))[1]["items"] == []
    assert (await public.get("/api/v1/certificates"))[0] == 401

    # Revoked by the body (in scope only).
    assert (await body02.post(f"/api/v1/certificates/{number}/revoke",
                              {"category": "other", "reason": "越权"}))[0] == 403
    assert (await body01.post(f"/api/v1/certificates/{number}/revoke", {"category": "other", "reason": ""}))[0] == 400
    status, body = await body01.post(f"/api/v1/certificates/{number}/revoke", {"category": "x", "reason": "更正"})
    assert status == 400 and "撤销原因类别" in body["error"]["fields"]["category"], body
    assert (await body01.post(f"/api/v1/certificates/{number}/revoke",
                              {"category": "wrong_facts", "reason": "姓名有误"}))[0] == 200
    assert (await body01.post(f"/api/v1/certificates/{number}/revoke", {"category": "other", "reason": "再撤"}))[0] == 409
    (listed,) = (await body01.get("/api/v1/certificates"))[1]["items"]
    assert listed["revoked_at"] and listed["revoked_words"] == "证书信息有误" and listed["revoked_reason"] == "姓名有误"
    # The public text states the body's own reason category, not a cause it did not give (issue 18).
    status, body = await public.get(f"/api/v1/verify?q={number}")
    assert body["status"] == "revoked" and body["revoked_reason"] == "姓名有误", body
    assert body["text"] == "证书已撤销（证书信息有误）", body

    # Enumeration: a client gets a limited number of look-ups a minute.
    statuses = [(await public.get(f"/api/v1/verify?q=DK2026ABCDEFG{i:03d}"))[0] for i in range(30)]
    assert 429 in statuses and statuses.index(429) <= 20


async def test_publication_without_a_seal_is_refused_for_passes_and_verification_agrees(client, make_client):  # type: ignore[no-untyped-def]
    await decided(client, 6, "PASSED")  # INST003, under BODY02, which has no seal
    body02 = await staff(make_client, "body02")
    status, preview = await body02.get("/api/v1/results/publish-preview")
    assert status == 200 and preview["sealed"] is False and preview["passed"] and "印章" in preview["refusal"], preview
    outbox = client.app[sms_key].outbox
    sent_before = len(outbox)
    status, body = await body02.post("/api/v1/results/publish", {})
    assert status == 409 and "尚未上传考核机构印章" in body["error"]["message"], body
    async with client.app[sessionmaker_key]() as s:
        assert await s.scalar(select(func.count()).select_from(PublishedResult)) == 0
        assert await s.scalar(select(func.count()).select_from(Certificate)) == 0
    assert len(outbox) == sent_before  # no SMS promising a certificate
    # With the seal: published; the PDF, the SMS and the verification page agree it is valid.
    assert (await upload_seal(body02, _seal_png()))[0] == 200
    status, body = await body02.post("/api/v1/results/publish", {})
    assert status == 200 and body["certificates"] == 1, body
    async with client.app[sessionmaker_key]() as s:
        cert = await s.scalar(select(Certificate))
    public = await make_client()
    status, verdict = await public.get(f"/api/v1/verify?q={cert.number}")
    assert verdict["status"] == "genuine", verdict
    # A seal lost afterwards (a restore without it): the verification says invalid, as the PDF would.
    async with client.app[sessionmaker_key]() as s, s.begin():
        await s.delete(await s.get(BodySeal, cert.body_id))
    status, verdict = await public.get(f"/api/v1/verify?q={cert.number}")
    assert verdict["status"] == "unsealed" and "本证书无效" in verdict["text"], verdict
    status, page, _ = await public.page(f"/verify?q={cert.number}")
    assert "本证书无效" in page and "证书真实有效" not in page


async def test_seal_upload_checks_content_and_prints_on_certificates(client, make_client):  # type: ignore[no-untyped-def]
    await decided(client, 0, "PASSED")
    body01, inst01 = await staff(make_client, "body01"), await staff(make_client, "inst01")
    for data, word in ((b"not an image at all", "不是图片"), (_bomb_png(), "尺寸过大"), (b"\x89PNG\r\n\x1a\nbroken", "损坏"),
                       (b"", "选择")):
        status, body = await upload_seal(body01, data)
        assert status == 400 and word in body["error"]["message"], (word, body)
    status, body = await upload_seal(inst01, _seal_png())
    assert status == 403
    assert (await (await staff(make_client, "body02")).get("/api/v1/body/seal"))[0] == 404  # the demo seals BODY01 only
    status, body = await upload_seal(body01, _seal_png())
    assert status == 200 and body["width"] == 300
    status, png = await body01.get("/api/v1/body/seal")
    assert status == 200 and Image.open(io.BytesIO(png)).mode == "RGBA"

    await body01.post("/api/v1/results/publish", {})
    zhang = await doctor(client, make_client, 0)
    status, pdf = await zhang.get("/api/v1/my/certificate.pdf")
    assert "未加盖考核机构印章" not in _pdf_text(pdf)
    images = PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) >= 1  # the seal

    # Batch download per institution, within scope.
    async with client.app[sessionmaker_key]() as s:
        inst1 = (await s.execute(select(Physician.institution_id).where(Physician.id == await _physician_id(client, 0)))).scalar()
    status, data = await body01.get(f"/api/v1/institutions/{inst1}/certificates.zip")
    assert status == 200
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(names) == 1 and names[0].endswith("张晓明.pdf")
    body02 = await staff(make_client, "body02")
    assert (await body02.get(f"/api/v1/institutions/{inst1}/certificates.zip"))[0] == 404  # another body's institution answers as a missing one


async def test_statistics_and_exports_stay_within_each_roles_scope(client, make_client):  # type: ignore[no-untyped-def]
    await decided(client, 0, "PASSED")
    await decided(client, 4, "FAILED")  # INST002
    await decided(client, 6, "PASSED")  # INST003 / BODY02
    expected = {"inst01": 4, "inst02": 2, "inst03": 1, "body01": 6, "body02": 1, "health01": 6, "admin": 7}
    for username, total in expected.items():
        api = await staff(make_client, username)
        status, body = await api.get("/api/v1/statistics")
        assert status == 200 and body["total"] == total, (username, body)
        status, page, _ = await api.page("/statistics")
        assert status == 200 and page.count("<svg") == 7
        status, data = await api.get("/api/v1/exports/results.xlsx")
        assert status == 200
        ws = openpyxl.load_workbook(io.BytesIO(data)).active
        rows = list(ws.values)
        assert rows[0][:3] == ("姓名", "证件号码", "工作单位") and len(rows) == total + 1
    body02 = await staff(make_client, "body02")
    _, body = await body02.get("/api/v1/statistics")
    assert [r["group"] for r in body["pass_rates"]["institution"]] == ["临江县中医医院"]
    body01 = await staff(make_client, "body01")
    _, body = await body01.get("/api/v1/statistics")
    rates = {r["group"]: r["rate"] for r in body["pass_rates"]["institution"]}
    assert rates == {"滨海市第一人民医院": 1.0, "滨海市口腔医院": 0.0}
    zhang = await doctor(client, make_client, 0)
    assert (await zhang.get("/api/v1/statistics"))[0] == 403
    assert (await zhang.get("/api/v1/exports/results.xlsx"))[0] == 403


async def test_certificate_zip_job_reports_progress_and_serves_the_file_to_its_owner(client, make_client):  # type: ignore[no-untyped-def]
    from exam_server.results.documents import certificates_zip
    from exam_server.results.keys import certificate_zips_key
    from exam_server.web.keys import storage_key
    from registry.models import Institution

    for index in (0, 1, 2):  # INST001
        await decided(client, index, "PASSED")
    body01 = await staff(make_client, "body01")
    assert (await body01.post("/api/v1/results/publish", {}))[1]["published"] == 3
    async with client.app[sessionmaker_key]() as s:
        inst1 = (await s.execute(select(Physician.institution_id).where(Physician.id == await _physician_id(client, 0)))).scalar()
        inst2 = (await s.execute(select(Physician.institution_id).where(Physician.id == await _physician_id(client, 4)))).scalar()
        # The progress heard while gathering and drawing: every certificate, in order, then the total.
        heard: list[tuple[str, int, int]] = []
        path, count = await certificates_zip(s, client.app[storage_key], await s.get(Institution, inst1),
                                             base_url="http://x", progress=lambda *a: heard.append(a))
    import os

    os.unlink(path)
    assert count == 3
    assert heard == [("gathering", 1, 3), ("gathering", 2, 3), ("gathering", 3, 3),
                     ("rendering", 1, 3), ("rendering", 2, 3), ("rendering", 3, 3)]

    status, job = await body01.post(f"/api/v1/institutions/{inst1}/certificate-zips", {})
    assert status == 202 and job["total"] == 3 and job["finished"] is False, job
    account = await _account_id(client, "body01")
    done = await client.app[certificate_zips_key].wait_finished(job["job"], account)
    assert done is not None and done.stage == "done", done
    status, shown = await body01.get(f"/api/v1/certificate-zips/{job['job']}")
    assert status == 200 and shown["done"] == shown["total"] == 3 and shown["words"] == "已生成"
    status, data = await body01.get(shown["download"])
    assert status == 200
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 3

    # Another body's institution, an institution without certificates, the wrong role, another account.
    body02, inst01 = await staff(make_client, "body02"), await staff(make_client, "inst01")
    assert (await body02.post(f"/api/v1/institutions/{inst1}/certificate-zips", {}))[0] == 404
    status, body = await body01.post(f"/api/v1/institutions/{inst2}/certificate-zips", {})
    assert status == 404 and body["error"]["message"] == "该机构暂无合格证书"
    assert (await inst01.post(f"/api/v1/institutions/{inst1}/certificate-zips", {}))[0] == 403
    assert (await body02.get(f"/api/v1/certificate-zips/{job['job']}"))[0] == 404
    assert (await body02.get(f"/api/v1/certificate-zips/{job['job']}/file"))[0] == 404
    assert (await body01.get("/api/v1/certificate-zips/nonexistent"))[0] == 404
    status, page, _ = await body01.page("/results/manage")
    assert status == 200 and f'data-zip="{inst1}"' in page and "data-job-bar" in page


async def _account_id(api: Api, username: str) -> int:
    from registry.models import Account

    async with api.app[sessionmaker_key]() as s:
        return int(await s.scalar(select(Account.id).where(Account.username == username)))
