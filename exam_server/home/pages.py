"""Server-rendered pages; their forms call the JSON API from static/app.js."""

from __future__ import annotations

from aiohttp import web

from registry import exemptions, messages, registrations
from registry.accounts import next_step_after_login
from registry.idcard import mask_id_number
from registry.models import Institution
from registry.roles import Role
from registry.scope import Actor
from registry.states import STATE_WORDS, State
from registry.stats import counts_by_institution

from ..results import services as results
from ..web.sessions import current_account
from ..web.errors import Forbidden
from ..web.keys import sessionmaker_key, settings_key, sms_key
from ..infra.sms import LogSms
from ..web.templating import render
from ..web.routes import page_routes
from ..accounts.api import NEXT_URL


def _setup_redirect(request: web.Request, here: str) -> None:
    """Send an account that has not finished its first-login steps to the step it is on."""
    step = NEXT_URL[next_step_after_login(current_account(request))]
    if step != "/" and step != here:
        raise web.HTTPSeeOther(step)


@page_routes.get("/login", name="login")
async def login_page(request: web.Request) -> web.StreamResponse:
    return render(request, "login.html", {"next": request.query.get("next", "/")})


@page_routes.get("/password", name="password")
async def password_page(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    return render(request, "password.html", {"forced": account.must_change_password})


@page_routes.get("/phone", name="phone")
async def phone_page(request: web.Request) -> web.StreamResponse:
    _setup_redirect(request, "/phone")
    return render(request, "phone.html", {})


@page_routes.get("/", name="home")
async def home(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    _setup_redirect(request, "/")
    actor = Actor.of(account)
    async with request.app[sessionmaker_key]() as session:
        if actor.role is Role.PHYSICIAN:
            cycle = await registrations.current_cycle(session)
            reg = await registrations.registration_of(session, account.physician_id or 0, cycle.id)
            state = registrations.state_of(reg)
            exemption = await exemptions.exemption_of(session, reg.id) if reg else None
            inbox = await messages.list_messages(session, account.id, limit=10)
            # A result is the physician's to see only once the body has published it.
            decided = state in (State.PASSED, State.FAILED)
            published = decided and await results.published_result(session, reg) is not None
            words = "待公布" if decided and not published else STATE_WORDS[state]
            return render(request, "home_physician.html", {
                "cycle": cycle, "state": state, "state_words": words, "registration": reg, "published": published,
                "physician": account.physician, "masked_id": mask_id_number(account.physician.id_number),
                "exemption": exemption, "exemption_words": exemptions.EXEMPTION_WORDS,
                "waived": exemptions.waived_paper(reg.procedure if reg else None), "messages": inbox,
                "failed_rating": published and bool(reg and "不合格" in (reg.work_rating, reg.ethics_rating))})
        if actor.role is Role.INVIGILATOR:
            return render(request, "home_invigilator.html", {})
        cycle = await registrations.current_cycle(session)
        counts = await counts_by_institution(session, actor, cycle.id)
        institution = await session.get(Institution, actor.institution_id) if actor.institution_id else None
    return render(request, "home_staff.html", {
        "cycle": cycle, "counts": counts, "institution": institution, "states": list(State),
        "state_words": STATE_WORDS})


@page_routes.get("/institution/physicians", name="institution_physicians")
async def institution_physicians(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    _setup_redirect(request, "/institution/physicians")
    if account.role != Role.INSTITUTION:
        raise Forbidden("仅医疗卫生机构的定考负责人可访问此页面")
    return render(request, "institution_physicians.html", {"states": list(State), "state_words": STATE_WORDS})


@page_routes.get("/demo/sms", name="demo_sms")
async def demo_sms(request: web.Request) -> web.StreamResponse:
    if not request.app[settings_key].demo_mode:
        raise web.HTTPNotFound()
    sms = request.app[sms_key]
    outbox = list(sms.outbox) if isinstance(sms, LogSms) else []
    return render(request, "demo_sms.html", {"outbox": outbox})
