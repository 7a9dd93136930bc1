"""Statistics (JSON and a page with SVG charts) and XLSX exports, each within the role's scope."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

import reports
from registry.registrations import current_cycle
from registry.roles import Role

from ..web.api import json_ok
from ..web.downloads import attachment_headers, send_file, send_stored
from ..web.edge import parse_id
from ..web.errors import ApiError, Forbidden
from ..web.keys import sessionmaker_key, storage_key
from ..web.pages import setup_redirect
from ..web.routes import page_routes, routes
from ..web.sessions import current_account, current_actor
from ..web.templating import render
from .export_jobs import INLINE_MAX_ROWS, ExportJob, export_size, temp_path, write_export
from .keys import export_jobs_key
from .statistics import EXPORTS, STAFF, ExportKind, question_statistic_rows, statistic_figures, statistics

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

async def _figures(request: web.Request) -> dict[str, object]:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        cycle = await current_cycle(session)
        counted = await statistic_figures(session, actor, cycle.id)
    # Charts and rates walk every counted physician: off the loop.
    figures = await asyncio.to_thread(statistics, counted, start=cycle.starts_on, end=cycle.ends_on)
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


def _xlsx_headers(title: str) -> dict[str, str]:
    return attachment_headers(XLSX_TYPE, "export.xlsx", f"{title}.xlsx")


async def _export(request: web.Request, kind: ExportKind) -> web.StreamResponse:
    """A small export is written and sent at once; a large one starts a job (202) to poll and download."""
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        total = await export_size(session, kind, actor)
    if total > INLINE_MAX_ROWS:
        job = await request.app[export_jobs_key].start(actor=actor, kind=kind, total=total)
        return json_ok(job.public(), status=202)
    path = temp_path()
    try:
        await write_export(request.app[sessionmaker_key], kind, actor, path)
        return await send_file(request, path, _xlsx_headers(kind.title))
    finally:
        os.unlink(path)


@routes.get("/api/v1/exports/results.xlsx", summary="导出考核结果（XLSX，本角色范围内；超过 5000 行时转为后台导出，返回 202 与任务）",
            roles=STAFF, tags=("statistics",))
async def export_results(request: web.Request) -> web.StreamResponse:
    return await _export(request, EXPORTS["results"])


@routes.get("/api/v1/exports/reviews.xlsx", summary="导出审核名单（XLSX，本角色范围内；超过 5000 行时转为后台导出）",
            roles=STAFF, tags=("statistics",))
async def export_reviews(request: web.Request) -> web.StreamResponse:
    return await _export(request, EXPORTS["reviews"])


@routes.get("/api/v1/exports/attempts.xlsx", summary="导出测评作答记录（XLSX，本角色范围内；超过 5000 行时转为后台导出）",
            roles=STAFF, tags=("statistics",))
async def export_attempts(request: web.Request) -> web.StreamResponse:
    return await _export(request, EXPORTS["attempts"])


async def _start_job(request: web.Request, kind: ExportKind) -> web.StreamResponse:
    actor = current_actor(request)
    async with request.app[sessionmaker_key]() as session:
        total = await export_size(session, kind, actor)
    job = await request.app[export_jobs_key].start(actor=actor, kind=kind, total=total)
    return json_ok(job.public(), status=202)


@routes.post("/api/v1/exports/results/jobs", summary="开始后台导出考核结果（可查询进度，完成后下载）", roles=STAFF,
             tags=("statistics",))
async def start_results_export(request: web.Request) -> web.StreamResponse:
    return await _start_job(request, EXPORTS["results"])


@routes.post("/api/v1/exports/reviews/jobs", summary="开始后台导出审核名单", roles=STAFF, tags=("statistics",))
async def start_reviews_export(request: web.Request) -> web.StreamResponse:
    return await _start_job(request, EXPORTS["reviews"])


@routes.post("/api/v1/exports/attempts/jobs", summary="开始后台导出测评作答记录", roles=STAFF, tags=("statistics",))
async def start_attempts_export(request: web.Request) -> web.StreamResponse:
    return await _start_job(request, EXPORTS["attempts"])


async def _job(request: web.Request) -> ExportJob:
    job = await request.app[export_jobs_key].get(request.match_info["token"], current_actor(request).account_id)
    if job is None:  # unknown, expired or someone else's
        raise ApiError("导出任务不存在或已过期", code="not_found", status=404)
    return job


@routes.get("/api/v1/export-jobs/{token}", summary="后台导出的进度", roles=STAFF, tags=("statistics",))
async def export_job_progress(request: web.Request) -> web.StreamResponse:
    return json_ok((await _job(request)).public())


@routes.get("/api/v1/export-jobs/{token}/file", summary="下载后台导出的文件", roles=STAFF, tags=("statistics",))
async def export_job_file(request: web.Request) -> web.StreamResponse:
    job = await _job(request)
    if job.stage != "done" or not job.storage_key:
        raise ApiError("导出尚未完成", code="not_ready", status=409)
    return await send_stored(request, request.app[storage_key], job.storage_key, _xlsx_headers(job.title),
                             missing="导出任务不存在或已过期")


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
    path = temp_path()
    try:
        await asyncio.to_thread(reports.write_xlsx, path, [("试题统计", reports.QUESTION_COLUMNS, rows)])
        return await send_file(request, path, _xlsx_headers("试题统计"))
    finally:
        os.unlink(path)
