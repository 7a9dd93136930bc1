"""Pages of the exam engine: 我的考试, the exam page itself, and the schedules page for staff.

我的考试 is rendered on the server from the same function as ``GET /api/v1/exams``; the exam page
and the schedules page are filled by static/exam.js and static/schedules.js through the JSON API.
"""

from __future__ import annotations

from aiohttp import web

from registry.db import utcnow
from registry.roles import Role

from ..banks.question_store import list_papers, paper_json
from ..web.errors import Forbidden
from ..web.keys import sessionmaker_key, settings_key
from ..web.pages import setup_redirect
from ..web.params import path_id
from ..web.routes import page_routes
from ..web.security_headers import uses_camera
from ..web.sessions import current_account, current_actor
from ..web.templating import render
from . import attempts
from .keys import result_published_key

RESULT_WORDS = {"PASSED": "考核合格", "FAILED": "考核不合格"}


def _physician_only(request: web.Request, here: str) -> None:
    account = current_account(request)
    setup_redirect(request, here)
    if account.role != Role.PHYSICIAN:
        raise Forbidden("仅医师本人可访问此页面")


@page_routes.get("/exams", name="exams")
async def exams_page(request: web.Request) -> web.StreamResponse:
    _physician_only(request, "/exams")
    async with request.app[sessionmaker_key]() as session, session.begin():
        try:
            overview = await attempts.my_exams(session, current_actor(request), now=utcnow(),
                                               is_published=request.app[result_published_key])
        except attempts.StartRefused as exc:  # no registration in this cycle
            overview = {"papers": [], "result": None, "registration_words": exc.message, "procedure": None}
    return render(request, "exams.html", {"exams": overview, "result_words": RESULT_WORDS.get(overview["result"] or ""),
                                          "face_check": request.app[settings_key].exam_face_check})


@page_routes.get("/exams/attempt/{attempt_id}", name="attempt")
@uses_camera
async def attempt_page(request: web.Request) -> web.StreamResponse:
    _physician_only(request, request.path)
    return render(request, "attempt.html", {"attempt_id": path_id(request, "attempt_id"),
                                            "proctored": request.app[settings_key].exam_face_check})


@page_routes.get("/schedules", name="schedules")
async def schedules_page(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    setup_redirect(request, "/schedules")
    if account.role not in (Role.BODY, Role.ADMIN, Role.INVIGILATOR):
        raise Forbidden("仅考核机构、监考员和系统管理员可访问此页面")
    can_schedule = account.role in (Role.BODY, Role.ADMIN)
    papers = []
    if can_schedule:  # the paper choice of the form (the bank's paper list is the admin's own API)
        async with request.app[sessionmaker_key]() as session:
            papers = [paper_json(p) for p in await list_papers(session)]
    return render(request, "schedules.html", {"can_schedule": can_schedule, "papers": papers,
                                              "can_end": can_schedule})
