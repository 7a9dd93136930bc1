"""Institution and assessment-body reviews, departments, transfers, exemptions, files."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from aiohttp import web
from sqlalchemy import select

from registry import exemptions, files, organisation, workflow
from registry.models import Institution, Registration
from registry.registrations import current_cycle
from registry.roles import Role
from registry.scope import institution_clause
from registry.states import STATE_WORDS, State, staff_see_contents
from registry.publication import DECIDING_ACTIONS, UNPUBLISHED, published_column, shown_state
from registry.stats import counts_by_institution
from registry.eligibility import simple_procedure_flag
from registry.idcard import mask_id_number

from ..web.api import json_ok, parse_body
from ..web.errors import ApiError
from ..web.keys import sessionmaker_key, storage_key
from ..web.params import int_param, path_id
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.sessions import current_actor
from .api import registration_json, store_proof
from .keys import published_registrations_key
from .schemas import (
    ApproveBody, BatchApproveBody, BodyApproveBody, ConditionBody, DecisionBody, DepartmentBody, ExemptionBody,
    ReturnBody, TransferBody,
)

REVIEWERS = (Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)
ALL = frozenset(Role)


@routes.get("/api/v1/reviews", summary="审核队列（机构：待机构审核；考核机构：待复核）", roles=REVIEWERS, tags=("review",),
            query={"state": "状态", "department_id": "科室", "procedure": "考核程序", "q": "姓名或证件号码",
                   "institution_id": "机构", "page": "页码", "size": "每页条数"})
async def review_queue(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    state = request.query.get("state", "")
    if state and state not in State.__members__ and state != UNPUBLISHED:
        raise ApiError("状态的取值无效", fields={"state": "状态的取值无效"})
    procedure = request.query.get("procedure") or None
    if procedure not in (None, "simple", "general"):
        raise ApiError("考核程序的取值无效", fields={"procedure": "考核程序的取值无效"})
    query = request.query.get("q", "")
    if len(query) > 64:
        raise ApiError("搜索内容不能超过 64 个字符", fields={"q": "搜索内容不能超过 64 个字符"})
    department_id = int_param(request, "department_id", 0, lo=0, hi=10**9, title="科室") or None
    institution_id = int_param(request, "institution_id", 0, lo=0, hi=10**9, title="机构") or None
    size = int_param(request, "size", 50, lo=1, hi=1000, title="每页条数")
    page = int_param(request, "page", 1, lo=1, hi=100_000, title="页码")
    async with request.app[sessionmaker_key]() as session:
        total, rows = await workflow.review_queue(session, actor, state=state or None, department_id=department_id,
                                                  procedure=procedure, query=query, institution_id=institution_id,
                                                  limit=size, offset=(page - 1) * size,
                                                  published=request.app[published_registrations_key]())
    return json_ok({"total": total, "page": page, "items": [asdict(r) for r in rows]})


@routes.get("/api/v1/registrations/{registration_id}", summary="报名记录详情", roles=REVIEWERS, tags=("review",))
async def get_record(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.registration_in_scope(session, actor, path_id(request, "registration_id"))
        published = bool(await session.scalar(select(published_column(request.app[published_registrations_key]()))
                                              .where(Registration.id == reg.id)))
        shown, words = shown_state(actor.role, reg.state, published)
        if not staff_see_contents(State(reg.state)):
            return json_ok(draft_json(reg))
        body = registration_json(reg, files_list=await files.files_of(session, reg.id),
                                 exemption=await exemptions.exemption_of(session, reg.id),
                                 condition_names=await exemptions.condition_names(session))
        flag = simple_procedure_flag(reg.physician.practice_start_date, on=dt.date.today())
        body["eligibility"] = {"eligible": flag.eligible, "years": flag.years, "message": flag.message}
        body["history"] = [{"at": h.at, "action": h.action, "actor_id": h.actor_account_id, "detail": h.detail}
                           for h in await workflow.history(session, reg.id)]
        body["transfers"] = [{"from": t.from_institution_id, "to": t.to_institution_id, "reason": t.reason, "at": t.at}
                             for t in await organisation.transfers_of(session, reg.physician_id)]
        depts = {d.id: d.name for d in await organisation.departments(session, reg.physician.institution_id)}
        body["department_name"] = depts.get((reg.data or {}).get("practice", {}).get("department_id"))
    if shown != reg.state:  # before publication: the outcome and the moves that decided it stay hidden
        body.update(state=shown, state_words=words)
        body["history"] = [h for h in body["history"] if h["action"] not in DECIDING_ACTIONS]
    return json_ok(body)


def draft_json(reg) -> dict:  # type: ignore[no-untyped-def]
    """An unsubmitted record as staff see it: its state and the e-registration facts, nothing the physician typed."""
    physician = reg.physician
    return {"id": reg.id, "version": reg.version, "state": reg.state, "state_words": STATE_WORDS[State(reg.state)],
            "draft": True, "steps": None, "files": [], "exemption": None,
            "physician": {"id": physician.id, "name": physician.name, "id_number": mask_id_number(physician.id_number),
                          "institution": physician.institution.name}}


def _rid(request: web.Request) -> int:
    return path_id(request, "registration_id")


@routes.post("/api/v1/registrations/{registration_id}/return", summary="机构退回（须填原因）",
             roles=(Role.INSTITUTION,), body=ReturnBody, tags=("review",))
async def institution_return(request: web.Request) -> web.StreamResponse:
    body: ReturnBody = await parse_body(request, ReturnBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.institution_return(session, current_actor(request), _rid(request), reason=body.reason,
                                                version=body.version, request_id=request_id(request))
    return json_ok({"state": reg.state, "version": reg.version})


@routes.post("/api/v1/registrations/{registration_id}/approve", summary="机构审核通过并评定工作成绩、职业道德",
             roles=(Role.INSTITUTION,), body=ApproveBody, tags=("review",))
async def institution_approve(request: web.Request) -> web.StreamResponse:
    body: ApproveBody = await parse_body(request, ApproveBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.institution_approve(
            session, current_actor(request), _rid(request), work_rating=body.work_rating,
            ethics_rating=body.ethics_rating, comment=body.comment, version=body.version,
            request_id=request_id(request))
    return json_ok({"state": reg.state, "version": reg.version})


@routes.post("/api/v1/registrations/batch-approve", summary="批量审核通过（评定均为合格）", roles=(Role.INSTITUTION,),
             body=BatchApproveBody, tags=("review",))
async def batch_approve(request: web.Request) -> web.StreamResponse:
    body: BatchApproveBody = await parse_body(request, BatchApproveBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        count = await workflow.batch_approve(session, current_actor(request), body.registration_ids,
                                             request_id=request_id(request))
    return json_ok({"approved": count})


@routes.post("/api/v1/registrations/{registration_id}/body-return", summary="考核机构复核退回（须填原因）",
             roles=(Role.BODY,), body=ReturnBody, tags=("review",))
async def body_return(request: web.Request) -> web.StreamResponse:
    body: ReturnBody = await parse_body(request, ReturnBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.body_return(session, current_actor(request), _rid(request), reason=body.reason,
                                         version=body.version, request_id=request_id(request))
    return json_ok({"state": reg.state, "version": reg.version})


@routes.post("/api/v1/registrations/{registration_id}/body-approve", summary="考核机构复核通过",
             roles=(Role.BODY,), body=BodyApproveBody, tags=("review",))
async def body_approve(request: web.Request) -> web.StreamResponse:
    body: BodyApproveBody = await parse_body(request, BodyApproveBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.body_approve(session, current_actor(request), _rid(request), version=body.version,
                                          request_id=request_id(request))
    return json_ok({"state": reg.state, "version": reg.version})


@routes.post("/api/v1/registrations/{registration_id}/body-confirm-fail",
             summary="考核机构确认机构的不合格评定（考核结果为不合格）", roles=(Role.BODY,), body=BodyApproveBody,
             tags=("review",))
async def body_confirm_fail(request: web.Request) -> web.StreamResponse:
    body: BodyApproveBody = await parse_body(request, BodyApproveBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.body_confirm_fail(session, current_actor(request), _rid(request), version=body.version,
                                               request_id=request_id(request))
    return json_ok({"state": reg.state, "version": reg.version})


@routes.post("/api/v1/registrations/{registration_id}/body-return-to-institution",
             summary="考核机构将不合格评定退回机构重新审核评定（须填原因）", roles=(Role.BODY,), body=ReturnBody,
             tags=("review",))
async def body_return_to_institution(request: web.Request) -> web.StreamResponse:
    body: ReturnBody = await parse_body(request, ReturnBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        reg = await workflow.body_return_to_institution(session, current_actor(request), _rid(request),
                                                        reason=body.reason, version=body.version,
                                                        request_id=request_id(request))
    return json_ok({"state": reg.state, "version": reg.version})


@routes.get("/api/v1/institutions", summary="辖区内机构及本周期各状态人数", roles=REVIEWERS, tags=("review",))
async def institutions(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        cycle = await current_cycle(session)
        counts = await counts_by_institution(session, actor, cycle.id,
                                             published=request.app[published_registrations_key]())
    return json_ok({"cycle": cycle.name, "items": [asdict(c) for c in counts]})


@routes.get("/api/v1/departments", summary="本机构科室", roles=(Role.INSTITUTION,), tags=("institution",))
async def list_departments(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        items = await organisation.departments(session, actor.institution_id or 0)
    return json_ok({"items": [{"id": d.id, "name": d.name} for d in items]})


@routes.post("/api/v1/departments", summary="新增科室", roles=(Role.INSTITUTION,), body=DepartmentBody,
             tags=("institution",))
async def add_department(request: web.Request) -> web.StreamResponse:
    body: DepartmentBody = await parse_body(request, DepartmentBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        dept = await organisation.add_department(session, current_actor(request), body.name)
    return json_ok({"id": dept.id, "name": dept.name})


@routes.post("/api/v1/departments/{department_id}/delete", summary="删除科室（未被使用时）", roles=(Role.INSTITUTION,),
             tags=("institution",))
async def remove_department(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session, session.begin():
        await organisation.remove_department(session, current_actor(request), path_id(request, "department_id"))
    return json_ok({"deleted": True})


@routes.post("/api/v1/physicians/{physician_id}/transfer", summary="调整医师所在机构（卫生健康行政部门）",
             roles=(Role.HEALTH_ADMIN,), body=TransferBody, tags=("health",))
async def transfer(request: web.Request) -> web.StreamResponse:
    body: TransferBody = await parse_body(request, TransferBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        moved = await organisation.transfer_physician(session, current_actor(request), path_id(request, "physician_id"),
                                                      to_institution_id=body.institution_id, reason=body.reason,
                                                      request_id=request_id(request))
    return json_ok({"transfer_id": moved.id})


@routes.get("/api/v1/institution-options", summary="辖区内可选机构", roles=(Role.HEALTH_ADMIN, Role.BODY, Role.ADMIN),
            tags=("health",))
async def institution_options(request: web.Request) -> web.StreamResponse:
    from sqlalchemy import select

    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        rows = (await session.execute(select(Institution.id, Institution.name).where(institution_clause(actor))
                                      .order_by(Institution.code))).all()
    return json_ok({"items": [{"id": i, "name": n} for i, n in rows]})


@routes.get("/api/v1/exemption-conditions", summary="免考条件", roles=ALL, tags=("exemption",))
async def conditions(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        items = await exemptions.active_conditions(session)
    return json_ok({"items": [{"code": c.code, "name": c.name} for c in items]})


@routes.post("/api/v1/admin/exemption-conditions", summary="维护免考条件（系统管理员）", roles=(Role.ADMIN,),
             body=ConditionBody, tags=("exemption",))
async def save_condition(request: web.Request) -> web.StreamResponse:
    body: ConditionBody = await parse_body(request, ConditionBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        condition = await exemptions.save_condition(session, current_actor(request), code=body.code, name=body.name,
                                                    active=body.active)
    return json_ok({"code": condition.code, "name": condition.name, "active": condition.active})


@routes.post("/api/v1/exemption/proofs", summary="上传免考证明材料", roles=(Role.PHYSICIAN,), multipart=True,
             tags=("exemption",))
async def upload_exemption_proof(request: web.Request) -> web.StreamResponse:
    return await store_proof(request, "exemption_proof")


@routes.post("/api/v1/exemption", summary="申请免考（报名提交后）", roles=(Role.PHYSICIAN,), body=ExemptionBody,
             tags=("exemption",))
async def apply_exemption(request: web.Request) -> web.StreamResponse:
    body: ExemptionBody = await parse_body(request, ExemptionBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        exemption = await exemptions.apply(session, current_actor(request), condition_codes=body.condition_codes,
                                           proof_file_ids=body.proof_file_ids, note=body.note,
                                           request_id=request_id(request))
    return json_ok({"id": exemption.id, "state": exemption.state, "next": "/"})


@routes.post("/api/v1/exemptions/{exemption_id}/decide", summary="审核免考申请（机构初审、考核机构终审）",
             roles=(Role.INSTITUTION, Role.BODY), body=DecisionBody, tags=("exemption",))
async def decide_exemption(request: web.Request) -> web.StreamResponse:
    body: DecisionBody = await parse_body(request, DecisionBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        exemption = await exemptions.decide(session, current_actor(request), path_id(request, "exemption_id"),
                                            approve=body.approve, reason=body.reason, version=body.version,
                                            request_id=request_id(request))
    return json_ok({"state": exemption.state, "version": exemption.version})


@routes.get("/api/v1/files/{file_id}", summary="下载文件（本人及有权审核者）", roles=ALL, tags=("files",))
async def get_file(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        record = await files.readable_file(session, current_actor(request), path_id(request, "file_id"))
    try:
        data = await request.app[storage_key].get(record.storage_key)
    except FileNotFoundError:  # removed from storage (retention, a restore without files): say so, not a 500
        raise ApiError("文件已不存在", code="not_found", status=404) from None
    disposition = "inline" if record.mime.startswith("image/") or record.mime == "application/pdf" else "attachment"
    return web.Response(body=data, content_type=record.mime, headers={
        "Content-Disposition": f"{disposition}; filename=file-{record.id}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
    })


