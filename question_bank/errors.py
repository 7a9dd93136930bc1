"""Exceptions raised by :mod:`question_bank`.

Hierarchy::

    QuestionBankError                 base of everything this library raises on purpose
    ├── ImportFormatError             a file could not be imported; carries every Problem found
    │   └── UnsupportedFormatError    the file is not in any format we read (or a refused variant)
    ├── BlueprintError                a paper blueprint is inconsistent in itself
    ├── PoolShortfallError            a pool cannot fill a blueprint; carries Shortfall records
    ├── DrawError                     a paper could not be drawn (e.g. malformed seen-list)
    ├── ScoringError                  answers do not fit the drawn paper
    └── ExportError                   questions a chosen export format cannot express

Every message meant for a user is Chinese (``message_zh``) and names the line/row, field or
section involved, so the web layer can show it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "QuestionBankError",
    "Problem",
    "ImportFormatError",
    "UnsupportedFormatError",
    "BlueprintError",
    "PoolShortfallError",
    "Shortfall",
    "DrawError",
    "ScoringError",
    "ExportError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an imported file.

    ``line_or_row`` is the 1-based line (text formats) or row (spreadsheets), or None when
    the problem concerns the whole file; ``field`` names the column/element ("答案", "选项B",
    "question type" ...); ``message_zh`` is the complete Chinese message shown to the user.

    ``whole_file`` marks a problem that makes the whole file unreadable (not a zip, no header
    row, damaged XML): such a file can never be imported in part. Every other problem belongs
    to one question (or row), which a partial import skips. ``item_type`` says what kind of
    question that was, as the file named it ("essay", "数值题", "判断" ...), when known.
    """

    line_or_row: int | None
    field: str
    message_zh: str
    item_type: str = ""
    whole_file: bool = False

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.message_zh


class QuestionBankError(Exception):
    """Base class of every deliberate error in :mod:`question_bank`."""

    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


class ImportFormatError(QuestionBankError):
    """The file has problems; nothing from it should be imported."""

    def __init__(self, problems: Sequence[Problem], message_zh: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        if message_zh is None:
            head = "；".join(p.message_zh for p in self.problems[:3])
            more = f"（共 {len(self.problems)} 处问题）" if len(self.problems) > 3 else ""
            message_zh = f"导入失败：{head}{more}"
        super().__init__(message_zh)


class UnsupportedFormatError(ImportFormatError):
    """The file's format is not recognised or is a variant we refuse (e.g. QTI 2.2)."""

    def __init__(self, message_zh: str) -> None:
        super().__init__([Problem(None, "文件格式", message_zh, whole_file=True)], message_zh)


class BlueprintError(QuestionBankError):
    """A blueprint contradicts itself (e.g. pass mark above total points)."""

    def __init__(self, messages_zh: Sequence[str]) -> None:
        self.messages_zh = list(messages_zh)
        super().__init__("；".join(self.messages_zh))


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A section of a blueprint that the pool cannot fill."""

    section_index: int
    section_title: str
    needed: int
    available: int
    message_zh: str


class PoolShortfallError(QuestionBankError):
    """The pool has too few questions for one or more sections."""

    def __init__(self, shortfalls: Sequence[Shortfall]) -> None:
        self.shortfalls = list(shortfalls)
        super().__init__("；".join(s.message_zh for s in self.shortfalls))


class DrawError(QuestionBankError):
    """A paper could not be drawn."""


class ScoringError(QuestionBankError):
    """Submitted answers do not fit the drawn paper."""


class ExportError(QuestionBankError):
    """Some questions cannot be written in the chosen format (e.g. X in Aiken)."""

    def __init__(self, message_zh: str, refs: Sequence[str] = ()) -> None:
        super().__init__(message_zh)
        self.refs = list(refs)
