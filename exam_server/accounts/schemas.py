"""Request bodies of login, password change and phone binding."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..web.schemas import Body


class LoginBody(Body):
    kind: Literal["physician", "staff"] = Field(title="登录方式")
    login: str = Field(title="账号", min_length=1, max_length=64)
    password: str = Field(title="密码", min_length=1, max_length=128)


class PasswordBody(Body):
    old_password: str = Field(title="原密码", min_length=1, max_length=128)
    new_password: str = Field(title="新密码", min_length=1, max_length=128)
    confirm_password: str = Field(title="确认新密码", min_length=1, max_length=128)


class PhoneCodeBody(Body):
    phone: str = Field(title="手机号", min_length=1, max_length=16)


class PhoneBindBody(Body):
    phone: str = Field(title="手机号", min_length=1, max_length=16)
    code: str = Field(title="验证码", min_length=6, max_length=6, pattern=r"^\d{6}$")
