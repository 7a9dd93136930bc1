"""Importing institutions and physicians' master data (CSV in UTF-8 with BOM or GB18030, XLSX).

Re-importing a file changes nothing; one bad row is reported with its row number, column and reason,
and then nothing at all is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exam_server.demo.seed import demo_id_number
from registry import master_data
from registry.db import make_engine, make_sessionmaker
from registry.errors import InvalidInput
from registry.master_data import ImportRejected, RowProblem
from registry.models import Account, AssessmentBody, AuditLog, Institution, Physician, Region
from registry.passwords import verify_password

from ..conftest import PG_SERVER, REPO, _pg_admin
from ..server_env import clean_env

INSTITUTION_HEADER = list(master_data.INSTITUTION_COLUMNS)
INSTITUTIONS = [
    ["INST001", "滨海市第一人民医院", "120101", "滨海市和平区", "BODY01", "滨海市医师定期考核中心"],
    ["INST002", "滨海市口腔医院", "120101", "滨海市和平区", "BODY01", "滨海市医师定期考核中心"],
    ["INST003", "临江县中医医院", "120225", "滨海市临江县", "BODY02", "临江县医师定期考核办公室"],
]
PHYSICIAN_HEADER = list(master_data.PHYSICIAN_COLUMNS) + ["执业范围", "首次执业日期"]
ID_A = demo_id_number("120101", dt.date(1980, 5, 17), 211)  # 17th digit 1: male
ID_B = demo_id_number("120225", dt.date(1991, 12, 1), 122)  # 17th digit 2: female
ID_C = demo_id_number("120101", dt.date(1976, 2, 29), 57)
ID_X = next(demo_id_number("120101", dt.date(1988, 8, 8), s) for s in range(1, 999)
            if demo_id_number("120101", dt.date(1988, 8, 8), s).endswith("X"))


def physician(name: str, number: str, inst: str = "INST001", category: str = "临床", scope: str = "内科",
              start: str = "2010-07-01", id_type: str = "居民身份证") -> list[str]:
    return [name, id_type, number, "Q" + number[-10:].upper(), "P" + number[-12:].upper(), inst, category, scope, start]


GOOD = [
    physician("王一", ID_A),
    physician("李二", ID_B, "INST002", "口腔", "口腔", "2015-03-01"),
    physician("赵三", ID_C, "INST003", "中医", "中西医结合", ""),
]


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def import_institutions(sm: async_sessionmaker[AsyncSession], name: str, data: bytes) -> master_data.ImportReport:
    async with sm() as s, s.begin():  # as the CLI does: one transaction, rolled back on any error
        return await master_data.import_institutions(s, name, data, actor_id=None)


async def import_physicians(sm: async_sessionmaker[AsyncSession], name: str, data: bytes) -> master_data.ImportReport:
    async with sm() as s, s.begin():
        return await master_data.import_physicians(s, name, data, actor_id=None, initial_password="666666")


async def stored(sm: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Every data row (audit log counted apart) to show what an import did or did not change."""
    out: dict[str, Any] = {}
    async with sm() as s:
        for model in (Region, AssessmentBody, Institution, Physician, Account):
            table = model.__table__
            out[table.name] = sorted(repr(tuple(r)) for r in (await s.execute(select(table))).all())
        out["audit"] = await s.scalar(select(func.count()).select_from(AuditLog))
    return out


async def count(sm: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def with_institutions(sm: async_sessionmaker[AsyncSession]) -> None:
    report = await import_institutions(sm, "institutions.csv", csv_bytes(INSTITUTION_HEADER, INSTITUTIONS))
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)


# ---- institutions ----

