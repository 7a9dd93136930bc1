"""The five steps of 我要报名: what each step holds and when it is complete.

`clean_step` is used both by 保存 (complete=False: wrong values are refused, missing ones allowed)
and by 下一步/提交 (complete=True: required fields must be there too). Returns the cleaned data
or raises InvalidInput with a Chinese message per field.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import regex

from .codes import EDUCATION, EMPLOYMENT, ETHNICITIES, GENDERS, LEVELS, PRACTICE_SCOPES, RATINGS, TITLES
from .errors import InvalidInput

STEPS = ("basic", "practice", "experience", "self_eval", "procedure")
STEP_TITLES = {"basic": "基本信息", "practice": "执业信息", "experience": "相关经历",
               "self_eval": "工作成绩、职业道德自评", "procedure": "考核程序"}
REPORT_MAX = 2000
TEXT_MAX = 1000
LIST_MAX = 20
EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
PHONE = re.compile(r"^1[3-9]\d{9}$")


def visible_length(text: str) -> int:
    """Characters as the reader sees them: grapheme clusters, a CRLF counted once."""
    return len(regex.findall(r"\X", text.replace("\r\n", "\n")))


@dataclass(frozen=True, slots=True)
class StepContext:
    """What validation needs to know beyond the submitted data."""

    department_ids: frozenset[int] = frozenset()
    photo_ids: frozenset[int] = frozenset()
    proof_ids: frozenset[int] = frozenset()
    today: dt.date = field(default_factory=dt.date.today)
    # The code tables with the admin's additions (registry.code_tables); the defaults otherwise.
    scopes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(PRACTICE_SCOPES))
    titles: tuple[str, ...] = TITLES


class _Errors(dict[str, str]):
    def add(self, key: str, message: str) -> None:
        self.setdefault(key, message)


def _text(errors: _Errors, data: dict[str, Any], key: str, title: str, *, required: bool, complete: bool,
          max_len: int = 64) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required and complete:
            errors.add(key, f"请填写{title}")
        return None
    if not isinstance(value, str):
        errors.add(key, f"{title}应为文本")
        return None
    value = value.strip()
    if visible_length(value) > max_len:
        errors.add(key, f"{title}不能超过 {max_len} 个字")
        return None
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        errors.add(key, f"{title}包含无效字符")
        return None
    if not value and required and complete:
        errors.add(key, f"请填写{title}")
        return None
    return value or None


def _choice(errors: _Errors, data: dict[str, Any], key: str, title: str, options: tuple[str, ...], *,
            required: bool, complete: bool) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required and complete:
            errors.add(key, f"请选择{title}")
        return None
    if value not in options:
        errors.add(key, f"{title}的取值无效")
        return None
    return str(value)


def _date(errors: _Errors, data: dict[str, Any], key: str, title: str, *, required: bool, complete: bool,
          today: dt.date, not_before: dt.date = dt.date(1900, 1, 1)) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required and complete:
            errors.add(key, f"请选择{title}")
        return None
    try:
        parsed = dt.date.fromisoformat(str(value))
    except ValueError:
        errors.add(key, f"{title}应为日期（YYYY-MM-DD）")
        return None
    if parsed > today or parsed < not_before:
        errors.add(key, f"{title}不在合理范围内")
        return None
    return parsed.isoformat()


def _bool(errors: _Errors, data: dict[str, Any], key: str, title: str, *, complete: bool) -> bool | None:
    value = data.get(key)
    if value is None or value == "":
        if complete:
            errors.add(key, f"请选择{title}")
        return None
    if isinstance(value, bool):
        return value
    if value in ("true", "是", "1"):
        return True
    if value in ("false", "否", "0"):
        return False
    errors.add(key, f"{title}应为是或否")
    return None


def _id(errors: _Errors, data: dict[str, Any], key: str, title: str, allowed: frozenset[int], *,
        required: bool, complete: bool, missing_hint: str = "") -> int | None:
    value = data.get(key)
    if value is None or value == "":
        if required and complete:
            errors.add(key, missing_hint or f"请选择{title}")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.add(key, f"{title}的取值无效")
        return None
    if number not in allowed:
        errors.add(key, f"{title}的取值无效")
        return None
    return number


def _basic(data: dict[str, Any], ctx: StepContext, complete: bool, errors: _Errors) -> dict[str, Any]:
    t = ctx.today
    email = _text(errors, data, "email", "电子邮件", required=True, complete=complete, max_len=128)
    if email and not EMAIL.match(email):
        errors.add("email", "电子邮件格式不正确")
    mobile = _text(errors, data, "mobile", "手机号", required=True, complete=complete, max_len=16)
    if mobile and not PHONE.match(mobile):
        errors.add("mobile", "请输入 11 位中国大陆手机号码")
    return {
        "name": _text(errors, data, "name", "姓名", required=True, complete=complete, max_len=32),
        "gender": _choice(errors, data, "gender", "性别", GENDERS, required=True, complete=complete),
        "ethnicity": _choice(errors, data, "ethnicity", "民族", ETHNICITIES, required=True, complete=complete),
        "birth_date": _date(errors, data, "birth_date", "出生年月", required=True, complete=complete, today=t),
        "education": _choice(errors, data, "education", "学历", EDUCATION, required=True, complete=complete),
        "email": email,
        "mobile": mobile,
        "photo_file_id": _id(errors, data, "photo_file_id", "照片", ctx.photo_ids, required=True, complete=complete,
                             missing_hint="请上传照片"),
    }


def _practice(data: dict[str, Any], ctx: StepContext, complete: bool, errors: _Errors) -> dict[str, Any]:
    t = ctx.today
    if complete and not ctx.department_ids:
        errors.add("department_id", "所在机构尚未维护科室信息，请联系所在单位完善系统的科室信息")
    specialties = data.get("specialties") or []
    clean_specialties: list[str] = []
    if not isinstance(specialties, list) or len(specialties) > 10:
        errors.add("specialties", "从事专业最多 10 项")
    else:
        for item in specialties:
            if not isinstance(item, str) or not item.strip() or visible_length(item) > 32:
                errors.add("specialties", "每项从事专业应为 1-32 个字")
                break
            clean_specialties.append(item.strip())
    if complete and not clean_specialties and "specialties" not in errors:
        errors.add("specialties", "请填写至少一项从事专业")
    resident = _bool(errors, data, "resident", "是否规培生", complete=complete)
    scopes = ctx.scopes
    category = _choice(errors, data, "practice_category", "执业类别", tuple(scopes), required=True,
                       complete=complete)
    scope_value = data.get("practice_scope")
    scope = None
    if scope_value not in (None, ""):
        if category and scope_value not in scopes[category]:
            errors.add("practice_scope", f"执业范围“{scope_value}”不属于执业类别“{category}”")
        elif not category and not any(scope_value in s for s in scopes.values()):
            errors.add("practice_scope", "执业范围的取值无效")
        else:
            scope = str(scope_value)
    elif complete and resident is False:
        errors.add("practice_scope", "请选择执业范围（规培生可不填）")
    return {
        "department_id": _id(errors, data, "department_id", "科室", ctx.department_ids, required=True,
                             complete=complete and bool(ctx.department_ids)),
        "specialties": clean_specialties,
        "title": _choice(errors, data, "title", "职称", ctx.titles, required=True, complete=complete),
        "title_date": _date(errors, data, "title_date", "职称取得时间", required=False, complete=complete, today=t),
        "position": _text(errors, data, "position", "职务", required=False, complete=complete, max_len=32),
        "position_date": _date(errors, data, "position_date", "任职时间", required=False, complete=complete, today=t),
        "level": _choice(errors, data, "level", "医师级别", LEVELS, required=True, complete=complete),
        "resident": resident,
        "practice_category": category,
        "practice_scope": scope,
        "employment": _choice(errors, data, "employment", "执业情况", EMPLOYMENT, required=True, complete=complete),
    }


# Each list of 相关经历: its fields (key, title, kind, required).
_LISTS: dict[str, tuple[str, tuple[tuple[str, str, str, bool], ...]]] = {
    "filings": ("多机构备案", (("institution", "备案机构", "text", True), ("scope", "执业范围", "text", False),
                           ("start_date", "备案日期", "date", True))),
    "education": ("教育经历", (("school", "学校", "text", True), ("major", "专业", "text", False),
                           ("degree", "学历", "education", True), ("start_date", "开始时间", "date", False),
                           ("end_date", "结束时间", "date", True))),
    "practice_history": ("执业经历", (("institution", "执业机构", "text", True), ("department", "科室", "text", False),
                                  ("start_date", "开始时间", "date", True), ("end_date", "结束时间", "date", False))),
}


def _experience(data: dict[str, Any], ctx: StepContext, complete: bool, errors: _Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (title, fields) in _LISTS.items():
        items = data.get(key) or []
        if not isinstance(items, list):
            errors.add(key, f"{title}应为列表")
            out[key] = []
            continue
        if len(items) > LIST_MAX:
            errors.add(key, f"{title}最多 {LIST_MAX} 条")
            out[key] = []
            continue
        cleaned = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                errors.add(key, f"{title}第 {n} 条格式不正确")
                continue
            sub = _Errors()
            row: dict[str, Any] = {}
            for fkey, ftitle, kind, required in fields:
                if kind == "date":
                    row[fkey] = _date(sub, item, fkey, ftitle, required=required, complete=True, today=ctx.today)
                elif kind == "education":
                    row[fkey] = _choice(sub, item, fkey, ftitle, EDUCATION, required=required, complete=True)
                else:
                    row[fkey] = _text(sub, item, fkey, ftitle, required=required, complete=True, max_len=64)
            if row.get("start_date") and row.get("end_date") and row["start_date"] > row["end_date"]:
                sub.add("end_date", "结束时间不能早于开始时间")
            for message in sub.values():
                errors.add(key, f"{title}第 {n} 条：{message}")
                break
            cleaned.append(row)
        out[key] = cleaned
    if complete and not out.get("education") and "education" not in errors:
        errors.add("education", "请至少填写一条教育经历（可直接填写最高学历）")
    return out


def _self_eval(data: dict[str, Any], ctx: StepContext, complete: bool, errors: _Errors) -> dict[str, Any]:
    return {
        "work_rating": _choice(errors, data, "work_rating", "工作成绩自评", RATINGS, required=True, complete=complete),
        "work_summary": _text(errors, data, "work_summary", "工作成绩自评说明", required=True, complete=complete,
                              max_len=TEXT_MAX),
        "ethics_rating": _choice(errors, data, "ethics_rating", "职业道德自评", RATINGS, required=True,
                                 complete=complete),
        "ethics_summary": _text(errors, data, "ethics_summary", "职业道德自评说明", required=True, complete=complete,
                                max_len=TEXT_MAX),
    }


def _procedure(data: dict[str, Any], ctx: StepContext, complete: bool, errors: _Errors) -> dict[str, Any]:
    procedure = _choice(errors, data, "procedure", "考核程序", ("simple", "general"), required=True,
                        complete=complete)
    report = _text(errors, data, "report", "个人述职报告", required=procedure == "simple", complete=complete,
                   max_len=REPORT_MAX)
    proofs = data.get("proof_file_ids") or []
    clean: list[int] = []
    if not isinstance(proofs, list):
        errors.add("proof_file_ids", "证明材料的取值无效")
    elif len(proofs) > 10:
        errors.add("proof_file_ids", "证明材料最多 10 份")
    else:
        for item in proofs:
            try:
                number = int(item)
            except (TypeError, ValueError):
                errors.add("proof_file_ids", "证明材料的取值无效")
                break
            if number not in ctx.proof_ids:
                errors.add("proof_file_ids", "证明材料的取值无效")
                break
            if number not in clean:
                clean.append(number)
    if complete and procedure == "simple" and not clean and "proof_file_ids" not in errors:
        errors.add("proof_file_ids", "简易程序须上传证明材料（如执业证书、良好行为记录证明）")
    if procedure == "general":
        report, clean = None, []  # the general procedure needs nothing more
    return {"procedure": procedure, "report": report, "proof_file_ids": clean}


_CLEANERS: dict[str, Callable[[dict[str, Any], StepContext, bool, _Errors], dict[str, Any]]] = {
    "basic": _basic, "practice": _practice, "experience": _experience, "self_eval": _self_eval,
    "procedure": _procedure,
}


def clean_step(step: str, data: object, ctx: StepContext, *, complete: bool) -> dict[str, Any]:
    if step not in _CLEANERS:
        raise InvalidInput("步骤无效", fields={"step": "步骤无效"})
    if not isinstance(data, dict):
        raise InvalidInput("内容应为 JSON 对象")
    known = set(FIELDS[step])
    unknown = [k for k in data if k not in known]
    if unknown:
        raise InvalidInput(f"不认识的字段“{unknown[0]}”", fields={unknown[0]: "不认识的字段"})
    errors = _Errors()
    cleaned = _CLEANERS[step](data, ctx, complete, errors)
    if errors:
        title = STEP_TITLES[step]
        raise InvalidInput(f"{title}：" + "；".join(errors.values()), fields=dict(errors))
    return cleaned


FIELDS: dict[str, tuple[str, ...]] = {
    "basic": ("name", "gender", "ethnicity", "birth_date", "education", "email", "mobile", "photo_file_id"),
    "practice": ("department_id", "specialties", "title", "title_date", "position", "position_date", "level",
                 "resident", "practice_category", "practice_scope", "employment"),
    "experience": tuple(_LISTS),
    "self_eval": ("work_rating", "work_summary", "ethics_rating", "ethics_summary"),
    "procedure": ("procedure", "report", "proof_file_ids"),
}


def incomplete_steps(data: dict[str, Any], ctx: StepContext) -> dict[str, dict[str, str]]:
    """Per step, what is still missing or wrong for submission (empty when ready)."""
    problems: dict[str, dict[str, str]] = {}
    for step in STEPS:
        try:
            clean_step(step, data.get(step) or {}, ctx, complete=True)
        except InvalidInput as exc:
            problems[step] = exc.fields or {"step": exc.message}
    return problems
