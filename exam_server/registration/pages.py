"""Pages of the registration workflow: the five steps, reviews, records, exemptions, departments, physician lists."""

from __future__ import annotations

from aiohttp import web

from registry import codes, exemptions, files, organisation, workflow
from registry.application import STEP_TITLES, STEPS, incomplete_steps
from registry.idcard import mask_id_number
from registry.roles import Role
from registry.publication import shown_states
from registry.states import STATE_WORDS, State, physician_may_edit

from ..web.edge import parse_id
from ..web.errors import Forbidden
from ..web.keys import sessionmaker_key
from ..web.pages import require_role, setup_redirect
from ..web.routes import page_routes
from ..web.sessions import current_account, current_actor
from ..web.templating import render


CODE_TABLES = {
    "genders": codes.GENDERS, "ethnicities": codes.ETHNICITIES, "education": codes.EDUCATION, "titles": codes.TITLES,
    "levels": codes.LEVELS, "employment": codes.EMPLOYMENT, "scopes": codes.PRACTICE_SCOPES, "ratings": codes.RATINGS,
}


@page_routes.get("/register", name="register")
async def register_start(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.PHYSICIAN)
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, current_actor(request))
        done = set((reg.data or {}).get("_complete", []))
    if not physician_may_edit(State(reg.state)):
        raise web.HTTPSeeOther("/register/confirm")
    first = next((s for s in STEPS if s not in done), None)
    raise web.HTTPSeeOther(f"/register/{first}" if first else "/register/confirm")


@page_routes.get("/register/{step}", name="register_step")
async def register_step(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.PHYSICIAN)
    step = request.match_info["step"]
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, current_actor(request))
        ctx = await workflow.step_context(session, reg)
        all_files = await files.files_of(session, reg.id)
        departments = await organisation.departments(session, reg.physician.institution_id)
        exemption = await exemptions.exemption_of(session, reg.id)
    view = workflow.form_view(reg)
    # The admin's additions to the code tables are offered alongside the defaults.
    code_lists = {**CODE_TABLES, "scopes": dict(ctx.scopes), "titles": ctx.titles}
    common = {"steps": STEPS, "step_titles": STEP_TITLES, "reg": reg, "physician": reg.physician,
              "masked_id": mask_id_number(reg.physician.id_number), "form": view, "files": all_files,
              "departments": departments, "editable": physician_may_edit(State(reg.state)),
              "state_words": STATE_WORDS[State(reg.state)], "codes": code_lists,
              "complete": set((reg.data or {}).get("_complete", [])), "exemption": exemption}
    if step == "confirm":
        missing = incomplete_steps(reg.data or {}, ctx)
        dept_names = {d.id: d.name for d in departments}
        return render(request, "register_confirm.html", {**common, "missing": missing, "dept_names": dept_names,
                                                         "procedures": codes.PROCEDURES})
    if step not in STEPS:
        raise web.HTTPNotFound()
    if not common["editable"]:
        raise web.HTTPSeeOther("/register/confirm")
    return render(request, "register_step.html", {**common, "step": step, "index": STEPS.index(step)})


@page_routes.get("/exemption", name="exemption")
async def exemption_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.PHYSICIAN)
    async with request.app[sessionmaker_key]() as session:
        reg = await workflow.own_registration(session, current_actor(request))
        conditions = await exemptions.active_conditions(session)
        exemption = await exemptions.exemption_of(session, reg.id)
        proofs = [f for f in await files.files_of(session, reg.id) if f.kind == "exemption_proof"]
    return render(request, "exemption.html", {
        "reg": reg, "conditions": conditions, "exemption": exemption, "proofs": proofs,
        "words": exemptions.EXEMPTION_WORDS, "waived": exemptions.waived_paper(reg.procedure),
        "can_apply": State(reg.state) in (State.SUBMITTED, State.INSTITUTION_APPROVED, State.APPROVED)
        and (exemption is None or exemption.state == exemptions.ExemptionState.REFUSED)})


@page_routes.get("/reviews", name="reviews")
async def reviews_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)
    account = current_account(request)
    default_state = {Role.INSTITUTION: State.SUBMITTED, Role.BODY: State.INSTITUTION_APPROVED}.get(Role(account.role), "")
    async with request.app[sessionmaker_key]() as session:
        departments = await organisation.departments(session, account.institution_id) if account.institution_id else []
    words = shown_states(Role(account.role))
    return render(request, "reviews.html", {"states": list(words), "state_words": words,
                                            "default_state": default_state, "departments": departments})


@page_routes.get("/records/{registration_id}", name="record")
async def record_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)
    registration_id = parse_id(request.match_info["registration_id"])
    if registration_id is None:
        raise web.HTTPNotFound()
    return render(request, "record.html", {"registration_id": registration_id, "ratings": codes.RATINGS})


@page_routes.get("/institution/departments", name="departments")
async def departments_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.INSTITUTION)
    return render(request, "departments.html", {})


@page_routes.get("/health/physicians", name="health_physicians")
async def health_physicians(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.HEALTH_ADMIN)
    words = shown_states(Role.HEALTH_ADMIN)
    return render(request, "health_physicians.html", {"states": list(words), "state_words": words})


@page_routes.get("/institution/physicians", name="institution_physicians")
async def institution_physicians(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    setup_redirect(request, "/institution/physicians")
    if account.role != Role.INSTITUTION:
        raise Forbidden("仅医疗卫生机构的定考负责人可访问此页面")
    words = shown_states(Role.INSTITUTION)
    return render(request, "institution_physicians.html", {"states": list(words), "state_words": words})
