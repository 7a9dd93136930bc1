"""The pre-exam identity JSON API (rule 9): the face-capture consent, the liveness check judged against the
enrolled face, and the body's manual verification."""

from __future__ import annotations

import time
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from proctoring.challenge import FAILURE_WORDS, POSE_WORDS, Challenge, ChallengeVerdict, Failure
from registry.db import utcnow
from registry.roles import Role

from ..web.api import json_ok, parse_body
from ..web.errors import ApiError
from ..web.keys import live_key, sessionmaker_key, settings_key, storage_key
from ..web.params import path_id
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.schemas import Body, ConfirmBody
from ..web.sessions import current_actor
from . import checks as identity, consent, manual
from .keys import face_analyzer_key

PHYSICIAN = (Role.PHYSICIAN,)
BODY_STAFF = (Role.BODY, Role.ADMIN)
KIND = Field(title="试卷", pattern=r"^(humanities|professional)$")


class ConsentBody(Body):
    version: str = Field(title="授权书版本", min_length=1, max_length=16)


class KindBody(Body):
    kind: str = KIND


class CheckFramesBody(Body):
    frames: list[Any] = Field(title="画面", max_length=60)


class ManualBody(Body):
    kind: str = KIND
    decision: Literal["verified", "refused"] = Field(title="核验结论")
    method: Literal["in_person", "video", "photo_review"] = Field(title="核验方式")
    note: str = Field(title="核验说明", min_length=1, max_length=500)


def _kind_query(request: web.Request) -> str:
    kind = request.query.get("kind", "humanities")
    if kind not in identity.KINDS:
        raise ApiError("试卷类型的取值无效", fields={"kind": "试卷类型的取值无效"})
    return kind


# ---------------------------------------------------------------- consent


@routes.get("/api/v1/proctoring/consent", summary="人脸信息采集授权：授权书全文、版本与本人是否已同意", roles=PHYSICIAN,
            tags=("proctoring",))
