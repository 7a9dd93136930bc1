"""The request edge: bounds on JSON bodies and on every id and integer, before a parser, handler or
database sees them.

Applied to every route from one middleware (path ids, JSON body size and depth) and from the
endpoint declarations (query ids, body integers), so endpoints added later are covered unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from aiohttp import web
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .errors import ApiError
from .text import check_query_text, has_control

# Ids and integers are stored as PostgreSQL INTEGER; SQLite's 64-bit integers are wider, so this one bound
# keeps both databases from overflowing (and answers the same on both).
DB_INT_MAX = 2**31 - 1
JSON_MAX_BYTES = 2 * 1024 * 1024
JSON_MAX_DEPTH = 32
ID_PARAM = re.compile(r"(^|_)id\Z")
_JSON_TYPES = ("application/json",)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class RecordMissing(ApiError):
    """An id that cannot name a record answers exactly as a record that does not exist."""

    status = 404
    code = "not_found"


def is_id_param(name: str) -> bool:
    return bool(ID_PARAM.search(name))


def parse_id(raw: str) -> int | None:
    """A stored record's id, or None when `raw` cannot be one (not digits, zero, beyond the database's range)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 1 <= value <= DB_INT_MAX else None


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in `raw`, counted without parsing (strings are skipped)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= 64:  # a small body (an answer save has 4): a loop costs less than numpy's set-up
        depth = deepest = 0
        for b in brackets:
            depth += -1 if b & 4 else 1
            deepest = max(deepest, depth)
        return deepest
    # "[" 91 and "{" 123 open, "]" 93 and "}" 125 close: the closing ones have bit 2 set.
    steps = np.where(np.frombuffer(brackets, dtype=np.uint8) & 4, -1, 1)
    return int(np.cumsum(steps).max())


def check_json_size(length: int | None) -> None:
    if length is not None and length > JSON_MAX_BYTES:
        raise ApiError(f"请求内容过大（JSON 不能超过 {JSON_MAX_BYTES // (1024 * 1024)} MB）", code="too_large", status=413)


def check_json_shape(raw: bytes) -> None:
    check_json_size(len(raw))
    if json_depth(raw) > JSON_MAX_DEPTH:
        raise ApiError(f"请求内容嵌套过深（不能超过 {JSON_MAX_DEPTH} 层）", code="too_deep")


def _has_upper_bound(info: FieldInfo) -> bool:
    return any(getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None for m in info.metadata)


def _too_wide(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -DB_INT_MAX <= value <= DB_INT_MAX
    if isinstance(value, BaseModel):
        return bool(out_of_range(value))
    if isinstance(value, dict):
        return any(_too_wide(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_too_wide(v) for v in value)
    return False


def out_of_range(body: BaseModel) -> dict[str, str]:
    """Fields holding an integer the database cannot store, unless the model bounds the field itself."""
    problems: dict[str, str] = {}
    for name, info in type(body).model_fields.items():
        if _has_upper_bound(info):
            continue
        if _too_wide(getattr(body, name)):
            problems[name] = f"{info.title or name}超出允许范围"
    return problems


def check_query_ids(request: web.Request, titles: dict[str, str]) -> None:
    """Declared query parameters named like ids must be ids (or absent)."""
    fields = {}
    for name, title in titles.items():
        raw = request.query.get(name, "")
        if raw and is_id_param(name) and parse_id(raw) is None:
            fields[name] = f"{title}无效"
    if fields:
        raise ApiError("；".join(fields.values()), fields=fields, code="invalid_input")


# What an endpoint that takes no body still accepts: nothing, or a token like `{}` or `null` that pages
# and clients send by habit.
EMPTY_BODY_MAX = 16


def refuse_unwanted_body(request: web.Request) -> None:
    """An endpoint that takes no body refuses one by its headers, before a byte of it is read."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.body_exists:
        return
    length = request.content_length
    if length is None or length > EMPTY_BODY_MAX:  # chunked (no length) or more than an empty object
        raise ApiError("此操作不需要提交内容，请求内容过大", code="too_large", status=413)


def missing_message(request: web.Request) -> str:
    return "记录不存在" if request.path.startswith("/api/") else "页面不存在"


@web.middleware
async def edge_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    for name, raw in request.match_info.items():
        if (is_id_param(name) and parse_id(raw) is None) or has_control(raw):
            raise RecordMissing(missing_message(request))
    routed = getattr(request.match_info, "handler", None)  # (an empty match info is falsy)
    if request.query_string:
        check_query_text(request.query, getattr(routed, "query_titles", None) or {})
    if getattr(routed, "takes_body", True) is False:
        refuse_unwanted_body(request)
    if request.body_exists and (request.content_type in _JSON_TYPES or request.content_type.endswith("+json")):
        check_json_size(request.content_length)
        check_json_shape(await request.read())  # read() keeps the bytes for the handler
    return await handler(request)
