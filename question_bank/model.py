"""The question model: plain, immutable, typed dataclasses.

Item types follow the Chinese medical licensing/assessment conventions:

* ``A1`` single best answer (short stem), ``A2`` single best answer (case stem);
* ``X`` multiple answer (two or more correct options);
* ``TF`` true/false (判断题), options are fixed: ``T`` 正确 / ``F`` 错误;
* ``A3`` / ``A4`` case groups: one shared case stem (:class:`Group.stem`) followed by several
  single-answer sub-questions, each with its own options;
* ``B1`` matching sets: one shared option list (:class:`Group.options`) used by several
  single-answer sub-questions, which carry no options of their own.

Sub-questions of a group are ordinary :class:`Question` objects sharing one :class:`Group`
(equal ``Group.key``); they always travel together (drawing, preview, export).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from .fingerprint import fingerprint_of

__all__ = [
    "QuestionType",
    "Option",
    "Image",
    "Group",
    "Question",
    "TF_OPTIONS",
    "GROUP_TYPES",
    "SINGLE_ANSWER_TYPES",
    "OPTION_LABELS",
    "IMAGE_MIME_TYPES",
]

OPTION_LABELS: tuple[str, ...] = tuple("ABCDEFGH")
IMAGE_MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})


class QuestionType(StrEnum):
    A1 = "A1"
    A2 = "A2"
    X = "X"
    TF = "TF"
    A3 = "A3"
    A4 = "A4"
    B1 = "B1"

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]

    @property
    def is_group(self) -> bool:
        return self in GROUP_TYPES

    @property
    def is_multiple(self) -> bool:
        return self is QuestionType.X


_LABELS_ZH = {
    QuestionType.A1: "A1型题（单选）",
    QuestionType.A2: "A2型题（病例单选）",
    QuestionType.X: "X型题（多选）",
    QuestionType.TF: "判断题",
    QuestionType.A3: "A3型题（共用题干）",
    QuestionType.A4: "A4型题（共用题干）",
    QuestionType.B1: "B1型题（共用备选答案）",
}

GROUP_TYPES = frozenset({QuestionType.A3, QuestionType.A4, QuestionType.B1})
SINGLE_ANSWER_TYPES = frozenset(set(QuestionType) - {QuestionType.X})


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    text: str


TF_OPTIONS: tuple[Option, Option] = (Option("T", "正确"), Option("F", "错误"))


@dataclass(frozen=True, slots=True)
class Image:
    """An image attached to a stem: embedded bytes (``data``) or a reference (``ref``: URL or
    storage key). ``name`` is the original file name when known."""

    mime: str
    data: bytes | None = None
    ref: str | None = None
    name: str = ""


@dataclass(frozen=True, slots=True)
class Group:
    """What sub-questions of an A3/A4 case group or a B1 matching set share.

    ``key`` identifies the group inside one file or bank (the 共用题干组号); ``stem`` is the shared
    case text (A3/A4; optional instruction for B1); ``options`` is the shared option list (B1)."""

    key: str
    type: QuestionType
    stem: str = ""
    options: tuple[Option, ...] = ()
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Question:
    """One answerable question.

    ``key`` holds the correct option labels, sorted; ``category`` is a ``/``-separated path such
    as ``医学人文/法律法规``; ``difficulty`` is 1 (易) .. 5 (难) or None. ``id`` is an identifier
    assigned by whoever stores the question (not part of its identity); ``source_ref`` says where
    an imported question came from ("第 12 行"). ``fingerprint`` is a stable content hash (see
    :mod:`question_bank.fingerprint`) used to recognise re-imports."""

    type: QuestionType
    stem: str
    options: tuple[Option, ...]
    key: tuple[str, ...]
    points: float = 1.0
    category: str = ""
    difficulty: int | None = None
    explanation: str = ""
    images: tuple[Image, ...] = ()
    group: Group | None = None
    id: str | None = field(default=None, compare=False)
    source_ref: str | None = field(default=None, compare=False)
    code: str = field(default="", compare=False)
    enemies: tuple[str, ...] = field(default=(), compare=False)
    fingerprint: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprint", fingerprint_of(self))

    @property
    def choices(self) -> tuple[Option, ...]:
        """The options a candidate chooses from (the group's shared list for B1)."""
        if self.type is QuestionType.B1 and self.group is not None:
            return self.group.options
        if self.type is QuestionType.TF and not self.options:
            return TF_OPTIONS
        return self.options

    @property
    def group_key(self) -> str | None:
        return self.group.key if self.group is not None else None

    def with_id(self, id: str | None) -> "Question":
        return replace(self, id=id)
