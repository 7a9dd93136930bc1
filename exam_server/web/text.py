"""Text checked once, at the edge: no string that enters (JSON bodies, query parameters, path segments,
uploaded file names) may hold NUL or another control character a person never types.

PostgreSQL refuses NUL in text (a 500 before this check) and SQLite stored it silently, so both
databases now answer alike: 400 naming the field. Line breaks and tabs are kept where a field is free
text (a reason, a comment, a question's stem...); elsewhere (names, logins, numbers, search terms) they
are refused too. Spreadsheet cells are checked by the libraries that read them, with the same rule.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .errors import ApiError

# C0 controls but tab, line feed and carriage return; DEL; the C1 controls; lone surrogates (which
# JSON's \ud800 escapes can carry and no database encoding can store); the two noncharacters U+FFFE/F.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# What a raw JSON body must contain for a string of it to hold one: an escape (\u0000, \n, \t...), or
# DEL / a C1 control written out in UTF-8. A body without any (nearly all, an answer save included)
# is not walked.
SUSPECT_JSON = re.compile(rb"\\u00[0-9a-fA-F]{2}|\\u[dD][89a-fA-F]|\\u[fF]{3}[eEfF]|\\[nrtbf]|\x7f|\xc2[\x80-\x9f]|\xef\xbf[\xbe\xbf]")

# Keys whose text may run over several lines (the pages' text areas and imported question text).
MULTILINE_KEYS = frozenset({
    "reason", "comment", "note", "report", "work_summary", "ethics_summary", "stem", "group_stem",
    "explanation", "analysis", "options", "group_options", "description", "content", "text", "message",
    "summary", "remark", "remarks",
})


def has_control(value: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL if multiline else _CONTROL_OR_BREAK).search(value))


def control_message(title: str) -> str:
    return f"{title}含有不允许的控制字符（如空字符或换行），请删除后重试"


def _bad_in(value: Any, multiline: bool) -> bool:
    if isinstance(value, str):
        return has_control(value, multiline=multiline)
    if isinstance(value, dict):
        return any(has_control(str(k)) or _bad_in(v, str(k) in MULTILINE_KEYS) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_in(v, multiline) for v in value)
    return False


def check_json_text(data: Mapping[str, Any], titles: Mapping[str, str]) -> None:
    """Refuse a parsed JSON object whose strings (keys included) hold control characters, naming the
    top-level field each sits under. Called only for a body `SUSPECT_JSON` matches."""
    fields = {}
    for key, value in data.items():
        name = str(key)
        if has_control(name):
            fields["body"] = control_message("字段名")
        elif _bad_in(value, name in MULTILINE_KEYS):
            fields[name] = control_message(titles.get(name) or "提交的内容")
    if fields:
        raise ApiError("；".join(fields.values()), fields=fields, code="invalid_text")


def check_query_text(query: Mapping[str, str], titles: Mapping[str, str]) -> None:
    fields = {}
    for name, value in query.items():
        if has_control(name) or has_control(value):
            safe = name if not has_control(name) else "query"
            fields[safe] = control_message(titles.get(name) or "查询条件")
    if fields:
        raise ApiError("；".join(fields.values()), fields=fields, code="invalid_text")


def check_file_name(name: str, field: str, title: str) -> None:
    if has_control(name):
        raise ApiError(control_message(f"{title}的文件名"), fields={field: control_message(f"{title}的文件名")},
                       code="invalid_text")
