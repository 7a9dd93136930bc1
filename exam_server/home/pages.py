"""The home page (/): what each role sees first. It gathers from several features (the physician's cycle,
registration, exemption, inbox and published result; the staff's counts), so it sits above them in home/."""

from __future__ import annotations

from aiohttp import web

from registry import exemptions, messages, registrations
from registry.db import utcnow
from registry.idcard import mask_id_number
from registry.models import Institution
from registry.publication import shown_states
from registry.roles import Role
from registry.scope import Actor
from registry.states import STATE_WORDS, State
from registry.stats import counts_by_institution

from ..exam import attempts
from ..results import services as results
from ..web.keys import sessionmaker_key
from ..web.pages import setup_redirect
from ..web.routes import page_routes
from ..web.sessions import current_account
from ..web.templating import render


@page_routes.get("/", name="home")
async def home(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    setup_redirect(request, "/")
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
            # Once the tests are open: each paper's window and deadline, and the attempts left.
            papers = (await attempts.my_exams(session, actor, now=utcnow(), is_published=results.is_published))["papers"] \
                if state is State.APPROVED else []
            return render(request, "home_physician.html", {
                "cycle": cycle, "state": state, "state_words": words, "registration": reg, "published": published,
                "physician": account.physician, "masked_id": mask_id_number(account.physician.id_number),
                "exemption": exemption, "exemption_words": exemptions.EXEMPTION_WORDS,
                "waived": exemptions.waived_paper(reg.procedure if reg else None), "messages": inbox,
                "failed_rating": published and bool(reg and "不合格" in (reg.work_rating, reg.ethics_rating)),
                "papers": papers})
        if actor.role is Role.INVIGILATOR:
            return render(request, "home_invigilator.html", {})
        cycle = await registrations.current_cycle(session)
        counts = await counts_by_institution(session, actor, cycle.id, published=results.published_registrations())
        institution = await session.get(Institution, actor.institution_id) if actor.institution_id else None
    words = shown_states(actor.role)
    return render(request, "home_staff.html", {
        "cycle": cycle, "counts": counts, "institution": institution, "states": list(words), "state_words": words})


