"""Results: publication, the physician's result and downloads, review requests, certificates,
the body's seal, and public certificate verification (API and page)."""

from __future__ import annotations

import os

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import reports
from registry.models import Institution
from registry.roles import Role
from registry.scope import Actor, can_oversee_institution
from registry.states import STATE_WORDS, State

from ..registration.uploads import UploadRejected
from ..web.api import ANYONE, json_ok, parse_body
from ..web.downloads import attachment_headers, send_file, send_stored
from ..web.errors import EXTRA_MAPPINGS, ApiError, TooManyRequests
from ..web.keys import live_key, sessionmaker_key, settings_key, sms_key, storage_key
from ..web.params import path_id, read_upload
from ..web.request_context import request_id
from ..web.routes import page_routes, routes
from ..web.sessions import client_address, current_actor
from ..web.templating import render
from . import services as results
from .certificate_zips import ZipJob
from .documents import certificate_pdf, certificates_zip, current_certificates, notice_pdf
from .keys import certificate_zips_key
from .models import Certificate
from .schemas import PublishBody, ReviewDecisionBody, ReviewRequestBody, RevokeBody
from .seals import SEAL_MAX_BYTES, check_seal, save_seal, seal_png

if (reports.ReportError, 400, "invalid_input") not in EXTRA_MAPPINGS:
    EXTRA_MAPPINGS.append((reports.ReportError, 400, "invalid_input"))

PHYSICIAN = (Role.PHYSICIAN,)
BODY = (Role.BODY,)
VERIFY_PER_MINUTE = 20  # per client address: enough for people, too few to enumerate numbers
VERIFY_PER_HOUR = 200


def _key(request: web.Request) -> bytes:
    return reports.derive_key(request.app[settings_key].secret_key)


def _base_url(request: web.Request) -> str:
    return str(request.url.origin())


async def _send(request: web.Request, notices: list[results.Notice]) -> None:
    sms = request.app[sms_key]
    for n in notices:
        await sms.send(n.phone, n.text)


def _pdf(data: bytes, filename: str) -> web.Response:
    return web.Response(body=data, headers=attachment_headers("application/pdf", "document.pdf", filename))


# -- publication ---------------------------------------------------------------------------------


@routes.post("/api/v1/results/publish", summary="公布本考核机构辖区（或其中一个机构）本周期的考核结果", roles=BODY,
             body=PublishBody, tags=("results",))
