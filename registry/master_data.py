"""Import institutions and physicians' master data from the national e-registration export.

All-or-nothing: every bad row is reported (row number, column, reason) and nothing is written.
Re-importing the same file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from . import audit, code_tables
from .codes import ID_TYPES, PRACTICE_SCOPES, RESIDENT_ID
from .errors import InvalidInput
from .idcard import birth_date_and_gender, normalise_id_number, resident_id_problem
from .models import Account, AssessmentBody, Institution, Physician, Region
from .passwords import hash_password
from .roles import Role
from .tabular import Row, read_table


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行，{self.column}：{self.reason}"


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)


class ImportRejected(InvalidInput):
    def __init__(self, problems: list[RowProblem]) -> None:
        shown = "；".join(str(p) for p in problems[:20])
        more = f"；另有 {len(problems) - 20} 处问题" if len(problems) > 20 else ""
        super().__init__(f"导入失败，共 {len(problems)} 处问题，未导入任何数据：{shown}{more}")
        self.problems = problems


def _parse_date(text: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


INSTITUTION_COLUMNS = ("机构编码", "机构名称", "地区编码", "地区名称", "考核机构编码", "考核机构名称")
# Column widths of the tables they land in.
INSTITUTION_LIMITS = {"机构编码": 32, "机构名称": 128, "地区编码": 12, "地区名称": 64, "考核机构编码": 32,
                      "考核机构名称": 128}


async def import_institutions(session: AsyncSession, name: str, data: bytes, *, actor_id: int | None) -> ImportReport:
    rows = read_table(name, data, required=INSTITUTION_COLUMNS)
    report = ImportReport()
    seen: dict[str, int] = {}
    for row in rows:
        for col in INSTITUTION_COLUMNS:
            if not row.values.get(col):
                report.problems.append(RowProblem(row.number, col, "不能为空"))
        code = row.values.get("机构编码", "")
        for col, limit in INSTITUTION_LIMITS.items():
            if len(row.values.get(col, "")) > limit:
                report.problems.append(RowProblem(row.number, col, f"超过 {limit} 个字符"))
        if code in seen:
            report.problems.append(RowProblem(row.number, "机构编码", f"与第 {seen[code]} 行重复"))
        seen.setdefault(code, row.number)
    if report.problems:
        raise ImportRejected(report.problems)

    regions = {r.code: r for r in (await session.scalars(select(Region))).all()}
    bodies = {b.code: b for b in (await session.scalars(select(AssessmentBody))).all()}
    existing = {i.code: i for i in (await session.scalars(select(Institution))).all()}
    for row in rows:
        v = row.values
        region = regions.get(v["地区编码"])
        if region is None:
            region = regions[v["地区编码"]] = Region(code=v["地区编码"], name=v["地区名称"])
            session.add(region)
        body = bodies.get(v["考核机构编码"])
        if body is None:
            await session.flush()
            body = bodies[v["考核机构编码"]] = AssessmentBody(
                code=v["考核机构编码"], name=v["考核机构名称"], region_id=region.id
            )
            session.add(body)
        await session.flush()
        inst = existing.get(v["机构编码"])
        if inst is None:
            inst = Institution(code=v["机构编码"], name=v["机构名称"], region_id=region.id, body_id=body.id)
            session.add(inst)
            report.created += 1
        elif (inst.name, inst.region_id, inst.body_id) != (v["机构名称"], region.id, body.id):
            inst.name, inst.region_id, inst.body_id = v["机构名称"], region.id, body.id
            report.updated += 1
        else:
            report.unchanged += 1
    await session.flush()
    audit.record(session, actor_id=actor_id, action="import_institutions", entity="file",
                 entity_id=hashlib.sha256(data).hexdigest(),
                 detail={"name": name, "created": report.created, "updated": report.updated})
    return report


PHYSICIAN_COLUMNS = ("姓名", "证件类型", "证件号码", "资格证书编号", "执业证书编号", "机构编码", "执业类别")
OPTIONAL_COLUMNS = ("执业范围", "性别", "出生日期", "首次执业日期")


@dataclass(frozen=True, slots=True)
class PhysicianRecord:
    name: str
    id_type: str
    id_number: str
    qualification_cert_no: str
    practice_cert_no: str
    institution_code: str
    practice_category: str
    practice_scope: str | None
    gender: str | None
    birth_date: dt.date | None
    practice_start_date: dt.date | None


def _validate_physician_row(row: Row, problems: list[RowProblem], institution_codes: set[str],
                            scopes: Mapping[str, tuple[str, ...]] = PRACTICE_SCOPES) -> PhysicianRecord | None:
    """Every problem of the row at once (the importer fixes a row in one pass), or the row's record."""
    v = row.values
    before = len(problems)

    def bad(col: str, reason: str) -> None:
        problems.append(RowProblem(row.number, col, reason))

    for col in PHYSICIAN_COLUMNS:
        if not v.get(col):
            bad(col, "不能为空")
    name = v.get("姓名", "")
    if len(name) > 64:
        bad("姓名", "超过 64 个字符")
    id_type = v.get("证件类型", "")
    if id_type == "身份证":
        id_type = RESIDENT_ID
    if id_type and id_type not in ID_TYPES:
        bad("证件类型", f"“{id_type}”不是有效的证件类型")
    id_number = normalise_id_number(v.get("证件号码", ""))
    if id_number and id_type == RESIDENT_ID:
        problem = resident_id_problem(id_number)
        if problem:
            bad("证件号码", problem)
    elif id_number and not (4 <= len(id_number) <= 32 and id_number.isascii() and id_number.isalnum()):
        bad("证件号码", "应为 4-32 位字母或数字")
    for col in ("资格证书编号", "执业证书编号", "机构编码"):
        if len(v.get(col, "")) > 32:
            bad(col, "超过 32 个字符")
    code = v.get("机构编码", "")
    if code and len(code) <= 32 and code not in institution_codes:
        bad("机构编码", f"机构“{code}”不存在，请先导入机构")
    category = v.get("执业类别", "")
    if category and category not in scopes:
        bad("执业类别", f"“{category}”不是有效的执业类别（{'、'.join(scopes)}）")
    scope = v.get("执业范围") or None
    if scope and category in scopes and scope not in scopes[category]:
        bad("执业范围", f"“{scope}”不属于执业类别“{category}”")
    gender = v.get("性别") or None
    if gender and gender not in ("男", "女"):
        bad("性别", "应为“男”或“女”")
    birth = start = None
    if v.get("出生日期"):
        birth = _parse_date(v["出生日期"])
        if birth is None:
            bad("出生日期", "日期格式应为 YYYY-MM-DD")
    if v.get("首次执业日期"):
        start = _parse_date(v["首次执业日期"])
        if start is None or start > dt.date.today():
            bad("首次执业日期", "日期格式应为 YYYY-MM-DD，且不晚于今天")
    if len(problems) > before:
        return None
    if id_type == RESIDENT_ID:
        derived_birth, derived_gender = birth_date_and_gender(id_number)
        birth, gender = birth or derived_birth, gender or derived_gender
    return PhysicianRecord(
        name=name, id_type=id_type, id_number=id_number,
        qualification_cert_no=v["资格证书编号"], practice_cert_no=v["执业证书编号"],
        institution_code=v["机构编码"], practice_category=category, practice_scope=scope,
        gender=gender, birth_date=birth, practice_start_date=start,
    )


