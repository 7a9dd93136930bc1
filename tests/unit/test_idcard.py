"""GB 11643 resident ID numbers: check digit, dates, normalisation and masking."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.idcard import (birth_date_and_gender, check_digit, mask_id_number, normalise_id_number,
                             resident_id_problem)


def expected_check_digit(first17: str) -> str:
    """GB 11643-1999 written out independently: W_i = 2^(i-1) mod 11, a1 = (12 - S mod 11) mod 11."""
    total = 0
    for position, char in zip(range(18, 1, -1), first17):
        total += int(char) * (2 ** (position - 1) % 11)
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


# The worked example printed in the standard, plus numbers built for the demo.
KNOWN_VALID = ["11010519491231002X", "120101198503120131", "12010119830909075X", "120101199202220280"]


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_known_valid_numbers_pass(number: str) -> None:
    assert expected_check_digit(number[:17]) == number[17]
    assert check_digit(number[:17]) == number[17]
    assert resident_id_problem(number) is None


def test_check_digit_agrees_with_the_standard_for_every_residue() -> None:
    # Vary the sequence number so that all eleven check values (0-9 and X) occur.
    seen = set()
    for seq in range(1000):
        first17 = f"12010119850312{seq:03d}"
        assert check_digit(first17) == expected_check_digit(first17), first17
        seen.add(check_digit(first17))
    assert seen == set("0123456789X")


def test_the_standards_1880_example_has_a_right_check_digit_but_a_birth_year_before_1900_is_refused() -> None:
    assert expected_check_digit("44052418800101001") == check_digit("44052418800101001") == "4"
    assert resident_id_problem("440524188001010014") == "居民身份证号码中的出生日期无效"


@pytest.mark.parametrize("number", KNOWN_VALID)
def test_every_wrong_check_digit_is_refused(number: str) -> None:
    for wrong in "0123456789X":
        if wrong != number[17]:
            assert resident_id_problem(number[:17] + wrong) == "居民身份证号码校验位不正确"


def with_check(first17: str) -> str:
    return first17 + expected_check_digit(first17)


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490001", "19490100", "20230229", "18991231"])
def test_impossible_birth_dates_are_refused_even_with_a_correct_check_digit(birth: str) -> None:
    number = with_check(f"110105{birth}002")
    assert resident_id_problem(number) == "居民身份证号码中的出生日期无效"


def test_a_birth_date_in_the_future_is_refused() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert resident_id_problem(with_check(f"110105{tomorrow:%Y%m%d}002")) == "居民身份证号码中的出生日期无效"
    assert resident_id_problem(with_check("110105200002290023"[:17])) is None  # a real leap day


@pytest.mark.parametrize("number, reason", [
    ("", "居民身份证号码应为 18 位"),
    ("11010519491231002", "居民身份证号码应为 18 位"),
    ("11010519491231002X1", "居民身份证号码应为 18 位"),
    ("1101051949123100AX", "居民身份证号码只能由数字和末位 X 组成"),
    ("X10105194912310029", "居民身份证号码只能由数字和末位 X 组成"),
    ("11010519491231002x", "居民身份证号码只能由数字和末位 X 组成"),  # not normalised yet
    ("１１０１０５１９４９１２３１００２Ｘ", "居民身份证号码只能由数字和末位 X 组成"),  # idem
])
def test_malformed_numbers_are_refused_with_the_reason(number: str, reason: str) -> None:
    assert resident_id_problem(number) == reason


@pytest.mark.parametrize("raw, normal", [
    ("11010519491231002x", "11010519491231002X"),
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
    ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),
    ("  110105 19491231 002X ", "11010519491231002X"),
    ("120101198503120131\t", "120101198503120131"),
])
def test_normalisation_of_keyboard_and_excel_forms(raw: str, normal: str) -> None:
    assert normalise_id_number(raw) == normal
    assert resident_id_problem(normalise_id_number(raw)) is None


def test_birth_date_and_gender_come_from_the_number() -> None:
    assert birth_date_and_gender("11010519491231002X") == (dt.date(1949, 12, 31), "女")  # 17th digit 2: even
    assert birth_date_and_gender("120101198503120131") == (dt.date(1985, 3, 12), "男")  # 17th digit 3: odd


@pytest.mark.parametrize("number, masked", [
    ("120101199202220280", "1201*****80"),
    ("120101198503120131", "1201*****31"),
    ("12010119830909075X", "1201*****5X"),
    ("E12345678901", "E*****1"),
    ("E1234567", "E*****7"),
    ("123456", "1*****6"),
    ("1234", "****"),
    ("12", "**"),
    ("", ""),
])
def test_masking_shows_first_four_and_last_two_of_long_numbers(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked
    if number:
        # At most a third of a number is ever visible.
        assert sum(1 for c in mask_id_number(number) if c != "*") <= len(number) // 3
