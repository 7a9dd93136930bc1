"""Exceptions raised by the reports package.

All rooted at :class:`ReportError`; each carries a Chinese ``message_zh`` for end users::

    ReportError
    ├── UnprintableText         text holds characters no bundled font can draw
    ├── ImageError              a photo or seal image cannot be placed on a page
    └── TokenError              a verification token or certificate number is malformed
"""

from __future__ import annotations


class ReportError(Exception):
    """Base class of every error raised by :mod:`reports`."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


class UnprintableText(ReportError):
    """Some characters are covered by none of the bundled CJK fonts."""

    def __init__(self, characters: str) -> None:
        shown = "、".join(f"{c}(U+{ord(c):04X})" for c in characters[:10])
        super().__init__(f"以下字符无法打印：{shown}")
        self.characters = characters


class ImageError(ReportError):
    """A photo or seal image could not be decoded."""


class TokenError(ReportError):
    """A certificate number or verification token is malformed."""