_FIELDS = ("name", "qualification_cert_no", "practice_cert_no", "practice_category", "practice_scope",
           "gender", "birth_date", "practice_start_date")


async def import_physicians(
    session: AsyncSession, name: str, data: bytes, *, actor_id: int | None, initial_password: str
) -> ImportReport:
    rows = read_table(name, data, required=PHYSICIAN_COLUMNS)
    institutions = {i.code: i for i in (await session.scalars(select(Institution))).all()}
    problems: list[RowProblem] = []
    records: list[tuple[Row, PhysicianRecord]] = []
    seen: dict[tuple[str, str], int] = {}
    scopes = (await code_tables.load(session)).scopes
    for row in rows:
        rec = _validate_physician_row(row, problems, set(institutions), scopes)
        id_type = RESIDENT_ID if row.values.get("证件类型") == "身份证" else row.values.get("证件类型", "")
        key = (id_type, normalise_id_number(row.values.get("证件号码", "")))
        if key[1] and key in seen:
            problems.append(RowProblem(row.number, "证件号码", f"与第 {seen[key]} 行重复"))
            continue
        if key[1]:
            seen.setdefault(key, row.number)
        if rec is not None:
            records.append((row, rec))
    if problems:
        raise ImportRejected(sorted(problems, key=lambda p: p.row))

    existing = {
        (p.id_type, p.id_number): p
        for p in (await session.scalars(select(Physician).where(Physician.id_number.in_([r.id_number for _, r in records])))).all()
    }
    report = ImportReport()
    # One hash for every new account: they all start with the same published initial password.
    initial_hash = hash_password(initial_password) if any(
        (r.id_type, r.id_number) not in existing for _, r in records) else ""
    for _row, rec in records:
        institution = institutions[rec.institution_code]
        physician = existing.get((rec.id_type, rec.id_number))
        if physician is None:
            physician = Physician(id_type=rec.id_type, id_number=rec.id_number, institution_id=institution.id,
                                  **{f: getattr(rec, f) for f in _FIELDS})
            session.add(physician)
            await session.flush()
            session.add(Account(role=Role.PHYSICIAN, physician_id=physician.id, display_name=rec.name,
                                password_hash=initial_hash, institution_id=institution.id))
            report.created += 1
            continue
        changes = {f: getattr(rec, f) for f in _FIELDS if getattr(physician, f) != getattr(rec, f)}
        # The institution is set once; moving a physician is the health administration's act.
        if changes:
            for f, value in changes.items():
                setattr(physician, f, value)
            if "name" in changes:  # the name shown in the top bar
                await session.execute(update(Account).where(Account.physician_id == physician.id)
                                      .values(display_name=rec.name))
            report.updated += 1
        else:
            report.unchanged += 1
    await session.flush()
    audit.record(session, actor_id=actor_id, action="import_physicians", entity="file",
                 entity_id=hashlib.sha256(data).hexdigest(),
                 detail={"name": name, "created": report.created, "updated": report.updated,
                         "unchanged": report.unchanged})
    return report
