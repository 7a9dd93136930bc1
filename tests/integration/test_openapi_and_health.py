"""The OpenAPI document matches the router exactly; /healthz; request ids."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select
from aiohttp.test_utils import make_mocked_request

from exam_server.app import create_app
from exam_server.web.routes import routes
from exam_server.web.keys import request_id_key, sessionmaker_key
from exam_server.web.request_context import request_id_middleware
from exam_server.settings import Settings

from registry.models import AuditLog, Physician

from ..helpers import Api, physician_login

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def router_operations(app: web.Application) -> set[tuple[str, str]]:
    """(path, method) of every route the app serves under /api/v1, /healthz and /metrics (HEAD twins left out)."""
    out = set()
    for resource in app.router.resources():
        path = resource.canonical
        if not (path.startswith("/api/v1/") or path in ("/healthz", "/metrics")):
            continue
        for route in resource:
            if route.method in ("HEAD", "*"):
                continue
            out.add((path, route.method.lower()))
    return out


def document_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item if method in HTTP_METHODS}


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolvable $ref {ref}"
        node = node[part]
    return node


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in all_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in all_refs(v)]
    return []


async def test_openapi_document_describes_exactly_the_routes_the_app_serves(client: Api) -> None:
    status, doc = await client.get("/api/v1/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    served = router_operations(client.app)
    described = document_operations(doc)
    assert served - described == set(), "routes served but not described in the OpenAPI document"
    assert described - served == set(), "operations described but not served"
    assert ("/api/v1/openapi.json", "get") in served and ("/healthz", "get") in served


async def test_every_protected_operation_documents_401_and_403_and_its_roles(client: Api) -> None:
    _, doc = await client.get("/api/v1/openapi.json")
    declared = {(re.sub(r"\{([^}:]+)(:[^}]+)?\}", r"{\1}", ep.path), ep.method.lower()): ep for ep in routes.endpoints}
    problems = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            ep = declared.get((path, method))
            if ep is None:
                problems.append(f"{method.upper()} {path}: not declared through the endpoint list")
                continue
            responses = op.get("responses", {})
            if ep.roles:
                for code in ("401", "403"):
                    if code not in responses:
                        problems.append(f"{method.upper()} {path}: no {code} response")
                if sorted(op.get("x-roles", [])) != sorted(ep.roles):
                    problems.append(f"{method.upper()} {path}: x-roles {op.get('x-roles')} != {sorted(ep.roles)}")
                if not op.get("security"):
                    problems.append(f"{method.upper()} {path}: no security requirement")
            if not op.get("summary") or not op.get("operationId"):
                problems.append(f"{method.upper()} {path}: no summary or operationId")
            path_params = set(re.findall(r"\{([^}]+)\}", path))
            documented = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            if path_params != documented:
                problems.append(f"{method.upper()} {path}: path parameters {documented} != {path_params}")
    assert problems == []
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items() if m in HTTP_METHODS]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


async def test_request_bodies_and_every_ref_resolve_to_existing_schemas(client: Api) -> None:
    _, doc = await client.get("/api/v1/openapi.json")
    schemas = doc["components"]["schemas"]
    for ep in routes.endpoints:
        op = doc["paths"][re.sub(r"\{([^}:]+)(:[^}]+)?\}", r"{\1}", ep.path)][ep.method.lower()]
        if ep.body is not None:
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{ep.body.__name__}"
            schema = resolve(doc, ref)
            assert schema.get("type") == "object"
            # The schema lists the model's fields, so a client can build a valid body.
            assert set(schema.get("properties", {})) == set(ep.body.model_fields)
        elif ep.multipart:
            assert "multipart/form-data" in op["requestBody"]["content"]
        elif ep.raw_body:  # the webcam frame: an image as the body
            assert set(op["requestBody"]["content"]) == {"image/jpeg", "image/png"}
        else:
            assert "requestBody" not in op, f"{ep.method} {ep.path} takes no body"
    refs = all_refs(doc)
    assert refs, "the document uses references"
    for ref in refs:
        resolve(doc, ref)
    assert all(isinstance(s, dict) for s in schemas.values())


async def test_healthz_reports_both_checks(client: Api) -> None:
    status, body = await client.get("/healthz")
    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "live_state": "ok"}}


def broken_settings(tmp_path: Path, **changes: Any) -> Settings:
    s = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ok.sqlite3'}", redis_url=None, secret_key="t" * 40,
                 storage_dir=tmp_path / "storage", cookie_secure=False, log_json=False)
    return s.with_(**changes)


async def test_healthz_is_503_and_names_an_unreachable_database(tmp_path: Path, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    settings = broken_settings(tmp_path, database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    raw = await aiohttp_client(create_app(settings))
    r = await raw.get("/healthz")
    body = await r.json()
    assert r.status == 503
    assert body["status"] == "error"
    assert body["checks"]["live_state"] == "ok"
    assert body["checks"]["database"].startswith("error")


async def test_healthz_is_503_and_names_an_unreachable_redis(tmp_path: Path, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    settings = broken_settings(tmp_path, redis_url="redis://127.0.0.1:1/0")
    raw = await aiohttp_client(create_app(settings))
    r = await raw.get("/healthz")
    body = await r.json()
    assert r.status == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["live_state"].startswith("error")


async def test_a_sane_request_id_is_echoed(client: Api) -> None:
    for rid in ("abcdef12", "0f3c2a9e-1b2c-4d5e-8f90-123456789abc", "A" * 36):
        async with client.session.get(client.base + "/healthz", headers={"X-Request-ID": rid}) as r:
            assert r.headers["X-Request-ID"] == rid
    # Also on errors: a 404 and a 401.
    async with client.session.get(client.base + "/api/v1/no-such-thing", headers={"X-Request-ID": "trace-404-x"}) as r:
        assert r.status == 404 and r.headers["X-Request-ID"] == "trace-404-x"
    async with client.session.get(client.base + "/api/v1/me", headers={"X-Request-ID": "trace-401-x"}) as r:
        assert r.status == 401 and r.headers["X-Request-ID"] == "trace-401-x"


async def test_a_missing_or_hostile_request_id_is_replaced(client: Api) -> None:
    seen = set()
    for rid in (None, "", "a" * 500, "a" * 37, "short", "<script>alert(1)</script>", "abc def ghi", "x;DROP TABLE",
                "%0d%0aSet-Cookie:x=1"):
        headers = {} if rid is None else {"X-Request-ID": rid}
        async with client.session.get(client.base + "/healthz", headers=headers) as r:
            echoed = r.headers["X-Request-ID"]
            assert echoed != rid and UUID.match(echoed), (rid, echoed)
            seen.add(echoed)
    assert len(seen) == 9, "a fresh id for every request"


async def test_a_request_id_with_newlines_is_replaced() -> None:
    # An HTTP parser will not pass a raw newline in a header, so give the middleware one directly.
    for hostile in ("abcdefgh\nSet-Cookie: dk_session=x", "abcdefgh\r\n", "\nabcdefgh", "abcdefgh\n"):
        request = make_mocked_request("GET", "/healthz", headers={"X-Request-ID": hostile})

        async def handler(req: web.Request) -> web.StreamResponse:
            return web.Response(text="ok")

        response = await request_id_middleware(request, handler)
        assert UUID.match(request[request_id_key]), repr(hostile)
        assert response.headers["X-Request-ID"] == request[request_id_key]
        assert "\n" not in response.headers["X-Request-ID"]
    assert str(uuid.UUID(request[request_id_key])) == request[request_id_key]


async def test_the_longest_accepted_request_id_fits_the_audit_log(client: Api) -> None:
    """Every id the middleware accepts must be storable in audit_log.request_id (a 36-character column)."""
    rid = "R" * 36
    await client.login_staff("inst01")
    async with client.app[sessionmaker_key]() as s:
        pid = await s.scalar(select(Physician.id).where(Physician.id_number == physician_login(0)))
    status, body = await client.post("/api/v1/registrations/open", {"physician_ids": [pid]},
                                      headers={"X-Request-ID": rid})
    assert status == 200, body
    async with client.app[sessionmaker_key]() as s:
        logged = await s.scalar(select(AuditLog.request_id).where(AuditLog.action == "open_registration"))
    assert logged == rid
    # One character more and the id is replaced, not truncated into the log.
    status, body = await client.post("/api/v1/registrations/open", {"physician_ids": [pid]},
                                      headers={"X-Request-ID": "R" * 37})
    assert status == 200 and body == {"opened": 0}
