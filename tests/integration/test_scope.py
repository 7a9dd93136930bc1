"""Role and scope: every declared JSON endpoint refuses anonymous callers and roles it does not name,
and no actor reaches records outside its institution, body or region.

The walk is driven by `exam_server.web.routes.routes.endpoints`, so endpoints added later are covered.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

import exam_server.app  # noqa: F401  (imports every handler module, which registers its endpoints)
from exam_server.web.api import Endpoint
from exam_server.demo.seed import STAFF
from exam_server.web.routes import routes
from exam_server.web.keys import sessionmaker_key, sms_key, storage_key
from registry.db import Base
from registry.models import (Account, AuditLog, Department, Exemption, Institution, Physician, Registration,
                             StoredFile)
from registry.roles import Role

from ..helpers import Api, physician_login

PHYSICIAN_ACTOR = "physician@INST001"
# Who oversees INST003 (the institution whose records fill the path parameters).
OVERSEES_INST003 = {"inst03", "body02", "admin"}
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class World:
    actors: dict[str, Api]  # actor name -> logged-in client; "anonymous" has none
    roles: dict[str, Role]
    path_values: dict[str, str]  # path parameter name -> an id of a record in INST003


async def _id_of_physician(api: Api, index: int) -> int:
    async with api.app[sessionmaker_key]() as s:
        return int(await s.scalar(select(Physician.id).where(Physician.id_number == physician_login(index))))


async def _inst(api: Api, code: str) -> Institution:
    async with api.app[sessionmaker_key]() as s:
        return (await s.scalars(select(Institution).where(Institution.code == code))).one()


async def build_world(client: Api, make_client: Any) -> World:
    actors: dict[str, Api] = {"anonymous": await make_client()}
    roles: dict[str, Role] = {}
    for username, _display, role, *_ in STAFF:
        api = await make_client()
        await api.login_staff(username)
        actors[username] = api
        roles[username] = role
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    actors[PHYSICIAN_ACTOR] = doctor
    roles[PHYSICIAN_ACTOR] = Role.PHYSICIAN

    # Records of INST003 for the path parameters: its physician, an opened registration, a department,
    # an exemption and an uploaded proof document.
    inst3 = await _inst(client, "INST003")
    sun = await _id_of_physician(client, 6)
    status, body = await actors["inst03"].post("/api/v1/registrations/open", {"physician_ids": [sun]})
    assert status == 200 and body["opened"] == 1, body
    key = await client.app[storage_key].put(b"%PDF-1.4 proof of INST003", prefix="scope-test")
    async with client.app[sessionmaker_key]() as s, s.begin():
        reg = await s.scalar(select(Registration).where(Registration.physician_id == sun))
        owner = await s.scalar(select(Account.id).where(Account.physician_id == sun))
        officer = await s.scalar(select(Account.id).where(Account.username == "inst03"))
        dept = Department(institution_id=inst3.id, name="中医内科")
        exemption = Exemption(registration_id=reg.id, state="SUBMITTED", condition_codes=["RESIDENCY_PASSED"],
                              proof_file_ids=[], note="")
        stored = StoredFile(kind="proof", owner_account_id=owner, registration_id=reg.id, storage_key=key,
                            mime="application/pdf", size=26, sha256="0" * 64, original_name="proof.pdf", meta={})
        s.add_all([dept, exemption, stored])
        await s.flush()
        values = {"physician_id": sun, "registration_id": reg.id, "department_id": dept.id,
                  "exemption_id": exemption.id, "file_id": stored.id, "institution_id": inst3.id,
                  "account_id": officer}
    return World(actors, roles, {k: str(v) for k, v in values.items()})


def param_names(path: str) -> list[str]:
    return [m.split(":")[0] for m in re.findall(r"\{([^}]+)\}", path)]


def fill(path: str, values: dict[str, str]) -> str:
    # Unknown parameters get "1": the role check comes before the handler looks at them.
    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: values.get(m.group(1), "1"), path)


def _sample(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, tuple, set):
        return []
    if origin is dict or annotation is dict:
        return {}
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return _sample(next(a for a in typing.get_args(annotation) if a is not type(None)))
    return {str: "测试", int: 1, bool: False, float: 1.0, dt.date: "2024-01-01"}.get(annotation, "测试")


# Values for body fields the models cannot tell us (their handlers check them before the record).
FIELD_HINTS: dict[str, Any] = {"work_rating": "合格", "ethics_rating": "合格", "approve": False, "version": 1,
                               "reason": "范围检查", "name": "范围检查科室", "registration_ids": []}


def sample_body(model: type[BaseModel] | None) -> dict[str, Any]:
    """A body that passes the model's own validation where that is easy, so the handler gets further."""
    if model is None:
        return {}
    body = {name: FIELD_HINTS.get(name, _sample(f.annotation))
            for name, f in model.model_fields.items() if f.is_required()}
    try:
        model.model_validate(body)
    except ValidationError:
        return {}
    return body


