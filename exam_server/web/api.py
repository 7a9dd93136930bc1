"""Declaring JSON endpoints once: route, roles, request model; the OpenAPI document comes from it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, ValidationError

from registry.roles import Role

from .edge import out_of_range
from .text import SUSPECT_JSON, check_json_text
from .errors import ApiError

Handler = Callable[..., Awaitable[web.StreamResponse]]
ANYONE: frozenset[Role] = frozenset()  # no login needed
ALL_ROLES: frozenset[Role] = frozenset(Role)


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: frozenset[Role]
    body: type[BaseModel] | None = None
    # Reachable before the forced password change / phone binding is done.
    before_setup: bool = False
    multipart: bool = False
    tags: tuple[str, ...] = ()
    query: dict[str, str] = field(default_factory=dict)
    # Also reachable with the exam page's attempt token instead of a login session.
    attempt_token: bool = False
    # ...which may come as the ``token`` query parameter: only for an event stream, which the
    # browser's EventSource opens without custom headers.
    token_in_query: bool = False
    # The handler reads the raw body itself (a webcam frame); otherwise an endpoint with neither a
    # body model nor `multipart` takes no body, and one sent is refused before it is read.
    raw_body: bool = False

    @property
    def takes_body(self) -> bool:
        return self.body is not None or self.multipart or self.raw_body


class ApiRoutes:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, *, summary: str, roles: frozenset[Role] | set[Role] | tuple[Role, ...],
              body: type[BaseModel] | None = None, before_setup: bool = False, multipart: bool = False,
              tags: tuple[str, ...] = (), query: dict[str, str] | None = None,
              attempt_token: bool = False, token_in_query: bool = False,
              raw_body: bool = False) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, summary, frozenset(roles), body, before_setup,
                                           multipart, tags, query or {}, attempt_token or token_in_query,
                                           token_in_query, raw_body))
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)


def _json_default(value: object) -> str:
    # Stored datetimes are naive UTC: say so, so clients can show local time.
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return str(value)


def json_ok(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False, default=_json_default))


_MESSAGES = {
    "missing": "{t}不能为空",
    "string_too_short": "{t}不能为空" ,
    "string_too_long": "{t}不能超过 {max_length} 个字符",
    "string_type": "{t}应为文本",
    "int_parsing": "{t}应为整数",
    "int_type": "{t}应为整数",
    "int_from_float": "{t}应为整数",
    "int_parsing_size": "{t}超出允许范围",
    "finite_number": "{t}超出允许范围",
    "bool_type": "{t}应为是或否",
    "bool_parsing": "{t}应为是或否",
    "list_type": "{t}应为列表",
    "too_long": "{t}最多 {max_length} 项",
    "too_short": "{t}至少 {min_length} 项",
    "literal_error": "{t}的取值无效",
    "enum": "{t}的取值无效",
    "string_pattern_mismatch": "{t}格式不正确",
    "greater_than_equal": "{t}不能小于 {ge}",
    "less_than_equal": "{t}不能大于 {le}",
    "greater_than": "{t}应大于 {gt}",
    "date_from_datetime_parsing": "{t}应为日期（YYYY-MM-DD）",
    "date_parsing": "{t}应为日期（YYYY-MM-DD）",
    "date_type": "{t}应为日期（YYYY-MM-DD）",
    "extra_forbidden": "不认识的字段“{name}”",
    "value_error": "{t}：{msg}",
}


def translate(model: type[BaseModel], exc: ValidationError) -> dict[str, str]:
    """Chinese message per field, naming the field by its title."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = err.get("loc") or ("body",)
        name = str(loc[0])
        info = model.model_fields.get(name)
        title = (info.title if info and info.title else name)
        ctx = dict(err.get("ctx") or {})
        msg = str(ctx.pop("error", "")) or err.get("msg", "")
        template = _MESSAGES.get(err["type"], "{t}的值无效")
        if err["type"] == "string_too_short" and int(ctx.get("min_length", 1)) > 1:
            template = "{t}至少 {min_length} 个字符"  # "x" is not empty: say what is wrong with it
        extra = info.json_schema_extra if info and isinstance(info.json_schema_extra, dict) else {}
        if err["type"] == "string_pattern_mismatch" and extra.get("pattern_words"):
            template = "{t}" + str(extra["pattern_words"])
        try:
            text = template.format(t=title, name=name, msg=msg.removeprefix("Value error, "), **ctx)
        except (KeyError, IndexError):
            text = f"{title}的值无效"
        fields.setdefault(name, text)
    return fields


async def parse_body(request: web.Request, model: type[BaseModel]) -> Any:
    if request.content_type != "application/json":
        raise ApiError("请求内容应为 JSON", code="unsupported_media_type", status=415)
    raw = await request.read()
    try:
        data = json.loads(raw or b"null", parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError("请求内容不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise ApiError("请求内容应为 JSON 对象")
    if SUSPECT_JSON.search(raw):
        check_json_text(data, {name: info.title or name for name, info in model.model_fields.items()})
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        fields = translate(model, exc)
        raise ApiError("；".join(fields.values()), fields=fields, code="invalid_input") from None
    fields = out_of_range(body)
    if fields:
        raise ApiError("；".join(fields.values()), fields=fields, code="invalid_input")
    return body


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity, which Python's parser would otherwise accept


def openapi_document(routes: ApiRoutes, *, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for ep in routes.endpoints:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": ep.handler.__name__,
            "tags": list(ep.tags),
            "responses": {
                "200": {"description": "成功", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"$ref": "#/components/responses/Error"},
            },
        }
        if ep.roles:
            op["x-roles"] = sorted(ep.roles)
            op["security"] = [{"session": []}]
            op["responses"]["401"] = {"$ref": "#/components/responses/Error"}
            op["responses"]["403"] = {"$ref": "#/components/responses/Error"}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in _path_params(ep.path)]
        params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
                   for n, d in ep.query.items()]
        if params:
            op["parameters"] = params
        if ep.body is not None:
            schema = ep.body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[ep.body.__name__] = schema
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ep.body.__name__}"}}}}
        elif ep.multipart:
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {"type": "object"}}}}
        elif ep.raw_body:
            op["requestBody"] = {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}}
                                                               for t in ("image/jpeg", "image/png")}}
        paths.setdefault(_openapi_path(ep.path), {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dingkao API", "version": version,
                 "description": "医师定期考核在线考试系统 API。状态变更请求须携带 X-CSRF-Token 头（与 dk_csrf Cookie 相同）。"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "dk_session"}},
            "responses": {"Error": {"description": "错误", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}}}},
        },
    }


def _path_params(path: str) -> list[str]:
    import re

    return [m.split(":")[0] for m in re.findall(r"\{([^}]+)\}", path)]


def _openapi_path(path: str) -> str:
    import re

    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", r"{\1}", path)
