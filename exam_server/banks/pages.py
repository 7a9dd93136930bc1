"""The admin's pages for question banks (import, browse, edit) and paper definitions."""

from __future__ import annotations

from aiohttp import web

from question_bank import PaperKind, PracticeCategory, QuestionType
from registry.errors import NotFound
from registry.roles import Role

from ..web.edge import parse_id
from ..web.keys import sessionmaker_key
from ..web.pages import require_role
from ..web.routes import page_routes
from ..web.sessions import current_actor
from ..web.templating import render
from . import question_store
from .keys import item_statistics_key

STATS_SHOWN = 100  # flagged first; the XLSX export has every drawn question
EXPORT_CHOICES = [(fmt, name) for fmt, name in question_store.FORMAT_NAMES.items()]


@page_routes.get("/admin/banks", name="admin_banks")
async def banks_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        banks = await question_store.list_banks(session)
        raw = request.query.get("bank", "")
        selected = parse_id(raw) or (banks[0].id if banks else 0)
        item_stats = (await request.app[item_statistics_key](session, current_actor(request), bank_id=selected)
                      if banks else [])
    return render(request, "bank_banks.html", {"banks": banks, "selected": selected, "types": list(QuestionType),
                                               "formats": EXPORT_CHOICES, "item_stats": item_stats[:STATS_SHOWN],
                                               "item_stats_total": len(item_stats),
                                               "flagged_total": sum(1 for r in item_stats if r["flags"])})


@page_routes.get("/admin/questions/{question_id}", name="admin_question")
async def question_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    question_id = parse_id(request.match_info["question_id"])
    if question_id is None:
        raise web.HTTPNotFound()
    async with request.app[sessionmaker_key]() as session:
        try:
            q = await question_store.get_question(session, question_id)
        except NotFound:
            raise web.HTTPNotFound() from None
    return render(request, "bank_question.html", {"q": q, "labels": "ABCDEFGH"})


@page_routes.get("/admin/papers", name="admin_papers")
async def papers_page(request: web.Request) -> web.StreamResponse:
    require_role(request, Role.ADMIN)
    async with request.app[sessionmaker_key]() as session:
        banks = await question_store.list_banks(session)
        names = {b.id: b.name for b in banks}
        papers = [question_store.paper_json(p, names) for p in await question_store.list_papers(session)]
    return render(request, "bank_papers.html", {
        "banks": banks, "papers": papers, "types": list(QuestionType), "kinds": list(PaperKind),
        "categories": [c.value for c in PracticeCategory]})
