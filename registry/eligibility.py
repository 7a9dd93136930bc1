"""Simple-procedure eligibility (domain rule 5), flagged for the institution that decides it.

At least 5 years of practice with a good-conduct record in the cycle, or at least 12 years with no
bad-conduct record. Years come from the imported first-practice date; the conduct records are
the institution's to check, so the flag says what remains to be checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EligibilityFlag:
    eligible: bool | None  # None: cannot be decided from the data
    years: int | None
    message: str


def full_years(start: dt.date, on: dt.date) -> int:
    return on.year - start.year - ((on.month, on.day) < (start.month, start.day))


def simple_procedure_flag(practice_start: dt.date | None, *, on: dt.date) -> EligibilityFlag:
    if practice_start is None:
        return EligibilityFlag(None, None, "缺少首次执业日期，无法判断是否符合简易程序条件")
    years = full_years(practice_start, on)
    if years < 5:
        return EligibilityFlag(False, years, f"执业 {years} 年，不满 5 年，不符合简易程序条件")
    if years < 12:
        return EligibilityFlag(True, years, f"执业 {years} 年，须核实本周期内有良好行为记录")
    return EligibilityFlag(True, years, f"执业 {years} 年，须核实无不良行为记录")
