"""What a reader returns: questions, problems, and a dry-run preview of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Container, Iterable, Iterator, Union

from .errors import ImportFormatError, Problem
from .model import Question
from .serialise import question_to_dict

__all__ = ["ImportResult", "ImportPreview", "DuplicateInFile", "Event", "collect", "drain"]

#: What a streaming reader yields: each question read, and each problem found, as it goes.
Event = Union[Question, Problem]


@dataclass(frozen=True, slots=True)
class DuplicateInFile:
    fingerprint: str
    source_refs: tuple[str, ...]
    stem: str


@dataclass(frozen=True)
class ImportPreview:
    """A dry run: what an import would add, shown before anything is stored."""

    format: str
    total: int
    by_type: dict[str, int]
    by_category: dict[str, int]
    duplicates_in_file: list[DuplicateInFile]
    already_in_bank: int
    first: list[dict[str, Any]]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "ok": self.ok,
            "total": self.total,
            "by_type": self.by_type,
            "by_category": self.by_category,
            "duplicates_in_file": [
                {"fingerprint": d.fingerprint, "source_refs": list(d.source_refs), "stem": d.stem}
                for d in self.duplicates_in_file
            ],
            "already_in_bank": self.already_in_bank,
            "first": self.first,
            "problems": [
                {"line_or_row": p.line_or_row, "field": p.field, "message": p.message_zh}
                for p in self.problems
            ],
        }


@dataclass
class ImportResult:
    """Questions read from a file and every problem found.

    When ``problems`` is not empty the file must not be imported at all (``ok`` is False);
    ``questions`` then still holds what could be read, for the preview."""

    format: str
    questions: list[Question] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> list[Question]:
        """Return the questions, or raise :class:`ImportFormatError` listing every problem."""
        if self.problems:
            raise ImportFormatError(self.problems)
        return self.questions

    def new_questions(self, existing_fingerprints: Container[str]) -> list[Question]:
        """The questions not already stored (by fingerprint) and not repeated in the file."""
        seen: set[str] = set()
        out = []
        for q in self.questions:
            if q.fingerprint in existing_fingerprints or q.fingerprint in seen:
                continue
            seen.add(q.fingerprint)
            out.append(q)
        return out

    def preview(
        self, *, limit: int = 10, existing_fingerprints: Container[str] = frozenset()
    ) -> ImportPreview:
        by_type = Counter(q.type.label_zh for q in self.questions)
        by_cat = Counter(q.category or "（未分类）" for q in self.questions)
        groups: dict[str, list[Question]] = {}
        for q in self.questions:
            groups.setdefault(q.fingerprint, []).append(q)
        dups = [
            DuplicateInFile(fp, tuple(q.source_ref or "?" for q in qs), qs[0].stem[:80])
            for fp, qs in groups.items()
            if len(qs) > 1
        ]
        already = sum(1 for fp in groups if fp in existing_fingerprints)
        return ImportPreview(
            format=self.format,
            total=len(self.questions),
            by_type=dict(by_type),
            by_category=dict(sorted(by_cat.items())),
            duplicates_in_file=dups,
            already_in_bank=already,
            first=[question_to_dict(q, embed_images=False) for q in self.questions[:limit]],
            problems=list(self.problems),
        )


def drain(sink: ImportResult) -> Iterator[Event]:
    """Yield what a reader has gathered in ``sink`` so far (problems, then questions) and empty it.

    Readers work question by question into a small sink and drain it after each one, so a
    large file streams through without every question being held at once."""
    problems, questions = list(sink.problems), list(sink.questions)
    sink.problems.clear()  # in place: readers keep aliases of these lists
    sink.questions.clear()
    yield from problems
    yield from questions


def collect(format: str, events: Iterable[Event]) -> ImportResult:
    """All of a reader's events as one :class:`ImportResult` (problems in line order)."""
    res = ImportResult(format=format)
    for e in events:
        if isinstance(e, Problem):
            res.problems.append(e)
        else:
            res.questions.append(e)
    res.problems.sort(key=lambda p: p.line_or_row or 0)
    return res
