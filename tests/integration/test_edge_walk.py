"""The request edge: every declared endpoint and every page, called with out-of-range ids, absurd integers,
oversized and deeply nested bodies, never answers 5xx, on PostgreSQL (int32 ids) and SQLite (int64).

Driven by `exam_server.web.routes.routes.endpoints` and the app's page routes, so what is added later is
walked with no extra work.
"""

from __future__ import annotations

import re
import typing
from urllib.parse import quote
from typing import Any

from pydantic import BaseModel

import exam_server.app  # noqa: F401  (imports every handler module, which registers its endpoints)
from exam_server.web.api import Endpoint
from exam_server.web.edge import JSON_MAX_BYTES, JSON_MAX_DEPTH
from exam_server.web.routes import routes
from registry.application import STEPS

from ..helpers import Api
from .test_scope import PHYSICIAN_ACTOR, World, build_world, fill, sample_body

# Path and query values that cannot name a stored record: past int32 (PostgreSQL), past int64 (SQLite),
# past every integer type, negative, zero, float notation, non-ASCII digits, not a number.
BAD_IDS = ["2147483648", "9223372036854775808", "100000000000000000000000", "-1", "0", "1e23", "１２", "abc",
           "2147483647"]
ABSURD_INTS: list[Any] = [2**31, 2**63, -(2**63) - 1, 1e23, -1e23, 10**40]
# The actors with the widest reach over INST003's records, so handlers get as far as they can.
WIDE = {"physician": PHYSICIAN_ACTOR, "institution": "inst03", "body": "body02", "health_admin": "health01",
        "admin": "admin", "proctor": "proctor01"}


def actor_for(world: World, ep: Endpoint) -> tuple[str, Api]:
    if not ep.roles:
        return "anonymous", world.actors["anonymous"]
    for role, name in WIDE.items():
        if name in world.actors and world.roles[name] in ep.roles:
            return name, world.actors[name]
    raise AssertionError(f"no actor for {ep.method} {ep.path}")


def int_like(annotation: Any) -> str | None:
    """'int' or 'list' when the annotation holds integers, else None."""
    origin = typing.get_origin(annotation)
    if annotation is int:
        return "int"
    if origin in (list, set, tuple) and int in typing.get_args(annotation):
        return "list"
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return next((k for a in typing.get_args(annotation) if (k := int_like(a))), None)
    return None


