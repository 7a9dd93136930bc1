"""Question imports as background jobs for the system admin: upload, preview, import, cancel, report."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from registry.roles import Role

from ..web.api import json_ok, parse_body
from ..web.keys import live_key, sessionmaker_key, storage_key
from ..web.params import path_id, read_upload
from ..web.routes import routes
from ..web.sessions import current_actor
from . import import_jobs
from .api import UNPACKED_MAX_BYTES, UPLOAD_MAX_BYTES, _attachment
from .keys import import_jobs_key

ADMIN = (Role.ADMIN,)
TAGS = ("question_bank",)


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skip_unsupported: bool = Field(default=False, title="跳过有问题的试题")
    enemy_pairs: list[tuple[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=64)]]] = Field(
        default_factory=list, title="确认为互斥题的提示关系（预览列出的试题指纹对）", max_length=5000)


def _job_id(request: web.Request) -> int:
    return path_id(request, "job_id")


async def _view(request: web.Request, job_id: int) -> web.Response:
    view = await import_jobs.job_view(request.app[sessionmaker_key], request.app[live_key], job_id)
    return json_ok(view.to_dict())


@routes.post("/api/v1/admin/import-jobs",
             summary="上传试题文件，后台读取并预览（≤50 MB；返回导入任务，进度见任务详情）",
             roles=ADMIN, multipart=True, tags=TAGS, query={"bank": "题库名称（不存在则新建）"})
async def job_upload(request: web.Request) -> web.StreamResponse:
    from . import question_store

    bank_name = question_store.check_bank_name(request.query.get("bank", ""))
    data, filename = await read_upload(request, "file", UPLOAD_MAX_BYTES, "试题文件",
                                         unpacked_limit=UNPACKED_MAX_BYTES)
    job_id = await request.app[import_jobs_key].upload(data=data, filename=filename, bank_name=bank_name,
                                                       actor_id=current_actor(request).account_id)
    del data
    view = await import_jobs.job_view(request.app[sessionmaker_key], request.app[live_key], job_id)
    return json_ok(view.to_dict(), status=202)


@routes.get("/api/v1/admin/import-jobs", summary="最近的导入任务（页面刷新后据此继续显示进度）", roles=ADMIN, tags=TAGS)
async def job_list(request: web.Request) -> web.StreamResponse:
    views = await import_jobs.list_jobs(request.app[sessionmaker_key], request.app[live_key])
    return json_ok({"items": [v.to_dict() for v in views]})


@routes.get("/api/v1/admin/import-jobs/{job_id}", summary="导入任务详情：状态、进度、预览、结果", roles=ADMIN, tags=TAGS)
async def job_detail(request: web.Request) -> web.StreamResponse:
    return await _view(request, _job_id(request))


@routes.post("/api/v1/admin/import-jobs/{job_id}/start",
             summary="确认导入已预览的文件（skip_unsupported 为真时跳过有问题的试题，导入其余；"
                     "enemy_pairs 为预览列出、确认设为互斥题的提示关系）",
             roles=ADMIN, body=StartBody, tags=TAGS)
async def job_start(request: web.Request) -> web.StreamResponse:
    job_id = _job_id(request)
    body: StartBody = await parse_body(request, StartBody)
    await request.app[import_jobs_key].start(job_id, skip_unsupported=body.skip_unsupported,
                                             enemy_pairs=list(body.enemy_pairs))
    return await _view(request, job_id)


@routes.post("/api/v1/admin/import-jobs/{job_id}/cancel", summary="取消导入任务（已存入的试题全部撤销）",
             roles=ADMIN, tags=TAGS)
async def job_cancel(request: web.Request) -> web.StreamResponse:
    view = await import_jobs.request_cancel(request.app[sessionmaker_key], request.app[live_key], _job_id(request))
    return json_ok(view.to_dict())


@routes.get("/api/v1/admin/import-jobs/{job_id}/problems.csv",
            summary="下载问题清单（CSV：位置、题型、字段、原因；部分导入时即跳过的试题）", roles=ADMIN, tags=TAGS)
async def job_report(request: web.Request) -> web.StreamResponse:
    data, name = await import_jobs.skipped_csv(request.app[sessionmaker_key], request.app[storage_key], _job_id(request))
    return _attachment(data, name, "text/csv; charset=utf-8", f"import-{_job_id(request)}-problems.csv")
