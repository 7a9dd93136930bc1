"""Statistics (JSON and a page with SVG charts) and XLSX exports, each within the role's scope."""

from __future__ import annotations

import asyncio
import os
import tempfile
import urllib.parse

from aiohttp import web

import reports
from registry.registrations import current_cycle
from registry.roles import Role

from ..web.api import json_ok
from ..web.edge import parse_id
from ..web.errors import Forbidden
from ..web.keys import sessionmaker_key
from ..web.pages import setup_redirect
from ..web.routes import page_routes, routes
from ..web.sessions import current_account, current_actor
from ..web.templating import render
from .statistics import STAFF, attempt_rows, paper_score_rows, question_statistic_rows, registration_rows, statistics

REVIEW_STATES = {"SUBMITTED", "INSTITUTION_APPROVED", "RETURNED"}


async def _figures(request: web.Request) -> dict[str, object]:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        cycle = await current_cycle(session)
        rows = await registration_rows(session, actor)
        papers = await paper_score_rows(session, actor)
    figures = statistics(rows, papers, start=cycle.starts_on, end=cycle.ends_on)
    return {"cycle": cycle.name, **figures}


@routes.get("/api/v1/statistics", summary="统计（本角色范围内）：各状态人数、合格率、成绩分布、周期进度", roles=STAFF,
            tags=("statistics",))
async def statistics_api(request: web.Request) -> web.StreamResponse:
    figures = await _figures(request)
    figures.pop("charts")
    return json_ok(figures)


@page_routes.get("/statistics", name="statistics")
async def statistics_page(request: web.Request) -> web.StreamResponse:
    setup_redirect(request, request.path)
    if Role(current_account(request).role) not in STAFF:
        raise Forbidden("当前角色无权访问此页面")
    return render(request, "statistics.html", await _figures(request))


async def _xlsx(request: web.Request, title: str, columns, rows) -> web.StreamResponse:  # type: ignore[no-untyped-def]
    fd, path = tempfile.mkstemp(prefix="dingkao-export-", suffix=".xlsx")
    os.close(fd)
    try:
        await asyncio.to_thread(reports.write_xlsx, path, [(title, columns, rows)])
        response = web.FileResponse(path, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Cache-Control": "no-store",
            "Content-Disposition": f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{urllib.parse.quote(title)}.xlsx"})
        await response.prepare(request)
        return response
    finally:
        os.unlink(path)


@routes.get("/api/v1/exports/results.xlsx", summary="导出考核结果（XLSX，本角色范围内）", roles=STAFF, tags=("statistics",))
async def export_results(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = await registration_rows(session, current_actor(request))
    return await _xlsx(request, "考核结果", reports.RESULT_COLUMNS, rows)


@routes.get("/api/v1/exports/reviews.xlsx", summary="导出审核名单（XLSX，本角色范围内）", roles=STAFF, tags=("statistics",))
async def export_reviews(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = [r for r in await registration_rows(session, current_actor(request)) if r["state_code"] in REVIEW_STATES]
    return await _xlsx(request, "审核名单", reports.REVIEW_COLUMNS, rows)


@routes.get("/api/v1/exports/attempts.xlsx", summary="导出测评作答记录（XLSX，本角色范围内）", roles=STAFF, tags=("statistics",))
async def export_attempts(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = await attempt_rows(session, current_actor(request))
    return await _xlsx(request, "测评作答记录", reports.ATTEMPT_COLUMNS, rows)


def _bank_id(request: web.Request) -> int | None:
    raw = request.query.get("bank_id", "")
    return parse_id(raw) if raw else None  # an invalid one is refused by the declared query check


@routes.get("/api/v1/admin/question-statistics", summary="试题统计：被抽次数、正确率、区分度、从未被选的选项、标记（管理员）",
            roles=(Role.ADMIN,), tags=("statistics",), query={"bank_id": "题库"})
async def question_statistics_api(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = await question_statistic_rows(session, current_actor(request), bank_id=_bank_id(request))
    return json_ok({"items": rows})


@routes.get("/api/v1/exports/question-statistics.xlsx", summary="导出试题统计（XLSX，管理员）", roles=(Role.ADMIN,),
            tags=("statistics",), query={"bank_id": "题库"})
async def export_question_statistics(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        rows = await question_statistic_rows(session, current_actor(request), bank_id=_bank_id(request))
    return await _xlsx(request, "试题统计", reports.QUESTION_COLUMNS, rows)
