"""The password policy and hashing."""

from __future__ import annotations

import pytest

from registry.passwords import hash_password, hasher_for, needs_rehash, password_problem, verify_or_decoy, verify_password

ID_NUMBER = "12010119830909075X"


@pytest.mark.parametrize("password, reason", [
    ("", "新密码至少 8 位"),
    ("Abc1234", "新密码至少 8 位"),
    ("a1" * 64 + "x", "新密码不能超过 128 位"),
    ("abcdefgh", "新密码须同时包含字母和数字"),
    ("12345678", "新密码须同时包含字母和数字"),
    ("!@#$%^&*()", "新密码须同时包含字母和数字"),
    ("医师医师医师医师12", "新密码须同时包含字母和数字"),
    ("Init2026x", "新密码不能与初始密码相同"),
    ("a" + ID_NUMBER, "新密码不能包含证件号码中连续 6 位及以上的字符"),
    ("a" + ID_NUMBER.lower(), "新密码不能包含证件号码中连续 6 位及以上的字符"),
    # The last 8 characters, the birth date, any run of 6, anywhere in the password.
    ("a" + ID_NUMBER[-8:], "新密码不能包含证件号码中连续 6 位及以上的字符"),
    ("Pass" + ID_NUMBER[6:14], "新密码不能包含证件号码中连续 6 位及以上的字符"),
    ("x" + ID_NUMBER[3:9] + "y", "新密码不能包含证件号码中连续 6 位及以上的字符"),
    ("Ab" + ID_NUMBER[-6:].lower(), "新密码不能包含证件号码中连续 6 位及以上的字符"),
])
def test_weak_passwords_are_refused_with_a_chinese_reason(password: str, reason: str) -> None:
    assert password_problem(password, id_number=ID_NUMBER, initial_password="Init2026x") == reason


@pytest.mark.parametrize("password", ["Doctor2026x", "abcdefg1", "1234567a", "a1" * 64, "正确的密码Abc123"])
def test_acceptable_passwords(password: str) -> None:
    assert password_problem(password, id_number=ID_NUMBER, initial_password="666666") is None


def test_every_run_of_six_is_refused_and_five_is_not() -> None:
    for i in range(len(ID_NUMBER) - 5):
        assert password_problem("Zz" + ID_NUMBER[i:i + 6], id_number=ID_NUMBER, initial_password="666666"), i
        assert password_problem("Zz-" + ID_NUMBER[i:i + 5] + "-q", id_number=ID_NUMBER, initial_password="666666") is None, i


def test_the_id_number_rule_applies_only_to_physicians() -> None:
    assert password_problem("a" + ID_NUMBER, id_number=None, initial_password="666666") is None


def test_the_published_initial_password_is_refused_by_the_length_rule_anyway() -> None:
    assert password_problem("666666", id_number=None, initial_password="666666") == "新密码至少 8 位"


def test_hash_and_verify() -> None:
    stored = hash_password("Doctor2026x")
    assert stored.startswith("$argon2")
    assert "Doctor2026x" not in stored
    assert verify_password(stored, "Doctor2026x")
    assert not verify_password(stored, "Doctor2026X")
    assert not verify_password(stored, "")
    assert not needs_rehash(stored)
    # Two hashes of the same password differ (salted).
    assert hash_password("Doctor2026x") != stored


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$garbage"])
def test_a_damaged_stored_hash_never_verifies_and_never_raises(stored: str) -> None:
    assert verify_password(stored, "anything") is False


def test_production_hashes_with_rfc_9106_and_an_unknown_profile_is_refused() -> None:
    # The suite itself runs with DINGKAO_PASSWORD_HASHING=cheapest (tests/conftest.py); a server
    # started without it hashes with RFC 9106's low-memory parameters: 64 MiB, 3 passes, 4 lanes.
    stored = hasher_for("default").hash("Doctor2026x")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stored, "Doctor2026x")
    with pytest.raises(ValueError, match="DINGKAO_PASSWORD_HASHING"):
        hasher_for("fast")


def test_a_login_without_an_account_does_the_same_hashing_work(monkeypatch: pytest.MonkeyPatch) -> None:
    import registry.passwords as passwords

    calls: list[str] = []
    real = passwords._hasher

    class Counting:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    passwords._decoy_hash.cache_clear()
    stored = hash_password("Doctor2026x")
    assert verify_or_decoy(stored, "Doctor2026x") is True
    assert verify_or_decoy(None, "Doctor2026x") is False
    assert verify_or_decoy(None, "") is False
    assert len(calls) == 3 and calls[1] == calls[2] != stored  # one decoy hash, verified like a real one
    passwords._decoy_hash.cache_clear()
