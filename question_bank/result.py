"""What a reader returns: questions, problems, and a dry-run preview of them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Container, Iterable, Iterator, Union

from .errors import ImportFormatError, Problem
from .model import Question
from .serialise import question_to_dict

__all__ = ["ImportResult", "ImportPreview", "DuplicateInFile", "Event", "collect", "drain", "PreviewBuilder",
           "skipped_report", "problem_to_dict"]

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
    #: the problems are all about single questions: the rest can be imported on request
    can_skip: bool = False
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.problem_count

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
            "problems": [problem_to_dict(p) for p in self.problems],
            "problem_count": max(self.problem_count, len(self.problems)),
            "can_skip": self.can_skip,
        }


def problem_to_dict(p: Problem) -> dict[str, Any]:
    return {"line_or_row": p.line_or_row, "field": p.field, "message": p.message_zh, "item_type": p.item_type,
            "whole_file": p.whole_file}


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

    @property
    def can_skip(self) -> bool:
        """Every problem concerns single questions, and some questions are fine: a partial
        import (skipping the questions with problems) is possible."""
        return bool(self.questions) and not any(p.whole_file for p in self.problems)

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
        b = PreviewBuilder(self.format, limit=limit)
        for p in self.problems:
            b.add(p)
        for q in self.questions:
            b.add(q)
        return b.finish(existing_fingerprints)


class PreviewBuilder:
    """Builds an :class:`ImportPreview` from a reader's events one at a time, holding only
    counters, one fingerprint per question, the first ``limit`` questions and the first
    ``keep_problems`` problems: a preview of a 200,000-question file fits in tens of MB."""

    def __init__(self, format: str, *, limit: int = 10, keep_problems: int = 500) -> None:
        self.format = format
        self.limit = limit
        self.keep_problems = keep_problems
        self.total = 0
        self.by_type: Counter[str] = Counter()
        self.by_cat: Counter[str] = Counter()
        self.first_ref: dict[str, str] = {}
        self.dups: dict[str, list[str]] = {}
        self.dup_stems: dict[str, str] = {}
        self.first: list[dict[str, Any]] = []
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.whole_file = False

    def add(self, event: Event) -> None:
        if isinstance(event, Problem):
            self.problem_count += 1
            self.whole_file = self.whole_file or event.whole_file
            if len(self.problems) < self.keep_problems:
                self.problems.append(event)
            return
        q = event
        self.total += 1
        self.by_type[q.type.label_zh] += 1
        self.by_cat[q.category or "（未分类）"] += 1
        ref = q.source_ref or "?"
        fp = q.fingerprint
        if fp in self.first_ref:
            if fp not in self.dups:
                self.dups[fp] = [self.first_ref[fp]]
                self.dup_stems[fp] = q.stem[:80]
            self.dups[fp].append(ref)
        else:
            self.first_ref[fp] = ref
        if len(self.first) < self.limit:
            # With the type's name beside its code: the preview shows names, never codes.
            self.first.append({**question_to_dict(q, embed_images=False), "type_label": q.type.label_zh})

    @property
    def can_skip(self) -> bool:
        return self.total > 0 and not self.whole_file

    def finish(self, existing_fingerprints: Container[str] = frozenset()) -> ImportPreview:
        already = sum(1 for fp in self.first_ref if fp in existing_fingerprints)
        self.problems.sort(key=lambda p: p.line_or_row or 0)
        return ImportPreview(
            format=self.format,
            total=self.total,
            by_type=dict(self.by_type),
            by_category=dict(sorted(self.by_cat.items())),
            duplicates_in_file=[DuplicateInFile(fp, tuple(refs), self.dup_stems[fp]) for fp, refs in self.dups.items()],
            already_in_bank=already,
            first=self.first,
            problems=list(self.problems),
            can_skip=self.can_skip and self.problem_count > 0,
            problem_count=self.problem_count,
        )

    def new_count(self, existing_fingerprints: Container[str]) -> int:
        """How many questions an import would add (not in the bank, first of their kind in the file)."""
        return sum(1 for fp in self.first_ref if fp not in existing_fingerprints)


def skipped_report(problems: Iterable[Problem]) -> bytes:
    """The questions a partial import leaves out, as CSV for Excel (UTF-8 with BOM): position,
    question type, field and reason, one line per problem."""
    import csv
    import io

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["位置", "题型", "字段", "原因"])
    for p in problems:
        where = f"第 {p.line_or_row} 行" if p.line_or_row else "—"
        w.writerow([where, p.item_type or "—", p.field, p.message_zh])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


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
