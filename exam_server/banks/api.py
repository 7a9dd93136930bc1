"""Question banks and paper definitions for the system admin: import, browse, edit, retire, export, papers."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from question_bank import Blueprint, OverduePolicy, PaperKind, PracticeCategory, QuestionType, Section, blank_template, read_file
from question_bank.normalise import normalise_category
from question_bank.result import problem_to_dict
from registry.roles import Role

from ..web.api import json_ok, parse_body
from ..web.downloads import attachment_headers
from ..web.errors import ApiError, error_body
from ..web.keys import sessionmaker_key
from ..web.params import int_param, path_id, read_upload
from ..web.request_context import request_id
from ..web.routes import routes
from ..web.sessions import current_actor
from . import question_cueing, question_enemies, question_store

ADMIN = (Role.ADMIN,)
TAGS = ("question_bank",)
UPLOAD_MAX_BYTES = 50 * 1024 * 1024
# What a question file may unpack to at the upload guard: the XLSX reader's own bound (a large bank's
# sheet XML is big; the compression-ratio rule still stops bombs).
UNPACKED_MAX_BYTES = 1024 * 1024 * 1024
PREVIEW_ROWS = 20
TEMPLATE_NAME = "试题导入模板.xlsx"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


OptionText = Annotated[str, Field(max_length=1000)]


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


class QuestionEditBody(_Body):
    stem: str = Field(title="题干", max_length=5000)
    options: list[OptionText] = Field(default_factory=list, title="选项", max_length=8)
    key: str = Field(default="", title="答案", max_length=32)
    points: float = Field(default=1, title="分值", gt=0, le=1000)
    category: str = Field(default="", title="分类", max_length=255)
    difficulty: int | None = Field(default=None, title="难度", ge=1, le=5)
    explanation: str = Field(default="", title="解析", max_length=5000)
    group_stem: str | None = Field(default=None, title="共用题干", max_length=5000)
    group_options: list[OptionText] | None = Field(default=None, title="共用选项", max_length=8)
    code: str | None = Field(default=None, title="试题编号（空字符串表示清除，不传表示不变）", max_length=64)

    _blank = field_validator("difficulty", mode="before")(_blank_to_none)


QuestionIds = list[Annotated[int, Field(ge=1, le=2**31 - 1)]]


class EnemiesBody(_Body):
    add: QuestionIds = Field(default_factory=list, title="设为互斥的试题编号", max_length=200)
    add_codes: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, title="设为互斥的试题的试题编号",
                                                                  max_length=200)
    remove: QuestionIds = Field(default_factory=list, title="解除互斥的试题编号", max_length=200)


class PairsBody(_Body):
    pairs: list[tuple[Annotated[int, Field(ge=1, le=2**31 - 1)], Annotated[int, Field(ge=1, le=2**31 - 1)]]] = Field(
        title="互斥题对（两道试题的编号）", min_length=1, max_length=2000)


class RetireBody(_Body):
    retired: bool = Field(title="停用")


class SectionBody(_Body):
    title: str = Field(title="部分名称", min_length=1, max_length=64)
    type: Literal["A1", "A2", "X", "TF", "A3", "A4", "B1"] = Field(title="题型")
    category_prefix: str = Field(default="", title="分类前缀", max_length=200)
    count: int = Field(title="题量", ge=-1, le=2000)
    points_each: float = Field(title="每题分值", ge=-1, le=100)


class PaperBody(_Body):
    title: str = Field(title="试卷名称", min_length=1, max_length=128)
    kind: Literal["humanities", "professional"] = Field(title="试卷类型")
    practice_category: Literal["临床", "口腔", "公共卫生", "中医"] | None = Field(default=None, title="执业类别")
    bank_ids: list[int] = Field(title="题库", min_length=1, max_length=20)
    sections: list[SectionBody] = Field(title="题目部分", min_length=1, max_length=30)
    time_limit_minutes: int = Field(title="考试时长（分钟）", ge=1, le=600)
    pass_mark: float = Field(title="及格分", gt=0, le=10000)
    attempts_allowed: int = Field(default=1, title="允许考试次数", ge=1, le=10)
    partial_credit: bool = Field(default=False, title="多选题部分得分")
    shuffle_options: bool = Field(default=True, title="选项乱序")
    overdue_policy: Literal["auto_submit", "void"] = Field(default="auto_submit", title="超时处理")
    window_start: dt.datetime | None = Field(default=None, title="开放开始时间")
    window_end: dt.datetime | None = Field(default=None, title="开放结束时间")
    notes: str = Field(default="", title="说明", max_length=1000)

    _blank = field_validator("practice_category", "window_start", "window_end", mode="before")(_blank_to_none)

    def blueprint(self) -> Blueprint:
        return Blueprint(
            title=self.title, kind=PaperKind(self.kind),
            sections=tuple(Section(s.title, QuestionType(s.type), normalise_category(s.category_prefix), s.count,
                                   s.points_each) for s in self.sections),
            time_limit_minutes=self.time_limit_minutes, pass_mark=self.pass_mark,
            practice_category=PracticeCategory(self.practice_category) if self.practice_category else None,
            attempts_allowed=self.attempts_allowed, window_start=self.window_start, window_end=self.window_end,
            overdue_policy=OverduePolicy(self.overdue_policy), partial_credit=self.partial_credit,
            shuffle_options=self.shuffle_options, notes=self.notes)


def _attachment(data: bytes, filename: str, mime: str, ascii_name: str) -> web.Response:
    return web.Response(body=data, headers=attachment_headers(mime, ascii_name, filename))


def _problems_json(problems: list[Any]) -> list[dict[str, Any]]:
    return [problem_to_dict(p) for p in problems]


@routes.get("/api/v1/admin/question-banks", summary="题库列表（在用、停用题数）", roles=ADMIN, tags=TAGS)
async def bank_list(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        banks = await question_store.list_banks(session)
    return json_ok({"items": [asdict(b) for b in banks]})


@routes.get("/api/v1/admin/question-banks/template", summary="下载空白试题导入模板（XLSX，含填写说明和示例）",
            roles=ADMIN, tags=TAGS)
async def bank_template(request: web.Request) -> web.StreamResponse:
    data = await asyncio.to_thread(blank_template)
    return _attachment(data, TEMPLATE_NAME, XLSX_MIME, "question-template.xlsx")


@routes.post("/api/v1/admin/question-banks/import",
             summary="上传试题文件导入题库（≤50 MB；dry_run=1 只预览并列出全部问题，不导入；大文件请用导入任务）",
             roles=ADMIN, multipart=True, tags=TAGS,
             query={"bank": "题库名称（不存在则新建）", "dry_run": "1 表示只预览",
                    "skip_unsupported": "1 表示跳过有问题的试题、导入其余（默认全部无误才导入）"})
async def bank_import(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    bank_name = question_store.check_bank_name(request.query.get("bank", ""))
    dry_run = request.query.get("dry_run", "") in ("1", "true", "yes")
    skip = request.query.get("skip_unsupported", "") in ("1", "true", "yes")
    data, filename = await read_upload(request, "file", UPLOAD_MAX_BYTES, "试题文件",
                                         unpacked_limit=UNPACKED_MAX_BYTES)
    # Parsing a large spreadsheet takes seconds: keep the event loop serving meanwhile.
    result = await asyncio.to_thread(read_file, data, filename=filename or None)
    if dry_run:
        async with request.app[sessionmaker_key]() as session:
            preview = await question_store.preview_import(session, result, bank_name=bank_name, limit=PREVIEW_ROWS)
        return json_ok(preview)
    try:
        async with request.app[sessionmaker_key]() as session, session.begin():
            outcome = await question_store.import_questions(session, bank_name, result, actor_id=actor.account_id,
                                                            request_id=request_id(request), source=filename,
                                                            skip_unsupported=skip)
    except question_store.ImportRefused as exc:
        body = error_body(exc.message, "import_refused", exc.fields)
        body["error"]["problems"] = _problems_json(exc.problems)  # type: ignore[index]
        return json_ok(body, status=400)
    return json_ok({**asdict(outcome), "format": result.format})


def _bank_id(request: web.Request) -> int:
    return path_id(request, "bank_id")


@routes.get("/api/v1/admin/question-banks/{bank_id}/categories", summary="题库分类及各分类在用题数",
            roles=ADMIN, tags=TAGS)
async def bank_categories(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        bank = await question_store.get_bank(session, _bank_id(request))
        cats = await question_store.categories(session, bank.id)
    return json_ok({"bank": bank.name, "items": [{"category": c, "count": n} for c, n in cats.items()]})


_STATUS = {"active": False, "retired": True, "all": None}


@routes.get("/api/v1/admin/question-banks/{bank_id}/questions", summary="按分类、题型、题干文字检索试题（分页）",
            roles=ADMIN, tags=TAGS,
            query={"category": "分类前缀", "type": "题型", "q": "题干包含的文字", "status": "active|retired|all",
                   "page": "页码", "size": "每页条数"})
async def bank_questions(request: web.Request) -> web.StreamResponse:
    qtype = request.query.get("type") or None
    if qtype is not None and qtype not in QuestionType.__members__:
        raise ApiError("题型的取值无效", fields={"type": "题型的取值无效"})
    status = request.query.get("status") or "active"
    if status not in _STATUS:
        raise ApiError("状态的取值无效", fields={"status": "状态的取值无效"})
    text = request.query.get("q", "")
    category = request.query.get("category", "")
    if len(text) > 100 or len(category) > 255:
        raise ApiError("搜索内容过长", fields={"q": "搜索内容不能超过 100 个字符"})
    size = int_param(request, "size", 50, lo=1, hi=500, title="每页条数")
    page = int_param(request, "page", 1, lo=1, hi=1_000_000, title="页码")
    async with request.app[sessionmaker_key]() as session:
        total, rows = await question_store.search_questions(
            session, _bank_id(request), category=category, type=qtype, text=text, retired=_STATUS[status],
            limit=size, offset=(page - 1) * size)
    return json_ok({"total": total, "page": page, "size": size, "items": [asdict(r) for r in rows]})


@routes.get("/api/v1/admin/question-banks/{bank_id}/export", summary="导出题库（xlsx、csv、aiken、gift、moodle_xml）",
            roles=ADMIN, tags=TAGS, query={"format": "导出格式", "include_retired": "1 表示包含已停用的题",
                                          "drop_images": "1 表示确认该格式会丢失图片（否则有图片的题库返回 400 并列出这些题）"})
async def bank_export(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "xlsx")
    include_retired = request.query.get("include_retired", "") in ("1", "true", "yes")
    drop_images = request.query.get("drop_images", "") in ("1", "true", "yes")
    async with request.app[sessionmaker_key]() as session, session.begin():
        bank = await question_store.get_bank(session, _bank_id(request))
        data, filename, mime = await question_store.export_bank(
            session, bank, fmt, actor_id=current_actor(request).account_id, include_retired=include_retired,
            request_id=request_id(request), drop_images=drop_images)
    ext = question_store.EXPORT_FILES[fmt][0]
    return _attachment(data, filename, mime, f"question-bank-{bank.id}{ext}")


def _question_id(request: web.Request) -> int:
    return path_id(request, "question_id")


@routes.get("/api/v1/admin/questions/{question_id}", summary="试题详情（含答案）", roles=ADMIN, tags=TAGS)
async def question_detail(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        return json_ok(await question_store.get_question(session, _question_id(request)))


@routes.post("/api/v1/admin/questions/{question_id}", summary="修改试题（重新校验；不得与本题库已有试题重复）",
             roles=ADMIN, body=QuestionEditBody, tags=TAGS)
async def question_edit(request: web.Request) -> web.StreamResponse:
    body: QuestionEditBody = await parse_body(request, QuestionEditBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        row = await question_store.edit_question(session, _question_id(request), body.model_dump(),
                                                 actor_id=current_actor(request).account_id,
                                                 request_id=request_id(request))
    async with request.app[sessionmaker_key]() as session:
        return json_ok(await question_store.get_question(session, row.id))


@routes.post("/api/v1/admin/questions/{question_id}/enemies",
             summary="设置互斥题：add（编号）或 add_codes（试题编号）设为互斥，remove 解除；互斥的试题不会出现在同一份试卷中",
             roles=ADMIN, body=EnemiesBody, tags=TAGS)
async def question_enemies_edit(request: web.Request) -> web.StreamResponse:
    body: EnemiesBody = await parse_body(request, EnemiesBody)
    question_id = _question_id(request)
    async with request.app[sessionmaker_key]() as session, session.begin():
        added, removed = await question_enemies.edit_enemies(
            session, question_id, add=body.add, add_codes=body.add_codes, remove=body.remove,
            actor_id=current_actor(request).account_id, request_id=request_id(request))
    async with request.app[sessionmaker_key]() as session:
        enemies = await question_enemies.enemies_of(session, question_id)
    return json_ok({"added": added, "removed": removed, "enemies": [asdict(e) for e in enemies]})


@routes.get("/api/v1/admin/question-banks/{bank_id}/cueing",
            summary="提示检查：列出题库中判断题或 A1 题干陈述了另一题题干及其答案或干扰项的可能试题对（尚未设为互斥的）",
            roles=ADMIN, tags=TAGS, query={"category": "只检查该分类（前缀）下的试题"})
async def bank_cueing(request: web.Request) -> web.StreamResponse:
    category = request.query.get("category", "")
    if len(category) > 255:
        raise ApiError("分类过长", fields={"category": "分类不能超过 255 个字符"})
    async with request.app[sessionmaker_key]() as session:
        bank = await question_store.get_bank(session, _bank_id(request))
        result = await question_cueing.bank_cues(session, bank.id, category=category)
    return json_ok({"bank": bank.name, **result})


@routes.post("/api/v1/admin/question-banks/{bank_id}/enemies",
             summary="把试题对设为互斥题（如提示检查列出的试题对，可逐对或全部确认）", roles=ADMIN, body=PairsBody, tags=TAGS)
async def bank_enemies_add(request: web.Request) -> web.StreamResponse:
    body: PairsBody = await parse_body(request, PairsBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        bank = await question_store.get_bank(session, _bank_id(request))
        added = await question_enemies.add_bank_pairs(session, bank.id, bank.name, body.pairs, source="cueing",
                                                      actor_id=current_actor(request).account_id,
                                                      request_id=request_id(request))
    return json_ok({"added": added, "requested": len(body.pairs)})


@routes.post("/api/v1/admin/questions/{question_id}/retire", summary="停用或恢复试题（共用题干组整组处理）",
             roles=ADMIN, body=RetireBody, tags=TAGS)
async def question_retire(request: web.Request) -> web.StreamResponse:
    body: RetireBody = await parse_body(request, RetireBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        count = await question_store.set_retired(session, _question_id(request), body.retired,
                                                 actor_id=current_actor(request).account_id,
                                                 request_id=request_id(request))
    return json_ok({"retired": body.retired, "count": count})


async def _bank_names(session: Any) -> dict[int, str]:
    return {b.id: b.name for b in await question_store.list_banks(session)}


@routes.get("/api/v1/admin/papers", summary="试卷定义列表", roles=ADMIN, tags=("paper",))
async def paper_list(request: web.Request) -> web.StreamResponse:
    async with request.app[sessionmaker_key]() as session:
        names = await _bank_names(session)
        papers = await question_store.list_papers(session)
    return json_ok({"items": [question_store.paper_json(p, names) for p in papers]})


@routes.post("/api/v1/admin/papers/check", summary="检查题库能否组成该试卷（不保存）", roles=ADMIN, body=PaperBody,
             tags=("paper",))
async def paper_check(request: web.Request) -> web.StreamResponse:
    body: PaperBody = await parse_body(request, PaperBody)
    bp = body.blueprint()
    async with request.app[sessionmaker_key]() as session:
        check = await question_store.check_paper(session, bp, body.bank_ids)
    return json_ok({"ok": check.ok, "problems": check.problems, "shortfalls": check.shortfalls,
                    "pool_size": check.pool_size, "question_count": bp.question_count,
                    "total_points": bp.total_points})


@routes.post("/api/v1/admin/papers", summary="保存试卷定义（须能由所选题库组卷）", roles=ADMIN, body=PaperBody,
             tags=("paper",))
async def paper_create(request: web.Request) -> web.StreamResponse:
    body: PaperBody = await parse_body(request, PaperBody)
    async with request.app[sessionmaker_key]() as session, session.begin():
        paper = await question_store.save_paper(session, body.blueprint(), body.bank_ids,
                                                actor_id=current_actor(request).account_id,
                                                request_id=request_id(request))
        names = await _bank_names(session)
    return json_ok(question_store.paper_json(paper, names))
