"""A pre-indexed question pool, built once and shared by every draw.

Building sorts the questions into *units* (a single question, or all sub-questions of one
A3/A4/B1 group in their order) in a stable order (by fingerprint, so the order questions come
from storage does not matter), and indexes unit numbers by ``(type, category prefix)`` for every
prefix of every category. A draw then touches only the units it picks, never the whole pool.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from .model import Group, Question, QuestionType

__all__ = ["Pool", "PoolCounts", "CountedPool"]


class PoolCounts(Protocol):
    """What :func:`~question_bank.blueprint.check_pool` needs of a pool: counts, not questions."""

    def count(self, type: QuestionType, category_prefix: str) -> int: ...

    def group_sizes(self, type: QuestionType, category_prefix: str) -> list[int]: ...


class CountedPool:
    """A pool known only by its counts (e.g. aggregated by the database): singles per
    ``(type, category)`` and the size and category of each group. Answers what
    :class:`Pool` answers for checking a blueprint without loading a single question."""

    def __init__(self, singles: Iterable[tuple[QuestionType, str, int]],
                 groups: Iterable[tuple[QuestionType, str, int]]) -> None:
        self._counts: dict[tuple[QuestionType, str], int] = {}
        self._sizes: dict[tuple[QuestionType, str], list[int]] = {}
        self._total = 0
        for t, category, n in singles:
            self._total += n
            for p in _prefixes(category):
                self._counts[(t, p)] = self._counts.get((t, p), 0) + n
        for t, category, size in groups:
            self._total += size
            for p in _prefixes(category):
                self._counts[(t, p)] = self._counts.get((t, p), 0) + size
                self._sizes.setdefault((t, p), []).append(size)

    def __len__(self) -> int:
        return self._total

    def count(self, type: QuestionType, category_prefix: str) -> int:
        return self._counts.get((type, category_prefix), 0)

    def group_sizes(self, type: QuestionType, category_prefix: str) -> list[int]:
        return list(self._sizes.get((type, category_prefix), []))


def _prefixes(category: str) -> list[str]:
    out = [""]
    if category:
        parts = category.split("/")
        for i in range(1, len(parts) + 1):
            out.append("/".join(parts[:i]))
    return out


class Pool:
    """Immutable index over a list of questions (duplicates by fingerprint are dropped)."""

    def __init__(self, questions: Iterable[Question]) -> None:
        singles: dict[str, Question] = {}
        groups: dict[Group, list[Question]] = {}
        for q in questions:
            if q.group is not None:
                members = groups.setdefault(q.group, [])
                if all(m.fingerprint != q.fingerprint for m in members):
                    members.append(q)
            else:
                singles.setdefault(q.fingerprint, q)
        units: list[tuple[Question, ...]] = [(q,) for q in singles.values()]
        units.extend(tuple(m) for m in groups.values())
        units.sort(key=lambda u: "".join(q.fingerprint for q in u))
        self.units: tuple[tuple[Question, ...], ...] = tuple(units)
        index: dict[tuple[QuestionType, str], list[int]] = {}
        by_ref: dict[str, int] = {}
        for i, unit in enumerate(self.units):
            head = unit[0]
            for p in _prefixes(head.category):
                index.setdefault((head.type, p), []).append(i)
            for q in unit:
                by_ref[q.fingerprint] = i
                if q.id is not None:
                    by_ref[str(q.id)] = i
        self._index = {k: tuple(v) for k, v in index.items()}
        self._by_ref = by_ref
        self._counts = {k: sum(len(self.units[i]) for i in v) if k[0].is_group else len(v)
                        for k, v in self._index.items()}

    def __len__(self) -> int:
        return sum(len(u) for u in self.units)

    def bucket(self, type: QuestionType, category_prefix: str) -> tuple[int, ...]:
        """Unit numbers of ``type`` under ``category_prefix`` (in pool order)."""
        return self._index.get((type, category_prefix), ())

    def count(self, type: QuestionType, category_prefix: str) -> int:
        """Number of questions (sub-questions for groups) of ``type`` under the prefix."""
        return self._counts.get((type, category_prefix), 0)

    def group_sizes(self, type: QuestionType, category_prefix: str) -> list[int]:
        return [len(self.units[i]) for i in self.bucket(type, category_prefix)]

    def unit_of(self, ref: str) -> int | None:
        """The unit holding a question, by fingerprint or id."""
        return self._by_ref.get(ref)

    def categories(self) -> dict[str, int]:
        """Question counts per category prefix (all types), e.g. for the admin's blueprint form."""
        out: dict[str, int] = {}
        for (t, p), n in self._counts.items():
            out[p] = out.get(p, 0) + n
        return dict(sorted(out.items()))