async def call(api: Api, ep: Endpoint, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    if ep.method == "GET":
        return await api.get(path)
    return await api.request(ep.method, path, json=body if body is not None else {})


async def snapshot(api: Api) -> dict[str, list[str]]:
    """Every row of every table, to prove a refused request changed nothing."""
    out: dict[str, list[str]] = {}
    async with api.app[sessionmaker_key]() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(select(table))).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


PROTECTED = [ep for ep in routes.endpoints if ep.roles]


def test_the_walk_has_something_to_walk() -> None:
    assert len(PROTECTED) >= 5
    assert all(isinstance(ep, Endpoint) for ep in routes.endpoints)


async def test_every_protected_endpoint_refuses_anonymous_and_roles_it_does_not_name(client, make_client) -> None:  # type: ignore[no-untyped-def]
    """401 for anonymous, 403 for every role the endpoint does not name, nothing stored changes; then the
    roles it does name, with an empty body, get an answer but never a 5xx."""
    world = await build_world(client, make_client)
    before = await snapshot(client)
    refused: list[str] = []
    for ep in PROTECTED:
        path = fill(ep.path, world.path_values)
        status, body = await call(world.actors["anonymous"], ep, path)
        if status != 401 or body.get("error", {}).get("message") != "请先登录":
            refused.append(f"anonymous {ep.method} {ep.path}: {status} {body}")
        for name, api in world.actors.items():
            if name == "anonymous" or world.roles[name] in ep.roles:
                continue
            status, body = await call(api, ep, path)
            error = body.get("error", {}) if isinstance(body, dict) else {}
            if status != 403 or error.get("code") != "forbidden" or not _HAN.search(error.get("message", "")):
                refused.append(f"{name} ({world.roles[name]}) {ep.method} {ep.path}: {status} {body}")
    unchanged = await snapshot(client) == before

    crashed = []
    for ep in PROTECTED:
        path = fill(ep.path, world.path_values)
        for name, api in world.actors.items():
            if name == "anonymous" or world.roles[name] not in ep.roles:
                continue
            status, body = await call(api, ep, path)
            if status >= 500:
                crashed.append(f"{name} {ep.method} {path}: {status} {body}")
    assert refused == []
    assert unchanged, "a refused request changed stored data"
    assert crashed == [], "a permitted role with an empty body crashed a handler"


async def test_no_actor_reaches_a_record_of_an_institution_it_does_not_oversee(client, make_client) -> None:  # type: ignore[no-untyped-def]
    """Permitted roles, path ids of INST003's records: refused (403, or 404 hiding the record), nothing changed."""
    world = await build_world(client, make_client)
    before = await snapshot(client)
    walked, problems, unexercised = 0, [], []
    for ep in PROTECTED:
        names = [n for n in param_names(ep.path) if n in world.path_values]
        if not names:
            continue
        path = fill(ep.path, world.path_values)
        for name, api in world.actors.items():
            if name == "anonymous" or name in OVERSEES_INST003 or world.roles[name] not in ep.roles:
                continue
            walked += 1
            status, body = await call(api, ep, path, sample_body(ep.body))
            if status in (403, 404):
                continue
            if ep.body is not None and status == 400 and body["error"]["code"] == "invalid_input":
                # Our made-up body was refused before the record was looked at: add a FIELD_HINTS entry.
                unexercised.append(f"{ep.method} {ep.path}")
                continue
            problems.append(f"{name} ({world.roles[name]}) {ep.method} {path}: {status} {body}")
    assert walked >= 10, "the walk reached the scoped endpoints"
    assert problems == []
    assert len(set(unexercised)) <= len({ep.path for ep in PROTECTED if ep.body}) // 2, unexercised
    assert await snapshot(client) == before, "a refused request changed stored data"


# ---- the foundation's cross-institution rules, one by one ----

async def account_state(api: Api, index: int) -> tuple[str, int, bool]:
    async with api.app[sessionmaker_key]() as s:
        acc = await s.scalar(select(Account).join(Physician, Account.physician_id == Physician.id)
                             .where(Physician.id_number == physician_login(index)))
        return acc.password_hash, acc.password_version, acc.must_change_password


async def audit_actions(api: Api) -> list[str]:
    async with api.app[sessionmaker_key]() as s:
        return list((await s.scalars(select(AuditLog.action).order_by(AuditLog.id))).all())


