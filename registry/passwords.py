"""Password hashing (Argon2) and the password policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
    if id_number and id_number.upper() in password.upper():
        return "新密码不能包含证件号码"
    return None