async def get_consent(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    days = request.app[settings_key].proctor_retention_days
    async with request.app[sessionmaker_key]() as session:
        row = await consent.current_consent(session, actor.physician_id or 0)
    return json_ok({"version": consent.VERSION, "retention_days": days,
                    "sections": [{"title": t, "text": x} for t, x in consent.consent_text(days)],
                    "accepted": row is not None, "accepted_at": row.accepted_at if row else None})


@routes.post("/api/v1/proctoring/consent", summary="同意人脸信息采集授权（记录版本与时间）", roles=PHYSICIAN,
             body=ConsentBody, tags=("proctoring",))
async def accept_consent(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: ConsentBody = await parse_body(request, ConsentBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        row = await consent.accept(session, actor, body.version, now=utcnow(), request_id=request_id(request))
    return json_ok({"accepted": True, "version": row.text_version, "accepted_at": row.accepted_at})


@routes.post("/api/v1/proctoring/consent/withdraw", summary="撤回人脸信息采集授权", roles=PHYSICIAN, body=ConfirmBody,
             tags=("proctoring",))
async def withdraw_consent(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: ConfirmBody = await parse_body(request, ConfirmBody)
    if not body.confirm:
        raise ApiError("请确认撤回授权", fields={"confirm": "请确认撤回授权"})
    async with request.app[sessionmaker_key]() as session, session.begin():
        await consent.withdraw(session, actor, now=utcnow(), request_id=request_id(request))
    return json_ok({"accepted": False})


# ---------------------------------------------------------------- identity check


@routes.get("/api/v1/identity-checks/status", summary="开考前身份核验状态：授权、人脸登记、剩余次数、有效核验",
            roles=PHYSICIAN, tags=("proctoring",), query={"kind": "试卷（humanities / professional）"})
async def identity_status(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    kind = _kind_query(request)
    async with request.app[sessionmaker_key]() as session:
        body = await identity.status(session, actor.physician_id or 0, kind, now=utcnow())
        view = await manual.physician_view(session, actor.physician_id or 0, kind)
    return json_ok({**body, "kind": kind, "required": request.app[settings_key].exam_face_check,
                    "body_name": view.body_name, "body_contact": view.contact,
                    "refused": None if view.refused_note is None else {"note": view.refused_note, "at": view.refused_at}})


def prompt_json(challenge: Challenge, phase: int) -> dict[str, Any]:
    """One phase's prompt: the page learns the order one phase at a time, as the server sends it."""
    pose = challenge.phases[phase]
    return {"phase": phase, "pose": str(pose), "words": POSE_WORDS[pose]}


def challenge_json(check_id: int, challenge: Challenge) -> dict[str, Any]:
    return {"check_id": check_id, "phase_count": len(challenge.phases), "prompt": prompt_json(challenge, 0),
            "phase_seconds": identity.PHASE_SECONDS, "expires_in": identity.CHECK_SECONDS}


@routes.post("/api/v1/identity-checks", summary="开始身份核验：服务器随机选定转头顺序，并给出第一个阶段的提示",
             roles=PHYSICIAN, body=KindBody, tags=("proctoring",))
async def start_identity_check(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: KindBody = await parse_body(request, KindBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        check, challenge = await identity.start_check(session, actor, body.kind, now=utcnow(),
                                                      request_id=request_id(request))
    await identity.show_prompt(request.app[live_key], check.id, 0, at=time.time())
    return json_ok(challenge_json(check.id, challenge), status=201)


@routes.post("/api/v1/identity-checks/{check_id}/frames",
             summary="提交当前阶段的核验画面（须在该阶段提示发出后限定秒数内送达）；最后一个阶段后服务器判定活体与本人",
             roles=PHYSICIAN, body=CheckFramesBody, tags=("proctoring",))
async def submit_identity_frames(request: web.Request) -> web.StreamResponse:
    arrived = time.time()  # before the body is read: the upload's own time does not count against the page
    actor = current_actor(request)
    check_id = path_id(request, "check_id")
    body: CheckFramesBody = await parse_body(request, CheckFramesBody)
    live = request.app[live_key]
    now = utcnow()
    async with request.app[sessionmaker_key]() as session:
        check = await identity.open_check(session, actor, check_id, now=now)
        challenge = Challenge.from_list(check.steps)
        frames = identity.decode_frames(body.frames, len(challenge.phases))
        phase = identity.one_phase(frames)
        enrolment = await identity.enrolment_of(session, check.physician_id)
    if enrolment is None:
        raise ApiError("您的报名照片尚未登记人脸信息，请联系考核机构人工核验身份", code="not_enrolled", status=409)
    progress = await identity.progress_of(live, check_id)
    identity.expected_phase(progress, phase)
    assert progress is not None  # expected_phase refused a missing one
    # One request per phase, even if the page sends twice.
    if not await live.set(f"proctor:judging:{check_id}:{phase}", "1", ttl=120, only_if_absent=True):
        raise ApiError("本次核验正在判定中", code="busy", status=409)
    phases = len(challenge.phases)
    if identity.phase_late(progress.shown_at, arrived):
        verdict, held = ChallengeVerdict(False, Failure.TOO_SLOW, None), await identity.held_frames(live, check_id, phases)
        return await _decide(request, actor, check_id, now, verdict, held + frames, enrolment=None, images={})
    await identity.hold_frames(live, check_id, frames)
    if phase + 1 < phases:
        await identity.show_prompt(live, check_id, phase + 1, at=time.time())
        return json_ok({"passed": None, "prompt": prompt_json(challenge, phase + 1),
                        "phase_seconds": identity.PHASE_SECONDS})
    held = await identity.held_frames(live, check_id, phases)
    verdict, images = await identity.judge(request.app[face_analyzer_key](), enrolment, check_id, challenge, held)
    return await _decide(request, actor, check_id, now, verdict, held, enrolment=enrolment, images=images)


async def _decide(request: web.Request, actor: Any, check_id: int, now: Any, verdict: ChallengeVerdict,
                  frames: list[identity.SubmittedFrame], *, enrolment: Any, images: dict[str, bytes]) -> web.StreamResponse:
    """Record the verdict (the passing capture joins the enrolment; a failure keeps one frame a phase
    for the body) and answer the page."""
    live = request.app[live_key]
    await identity.forget_phases(live, check_id, 1 + max((f.phase for f in frames), default=0))
    updated = None
    captures: list[str] = []
    if verdict.passed and verdict.frontal_frame_ids and enrolment is not None:
        updated = await identity.add_capture(enrolment, images[verdict.frontal_frame_ids[0]])
    elif not verdict.passed:  # the body compares these with the registration photo if it comes to a manual check
        captures = await identity.keep_captures(request.app[storage_key], frames)
    async with request.app[sessionmaker_key]() as session, session.begin():
        check = await identity.open_check(session, actor, check_id, now=now)
        await identity.record_verdict(session, check, verdict, now=utcnow(), enrolment=updated, captures=captures,
                                      request_id=request_id(request))
        failures = await identity.failures_since_success(session, check.physician_id, check.kind)
    locked = not verdict.passed and identity.is_locked(failures)
    message = verdict.message_zh
    if locked:
        message += f"。已连续 {identity.MAX_FAILURES} 次未通过，请联系考核机构人工核验身份"
    return json_ok({"passed": verdict.passed, "failure": verdict.failure, "message": message,
                    "failures_left": identity.failures_left(failures), "locked": locked})


@routes.post("/api/v1/physicians/{physician_id}/manual-verification",
             summary="考核机构人工核验医师身份：核验通过（代替人脸核验）或核验不通过，记录核验人与方式",
             roles=BODY_STAFF, body=ManualBody, tags=("proctoring",))
async def manual_verification(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    body: ManualBody = await parse_body(request, ManualBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        check = await manual.decide(session, actor, path_id(request, "physician_id"), body.kind,
                                    verified=body.decision == "verified", method=body.method, note=body.note,
                                    now=utcnow(), request_id=request_id(request))
    return json_ok({"check_id": check.id, "state": check.state, "words": manual.DECISION_WORDS[check.state]},
                   status=201)


@routes.get("/api/v1/manual-verifications", summary="待人工核验身份的医师（人脸核验无法通过者）与最近的核验记录",
            roles=BODY_STAFF, tags=("proctoring",))
async def manual_verification_queue(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        waiting = await manual.queue(session, actor, now=utcnow())
        done = await manual.decisions(session, actor)
    return json_ok({
        "items": [{"physician_id": e.physician.id, "name": e.physician.name, "id_number_masked": manual.masked(e.physician),
                   "institution": e.physician.institution.name, "kind": e.kind,
                   "kind_words": manual.KIND_WORDS.get(e.kind or "", "待考试卷"), "reason": e.reason, "since": e.since,
                   "photo_url": f"/api/v1/files/{e.photo_file_id}" if e.photo_file_id else None,
                   "failed": [{"check_id": c.id, "at": c.decided_at, "failure_words": FAILURE_WORDS[Failure(c.failure)].split("，")[0] if c.failure in set(Failure) else "未通过",
                               "captures": [f"/api/v1/identity-checks/{c.id}/captures/{i}"
                                            for i in range(1, len(c.captures or []) + 1)]} for c in e.failed]}
                  for e in waiting],
        "decisions": [{"check_id": c.id, "physician_id": p.id, "name": p.name, "institution": p.institution.name,
                       "kind": c.kind, "kind_words": manual.KIND_WORDS[c.kind], "state": c.state,
                       "words": manual.DECISION_WORDS.get(c.state, c.state), "method": c.method,
                       "method_words": manual.MANUAL_METHODS.get(c.method or "", "未记录"), "note": c.note,
                       "by": by, "at": c.decided_at, "used": c.used_by_attempt_id is not None}
                      for c, p, by in done],
        "methods": [{"value": k, "words": v} for k, v in manual.MANUAL_METHODS.items()],
    })


@routes.get("/api/v1/identity-checks/{check_id}/captures/{number}", summary="未通过的人脸核验画面（考核机构人工核验时比对）",
            roles=BODY_STAFF, tags=("proctoring",))
async def identity_capture(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:  # {number}: 1 for the first capture
        key = await manual.capture_key(session, actor, path_id(request, "check_id"), path_id(request, "number") - 1)
    try:
        data = await request.app[storage_key].get(key)
    except FileNotFoundError:
        raise ApiError("核验画面已按保存期限删除", code="not_found", status=404) from None
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return web.Response(body=data, content_type=mime, headers={"Cache-Control": "private, no-store"})
