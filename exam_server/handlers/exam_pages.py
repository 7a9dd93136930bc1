"""Pages of the exam engine: 我的考试, the exam page itself, and the schedules page for staff."""

from __future__ import annotations

from aiohttp import web

from registry.roles import Role

from ..auth import current_account
from ..errors import Forbidden
from ..templating import render
from . import page_routes
from .exam_api import id_param
from .pages import _setup_redirect


def _physician_only(request: web.Request, here: str) -> None:
    account = current_account(request)
    _setup_redirect(request, here)
    if account.role != Role.PHYSICIAN:
        raise Forbidden("仅医师本人可访问此页面")


@page_routes.get("/exams", name="exams")
async def exams_page(request: web.Request) -> web.StreamResponse:
    _physician_only(request, "/exams")
    return render(request, "exams.html", {})


@page_routes.get("/exams/attempt/{attempt_id}", name="attempt")
async def attempt_page(request: web.Request) -> web.StreamResponse:
    _physician_only(request, request.path)
    return render(request, "attempt.html", {"attempt_id": id_param(request, "attempt_id")})


@page_routes.get("/schedules", name="schedules")
async def schedules_page(request: web.Request) -> web.StreamResponse:
    account = current_account(request)
    _setup_redirect(request, "/schedules")
    if account.role not in (Role.BODY, Role.ADMIN, Role.INVIGILATOR):
        raise Forbidden("仅考核机构、监考员和系统管理员可访问此页面")
    return render(request, "schedules.html", {"can_schedule": account.role in (Role.BODY, Role.ADMIN)})