def body_variants(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    """A plausible body with one field made absurd at a time, plus junk shapes."""
    base = sample_body(model)
    out: list[dict[str, Any]] = [base]
    if model is None:
        return out + [{"x": 2**63}]
    for name, info in model.model_fields.items():
        kind = int_like(info.annotation)
        if kind == "int":
            out += [{**base, name: v} for v in ABSURD_INTS]
        elif kind == "list":
            out += [{**base, name: [v]} for v in ABSURD_INTS] + [{**base, name: [1, 2**31, 2**63]}]
        out.append({**base, name: "字" * 100_000})
        out.append({**base, name: [[[[{"a": [2**63]}]]]]})
    return out


async def call(api: Api, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    if method == "GET":
        return await api.get(path)
    return await api.request(method, path, json=body)


def test_bad_ids_cover_both_databases_ranges() -> None:
    assert int(BAD_IDS[0]) == 2**31 and int(BAD_IDS[1]) == 2**63


async def test_every_endpoint_with_out_of_range_ids_and_absurd_values_never_answers_5xx(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    crashed: list[str] = []
    walked = 0
    for ep in routes.endpoints:
        name, api = actor_for(world, ep)
        names = re.findall(r"\{([^}:]+)", ep.path)
        # Every path parameter out of range, one at a time, the others naming INST003's records.
        for param in names:
            for bad in BAD_IDS:
                path = fill(ep.path, {**world.path_values, param: bad})
                status, body = await call(api, ep.method, path, sample_body(ep.body))
                walked += 1
                if status >= 500:
                    crashed.append(f"{name} {ep.method} {path}: {status} {body}")
                if bad != "2147483647" and re.search(r"(^|_)id$", param) and status not in (400, 404):
                    crashed.append(f"{name} {ep.method} {path}: {status} (expected 404) {body}")
        path = fill(ep.path, world.path_values)
        # Every declared query parameter absurd.
        for query in ep.query:
            for bad in BAD_IDS + ["x" * 5000]:
                status, body = await call(api, ep.method, f"{path}?{query}={bad}", sample_body(ep.body))
                walked += 1
                if status >= 500:
                    crashed.append(f"{name} {ep.method} {path}?{query}={bad[:20]}: {status} {body}")
        if ep.method == "GET":
            continue
        for variant in body_variants(ep.body):
            status, body = await call(api, ep.method, path, variant)
            walked += 1
            if status >= 500:
                crashed.append(f"{name} {ep.method} {path} {str(variant)[:120]}: {status} {body}")
    assert walked > 500
    assert crashed == []


async def test_a_deeply_nested_or_oversized_body_is_refused_before_parsing_on_every_endpoint(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    deep = b"[" * 5000 + b"]" * 5000
    deep_object = b'{"a":' * 100 + b"1" + b"}" * 100
    huge = b'{"reason": "' + b"x" * (JSON_MAX_BYTES + 10) + b'"}'
    problems = []
    for ep in routes.endpoints:
        if ep.method == "GET":
            continue
        path = fill(ep.path, world.path_values)
        for name in ("anonymous", actor_for(world, ep)[0]):
            api = world.actors[name]
            # An endpoint that takes no body refuses any by its headers, before reading it (issue 21).
            for raw, expected, code in ((deep, 400, "too_deep"), (deep_object, 400, "too_deep"),
                                        (huge, 413, "too_large")) if ep.takes_body else \
                    ((deep, 413, "too_large"), (deep_object, 413, "too_large"), (huge, 413, "too_large")):
                status, body = await api.request(ep.method, path, data=raw,
                                                 headers={"Content-Type": "application/json"})
                error = body.get("error", {}) if isinstance(body, dict) else {}
                if status != expected or error.get("code") != code or not re.search(r"[\u4e00-\u9fff]", error.get("message", "")):
                    problems.append(f"{name} {ep.method} {path} {code}: {status} {body}")
    assert problems == []


async def test_nesting_up_to_the_limit_is_still_read(client) -> None:  # type: ignore[no-untyped-def]
    ok = b'{"kind": "staff", "login": "admin", "password": "x", "x": ' + b"[" * (JSON_MAX_DEPTH - 1) + b"]" * (JSON_MAX_DEPTH - 1) + b"}"
    status, body = await client.request("POST", "/api/v1/auth/login", data=ok,
                                        headers={"Content-Type": "application/json"})
    # Parsed and validated: refused for the unknown field, not for its depth.
    assert status == 400 and body["error"]["code"] == "invalid_input" and "x" in body["error"]["fields"], body
    status, body = await client.request("POST", "/api/v1/auth/login", data=b'{"kind": NaN}',
                                        headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"]["message"] == "请求内容不是有效的 JSON"


async def test_the_reported_requests(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    inst, body_reviewer, admin = world.actors["inst03"], world.actors["body02"], world.actors["admin"]
    reg = world.path_values["registration_id"]
    for api, path in ((inst, "/api/v1/registrations/2147483648"), (inst, "/api/v1/registrations/9223372036854775808"),
                      (admin, "/api/v1/admin/question-banks/2147483648/questions"),
                      (admin, "/api/v1/admin/questions/2147483648")):
        status, body = await api.get(path)
        assert status == 404 and body["error"]["code"] == "not_found", (path, body)
    status, body = await inst.post("/api/v1/registrations/batch-approve", {"registration_ids": [2147483648]})
    assert status == 400 and body["error"]["fields"] == {"registration_ids": "记录超出允许范围"}, body
    status, body = await inst.post("/api/v1/registrations/open", {"physician_ids": [2**63]})
    assert status == 400 and body["error"]["fields"] == {"physician_ids": "医师超出允许范围"}, body
    status, body = await world.actors["health01"].post(
        f"/api/v1/physicians/{world.path_values['physician_id']}/transfer", {"institution_id": 2**31, "reason": "调整"})
    assert status == 400 and body["error"]["fields"] == {"institution_id": "调入机构超出允许范围"}, body
    for version in (1e23, 2**31, 2**63):
        status, body = await body_reviewer.post(f"/api/v1/registrations/{reg}/body-approve", {"version": version})
        assert status == 400 and body["error"]["fields"] == {"version": "记录版本超出允许范围"}, (version, body)
    status, body = await inst.get("/api/v1/reviews?institution_id=2147483648")
    assert status == 400 and "机构" in body["error"]["fields"]["institution_id"], body


async def test_every_page_with_an_id_in_its_path_answers_404_for_an_impossible_id(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    pages = []
    for resource in client.app.router.resources():
        path = resource.canonical
        if path.startswith(("/api/", "/static")) or "{" not in path:
            continue
        pages.append(path)
    assert "/admin/questions/{question_id}" in pages and "/records/{registration_id}" in pages
    problems = []
    for path in pages:
        for name in ("admin", "inst03", "body02", PHYSICIAN_ACTOR, "anonymous"):
            for bad in BAD_IDS:
                url = fill(path, {p: bad for p in re.findall(r"\{([^}:]+)", path)})
                status, text, _ = await world.actors[name].page(url)
                if status >= 500:
                    problems.append(f"{name} {url}: {status}")
                elif bad != "2147483647" and name == "admin" and re.search(r"_id\}", path) and status != 404:
                    problems.append(f"{name} {url}: {status} (expected 404)")
                elif status == 404 and "页面不存在" not in text and "不存在" not in text:
                    problems.append(f"{name} {url}: 404 without a Chinese page")
    assert problems == []
    status, text, _ = await world.actors["admin"].page("/admin/banks?bank=99999999999")
    assert status == 200


# Issue 21: text is checked once, at the edge. NUL (a 500 on PostgreSQL, stored silently on SQLite), other
# C0 controls, DEL, a C1 control, a lone surrogate and, in a field that is not free text, a line break.
CONTROL_TEXTS = ["\x00", "名字\x00", "a\x01b", "a\x1bb", "x\x7f", "a\x85b", "\ud800"]
QUERY_TEXTS = ["%00", "a%00b", "a%01b", "%1B", "%7F", "%C2%85", "a%0Ab"]
UPLOAD_FIELDS = ("file", "photo", "proof", "seal")


def refused_as_text(status: int, body: Any, field: str) -> bool:
    error = body.get("error", {}) if isinstance(body, dict) else {}
    return (status == 400 and error.get("code") == "invalid_text" and field in error.get("fields", {})
            and bool(re.search(r"[\u4e00-\u9fff]", error["fields"][field])))


async def test_nul_and_control_characters_in_every_declared_field_are_refused_naming_it(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    world.path_values["step"] = STEPS[0]
    problems: list[str] = []
    names_refused: set[str] = set()
    walked = 0
    for ep in routes.endpoints:
        name, api = actor_for(world, ep)
        path = fill(ep.path, world.path_values)
        for query in ep.query:
            for text in QUERY_TEXTS:
                status, body = await call(api, ep.method, f"{path}?{query}={text}", sample_body(ep.body))
                walked += 1
                if not refused_as_text(status, body, query):
                    problems.append(f"{name} {ep.method} {path}?{query}={text}: {status} {body}")
        for param in re.findall(r"\{([^}:]+)", ep.path):  # text path segments (a step, a certificate number)
            status, body = await call(api, ep.method, fill(ep.path, {**world.path_values, param: "a%00b"}),
                                      sample_body(ep.body))
            walked += 1
            if status != 404:
                problems.append(f"{name} {ep.method} {ep.path} {param}=NUL: {status} {body}")
        if ep.body is not None:
            base = sample_body(ep.body)
            for field in ep.body.model_fields:
                for text in CONTROL_TEXTS:
                    for value in (text, [text], {"key": text}):
                        status, body = await call(api, ep.method, path, {**base, field: value})
                        walked += 1
                        if not refused_as_text(status, body, field):
                            problems.append(f"{name} {ep.method} {path} {field}={value!r}: {status} {body}")
        if ep.multipart:
            # Written out by hand: aiohttp's client will not put a control character in a part header.
            # Both spellings of a file name: plain, and RFC 5987's percent-encoded filename*.
            for text in CONTROL_TEXTS[:-1]:
                for disposition in (f'filename="名单{text}.xlsx"', f"filename*=UTF-8''{quote('名单' + text + '.xlsx')}"):
                    parts = b"".join(b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"" + field.encode()
                                     + b"\"; " + disposition.encode() + b"\r\nContent-Type: application/octet-stream"
                                     b"\r\n\r\n%PDF-1.4 x\r\n" for field in UPLOAD_FIELDS) + b"--BOUNDARY--\r\n"
                    status, body = await api.request(ep.method, path + ("?bank=题库" if "bank" in ep.query else ""),
                                                     data=parts, headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"})
                    walked += 1
                    if status == 400 and body["error"]["code"] == "invalid_text" and "文件名" in body["error"]["message"]:
                        names_refused.add(ep.path)
                    elif not 400 <= status < 500:  # refused earlier (a physician whose registration is not open)
                        problems.append(f"{name} {ep.method} {path} file name {disposition!r}: {status} {body}")
    assert walked > 1000
    assert problems == [], "\n".join(problems[:40])
    assert {"/api/v1/admin/staff-accounts/import", "/api/v1/admin/import-jobs", "/api/v1/body/seal"} <= names_refused


async def test_line_breaks_stay_in_free_text_and_the_reported_requests_are_refused(client, make_client) -> None:  # type: ignore[no-untyped-def]
    world = await build_world(client, make_client)
    anonymous, admin, inst = world.actors["anonymous"], world.actors["admin"], world.actors["inst03"]
    # The login, both kinds: refused at the edge, naming the field.
    for kind in ("staff", "physician"):
        for field in ("login", "password"):
            payload = {"kind": kind, "login": "admin", "password": "x", field: "ad\x00min"}
            status, body = await anonymous.post("/api/v1/auth/login", payload)
            assert refused_as_text(status, body, field), body
            assert ("账号" if field == "login" else "密码") in body["error"]["message"], body
    # Lists searched with a NUL.
    for api, path in ((inst, "/api/v1/physicians?q=%00"), (inst, "/api/v1/reviews?q=%00"),
                      (admin, "/api/v1/staff-accounts?q=%00"), (inst, "/api/v1/physician-accounts?q=%00"),
                      (admin, "/api/v1/admin/question-banks/1/questions?category=%00"),
                      (admin, "/api/v1/admin/question-banks/1/questions?q=%00")):
        status, body = await api.get(path)
        assert status == 400 and body["error"]["code"] == "invalid_text", (path, body)
    # A reason may run over lines; a department's name may not.
    status, body = await inst.post("/api/v1/departments", {"name": "中医\n内科"})
    assert refused_as_text(status, body, "name"), body
    status, body = await inst.post("/api/v1/departments", {"name": "中医内科二"})
    assert status == 200, body
    status, body = await inst.post(f"/api/v1/physicians/{world.path_values['physician_id']}/transfer",
                                   {"institution_id": 1, "reason": "第一行\n第二行\t说明"})
    assert status != 400 or body["error"]["code"] != "invalid_text", body


async def test_spreadsheet_cells_with_control_characters_are_refused_by_row_and_column(client) -> None:  # type: ignore[no-untyped-def]
    from question_bank.formats._table import COLUMNS

    from ..flows import upload

    await client.login_staff("admin")
    staff = "用户名,姓名,角色,所属单位编码\nnew01,张\x00三,考核机构,BODY001\nnew02,李四\x01,考核机构,BODY001\n"
    status, body = await upload(client, "/api/v1/admin/staff-accounts/import", "file", staff.encode(), "staff.csv")
    assert status == 400, body
    assert "第 2 行“姓名”" in body["error"]["message"] and "第 3 行“姓名”" in body["error"]["message"], body
    assert "控制字符" in body["error"]["message"]
    questions = ",".join(COLUMNS) + "\nA1,正确的\x00一题,甲,乙,丙,,,,,,B,1,测试,,,\nA1,第二题,甲\x1b,乙,丙,,,,,,B,1,测试,,,\n"
    status, body = await upload(client, "/api/v1/admin/question-banks/import?bank=控制字符", "file",
                                questions.encode("utf-8-sig"), "q.csv")
    text = str(body)
    assert status in (200, 400) and "题干含有不允许的控制字符" in text and "选项A含有不允许的控制字符" in text, body
    status, banks = await client.get("/api/v1/admin/question-banks")
    assert all(b["name"] != "控制字符" or b.get("question_count", 0) == 0 for b in banks["items"]), banks
