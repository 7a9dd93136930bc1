"""The physician's registration (我要报名): steps, uploads, submission, messages."""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web

from registry import exemptions, files, messages, workflow
from registry.application import STEP_TITLES, STEPS, incomplete_steps
from registry.idcard import mask_id_number
from registry.roles import Role
from registry.states import STATE_WORDS, State
from registry.workflow import names_differ

from ..web.api import json_ok, parse_body
from ..web.errors import ApiError
from ..web.keys import sessionmaker_key, storage_key
from ..web.params import path_id, read_upload
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.sessions import current_actor
from .photo_check import check_and_enrol
from .schemas import StepBody
from .uploads import PHOTO_MAX_BYTES, PROOF_MAX_BYTES, UploadRejected, check_proof, check_proof_count

PHYSICIAN = (Role.PHYSICIAN,)


def registration_json(reg, *, files_list=(), exemption=None, condition_names=None) -> dict:  # type: ignore[no-untyped-def]
    state = State(reg.state)
    physician = reg.physician
    typed_name = ((reg.data or {}).get("basic") or {}).get("name")
    names = condition_names or {}
    return {
        "id": reg.id,
        "version": reg.version,
        "state": state,
        "state_words": STATE_WORDS[state],
        "return_reason": reg.return_reason,
        "returned_by": reg.returned_by,
        "procedure": reg.procedure,
        "work_rating": reg.work_rating,
        "ethics_rating": reg.ethics_rating,
        "rating_comment": reg.rating_comment,
        "submitted_at": reg.submitted_at,
        "physician": {
            "id": physician.id, "name": physician.name, "id_type": physician.id_type,
            "id_number": mask_id_number(physician.id_number),
            "qualification_cert_no": physician.qualification_cert_no,
            "practice_cert_no": physician.practice_cert_no, "institution": physician.institution.name,
            "practice_start_date": physician.practice_start_date,
            # The name of the e-registration import is the record's; the one typed in step 1 is shown beside
            # it, flagged, when the two differ.
            "name_typed": typed_name,
            "name_differs": names_differ(physician.name, typed_name),
        },
        "steps": workflow.form_view(reg),
        "complete_steps": (reg.data or {}).get("_complete", []),
        "files": [{"id": f.id, "kind": f.kind, "name": f.original_name, "mime": f.mime, "size": f.size}
                  for f in files_list],
        "exemption": None if exemption is None else {
            "id": exemption.id, "state": exemption.state, "version": exemption.version,
            "state_words": exemptions.EXEMPTION_WORDS[exemptions.ExemptionState(exemption.state)],
            "condition_codes": exemption.condition_codes, "proof_file_ids": exemption.proof_file_ids,
            "conditions": [{"code": c, "name": names.get(c, c)} for c in exemption.condition_codes],
            "decision_reason": exemption.decision_reason, "waived_paper": exemptions.waived_paper(reg.procedure),
        },
    }


@routes.get("/api/v1/registration", summary="我的报名信息（五个步骤）", roles=PHYSICIAN, tags=("registration",))
async def get_registration(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, current_actor(request))
        ctx = await workflow.step_context(session, reg)
        body = registration_json(reg, files_list=await files.files_of(session, reg.id),
                                 exemption=await exemptions.exemption_of(session, reg.id))
        body["departments_empty"] = not ctx.department_ids
        body["missing"] = incomplete_steps(reg.data or {}, ctx)
    return json_ok(body)


@routes.post("/api/v1/registration/steps/{step}", summary="保存（complete=false）或校验并进入下一步（complete=true）",
             roles=PHYSICIAN, body=StepBody, tags=("registration",))
