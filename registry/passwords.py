"""Password hashing (Argon2) and the password policy."""

from __future__ import annotations

import functools
import os
import re
import secrets

from argon2 import PasswordHasher, Parameters, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's low-memory profile (argon2-cffi's default) costs about 0.13 s of CPU per hash or login.
# DINGKAO_PASSWORD_HASHING=cheapest is for test suites only: there hashing was a third of all CPU.
PROFILES: dict[str, Parameters] = {"default": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


def hasher_for(profile: str) -> PasswordHasher:
    if profile not in PROFILES:
        raise ValueError(f"DINGKAO_PASSWORD_HASHING: expected {' or '.join(PROFILES)}, got {profile!r}")
    return PasswordHasher.from_parameters(PROFILES[profile])


# An unknown value hashes with the default here; load_settings refuses it in one line at start-up.
_profile = os.environ.get("DINGKAO_PASSWORD_HASHING", "default")
_hasher = hasher_for(_profile if _profile in PROFILES else "default")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_or_decoy(stored_hash: str | None, password: str) -> bool:
    """verify_password, or the same work against a decoy when there is no account (None), so how
    long a refusal takes does not tell which logins exist."""
    if stored_hash is None:
        verify_password(_decoy_hash(), password)
        return False
    return verify_password(stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


MIN_LENGTH = 8
MAX_LENGTH = 128


def password_problem(password: str, *, id_number: str | None, initial_password: str) -> str | None:
    """Why a new password is refused, in Chinese, or None."""
    if len(password) < MIN_LENGTH:
        return f"新密码至少 {MIN_LENGTH} 位"
    if len(password) > MAX_LENGTH:
        return f"新密码不能超过 {MAX_LENGTH} 位"
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return "新密码须同时包含字母和数字"
    if password == initial_password:
        return "新密码不能与初始密码相同"
    if id_number and shares_id_run(password, id_number):
        return f"新密码不能包含证件号码中连续 {ID_RUN} 位及以上的字符"
    return None


ID_RUN = 6  # the birth date, the last 8 characters and the like are guessed first


def shares_id_run(password: str, id_number: str) -> bool:
    """Whether `password` contains ID_RUN or more consecutive characters of the ID number (case aside)."""
    pw, idn = password.upper(), id_number.strip().upper()
    return any(idn[i:i + ID_RUN] in pw for i in range(len(idn) - ID_RUN + 1))