@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
async def test_institutions_import_and_reimport_changes_nothing(sessions, encoding: str) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes(INSTITUTION_HEADER, INSTITUTIONS, encoding)
    report = await import_institutions(sessions, "institutions.csv", data)
    assert (report.created, report.updated, report.unchanged, report.problems) == (3, 0, 0, [])
    first = await stored(sessions)
    assert len(first["regions"]) == 2 and len(first["assessment_bodies"]) == 2
    async with sessions() as s:
        inst = await s.scalar(select(Institution).where(Institution.code == "INST003"))
        assert (inst.name, inst.region.code, inst.region.name, inst.body.code) == (
            "临江县中医医院", "120225", "滨海市临江县", "BODY02")
    report = await import_institutions(sessions, "institutions.csv", data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    again = await stored(sessions)
    assert {k: v for k, v in again.items() if k != "audit"} == {k: v for k, v in first.items() if k != "audit"}


async def test_the_same_institutions_in_gb18030_xlsx_and_utf8_are_the_same_data(sessions) -> None:  # type: ignore[no-untyped-def]
    await import_institutions(sessions, "a.csv", csv_bytes(INSTITUTION_HEADER, INSTITUTIONS, "gb18030"))
    first = await stored(sessions)
    for name, data in [("b.csv", csv_bytes(INSTITUTION_HEADER, INSTITUTIONS, "utf-8-sig")),
                       ("c.xlsx", xlsx_bytes(INSTITUTION_HEADER, INSTITUTIONS))]:
        report = await import_institutions(sessions, name, data)
        assert (report.created, report.updated, report.unchanged) == (0, 0, 3), name
    assert (await stored(sessions))["institutions"] == first["institutions"]


async def test_a_renamed_institution_is_updated(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [list(r) for r in INSTITUTIONS]
    rows[1][1] = "滨海市口腔医院（总院）"
    report = await import_institutions(sessions, "i.csv", csv_bytes(INSTITUTION_HEADER, rows))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    async with sessions() as s:
        assert await s.scalar(select(Institution.name).where(Institution.code == "INST002")) == "滨海市口腔医院（总院）"


@pytest.mark.parametrize("change, column, reason", [
    ({1: ""}, "机构名称", "不能为空"),
    ({0: ""}, "机构编码", "不能为空"),
    ({0: "I" * 33}, "机构编码", "超过 32 个字符"),
    ({1: "院" * 129}, "机构名称", "超过 128 个字符"),
    ({0: "INST001"}, "机构编码", "与第 2 行重复"),
])
async def test_a_bad_institution_row_is_reported_and_nothing_is_written(
        sessions, change: dict[int, str], column: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    rows = [list(r) for r in INSTITUTIONS]
    for index, value in change.items():
        rows[1][index] = value  # the second data row: spreadsheet row 3
    before = await stored(sessions)
    with pytest.raises(ImportRejected) as info:
        await import_institutions(sessions, "i.csv", csv_bytes(INSTITUTION_HEADER, rows))
    assert RowProblem(3, column, reason) in info.value.problems
    assert f"第 3 行，{column}：{reason}" in info.value.message
    assert "未导入任何数据" in info.value.message
    assert await stored(sessions) == before


OVERSIZED_INSTITUTION_CELLS = [
    (2, "1" * 13, "地区编码"),
    (3, "区" * 65, "地区名称"),
    (4, "B" * 33, "考核机构编码"),
    (5, "考" * 129, "考核机构名称"),
]


@pytest.mark.parametrize("index, value, column", OVERSIZED_INSTITUTION_CELLS, ids=[c[2] for c in OVERSIZED_INSTITUTION_CELLS])
async def test_an_oversized_region_or_body_cell_is_a_row_problem(sessions, index: int, value: str, column: str) -> None:  # type: ignore[no-untyped-def]
    rows = [list(r) for r in INSTITUTIONS]
    rows[2][index] = value  # row 4 brings a new region and a new body, so the values would be stored
    before = await stored(sessions)
    with pytest.raises(ImportRejected) as info:
        await import_institutions(sessions, "i.csv", csv_bytes(INSTITUTION_HEADER, rows))
    assert [(p.row, p.column) for p in info.value.problems] == [(4, column)]
    assert await stored(sessions) == before


# ---- physicians ----

@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
async def test_physicians_import_from_csv_and_reimport_changes_nothing(sessions, encoding: str) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    data = csv_bytes(PHYSICIAN_HEADER, GOOD, encoding)
    report = await import_physicians(sessions, "physicians.csv", data)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    async with sessions() as s:
        a = await s.scalar(select(Physician).where(Physician.id_number == ID_A))
        assert (a.name, a.id_type, a.gender, a.birth_date, a.practice_category, a.practice_scope,
                a.practice_start_date, a.institution.code) == (
            "王一", "居民身份证", "男", dt.date(1980, 5, 17), "临床", "内科", dt.date(2010, 7, 1), "INST001")
        b = await s.scalar(select(Physician).where(Physician.id_number == ID_B))
        assert (b.gender, b.birth_date, b.practice_scope) == ("女", dt.date(1991, 12, 1), "口腔")
        c = await s.scalar(select(Physician).where(Physician.id_number == ID_C))
        assert c.practice_start_date is None
        accounts = (await s.scalars(select(Account))).all()
        assert len(accounts) == 3
        for acc in accounts:
            assert acc.role == "physician" and acc.must_change_password and acc.phone_verified_at is None
            assert acc.username is None and verify_password(acc.password_hash, "666666")
    first = await stored(sessions)
    report = await import_physicians(sessions, "physicians.csv", data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    again = await stored(sessions)
    assert again["physicians"] == first["physicians"] and again["accounts"] == first["accounts"]


async def test_physicians_import_from_xlsx_and_reimport_changes_nothing(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows: list[list[Any]] = [list(r) for r in GOOD]
    rows[0][8] = dt.datetime(2010, 7, 1)  # a real date cell, as Excel keeps it
    rows[1][3] = 2015000001  # a certificate number typed as a number
    rows.insert(1, [None] * len(PHYSICIAN_HEADER))  # a blank line in the sheet
    data = xlsx_bytes(PHYSICIAN_HEADER, rows)
    report = await import_physicians(sessions, "医师名单.xlsx", data)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    async with sessions() as s:
        a = await s.scalar(select(Physician).where(Physician.id_number == ID_A))
        b = await s.scalar(select(Physician).where(Physician.id_number == ID_B))
        assert a.practice_start_date == dt.date(2010, 7, 1)
        assert b.qualification_cert_no == "2015000001"
    first = await stored(sessions)
    report = await import_physicians(sessions, "医师名单.xlsx", data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    # The same data from a CSV is the same data.
    report = await import_physicians(sessions, "医师名单.csv", csv_bytes(PHYSICIAN_HEADER, [
        r[:3] + ["2015000001" if i == 1 else r[3]] + r[4:8] + ["2010-07-01" if i == 0 else r[8]]
        for i, r in enumerate(GOOD)]))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    again = await stored(sessions)
    assert again["physicians"] == first["physicians"] and again["accounts"] == first["accounts"]


async def test_reimport_keeps_passwords_and_phone_bindings(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    data = csv_bytes(PHYSICIAN_HEADER, GOOD)
    await import_physicians(sessions, "p.csv", data)
    async with sessions() as s, s.begin():
        acc = await s.scalar(select(Account).join(Physician, Account.physician_id == Physician.id)
                             .where(Physician.id_number == ID_A))
        acc.password_hash, acc.must_change_password, acc.phone = "kept-hash", False, "13900000000"
    await import_physicians(sessions, "p.csv", data)
    async with sessions() as s:
        acc = await s.scalar(select(Account).join(Physician, Account.physician_id == Physician.id)
                             .where(Physician.id_number == ID_A))
        assert (acc.password_hash, acc.must_change_password, acc.phone) == ("kept-hash", False, "13900000000")


async def test_lower_case_x_and_the_short_id_type_are_normalised(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [physician("钱四", ID_X.lower(), id_type="身份证")]
    report = await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    assert report.created == 1
    async with sessions() as s:
        p = await s.scalar(select(Physician))
        assert (p.id_number, p.id_type) == (ID_X, "居民身份证")
    report = await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, [physician("钱四", ID_X)]))
    assert (report.created, report.unchanged) == (0, 1)


async def test_a_corrected_row_updates_the_physician(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, GOOD))
    rows = [list(r) for r in GOOD]
    rows[0][7] = "外科"
    report = await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    async with sessions() as s:
        assert await s.scalar(select(Physician.practice_scope).where(Physician.id_number == ID_A)) == "外科"
        assert await count(sessions, Account) == 3


async def test_a_corrected_name_reaches_the_account_shown_in_the_top_bar(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, GOOD))
    rows = [list(r) for r in GOOD]
    rows[0][0] = "王一鸣"
    await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    async with sessions() as s:
        acc = await s.scalar(select(Account).join(Physician, Account.physician_id == Physician.id)
                             .where(Physician.id_number == ID_A))
        assert (acc.physician.name, acc.display_name) == ("王一鸣", "王一鸣")


def bad_check_digit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


BAD_ROWS = [
    # (what the second data row becomes, column, reason)
    ("bad check digit", lambda r: r.__setitem__(2, bad_check_digit(ID_B)), "证件号码", "居民身份证号码校验位不正确"),
    ("bad birth date", lambda r: r.__setitem__(2, ID_B[:10] + "1301" + ID_B[14:]), "证件号码", "出生日期无效"),
    ("17 digits", lambda r: r.__setitem__(2, ID_B[:17]), "证件号码", "应为 18 位"),
    ("unknown category", lambda r: r.__setitem__(6, "西医"), "执业类别", "“西医”不是有效的执业类别"),
    ("scope not in category", lambda r: r.__setitem__(7, "内科"), "执业范围", "“内科”不属于执业类别“口腔”"),
    ("unknown institution", lambda r: r.__setitem__(5, "INST999"), "机构编码", "机构“INST999”不存在，请先导入机构"),
    ("duplicate ID number", lambda r: r.__setitem__(2, ID_A), "证件号码", "与第 2 行重复"),
    ("empty name", lambda r: r.__setitem__(0, ""), "姓名", "不能为空"),
    ("empty category", lambda r: r.__setitem__(6, ""), "执业类别", "不能为空"),
    ("oversized name", lambda r: r.__setitem__(0, "名" * 65), "姓名", "超过 64 个字符"),
    ("oversized certificate", lambda r: r.__setitem__(3, "Q" * 33), "资格证书编号", "超过 32 个字符"),
    ("unknown ID type", lambda r: r.__setitem__(1, "驾驶证"), "证件类型", "“驾驶证”不是有效的证件类型"),
    ("passport with spaces", lambda r: (r.__setitem__(1, "护照"), r.__setitem__(2, "E 12")), "证件号码", "应为 4-32 位字母或数字"),
    ("bad date", lambda r: r.__setitem__(8, "2015-13-01"), "首次执业日期", "日期格式应为 YYYY-MM-DD"),
    ("future date", lambda r: r.__setitem__(8, (dt.date.today() + dt.timedelta(days=3)).isoformat()), "首次执业日期",
     "不晚于今天"),
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("what, spoil, column, reason", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
async def test_a_bad_physician_row_is_reported_and_nothing_is_written(sessions, fmt: str, what: str, spoil: Any,
                                                                      column: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [list(r) for r in GOOD]
    spoil(rows[1])
    data = csv_bytes(PHYSICIAN_HEADER, rows) if fmt == "csv" else xlsx_bytes(PHYSICIAN_HEADER, rows)
    before = await stored(sessions)
    with pytest.raises(ImportRejected) as info:
        await import_physicians(sessions, f"p.{fmt}", data)
    problems = info.value.problems
    assert [(p.row, p.column) for p in problems] == [(3, column)], problems
    assert reason in problems[0].reason
    assert f"第 3 行，{column}：" in info.value.message and "未导入任何数据" in info.value.message
    assert await stored(sessions) == before  # the good rows 2 and 4 were not written either


async def test_every_problem_is_reported_in_row_order(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [list(r) for r in GOOD] + [physician("孙五", ID_X, "INST404"), physician("周六", bad_check_digit(ID_X))]
    rows[1][6] = "兽医"
    rows.insert(2, [""] * len(PHYSICIAN_HEADER))  # a blank line keeps the numbering of the sheet
    before = await stored(sessions)
    with pytest.raises(ImportRejected) as info:
        await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    assert [(p.row, p.column) for p in info.value.problems] == [(3, "执业类别"), (6, "机构编码"), (7, "证件号码")]
    assert "共 3 处问题" in info.value.message
    assert await stored(sessions) == before


async def test_a_row_in_an_existing_physicians_import_does_not_half_apply(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, GOOD[:1]))
    before = await stored(sessions)
    rows = [list(r) for r in GOOD]
    rows[0][7] = "外科"  # an update to an existing physician ...
    rows[2][6] = "兽医"  # ... in a file with one bad row
    with pytest.raises(ImportRejected):
        await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    assert await stored(sessions) == before


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"/>')
        z.writestr("word/document.xml", "<w:document xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/"
                   "2006/main'><w:body><w:p><w:r><w:t>姓名</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()


FILE_PROBLEMS = [
    ("missing column", "p.csv", csv_bytes([c for c in PHYSICIAN_HEADER if c != "执业类别"], [r[:6] + r[7:] for r in GOOD]),
     "缺少列：执业类别"),
    ("missing columns xlsx", "p.xlsx", xlsx_bytes(["姓名", "证件号码"], [["王一", ID_A]]),
     "缺少列：证件类型、资格证书编号、执业证书编号、机构编码、执业类别"),
    ("empty csv", "p.csv", b"", "文件为空"),
    ("BOM only", "p.csv", b"\xef\xbb\xbf", "文件为空"),
    ("empty xlsx", "p.xlsx", xlsx_bytes([], []), "文件为空"),
    ("a Word document", "名单.docx", docx_bytes(), "XLSX 文件无法读取，请确认文件未损坏"),
    ("a Word document named .xlsx", "名单.xlsx", docx_bytes(), "XLSX 文件无法读取，请确认文件未损坏"),
    ("garbage named .xlsx", "p.xlsx", os.urandom(2048), "XLSX 文件无法读取，请确认文件未损坏"),
    ("binary garbage named .csv", "p.csv", bytes(range(256)) * 8, "文件编码无法识别"),
    ("a PDF", "p.pdf", b"%PDF-1.4\n", "不支持的文件类型“.pdf”"),
]


@pytest.mark.parametrize("what, name, data, message", FILE_PROBLEMS, ids=[f[0] for f in FILE_PROBLEMS])
async def test_an_unusable_file_is_refused_with_a_clear_message(sessions, what: str, name: str, data: bytes,
                                                                message: str) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    before = await stored(sessions)
    with pytest.raises(InvalidInput) as info:
        await import_physicians(sessions, name, data)
    assert message in info.value.message
    assert await stored(sessions) == before


async def test_a_huge_csv_cell_is_refused_as_invalid_input(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [list(r) for r in GOOD]
    rows[1][0] = "名" * 200_000
    before = await stored(sessions)
    with pytest.raises(InvalidInput):
        await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    assert await stored(sessions) == before


async def test_a_huge_xlsx_cell_is_a_row_problem(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [list(r) for r in GOOD]
    rows[1][0] = "名" * 32_000  # near Excel's own cell limit
    before = await stored(sessions)
    with pytest.raises(ImportRejected) as info:
        await import_physicians(sessions, "p.xlsx", xlsx_bytes(PHYSICIAN_HEADER, rows))
    assert [(p.row, p.column, p.reason) for p in info.value.problems] == [(3, "姓名", "超过 64 个字符")]
    assert await stored(sessions) == before


async def test_a_long_file_name_does_not_break_the_import(sessions) -> None:  # type: ignore[no-untyped-def]
    name = "滨海市医师电子化注册系统导出" * 5 + ".csv"
    report = await import_institutions(sessions, name, csv_bytes(INSTITUTION_HEADER, INSTITUTIONS))
    assert report.created == 3
    async with sessions() as s:
        entity_ids = (await s.scalars(select(AuditLog.entity_id))).all()
    # SQLite does not enforce column lengths, so check what PostgreSQL would refuse.
    assert len(entity_ids) == 1 and 0 < len(entity_ids[0]) <= AuditLog.__table__.c.entity_id.type.length


# ---- the CLI, end to end ----

DINGKAO = REPO / ".venv" / "bin" / "dingkao"


def run_cli(args: list[str], database_url: str, var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    env.update(DATABASE_URL=database_url, DINGKAO_VAR_DIR=str(var_dir))
    return subprocess.run([str(DINGKAO), *args], env=env, capture_output=True, text=True, timeout=120, cwd=var_dir)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite3'}"
        return
    import asyncio

    name = f"dkcli_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_SERVER.replace('+asyncpg', '')}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def cli_counts(database_url: str) -> tuple[int, int, int]:
    import asyncio

    from exam_server.settings import load_settings

    url = load_settings({"DATABASE_URL": database_url}, demo=True).database_url

    async def counts() -> tuple[int, int, int]:
        engine = make_engine(url)
        try:
            sm = make_sessionmaker(engine)
            return (await count(sm, Institution), await count(sm, Physician), await count(sm, Account))
        finally:
            await engine.dispose()

    return asyncio.run(counts())


def test_cli_imports_end_to_end(fresh_database: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    full = fresh_database.startswith("sqlite")  # the whole story once; the database-specific part on both
    if full:
        proc = run_cli(["migrate"], fresh_database, work)
        assert proc.returncode == 0, proc.stderr
    else:
        import asyncio

        from exam_server.infra.migrate import upgrade

        asyncio.run(upgrade(fresh_database.replace("postgresql://", "postgresql+asyncpg://")))
    (work / "机构.csv").write_bytes(csv_bytes(INSTITUTION_HEADER, INSTITUTIONS, "gb18030"))
    proc = run_cli(["import-institutions", str(work / "机构.csv")], fresh_database, work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "导入完成：新增 3，更新 0，未变 0"

    bad = [list(r) for r in GOOD]
    bad[1][2] = bad_check_digit(ID_B)
    bad[2][5] = "INST999"
    (work / "bad.csv").write_bytes(csv_bytes(PHYSICIAN_HEADER, bad))
    proc = run_cli(["import-physicians", str(work / "bad.csv")], fresh_database, work)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "导入失败，未导入任何数据（共 2 处问题）：",
        "  第 3 行，证件号码：居民身份证号码校验位不正确",
        "  第 4 行，机构编码：机构“INST999”不存在，请先导入机构",
    ]
    assert proc.stdout == ""
    assert cli_counts(fresh_database) == (3, 0, 0)

    (work / "good.xlsx").write_bytes(xlsx_bytes(PHYSICIAN_HEADER, GOOD))
    proc = run_cli(["import-physicians", str(work / "good.xlsx")], fresh_database, work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "导入完成：新增 3，更新 0，未变 0"
    assert cli_counts(fresh_database) == (3, 3, 3)
    if not full:
        return

    (work / "名单.docx").write_bytes(docx_bytes())
    proc = run_cli(["import-physicians", str(work / "名单.docx")], fresh_database, work)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "导入失败：XLSX 文件无法读取，请确认文件未损坏"

    proc = run_cli(["import-institutions", str(work / "missing.csv")], fresh_database, work)
    assert proc.returncode != 0 and "文件不存在" in proc.stderr and "Traceback" not in proc.stderr
    assert cli_counts(fresh_database) == (3, 3, 3)


async def test_an_unknown_institution_is_reported_together_with_the_rows_other_problems(sessions) -> None:  # type: ignore[no-untyped-def]
    await with_institutions(sessions)
    rows = [list(r) for r in GOOD]
    rows[1][5] = "INST999"                      # unknown institution ...
    rows[1][2] = bad_check_digit(ID_B)          # ... a bad ID number ...
    rows[1][6] = "兽医"                          # ... and an unknown category, in one row
    rows[1][8] = "2015-13-01"
    before = await stored(sessions)
    with pytest.raises(ImportRejected) as info:
        await import_physicians(sessions, "p.csv", csv_bytes(PHYSICIAN_HEADER, rows))
    found = {(p.row, p.column) for p in info.value.problems}
    assert found == {(3, "证件号码"), (3, "机构编码"), (3, "执业类别"), (3, "首次执业日期")}, info.value.problems
    assert "机构“INST999”不存在，请先导入机构" in info.value.message and "共 4 处问题" in info.value.message
    assert await stored(sessions) == before