async def publish(request: web.Request) -> web.StreamResponse:
    body: PublishBody = await parse_body(request, PublishBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        done, notices = await results.publish_results(session, current_actor(request), institution_id=body.institution_id,
                                                      key=_key(request), request_id=request_id(request))
    await _send(request, notices)
    return json_ok({**_publication(done), "published": done.count, "certificates": len(done.passed),
                    "sms": done.sms})


def _publication(p: results.Publication) -> dict[str, object]:
    return {"scope": p.scope, "count": p.count, "passed": p.passed, "failed": p.failed, "sealed": p.sealed,
            "refusal": p.refusal}


@routes.get("/api/v1/results/publish-preview", summary="公布前预览：将公布的合格、不合格医师，是否已上传印章",
            roles=BODY, tags=("results",), query={"institution_id": "机构（空为辖区全部机构）"})
async def publish_preview(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("institution_id", "")
    try:
        body = PublishBody.model_validate({"institution_id": raw})
    except ValueError:
        raise ApiError("机构的取值无效", fields={"institution_id": "机构的取值无效"}) from None
    async with request.app[sessionmaker_key]() as session:
        preview = await results.preview_publication(session, current_actor(request), institution_id=body.institution_id)
    return json_ok(_publication(preview))


@routes.get("/api/v1/exam-schedules/{schedule_id}/publish-preview", summary="公布测评场次成绩前预览：将收到成绩的医师",
            roles=BODY, tags=("results",))
async def publish_schedule_preview(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        schedule, names = await results.preview_schedule(session, current_actor(request), path_id(request, "schedule_id"))
    return json_ok({"title": schedule.title, "count": len(names), "names": names})


@routes.get("/api/v1/results/schedules", summary="本周期各测评场次及其成绩公布情况（考核机构）", roles=BODY,
            tags=("results",))
async def list_schedules_for_publication(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = await results.schedules_in_scope(session, current_actor(request))
    return json_ok({"items": [{"id": s.id, "title": s.title, "kind": s.kind, "window_start": s.window_start,
                               "window_end": s.window_end, "published_at": p.published_at if p else None}
                              for s, p in rows]})


@routes.post("/api/v1/exam-schedules/{schedule_id}/publish", summary="公布一个测评场次（一份试卷）的成绩", roles=BODY,
             tags=("results",))
async def publish_schedule_scores(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        count, notices = await results.publish_schedule(session, current_actor(request), path_id(request, "schedule_id"),
                                                        request_id=request_id(request))
    await _send(request, notices)
    return json_ok({"published": True, "physicians": count, "sms": len(notices)})


def _papers(views: list[results.PaperView]) -> list[dict[str, object]]:
    return [{"title": p.title, "published": p.published, "score": p.score, "pass_mark": p.pass_mark,
             "full_mark": p.full_mark, "outcome": p.outcome} for p in views]


# -- the physician's result ------------------------------------------------------------------------


@routes.get("/api/v1/my/result", summary="本人考核结果（公布后可见）", roles=PHYSICIAN, tags=("results",))
async def my_result(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        reg = await results.my_registration(session, actor)
        state = State.NOT_OPENED if reg is None else State(reg.state)
        if reg is None or state not in results.RESULT_OF_STATE:
            papers = _papers(await results.paper_views(session, reg)) if reg is not None else []
            return json_ok({"status": "未出结果", "state_words": STATE_WORDS[state], "papers": papers})
        pub = await results.published_result(session, reg)
        if pub is None:  # a paper whose schedule the body published shows its score already
            return json_ok({"status": "待公布", "state_words": "待公布",
                            "papers": _papers(await results.paper_views(session, reg))})
        facts = await results.gather_result_facts(session, reg)
        review = await session.scalar(select(results.ResultReview).where(results.ResultReview.registration_id == reg.id))
    deadline = pub.published_at + results.dt.timedelta(days=results.REVIEW_DAYS)
    return json_ok({
        "status": "已公布", "result": facts.result_text, "published_at": pub.published_at, "cycle": facts.cycle,
        "procedure": facts.procedure, "work_rating": facts.work_rating, "ethics_rating": facts.ethics_rating,
        "papers": [{"title": p.title, "score": p.score, "pass_mark": p.pass_mark, "full_mark": p.full_mark,
                    "outcome": p.outcome} for p in facts.papers],
        "exemptions": list(facts.exemptions), "reasons": list(facts.reasons),
        "certificate_number": facts.certificate_number,
        "review": None if review is None else {"id": review.id, "state": review.state,
                                               "words": results.REVIEW_WORDS[review.state], "reason": review.reason,
                                               "note": review.note, "requested_at": review.requested_at},
        "review_deadline": deadline if facts.result_text == results.FAIL else None,
    })


@routes.post("/api/v1/my/result/review", summary="申请复核（考核不合格，公布后 30 日内，限一次）", roles=PHYSICIAN,
             body=ReviewRequestBody, tags=("results",))
async def request_review(request: web.Request) -> web.StreamResponse:
    body: ReviewRequestBody = await parse_body(request, ReviewRequestBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        review = await results.request_review(session, current_actor(request), reason=body.reason,
                                              request_id=request_id(request))
    return json_ok({"id": review.id, "state": review.state})


@routes.get("/api/v1/my/result-notice.pdf", summary="下载考核结果通知书（PDF）", roles=PHYSICIAN, tags=("results",))
async def my_notice(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        reg = await results.my_registration(session, current_actor(request))
        if await results.published_result(session, reg) is None or reg is None:
            raise ApiError("考核结果尚未公布", code="not_found", status=404)
        data = await notice_pdf(session, request.app[storage_key], reg)
    return _pdf(data, "考核结果通知书.pdf")


@routes.get("/api/v1/my/certificate.pdf", summary="下载合格证书（PDF）", roles=PHYSICIAN, tags=("results",))
async def my_certificate(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        cert = await session.scalar(select(Certificate).where(Certificate.physician_id == actor.physician_id,
                                                              Certificate.revoked_at.is_(None))
                                    .order_by(Certificate.id.desc()))
        if cert is None:
            raise ApiError("暂无合格证书", code="not_found", status=404)
        data = await certificate_pdf(session, request.app[storage_key], cert, base_url=_base_url(request))
    return _pdf(data, f"合格证书-{cert.number}.pdf")


# -- review requests (body) -----------------------------------------------------------------------


@routes.get("/api/v1/result-reviews", summary="复核申请列表（考核机构）", roles=BODY, tags=("results",),
            query={"state": "pending / upheld / changed"})
async def list_reviews(request: web.Request) -> web.StreamResponse:
    state = request.query.get("state") or None
    if state not in (None, *results.REVIEW_WORDS):
        raise ApiError("状态的取值无效", fields={"state": "状态的取值无效"})
    async with request.app[sessionmaker_key]() as session:
        rows = await results.list_reviews(session, current_actor(request), state=state)
        items = [{"id": r.id, "registration_id": g.id, "name": g.physician.name,
                  "institution": g.physician.institution.name, "reason": r.reason, "state": r.state,
                  "words": results.REVIEW_WORDS[r.state], "note": r.note, "requested_at": r.requested_at}
                 for r, g in rows]
    return json_ok({"items": items})


@routes.post("/api/v1/result-reviews/{review_id}/decide", summary="处理复核申请：维持或变更（须填说明）", roles=BODY,
             body=ReviewDecisionBody, tags=("results",))
async def decide_review(request: web.Request) -> web.StreamResponse:
    body: ReviewDecisionBody = await parse_body(request, ReviewDecisionBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        review, notices = await results.decide_review(
            session, current_actor(request), path_id(request, "review_id"), change=body.decision == "changed",
            note=body.note, key=_key(request), request_id=request_id(request))
    await _send(request, notices)
    return json_ok({"id": review.id, "state": review.state})


# -- certificates (body) --------------------------------------------------------------------------


def _number(request: web.Request) -> str:
    try:
        return reports.normalise_number(request.match_info["number"])
    except reports.TokenError as exc:
        raise ApiError(exc.message_zh, code="not_found", status=404) from None


@routes.get("/api/v1/certificates", summary="本考核机构辖区的合格证书（按医师姓名或证书编号查找，最新的在前，至多 50 张）",
            roles=BODY, tags=("results",), query={"q": "医师姓名或证书编号"})
async def list_certificates(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        items = await results.certificates_of_body(session, current_actor(request), q=request.query.get("q", "")[:64])
    return json_ok({"items": items})


@routes.post("/api/v1/certificates/{number}/revoke", summary="撤销合格证书（须填原因）", roles=BODY, body=RevokeBody,
             tags=("results",))
async def revoke(request: web.Request) -> web.StreamResponse:
    body: RevokeBody = await parse_body(request, RevokeBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        cert = await results.revoke_certificate(session, current_actor(request), _number(request), reason=body.reason,
                                                category=body.category, request_id=request_id(request))
    return json_ok({"number": cert.number, "revoked": True})


async def _institution_in_scope(session: AsyncSession, actor: Actor, request: web.Request) -> Institution:
    institution = await session.get(Institution, path_id(request, "institution_id"))
    if institution is None or not can_oversee_institution(actor, institution):  # another body's: as missing
        raise ApiError("机构不存在", code="not_found", status=404)
    return institution


@routes.get("/api/v1/institutions/{institution_id}/certificates.zip", summary="批量下载机构的合格证书（ZIP）",
            roles=BODY, tags=("results",))
async def certificates_batch(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        institution = await _institution_in_scope(session, actor, request)
        path, count = await certificates_zip(session, request.app[storage_key], institution, base_url=_base_url(request))
    try:
        return await send_file(request, path, _zip_headers(institution.name, count))
    finally:
        os.unlink(path)


def _zip_headers(institution: str, count: int) -> dict[str, str]:
    return attachment_headers("application/zip", "certificates.zip", institution + "-合格证书.zip",
                              **{"X-Certificate-Count": str(count)})


@routes.post("/api/v1/institutions/{institution_id}/certificate-zips",
             summary="开始生成机构的合格证书 ZIP（后台生成，可查询进度）", roles=BODY, tags=("results",))
async def start_certificate_zip(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        institution = await _institution_in_scope(session, actor, request)
        total = len(await current_certificates(session, institution.id))
    if total == 0:
        raise ApiError("该机构暂无合格证书", code="not_found", status=404)
    job = await request.app[certificate_zips_key].start(owner=actor.account_id, institution=institution, total=total,
                                                        base_url=_base_url(request))
    return json_ok(job.public(), status=202)


async def _zip_job(request: web.Request) -> ZipJob:
    job = await request.app[certificate_zips_key].get(request.match_info["token"], current_actor(request).account_id)
    if job is None:  # unknown, expired or someone else's
        raise ApiError("生成任务不存在或已过期", code="not_found", status=404)
    return job


@routes.get("/api/v1/certificate-zips/{token}", summary="证书 ZIP 生成进度", roles=BODY, tags=("results",))
async def certificate_zip_progress(request: web.Request) -> web.StreamResponse:
    return json_ok((await _zip_job(request)).public())


@routes.get("/api/v1/certificate-zips/{token}/file", summary="下载已生成的证书 ZIP", roles=BODY, tags=("results",))
async def certificate_zip_file(request: web.Request) -> web.StreamResponse:
    job = await _zip_job(request)
    if job.stage != "done" or not job.storage_key:
        raise ApiError("证书 ZIP 尚未生成完成", code="not_ready", status=409)
    return await send_stored(request, request.app[storage_key], job.storage_key,
                             _zip_headers(job.institution, job.total), missing="生成任务不存在或已过期")


# -- the body's seal ------------------------------------------------------------------------------


@routes.post("/api/v1/body/seal", summary="上传考核机构印章（PNG 透明背景或 JPEG，≤2 MB）", roles=BODY, multipart=True,
             tags=("results",))
async def upload_seal(request: web.Request) -> web.StreamResponse:
    data, _ = await read_upload(request, "seal", SEAL_MAX_BYTES, "印章图片")
    try:
        png, width, height = check_seal(data)
    except UploadRejected as exc:
        raise ApiError(exc.message, fields={exc.field: exc.message}, code="upload_rejected") from None
    async with request.app[sessionmaker_key]() as session, session.begin():
        seal = await save_seal(session, request.app[storage_key], current_actor(request), png, width, height,
                               request_id=request_id(request))
    return json_ok({"width": seal.width, "height": seal.height, "sha256": seal.sha256})


@routes.get("/api/v1/body/seal", summary="本考核机构的印章图片", roles=BODY, tags=("results",))
async def get_seal(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        png = await seal_png(session, request.app[storage_key], actor.body_id or 0)
    if png is None:
        raise ApiError("尚未上传印章", code="not_found", status=404)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


# -- public verification ---------------------------------------------------------------------------


async def _limit(request: web.Request) -> None:
    live = request.app[live_key]
    client = client_address(request)
    if await live.incr(f"verify:min:{client}", ttl=60) > VERIFY_PER_MINUTE or \
            await live.incr(f"verify:hour:{client}", ttl=3600) > VERIFY_PER_HOUR:
        raise TooManyRequests("查验过于频繁，请稍后再试")


async def _verify(request: web.Request, text: str) -> dict[str, object]:
    await _limit(request)
    async with request.app[sessionmaker_key]() as session:
        found = await results.verify_certificate(session, text, key=_key(request))
    v = found.verdict
    facts = v.facts or {}
    shown = None
    if v.status in (reports.Status.GENUINE, reports.Status.REVOKED, reports.Status.UNSEALED):
        shown = {"name": found.masked_name, "category": facts.get("category"), "scope": facts.get("scope"),
                 "cycle": facts.get("cycle"), "result": facts.get("result"), "body": facts.get("body"),
                 "issued": facts.get("issued")}
    return {"number": v.number, "status": str(v.status), "text": v.text, "certificate": shown,
            "revoked_reason": found.revoked_reason}


@routes.get("/api/v1/verify", summary="证书查验（公开，无需登录；证书编号或二维码网址）", roles=ANYONE,
            tags=("verify",), query={"q": "证书编号或二维码中的网址"})
async def verify_api(request: web.Request) -> web.StreamResponse:
    return json_ok(await _verify(request, request.query.get("q", "")))


@page_routes.get("/verify", name="verify")
async def verify_page(request: web.Request) -> web.StreamResponse:
    q = request.query.get("q", "")
    outcome, error = None, None
    if q:
        try:
            outcome = await _verify(request, q)
        except reports.TokenError as exc:
            error = exc.message_zh
    return render(request, "verify.html", {"q": q[:200], "outcome": outcome, "error": error})


@page_routes.get("/verify/{number}", name="verify_number")
async def verify_link(request: web.Request) -> web.StreamResponse:
    """Where the QR code points: the number in the path, the signature in ``s``."""
    text = request.path_qs
    outcome, error = None, None
    try:
        outcome = await _verify(request, text)
    except reports.TokenError as exc:
        error = exc.message_zh
    return render(request, "verify.html", {"q": request.match_info["number"][:200], "outcome": outcome, "error": error})
