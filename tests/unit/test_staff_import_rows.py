"""The staff import's row checks (pure): every problem by row and column, and thousands of damaged files."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st

from registry.errors import InvalidInput
from registry.models import AssessmentBody, Institution, Region
from registry.staff_accounts import IMPORT_COLUMNS, Organisations, check_import_rows, one_time_password
from registry.passwords import password_problem
from registry.tabular import read_table

ORGS = Organisations([Institution(id=1, code="INST001", name="一院", region_id=1, body_id=1)],
                     [AssessmentBody(id=1, code="BODY01", name="中心", region_id=1)],
                     [Region(id=1, code="120101", name="和平区")])
GOOD = "用户名,姓名,角色,所属单位编码\nimp01,导入一,医疗卫生机构,INST001\nimp02,导入二,监考员,BODY01\nimp03,导入三,系统管理员,\n"


def _check(data: bytes, name: str = "a.csv"):  # type: ignore[no-untyped-def]
    rows = read_table(name, data, required=IMPORT_COLUMNS)
    return check_import_rows(rows, ORGS, {"inst01"})


def test_a_good_file_plans_every_account_bound_to_its_organisation() -> None:
    planned, problems = _check(GOOD.encode())
    assert problems == []
    assert [(p.username, p.role.value, p.organisation.code if p.organisation else None) for p in planned] == [
        ("imp01", "institution", "INST001"), ("imp02", "invigilator", "BODY01"), ("imp03", "admin", None)]


def test_every_problem_is_named_by_row_and_column() -> None:
    text = ("用户名,姓名,角色,所属单位编码\n"
            "Inst01,重名,医疗卫生机构,INST001\n"      # taken (case-insensitively)
            "ok1,,考核机构,BODY01\n"                  # no name
            "ok2,名,校长,BODY01\n"                    # unknown role
            "ok3,名,卫生健康行政部门,\n"              # no region
            "ok4,名,系统管理员,INST001\n"             # admin bound to something
            "ok4,名,监考员,BODY01\n")                 # duplicate username
    planned, problems = _check(text.encode())
    assert {(p.row, p.column) for p in problems} == {(2, "用户名"), (3, "姓名"), (4, "角色"), (5, "所属单位编码"),
                                                     (6, "所属单位编码"), (7, "用户名")}
    assert all(str(p).startswith(f"第 {p.row} 行") for p in problems)


def test_one_time_passwords_meet_the_password_rules_and_differ() -> None:
    seen = {one_time_password() for _ in range(500)}
    assert len(seen) == 500
    assert all(password_problem(p, id_number=None, initial_password="666666") is None for p in seen)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_files_give_row_problems_or_one_clear_error_never_a_crash(data: st.DataObject) -> None:
    raw = bytearray(GOOD.encode("utf-8"))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    for _ in range(data.draw(st.integers(1, 8))):
        op = rng.choice(("flip", "insert", "delete", "dup"))
        pos = rng.randrange(len(raw) or 1)
        if op == "flip" and raw:
            raw[pos] = rng.randrange(256)
        elif op == "insert":
            raw[pos:pos] = rng.choice([b",", b"\n", b"\"", b"\x00", "\u202e".encode(), b"x" * 100, "角".encode()])
        elif op == "delete" and raw:
            del raw[pos:pos + rng.randrange(1, 8)]
        elif op == "dup":
            raw += raw[pos:pos + 60]
    try:
        planned, problems = _check(bytes(raw))
    except InvalidInput as exc:
        assert exc.message
        return
    for p in problems:
        assert p.row >= 2 and p.column in ("用户名", "姓名", "角色", "所属单位编码") and p.reason
    for plan in planned:
        assert 3 <= len(plan.username) <= 32 and plan.display_name.strip()
