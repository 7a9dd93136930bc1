"""Mainland resident ID numbers (GB 11643-1999) and masking for display."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def normalise_id_number(raw: str) -> str:
    # Full-width digits and a lower-case x come from phone keyboards and Excel exports.
    table = {ord("０") + i: ord("0") + i for i in range(10)}
    table.update({ord("ｘ"): ord("X"), ord("Ｘ"): ord("X"), ord("x"): ord("X")})
    return raw.translate(table).strip().replace(" ", "")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def resident_id_problem(number: str) -> str | None:
    """Why `number` is not a valid 18-character resident ID, in Chinese, or None if it is."""
    if len(number) != 18:
        return "居民身份证号码应为 18 位"
    if not _SHAPE.match(number):
        return "居民身份证号码只能由数字和末位 X 组成"
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "居民身份证号码中的出生日期无效"
    if born.year < 1900 or born > dt.date.today():
        return "居民身份证号码中的出生日期无效"
    if check_digit(number[:17]) != number[17]:
        return "居民身份证号码校验位不正确"
    return None


def birth_date_and_gender(number: str) -> tuple[dt.date, str]:
    born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return born, ("男" if int(number[16]) % 2 else "女")


def mask_id_number(number: str) -> str:
    """Show the first 4 and last 2 characters, as the manual does (1201*****28); less of short numbers."""
    if len(number) <= 4:
        return "*" * len(number)
    if len(number) < 15:  # passports and permits: keep most of the number hidden
        return f"{number[0]}*****{number[-1]}"
    return f"{number[:4]}*****{number[-2:]}"
