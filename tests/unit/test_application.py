"""The five steps' validation rules and the simple-procedure eligibility flag, without I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.application import StepContext, clean_step, incomplete_steps, visible_length
from registry.eligibility import simple_procedure_flag
from registry.errors import InvalidInput

CTX = StepContext(department_ids=frozenset({1, 2}), photo_ids=frozenset({7}), proof_ids=frozenset({8, 9}),
                  today=dt.date(2026, 11, 25))


def errors(step: str, data: dict, complete: bool = True) -> dict[str, str]:
    with pytest.raises(InvalidInput) as exc:
        clean_step(step, data, CTX, complete=complete)
    return exc.value.fields


def test_saving_allows_missing_fields_but_not_wrong_ones() -> None:
    assert clean_step("basic", {"name": "王"}, CTX, complete=False)["name"] == "王"
    assert errors("basic", {"gender": "X"}, complete=False) == {"gender": "性别的取值无效"}


def test_next_requires_every_required_field() -> None:
    missing = errors("basic", {})
    assert set(missing) == {"name", "gender", "ethnicity", "birth_date", "education", "email", "mobile",
                            "photo_file_id"}
    assert missing["photo_file_id"] == "请上传照片"


def test_photo_and_proofs_must_be_the_physicians_own_uploads() -> None:
    assert errors("basic", {"photo_file_id": 99}, complete=False) == {"photo_file_id": "照片的取值无效"}
    assert "proof_file_ids" in errors("procedure", {"procedure": "simple", "report": "x", "proof_file_ids": [10]})
    ok = clean_step("procedure", {"procedure": "simple", "report": "x", "proof_file_ids": [8, 8, 9]}, CTX,
                    complete=True)
    assert ok["proof_file_ids"] == [8, 9]


def test_general_procedure_needs_nothing_more_and_drops_the_report() -> None:
    ok = clean_step("procedure", {"procedure": "general", "report": "abc", "proof_file_ids": [8]}, CTX,
                    complete=True)
    assert ok == {"procedure": "general", "report": None, "proof_file_ids": []}


@pytest.mark.parametrize("text,count", [("a" * 2000, 2000), ("👨‍👩‍👧", 1), ("e\u0301", 1), ("\r\n", 1), ("医" * 3, 3)])
def test_visible_length(text: str, count: int) -> None:
    assert visible_length(text) == count


def test_report_limit_is_2000_visible_characters() -> None:
    base = {"procedure": "simple", "proof_file_ids": [8]}
    clean_step("procedure", dict(base, report="医" * 2000), CTX, complete=True)
    assert "2000" in errors("procedure", dict(base, report="医" * 2001))["report"]


def test_experience_lists_are_checked_item_by_item() -> None:
    fields = errors("experience", {"education": [{"school": "A", "degree": "博士", "end_date": "2010-01-01"}]})
    assert fields["education"].startswith("教育经历第 1 条")
    fields = errors("experience", {"education": [{"school": "A", "degree": "大专", "start_date": "2012-01-01",
                                                  "end_date": "2010-01-01"}]})
    assert "结束时间不能早于开始时间" in fields["education"]
    assert "最高学历" in errors("experience", {"education": []})["education"]
    assert "最多" in errors("experience", {"filings": [{}] * 21}, complete=False)["filings"]


def test_unknown_fields_and_non_objects_are_refused() -> None:
    assert "role" in errors("basic", {"role": "admin"}, complete=False)
    with pytest.raises(InvalidInput):
        clean_step("basic", ["x"], CTX, complete=False)
    with pytest.raises(InvalidInput):
        clean_step("nope", {}, CTX, complete=False)


def test_control_characters_are_refused() -> None:
    assert "无效字符" in errors("basic", {"name": "a\x00b"}, complete=False)["name"]


def test_incomplete_steps_lists_every_step_until_filled() -> None:
    assert set(incomplete_steps({}, CTX)) == {"basic", "practice", "experience", "self_eval", "procedure"}


@pytest.mark.parametrize("start,eligible,years", [
    (None, None, None), (dt.date(2023, 1, 1), False, 3), (dt.date(2019, 1, 1), True, 7), (dt.date(2000, 1, 1), True, 26),
])
def test_simple_procedure_flag(start: dt.date | None, eligible: bool | None, years: int | None) -> None:
    flag = simple_procedure_flag(start, on=dt.date(2026, 11, 25))
    assert (flag.eligible, flag.years) == (eligible, years)
    assert flag.message


@pytest.mark.parametrize("start,message", [
    (None, "缺少首次执业日期，无法判断是否符合简易程序条件"),
    (dt.date(2021, 11, 26), "执业 4 年，不满 5 年，不符合简易程序条件"),  # five years tomorrow
    (dt.date(2021, 11, 25), "执业 5 年，须核实本周期内有良好行为记录"),  # five years today
    (dt.date(2014, 11, 26), "执业 11 年，须核实本周期内有良好行为记录"),
    (dt.date(2014, 11, 25), "执业 12 年，须核实无不良行为记录"),
])
def test_simple_procedure_years_count_from_the_anniversary(start: dt.date | None, message: str) -> None:
    assert simple_procedure_flag(start, on=dt.date(2026, 11, 25)).message == message


def test_a_leap_day_start_completes_its_years_on_the_first_of_march() -> None:
    start = dt.date(2016, 2, 29)
    assert simple_procedure_flag(start, on=dt.date(2021, 2, 28)).years == 4
    assert simple_procedure_flag(start, on=dt.date(2021, 3, 1)).years == 5