async def save_step(request: web.Request) -> web.StreamResponse:
    step = request.match_info["step"]
    if step not in STEPS:
        raise ApiError("步骤无效", code="not_found", status=404)
    body: StepBody = await parse_body(request, StepBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.save_step(session, current_actor(request), step, body.data, complete=body.complete,
                                       request_id=request_id(request))
    return json_ok({"saved": True, "step": step, "title": STEP_TITLES[step], "state": reg.state,
                    "version": reg.version})


@routes.post("/api/v1/registration/submit", summary="确认并提交报名信息", roles=PHYSICIAN, tags=("registration",))
async def submit(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.submit(session, current_actor(request), request_id=request_id(request))
    return json_ok({"state": reg.state, "state_words": STATE_WORDS[State(reg.state)], "next": "/"})


def _rejected(exc: UploadRejected) -> ApiError:
    return ApiError(exc.message, fields={exc.field: exc.message}, code="upload_rejected")


@routes.post("/api/v1/registration/photo", summary="上传照片（JPEG，≤2 MB，单人正面免冠）", roles=PHYSICIAN,
             multipart=True, tags=("registration",))
async def upload_photo(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, actor)  # refuse before reading the body if not opened
        if not workflow.physician_may_edit(State(reg.state)):
            raise ApiError("报名信息已提交，不能再修改照片", code="illegal_transition", status=409)
    data, name = await read_upload(request, "photo", PHOTO_MAX_BYTES, "照片")
    try:
        photo = await check_and_enrol(data, filename=name, person_id=str(actor.physician_id))
    except UploadRejected as exc:
        raise _rejected(exc) from None
    key = await request.app[storage_key].put(photo.file.data, prefix="photos")
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.own_registration(session, actor, for_update=True)
        if await files.count_files(session, reg.id, "photo") >= files.MAX_PER_KIND["photo"]:
            raise ApiError("照片上传次数过多，请联系所在机构", fields={"photo": "照片上传次数过多"})
        record = await files.add_file(session, actor, reg, kind="photo", storage_key=key, mime=photo.file.mime,
                                      size=len(photo.file.data), sha256=photo.file.sha256, original_name=name,
                                      meta={"width": photo.file.width, "height": photo.file.height,
                                            "enrolment": photo.enrolment})
    return json_ok({"id": record.id, "url": f"/api/v1/files/{record.id}"})


async def store_proof(request: web.Request, kind: str) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, actor)
        existing = await files.count_files(session, reg.id, kind)
    try:
        check_proof_count(existing, 1)
    except UploadRejected as exc:
        raise _rejected(exc) from None
    data, name = await read_upload(request, "proof", PROOF_MAX_BYTES, "证明材料")
    try:
        # Parsing a PDF or decoding a large scan takes up to a second: keep it off the event loop.
        checked = await asyncio.get_running_loop().run_in_executor(None, partial(check_proof, data, filename=name))
    except UploadRejected as exc:
        raise _rejected(exc) from None
    key = await request.app[storage_key].put(checked.data, prefix="proofs")
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.own_registration(session, actor, for_update=True)
        try:  # counted again inside the transaction: parallel uploads cannot pass 10 together
            check_proof_count(await files.count_files(session, reg.id, kind), 1)
        except UploadRejected as exc:
            raise _rejected(exc) from None
        record = await files.add_file(session, actor, reg, kind=kind, storage_key=key, mime=checked.mime,
                                      size=len(checked.data), sha256=checked.sha256, original_name=name,
                                      meta={"pages": checked.pages})
    return json_ok({"id": record.id, "name": record.original_name, "url": f"/api/v1/files/{record.id}"})


@routes.post("/api/v1/registration/proofs", summary="上传简易程序证明材料（PDF/JPG/PNG，≤10 MB，最多 10 份）",
             roles=PHYSICIAN, multipart=True, tags=("registration",))
async def upload_proof(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, current_actor(request))
        if not workflow.physician_may_edit(State(reg.state)):
            raise ApiError("报名信息已提交，不能再上传证明材料", code="illegal_transition", status=409)
    return await store_proof(request, "proof")


@routes.post("/api/v1/registration/files/{file_id}/delete", summary="删除本人上传但未使用的文件", roles=PHYSICIAN,
             tags=("registration",))
async def delete_file(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session, session.begin():
        record = await files.owned_file(session, actor, path_id(request, "file_id"))
        reg = await workflow.own_registration(session, actor, for_update=True)
        exemption = await exemptions.exemption_of(session, reg.id)
        if exemption is not None and exemption.state != exemptions.ExemptionState.REFUSED:
            raise ApiError("免考申请审核中，不能删除已上传的文件", code="illegal_transition", status=409)
        view = workflow.form_view(reg)
        in_use = {view["basic"].get("photo_file_id"), *(view["procedure"].get("proof_file_ids") or [])}
        if exemption is not None:
            in_use.update(exemption.proof_file_ids or [])
        await files.remove_file(session, actor, record, in_use={i for i in in_use if i})
    await request.app[storage_key].delete(record.storage_key)
    return json_ok({"deleted": True})


@routes.get("/api/v1/messages", summary="我的站内消息", roles=frozenset(Role), tags=("registration",))
async def list_messages(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        items = await messages.list_messages(session, actor.account_id)
    return json_ok({"items": [{"id": m.id, "text": m.text, "at": m.created_at, "read": m.read_at is not None}
                              for m in items]})


@routes.post("/api/v1/messages/read", summary="全部标为已读", roles=frozenset(Role), tags=("registration",))
async def read_messages(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        await messages.mark_read(session, current_actor(request).account_id)
    return json_ok({"ok": True})
