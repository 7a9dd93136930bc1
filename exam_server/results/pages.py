"""Pages: the physician's result (with downloads and the review request) and the body's result
management (publication, review requests, seal, certificate batches)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

import reports

from registry.models import Institution
from registry.roles import Role
from registry.scope import institution_clause
from registry.states import State

from ..web.keys import sessionmaker_key
from ..web.pages import require_role
from ..web.routes import page_routes
from ..web.sessions import current_actor
from ..web.templating import render
from . import services as results
from .models import BodySeal


@page_routes.get("/result", name="result")
async def result_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.PHYSICIAN)
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        reg = await results.my_registration(session, actor)
        pub = await results.published_result(session, reg)
        if reg is None or pub is None or State(reg.state) not in results.RESULT_OF_STATE:
            papers = await results.paper_views(session, reg) if reg is not None else []
            return render(request, "result.html", {"published": False, "papers": papers})
        facts = await results.gather_result_facts(session, reg)
        review = await session.scalar(select(results.ResultReview).where(results.ResultReview.registration_id == reg.id))
    deadline = pub.published_at + results.dt.timedelta(days=results.REVIEW_DAYS)
    may_request = (facts.result_text == results.FAIL and review is None
                   and results.utcnow() <= deadline)
    return render(request, "result.html", {
        "published": True, "facts": facts, "pub": pub, "review": review, "review_words": results.REVIEW_WORDS,
        "may_request": may_request, "deadline": deadline})


@page_routes.get("/results/manage", name="results_manage")
async def manage_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.BODY)
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        institutions = (await session.scalars(select(Institution).where(institution_clause(actor))
                                              .order_by(Institution.code))).all()
        reviews = await results.list_reviews(session, actor, state=None)
        schedules = await results.schedules_in_scope(session, actor)
        seal = await session.get(BodySeal, actor.body_id or 0)
    return render(request, "results_manage.html", {
        "institutions": institutions, "reviews": reviews, "review_words": results.REVIEW_WORDS, "seal": seal,
        "schedules": schedules, "revocation_categories": reports.REVOCATION_CATEGORIES})
