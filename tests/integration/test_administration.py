"""Administration: staff accounts (admin and body), physicians' accounts (institution), cycles, code tables."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from openpyxl import Workbook
from sqlalchemy import select

from exam_server.web.keys import sessionmaker_key, sms_key
from registry.models import Account, AuditLog, Cycle, Institution, Physician

from ..flows import department_ids, fill_all, open_for, step_data
from ..helpers import Api, last_code, physician_login


async def audit_log(api: Api) -> list[tuple[str, str, int | None]]:
    async with api.app[sessionmaker_key]() as s:
        return [(a.action, a.entity_id, a.actor_account_id)
                for a in (await s.scalars(select(AuditLog).order_by(AuditLog.id))).all()]


async def account_named(api: Api, username: str) -> Account | None:
    async with api.app[sessionmaker_key]() as s:
        return await s.scalar(select(Account).where(Account.username == username))


async def create(api: Api, **body: Any) -> tuple[int, Any]:
    return await api.post("/api/v1/staff-accounts", body)


async def first_login(api: Api, username: str, one_time: str, outbox: Any, *, phone: str = "13700000001") -> None:
    """Log in with the one-time password, change it and bind a phone, as any new account must."""
    status, body = await api.post("/api/v1/auth/login", {"kind": "staff", "login": username, "password": one_time})
    assert status == 200 and body["next"] == "/password", body
    status, body = await api.post("/api/v1/auth/password", {"old_password": one_time, "new_password": "Officer2027a",
                                                            "confirm_password": "Officer2027a"})
    assert status == 200 and body["next"] == "/phone", body
    assert (await api.post("/api/v1/auth/phone/code", {"phone": phone}))[0] == 200
    status, body = await api.post("/api/v1/auth/phone/bind", {"phone": phone, "code": last_code(outbox, phone)})
    assert status == 200, body


async def test_admin_creates_an_account_of_every_staff_role_bound_to_its_organisation(client, make_client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    cases = [("inst04", "institution", "INST003"), ("body03", "body", "BODY01"), ("health02", "health_admin", "120225"),
             ("proctor02", "invigilator", "BODY02"), ("admin2", "admin", "")]
    for username, role, org in cases:
        status, body = await create(client, username=username, display_name=f"新账户{username}", role=role,
                                    organisation=org)
        assert status == 200, body
        assert len(body["one_time_password"]) == 12
    async with client.app[sessionmaker_key]() as s:
        inst3 = await s.scalar(select(Institution).where(Institution.code == "INST003"))
        officer = await s.scalar(select(Account).where(Account.username == "inst04"))
        proctor = await s.scalar(select(Account).where(Account.username == "proctor02"))
        assert officer.institution_id == inst3.id and officer.must_change_password and officer.role == "institution"
        assert proctor.body_id == inst3.body_id and proctor.institution_id is None
    # The one-time password is not stored in clear and is shown only in the creation response.
    status, listing = await client.get("/api/v1/staff-accounts?q=inst04")
    assert status == 200 and listing["total"] == 1 and "one_time_password" not in listing["items"][0]
    assert listing["items"][0]["organisation_code"] == "INST003" and listing["items"][0]["must_change_password"]
    actions = [a for a, *_ in await audit_log(client)]
    assert actions.count("create_account") == 5


async def test_a_new_officer_logs_in_with_the_one_time_password_and_must_change_it(client, make_client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    status, body = await create(client, username="newofficer", display_name="新负责人", role="institution",
                                organisation="INST002")
    one_time = body["one_time_password"]
    officer = await make_client()
    status, login = await officer.post("/api/v1/auth/login", {"kind": "staff", "login": "newofficer",
                                                              "password": one_time})
    assert status == 200 and login["next"] == "/password"
    # Nothing else works before the change.
    status, body = await officer.get("/api/v1/physicians")
    assert status == 403 and body["error"]["code"] == "setup_required"
    # Same rules as physicians: length, letters and digits, not the old password.
    for new, field in (("short1", "new_password"), ("onlyletters", "new_password"), (one_time, "new_password")):
        status, body = await officer.post("/api/v1/auth/password", {"old_password": one_time, "new_password": new,
                                                                    "confirm_password": new})
        assert status == 400 and field in body["error"]["fields"], (new, body)
    await officer.post("/api/v1/auth/logout")
    await first_login(officer, "newofficer", one_time, client.app[sms_key].outbox)
    status, body = await officer.get("/api/v1/physicians")
    assert status == 200 and {i["name"] for i in body["items"]} == {"陈晨", "刘洋"}
    # The one-time password no longer works.
    other = await make_client()
    status, _ = await other.post("/api/v1/auth/login", {"kind": "staff", "login": "newofficer", "password": one_time})
    assert status == 401


async def test_bad_and_hostile_account_fields_are_refused_by_name_and_nothing_is_stored(client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    before = await audit_log(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"username": "ab", "display_name": "x", "role": "institution", "organisation": "INST001"}, "username"),
        ({"username": "1abc", "display_name": "x", "role": "institution", "organisation": "INST001"}, "username"),
        ({"username": "a b c", "display_name": "x", "role": "institution", "organisation": "INST001"}, "username"),
        ({"username": "<script>", "display_name": "x", "role": "institution", "organisation": "INST001"}, "username"),
        ({"username": "INST01", "display_name": "x", "role": "institution", "organisation": "INST001"}, "username"),
        ({"username": "okname", "display_name": "a\u0000b", "role": "institution", "organisation": "INST001"},
         "display_name"),
        ({"username": "okname", "display_name": "x" * 65, "role": "institution", "organisation": "INST001"},
         "display_name"),
        ({"username": "okname", "display_name": "x", "role": "physician", "organisation": "INST001"}, "role"),
        ({"username": "okname", "display_name": "x", "role": "root", "organisation": "INST001"}, "role"),
        ({"username": "okname", "display_name": "x", "role": "institution", "organisation": "BODY01"}, "organisation"),
        ({"username": "okname", "display_name": "x", "role": "institution", "organisation": ""}, "organisation"),
        ({"username": "okname", "display_name": "x", "role": "admin", "organisation": "INST001"}, "organisation"),
        ({"username": "okname", "display_name": "x", "role": "health_admin", "organisation": "999999"}, "organisation"),
        ({"username": "okname", "display_name": "x", "role": "institution", "organisation": "I" * 33}, "organisation"),
        ({"username": "okname", "display_name": "x"}, "role"),
        ({"username": "okname", "display_name": "x", "role": "institution", "is_active": True}, "is_active"),
    ]
    for body, field in cases:
        status, answer = await create(client, **body)
        assert status == 400, (body, answer)
        assert field in answer["error"]["fields"], (body, answer)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["error"]["fields"][field]), answer
    status, answer = await client.request("POST", "/api/v1/staff-accounts", data=b"{not json",
                                          headers={"Content-Type": "application/json"})
    assert status == 400
    assert await account_named(client, "okname") is None
    assert await audit_log(client) == before
    # A display name with markup is stored as text, never interpreted.
    status, body = await create(client, username="markup", display_name="<b>张</b>", role="admin")
    assert status == 200
    assert (await account_named(client, "markup")).display_name == "<b>张</b>"


async def test_a_body_manages_its_institutions_officers_and_its_invigilators_only(client, make_client) -> None:  # type: ignore[no-untyped-def]
    body01 = await make_client()
    await body01.login_staff("body01")
    status, listing = await body01.get("/api/v1/staff-accounts?size=500")
    assert status == 200
    assert {i["username"] for i in listing["items"]} == {"inst01", "inst02", "proctor01"}
    status, options = await body01.get("/api/v1/staff-accounts/options")
    by_role = {r["role"]: [o["code"] for o in r["organisations"]] for r in options["roles"]}
    assert by_role == {"institution": ["INST001", "INST002"], "invigilator": ["BODY01"]}
    assert (await create(body01, username="inst01b", display_name="副负责人", role="institution",
                         organisation="INST001"))[0] == 200
    assert (await create(body01, username="proctor09", display_name="监考员", role="invigilator",
                         organisation="BODY01"))[0] == 200
    before = await audit_log(client)
    for body in ({"username": "x_inst3", "display_name": "越权", "role": "institution", "organisation": "INST003"},
                 {"username": "x_proc", "display_name": "越权", "role": "invigilator", "organisation": "BODY02"},
                 {"username": "x_body", "display_name": "越权", "role": "body", "organisation": "BODY01"},
                 {"username": "x_admin", "display_name": "越权", "role": "admin", "organisation": ""}):
        status, answer = await create(body01, **body)
        assert status == 403, (body, answer)
    inst03 = await account_named(client, "inst03")
    body02 = await account_named(client, "body02")
    for target in (inst03.id, body02.id):
        for path, payload in (("", {"display_name": "改名"}), ("/disable", {}), ("/reset-password", {}),
                              ("/unlock", {})):
            status, answer = await body01.post(f"/api/v1/staff-accounts/{target}{path}", payload)
            # someone else's account answers exactly as a missing one
            assert status == 404 and answer["error"]["message"] == "账户不存在", (target, path, answer)
    # Moving its own officer to another body's institution is refused too.
    inst01 = await account_named(client, "inst01")
    status, answer = await body01.post(f"/api/v1/staff-accounts/{inst01.id}",
                                       {"display_name": "滨海一院", "organisation": "INST003"})
    assert status == 403
    assert await audit_log(client) == before
    assert (await account_named(client, "inst03")).display_name == "临江中医定考负责人"
    # Physicians' accounts are never reachable here.
    async with client.app[sessionmaker_key]() as s:
        doctor = await s.scalar(select(Account.id).where(Account.physician_id.is_not(None)))
    admin = await make_client()
    await admin.login_staff("admin")
    status, _ = await admin.post(f"/api/v1/staff-accounts/{doctor}/disable")
    assert status == 404


async def test_disable_ends_sessions_and_refuses_login_until_re_enabled(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer = await make_client()
    await officer.login_staff("inst02")
    assert (await officer.get("/api/v1/me"))[0] == 200
    await client.login_staff("admin")
    target = await account_named(client, "inst02")
    status, body = await client.post(f"/api/v1/staff-accounts/{target.id}/disable")
    assert status == 200 and body["is_active"] is False
    assert (await officer.get("/api/v1/me"))[0] == 401
    again = await make_client()
    status, _ = await again.post("/api/v1/auth/login", {"kind": "staff", "login": "inst02", "password": "Dingkao2026"})
    assert status == 401
    status, body = await client.post(f"/api/v1/staff-accounts/{target.id}/enable")
    assert status == 200 and body["is_active"] is True
    await again.login_staff("inst02")
    me = await account_named(client, "admin")
    status, body = await client.post(f"/api/v1/staff-accounts/{me.id}/disable")
    assert status == 400 and body["error"]["message"] == "不能停用自己的账户"
    actions = [(a, e) for a, e, _ in await audit_log(client)]
    assert ("disable_account", str(target.id)) in actions and ("enable_account", str(target.id)) in actions


async def test_the_last_active_admin_cannot_be_disabled(client, make_client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    status, body = await create(client, username="admin2", display_name="第二管理员", role="admin")
    second = await make_client()
    await first_login(second, "admin2", body["one_time_password"], client.app[sms_key].outbox)
    first = await account_named(client, "admin")
    status, body = await second.post(f"/api/v1/staff-accounts/{first.id}/disable")
    assert status == 200
    me = await account_named(client, "admin2")
    status, body = await second.post(f"/api/v1/staff-accounts/{me.id}/disable")
    assert status == 400


async def test_reset_gives_a_new_one_time_password_and_unlock_lifts_a_lock(client, make_client) -> None:  # type: ignore[no-untyped-def]
    intruder = await make_client()
    for _ in range(5):
        await intruder.post("/api/v1/auth/login", {"kind": "staff", "login": "proctor01", "password": "wrong"})
    status, body = await intruder.post("/api/v1/auth/login", {"kind": "staff", "login": "proctor01",
                                                              "password": "Dingkao2026"})
    assert status == 429
    body01 = await make_client()
    await body01.login_staff("body01")
    status, listing = await body01.get("/api/v1/staff-accounts?role=invigilator")
    row = listing["items"][0]
    assert row["username"] == "proctor01" and row["locked"] is True
    status, body = await body01.post(f"/api/v1/staff-accounts/{row['id']}/unlock")
    assert status == 200
    status, body = await body01.post(f"/api/v1/staff-accounts/{row['id']}/reset-password")
    assert status == 200
    one_time = body["one_time_password"]
    person = await make_client()
    status, _ = await person.post("/api/v1/auth/login", {"kind": "staff", "login": "proctor01",
                                                         "password": "Dingkao2026"})
    assert status == 401
    status, body = await person.post("/api/v1/auth/login", {"kind": "staff", "login": "proctor01",
                                                            "password": one_time})
    assert status == 200 and body["next"] == "/password"
    actions = [a for a, *_ in await audit_log(client)]
    assert "unlock_account" in actions and "reset_password" in actions


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode("utf-8-sig")


def _xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    for r in rows:
        book.active.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(api: Api, data: bytes, name: str) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    return await api.request("POST", "/api/v1/admin/staff-accounts/import", data=form)


HEADER = ["用户名", "姓名", "角色", "所属单位编码"]


async def test_import_is_all_or_nothing_with_every_problem_by_row_and_column(client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    before = await audit_log(client)
    bad = [HEADER,
           ["imp01", "导入一", "医疗卫生机构", "INST001"],
           ["imp01", "重复", "监考员", "BODY01"],
           ["x", "短用户名", "考核机构", "BODY01"],
           ["imp04", "", "卫生健康行政部门", "120101"],
           ["imp05", "角色错", "医师", "INST001"],
           ["imp06", "单位错", "医疗卫生机构", "NOPE"],
           ["inst01", "已存在", "医疗卫生机构", "INST001"]]
    status, body = await upload(client, _csv(bad), "accounts.csv")
    assert status == 400, body
    problems = {(p["row"], p["column"]) for p in body["error"]["problems"]}
    assert problems == {(3, "用户名"), (4, "用户名"), (5, "姓名"), (6, "角色"), (7, "所属单位编码"), (8, "用户名")}
    assert "第 3 行" in body["error"]["message"]
    assert await account_named(client, "imp01") is None
    assert await audit_log(client) == before
    good = [HEADER, ["imp01", "导入一", "医疗卫生机构", "INST001"], ["imp02", "导入二", "监考员", "BODY02"],
            ["imp03", "导入三", "系统管理员", ""], ["imp04", "导入四", "health_admin", "120101"]]
    status, body = await upload(client, _xlsx(good), "accounts.xlsx")
    assert status == 200 and body["created"] == 4, body
    assert {i["username"] for i in body["items"]} == {"imp01", "imp02", "imp03", "imp04"}
    assert all(len(i["one_time_password"]) == 12 for i in body["items"])
    assert (await account_named(client, "imp02")).must_change_password
    # Importing the same file again creates nothing: every username is taken.
    status, body = await upload(client, _xlsx(good), "accounts.xlsx")
    assert status == 400 and len(body["error"]["problems"]) == 4
    # Damaged or foreign files get one clear line.
    for data, name in ((b"\x00\x01garbage", "a.csv"), (b"PK\x03\x04broken", "a.xlsx"), (b"", "a.csv"),
                       (_csv([["a", "b"], ["1", "2"]]), "a.csv"), (b"%PDF-1.4", "a.pdf"), (_csv([HEADER]), "a.csv")):
        status, body = await upload(client, data, name)
        assert status == 400 and body["error"]["message"], (name, body)
    status, body = await upload(client, b"a" * (5 * 1024 * 1024 + 1), "big.csv")
    assert status == 413 and "5 MB" in body["error"]["message"]
    assert await audit_log(client) == before + [a for a in await audit_log(client) if a[0] == "create_account"]


async def test_the_institution_officer_sees_unlocks_and_resets_its_own_physicians_accounts(client, make_client) -> None:  # type: ignore[no-untyped-def]
    doctor = await make_client()
    for _ in range(5):
        await doctor.post("/api/v1/auth/login", {"kind": "physician", "login": physician_login(1), "password": "bad"})
    await client.login_staff("inst01")
    status, body = await client.get("/api/v1/physician-accounts")
    assert status == 200 and body["total"] == 4
    rows = {i["name"]: i for i in body["items"]}
    assert set(rows) == {"张晓明", "李欣欣", "王建国", "赵丽"}
    assert rows["李欣欣"]["locked"] is True and rows["张晓明"]["locked"] is False
    assert "id_number" not in rows["李欣欣"] and "*" in rows["李欣欣"]["id_number_masked"]
    status, body = await client.post(f"/api/v1/physicians/{rows['李欣欣']['physician_id']}/unlock")
    assert status == 200
    await doctor.login_physician(1)
    # Another institution can neither see nor unlock them.
    other = await make_client()
    await other.login_staff("inst02")
    status, body = await other.get("/api/v1/physician-accounts?q=李欣欣")
    assert status == 200 and body["total"] == 0
    status, body = await other.post(f"/api/v1/physicians/{rows['李欣欣']['physician_id']}/unlock")
    assert status == 404  # exactly as a missing one
    status, body = await other.post("/api/v1/physicians/99999999/unlock")
    assert status == 404
    assert [a for a, *_ in await audit_log(client)].count("unlock_account") == 1


async def test_the_admin_creates_a_cycle_and_makes_it_current_and_registration_follows(client, make_client) -> None:  # type: ignore[no-untyped-def]
    officer = await make_client()
    await officer.login_staff("inst01")
    await open_for(officer, "张晓明")
    await client.login_staff("admin")
    status, body = await client.get("/api/v1/admin/cycles")
    old = body["items"][0]
    assert status == 200 and old["is_current"] and old["registrations"] == 1
    start = int(old["ends_on"][:4]) + 1
    bad = [({"name": "重叠", "starts_on": old["ends_on"], "ends_on": f"{start + 2}-12-31"}, "starts_on"),
           ({"name": "倒序", "starts_on": f"{start}-12-31", "ends_on": f"{start}-01-01"}, "ends_on"),
           ({"name": "过长", "starts_on": f"{start}-01-01", "ends_on": f"{start + 9}-01-01"}, "ends_on"),
           ({"name": old["name"], "starts_on": f"{start}-01-01", "ends_on": f"{start + 2}-12-31"}, "name"),
           ({"name": "坏日期", "starts_on": "2027-02-30", "ends_on": f"{start + 2}-12-31"}, "starts_on"),
           ({"name": "", "starts_on": f"{start}-01-01", "ends_on": f"{start + 2}-12-31"}, "name")]
    for payload, field in bad:
        status, answer = await client.post("/api/v1/admin/cycles", payload)
        assert status == 400 and field in answer["error"]["fields"], (payload, answer)
    status, body = await client.post("/api/v1/admin/cycles", {"name": f"{start}—{start + 2} 年度",
                                                              "starts_on": f"{start}-01-01",
                                                              "ends_on": f"{start + 2}-12-31"})
    assert status == 200 and body["is_current"] is False
    new_id = body["id"]
    status, body = await client.post(f"/api/v1/admin/cycles/{new_id}/current")
    assert status == 200
    async with client.app[sessionmaker_key]() as s:
        current = (await s.scalars(select(Cycle).where(Cycle.is_current.is_(True)))).all()
    assert [c.id for c in current] == [new_id]
    # Everything that looks at "the current cycle" now sees the new, empty one.
    status, body = await officer.get("/api/v1/physicians?q=张晓明")
    assert body["items"][0]["state"] == "NOT_OPENED"
    status, body = await officer.get("/api/v1/institutions")
    assert body["cycle"].startswith(str(start))
    await open_for(officer, "张晓明")
    status, page, _ = await officer.page("/")
    assert status == 200 and f"{start}—{start + 2}" in page
    status, body = await client.post("/api/v1/admin/cycles/99999/current")
    assert status == 404
    actions = [a for a, *_ in await audit_log(client)]
    assert "create_cycle" in actions and "make_cycle_current" in actions


async def test_code_tables_are_extended_and_the_registration_form_accepts_the_additions(client, make_client) -> None:  # type: ignore[no-untyped-def]
    await client.login_staff("admin")
    for payload in ({"table": "title", "value": "主任技师"},
                    {"table": "practice_scope", "parent": "临床", "value": "疼痛科"},
                    {"table": "practice_category", "value": "民族医"}):
        status, body = await client.post("/api/v1/admin/code-tables", payload)
        assert status == 200, (payload, body)
    for payload, field in (({"table": "title", "value": "主治医师"}, "value"),
                           ({"table": "practice_scope", "parent": "不存在", "value": "x"}, "parent"),
                           ({"table": "nope", "value": "x"}, "table"),
                           ({"table": "title", "value": "  "}, "value"),
                           ({"table": "practice_category", "value": "类" * 17}, "value"),
                           ({"table": "title", "value": "a\u0007b"}, "value")):
        status, body = await client.post("/api/v1/admin/code-tables", payload)
        assert status == 400 and field in body["error"]["fields"], (payload, body)
    status, tables = await client.get("/api/v1/admin/code-tables")
    assert "主任技师" in tables["titles"] and "疼痛科" in tables["scopes"]["临床"] and "民族医" in tables["scopes"]
    status, page, _ = await client.page("/admin/codes")
    assert status == 200 and "疼痛科" in page and "主任技师" in page

    officer = await make_client()
    await officer.login_staff("inst01")
    await open_for(officer, "张晓明")
    depts = await department_ids(officer)
    doctor = await make_client()
    await doctor.ready_physician(0, client.app[sms_key].outbox)
    data = step_data(depts, photo_id=None)["practice"]
    data.update(title="主任技师", practice_scope="疼痛科")
    status, body = await doctor.post("/api/v1/registration/steps/practice", {"data": data, "complete": True})
    assert status == 200, body
    status, page, _ = await doctor.page("/register/practice")
    assert "疼痛科" in page and "主任技师" in page
    # A retired addition is no longer offered or accepted; the record keeps what it has.
    entry = next(e for e in tables["added"] if e["value"] == "主任技师")
    status, body = await client.post(f"/api/v1/admin/code-tables/{entry['id']}/active", {"active": False})
    assert status == 200
    status, body = await doctor.post("/api/v1/registration/steps/practice", {"data": data, "complete": True})
    assert status == 400 and "title" in body["error"]["fields"]
    actions = [a for a, *_ in await audit_log(client)]
    assert actions.count("add_code") == 3 and "retire_code" in actions


async def test_staff_administration_pages_render_for_their_roles(client, make_client) -> None:  # type: ignore[no-untyped-def]
    for username, path in (("admin", "/admin/accounts"), ("body01", "/admin/accounts"), ("admin", "/admin/cycles"),
                           ("admin", "/admin/codes"), ("inst01", "/institution/accounts")):
        api = await make_client()
        await api.login_staff(username)
        status, page, _ = await api.page(path)
        assert status == 200, (username, path)
    for username, path in (("inst01", "/admin/accounts"), ("body01", "/admin/cycles"), ("health01", "/admin/codes"),
                           ("admin", "/institution/accounts")):
        api = await make_client()
        await api.login_staff(username)
        status, page, _ = await api.page(path)
        assert status == 403, (username, path)