async def test_another_institution_cannot_reset_a_physicians_password(client, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    before = await account_state(client, 0)
    audit_before = await audit_actions(client)
    await client.login_staff("inst02")
    pid = await _id_of_physician(client, 0)
    status, body = await client.post(f"/api/v1/physicians/{pid}/reset-password")
    # Answered exactly as a physician that does not exist (below): ids reveal nothing.
    assert status == 404
    assert body["error"]["message"] == "医师不存在"
    assert await account_state(client, 0) == before
    assert before[2] is False  # still set up: no forced change sneaked in
    assert (await doctor.get("/api/v1/me"))[0] == 200, "the physician's session survives"
    assert await audit_actions(client) == audit_before
    # A physician id that does not exist is a 404, not a 500.
    status, body = await client.post("/api/v1/physicians/99999999/reset-password")
    assert status == 404 and body["error"]["message"] == "医师不存在"


async def test_another_institution_cannot_open_registration(client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("inst02")
    inst001_doctor = await _id_of_physician(client, 0)
    inst002_doctor = await _id_of_physician(client, 4)
    audit_before = await audit_actions(client)
    status, body = await client.post("/api/v1/registrations/open", {"physician_ids": [inst001_doctor]})
    # Answered exactly as a physician that does not exist: ids reveal nothing.
    assert status == 404 and body["error"]["message"] == "部分医师不存在"
    # Mixed with its own physician: all or nothing.
    status, body = await client.post("/api/v1/registrations/open", {"physician_ids": [inst002_doctor, inst001_doctor]})
    assert status == 404
    async with client.app[sessionmaker_key]() as s:
        assert (await s.scalars(select(Registration))).all() == []
    assert await audit_actions(client) == audit_before
    # "All" means all of its own physicians, never another institution's.
    status, body = await client.post("/api/v1/registrations/open", {"all": True})
    assert status == 200 and body == {"opened": 2}
    async with client.app[sessionmaker_key]() as s:
        opened = set((await s.scalars(select(Physician.institution_id).join(
            Registration, Registration.physician_id == Physician.id))).all())
    assert opened == {(await _inst(client, "INST002")).id}


async def listed_names(api: Api, query: str = "") -> tuple[int, set[str], set[str]]:
    status, body = await api.get("/api/v1/physicians?size=500" + (f"&q={query}" if query else ""))
    assert status == 200, body
    return body["total"], {i["name"] for i in body["items"]}, {i["institution_name"] for i in body["items"]}


INST001 = {"张晓明", "李欣欣", "王建国", "赵丽"}
INST002 = {"陈晨", "刘洋"}
INST003 = {"孙海燕"}


SCOPES = {
    "inst01": INST001,
    "inst02": INST002,
    "inst03": INST003,
    "body01": INST001 | INST002,
    "body02": INST003,  # not INST001 or INST002
    "health01": INST001 | INST002,  # region 120101; INST003 is in 120225
    "admin": INST001 | INST002 | INST003,
}


async def test_each_staff_role_lists_exactly_the_physicians_in_its_scope(client, make_client) -> None:  # type: ignore[no-untyped-def]
    for username, expected in SCOPES.items():
        api = await make_client()
        await api.login_staff(username)
        total, names, _ = await listed_names(api)
        assert (names, total) == (expected, len(expected)), username
        # Searching for someone outside the scope finds nobody, by name or by ID number.
        for outsider, index in (("张晓明", 0), ("孙海燕", 6)):
            if outsider in expected:
                continue
            assert (await listed_names(api, outsider))[:2] == (0, set()), (username, outsider)
            assert outsider not in (await listed_names(api, physician_login(index)[:12]))[1], (username, outsider)
        # Filtering by state does not widen the scope.
        status, body = await api.get("/api/v1/physicians?state=NOT_OPENED&size=500")
        assert status == 200 and {i["name"] for i in body["items"]} == expected, username


async def test_body02_does_not_see_inst001_or_inst002(client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("body02")
    _, names, institutions = await listed_names(client)
    assert institutions == {"临江县中医医院"}
    assert not names & (INST001 | INST002)


async def test_health01_sees_only_its_region(client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("health01")
    _, names, institutions = await listed_names(client)
    assert institutions == {"滨海市第一人民医院", "滨海市口腔医院"}
    assert names == INST001 | INST002 and "孙海燕" not in names


async def test_a_physician_and_an_invigilator_cannot_list_physicians(client, make_client) -> None:  # type: ignore[no-untyped-def]
    await client.ready_physician(0, client.app[sms_key].outbox)
    status, body = await client.get("/api/v1/physicians")
    assert status == 403 and body["error"]["message"] == "当前角色无权执行此操作"
    proctor = await make_client()
    await proctor.login_staff("proctor01")
    status, body = await proctor.get("/api/v1/physicians")
    assert status == 403


async def test_the_institution_page_is_for_institution_officers_only(client, make_client) -> None:  # type: ignore[no-untyped-def]
    for username in ("body01", "health01", "proctor01", "admin"):
        api = await make_client()
        await api.login_staff(username)
        status, page, _ = await api.page("/institution/physicians")
        assert status == 403 and "仅医疗卫生机构的定考负责人可访问此页面" in page, username
    anonymous = await make_client()
    status, _, location = await anonymous.page("/institution/physicians")
    assert status == 303 and location.startswith("/login")
