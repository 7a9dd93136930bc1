"""A pre-indexed question pool, built once and shared by every draw.

Building sorts the questions into *units* (a single question, or all sub-questions of one
A3/A4/B1 group in their order) in a stable order (by fingerprint, so the order questions come
from storage does not matter), and indexes unit numbers by ``(type, category prefix)`` for every
prefix of every category. A draw then touches only the units it picks, never the whole pool.

Enemies (互斥题, :mod:`question_bank.enemies`) become pairs of units. Both pools answer what
:mod:`question_bank.fill` needs to prove a blueprint can be filled without two enemies: how many
single questions have no enemy (interchangeable, so counted), and the other units one by one.
"""

from __future__ import annotations

from typing import Iterable, Protocol, Sequence

from .enemies import pairs_by_code, unit_enemies
from .model import Group, Question, QuestionType

__all__ = ["Pool", "PoolCounts", "CountedPool", "CountedUnit"]


class PoolCounts(Protocol):
    """What :func:`~question_bank.blueprint.check_pool` needs of a pool: counts, not questions,
    and the units that enemies or group sizes make count one by one."""

    def count(self, type: QuestionType, category_prefix: str) -> int: ...

    def group_sizes(self, type: QuestionType, category_prefix: str) -> list[int]: ...

    @property
    def has_enemies(self) -> bool: ...

    def free_count(self, type: QuestionType, category_prefix: str) -> int: ...

    def explicit_units(self, type: QuestionType, category_prefix: str) -> Sequence[int]: ...

    def unit_size(self, unit: int) -> int: ...

    def unit_enemies(self, unit: int) -> frozenset[int]: ...

    def unit_tie(self, unit: int) -> str: ...


CountedUnit = tuple[QuestionType, str, int, str]
"""A unit a :class:`CountedPool` knows one by one: ``(type, category, size, tie)``; ``tie`` is the
smallest fingerprint of its questions (the order :mod:`question_bank.fill` tries units in)."""


class CountedPool:
    """A pool known only by its counts (e.g. aggregated by the database): single questions with
    no enemy per ``(type, category)``, each group (``(type, category, size)``, or a
    :data:`CountedUnit`), and the single questions that have enemies as units of size 1, with
    the enemy pairs between units (indexes into ``groups`` followed by ``singles_with_enemies``).
    Answers what :class:`Pool` answers for checking a blueprint without loading a question."""

    def __init__(self, singles: Iterable[tuple[QuestionType, str, int]],
                 groups: Iterable[tuple[QuestionType, str, int] | CountedUnit], *,
                 singles_with_enemies: Iterable[CountedUnit] = (),
                 enemies: Iterable[tuple[int, int]] = ()) -> None:
        self._counts: dict[tuple[QuestionType, str], int] = {}
        self._free: dict[tuple[QuestionType, str], int] = {}
        self._sizes: dict[tuple[QuestionType, str], list[int]] = {}
        self._units: list[CountedUnit] = []
        self._explicit: dict[tuple[QuestionType, str], list[int]] = {}
        self._total = 0
        for t, category, n in singles:
            self._total += n
            for p in _prefixes(category):
                self._counts[(t, p)] = self._counts.get((t, p), 0) + n
                self._free[(t, p)] = self._free.get((t, p), 0) + n
        for g in groups:
            t, category, size = g[0], g[1], g[2]
            self._add_unit((t, category, size, g[3] if len(g) > 3 else ""))  # type: ignore[misc]
            for p in _prefixes(category):
                self._sizes.setdefault((t, p), []).append(size)
        for u in singles_with_enemies:
            self._add_unit(u)
        self._enemies = unit_enemies(enemies)

    def _add_unit(self, unit: CountedUnit) -> None:
        t, category, size, _ = unit
        self._total += size
        index = len(self._units)
        self._units.append(unit)
        for p in _prefixes(category):
            self._counts[(t, p)] = self._counts.get((t, p), 0) + size
            self._explicit.setdefault((t, p), []).append(index)

    def __len__(self) -> int:
        return self._total

    def count(self, type: QuestionType, category_prefix: str) -> int:
        return self._counts.get((type, category_prefix), 0)

    def group_sizes(self, type: QuestionType, category_prefix: str) -> list[int]:
        return list(self._sizes.get((type, category_prefix), []))

    @property
    def has_enemies(self) -> bool:
        return bool(self._enemies)

    def free_count(self, type: QuestionType, category_prefix: str) -> int:
        return self._free.get((type, category_prefix), 0)

    def explicit_units(self, type: QuestionType, category_prefix: str) -> Sequence[int]:
        return self._explicit.get((type, category_prefix), ())

    def unit_size(self, unit: int) -> int:
        return self._units[unit][2]

    def unit_enemies(self, unit: int) -> frozenset[int]:
        return self._enemies.get(unit, frozenset())

    def unit_tie(self, unit: int) -> str:
        return self._units[unit][3]


def _prefixes(category: str) -> list[str]:
    out = [""]
    if category:
        parts = category.split("/")
        for i in range(1, len(parts) + 1):
            out.append("/".join(parts[:i]))
    return out


class Pool:
    """Immutable index over a list of questions (duplicates by fingerprint are dropped).

    ``enemies``: pairs of questions (fingerprints or ids) that must never share a paper; when
    None, the pairs the questions' own codes name (:func:`~question_bank.enemies.pairs_by_code`).
    Pairs naming a question not in the pool, or two sub-questions of one group, are ignored."""

    def __init__(self, questions: Iterable[Question], *, enemies: Iterable[tuple[str, str]] | None = None) -> None:
        singles: dict[str, Question] = {}
        groups: dict[Group, list[Question]] = {}
        aliases: list[tuple[str, str]] = []  # id of a dropped duplicate -> fingerprint of the kept one
        all_questions: list[Question] = []
        for q in questions:
            if enemies is None:
                all_questions.append(q)
            if q.group is not None:
                members = groups.setdefault(q.group, [])
                if all(m.fingerprint != q.fingerprint for m in members):
                    members.append(q)
                elif q.id is not None:
                    aliases.append((str(q.id), q.fingerprint))
            else:
                kept = singles.setdefault(q.fingerprint, q)
                if kept is not q and q.id is not None:
                    aliases.append((str(q.id), q.fingerprint))
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
        for alias, fp in aliases:
            by_ref.setdefault(alias, by_ref[fp])
        self._index = {k: tuple(v) for k, v in index.items()}
        self._by_ref = by_ref
        self._counts = {k: sum(len(self.units[i]) for i in v) if k[0].is_group else len(v)
                        for k, v in self._index.items()}
        pairs = pairs_by_code(all_questions) if enemies is None else enemies
        unit_pairs = []
        for a, b in pairs:
            ua, ub = by_ref.get(str(a)), by_ref.get(str(b))
            if ua is not None and ub is not None:
                unit_pairs.append((ua, ub))
        self.enemies: dict[int, frozenset[int]] = unit_enemies(unit_pairs)
        self._explicit: dict[tuple[QuestionType, str], tuple[int, ...]] = {}
        self._free: dict[tuple[QuestionType, str], int] = {}

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

    # What question_bank.fill needs (see PoolCounts).

    @property
    def has_enemies(self) -> bool:
        return bool(self.enemies)

    def free_count(self, type: QuestionType, category_prefix: str) -> int:
        """Single questions of ``type`` under the prefix that have no enemy."""
        key = (type, category_prefix)
        if key not in self._free:
            self._free[key] = 0 if type.is_group else sum(1 for u in self.bucket(*key) if u not in self.enemies)
        return self._free[key]

    def explicit_units(self, type: QuestionType, category_prefix: str) -> Sequence[int]:
        """Units that count one by one: every group, and each single question with enemies."""
        key = (type, category_prefix)
        if key not in self._explicit:
            bucket = self.bucket(*key)
            self._explicit[key] = bucket if type.is_group else tuple(u for u in bucket if u in self.enemies)
        return self._explicit[key]

    def unit_size(self, unit: int) -> int:
        return len(self.units[unit])

    def unit_enemies(self, unit: int) -> frozenset[int]:
        return self.enemies.get(unit, frozenset())

    def unit_tie(self, unit: int) -> str:
        return min(q.fingerprint for q in self.units[unit])

    def categories(self) -> dict[str, int]:
        """Question counts per category prefix (all types), e.g. for the admin's blueprint form."""
        out: dict[str, int] = {}
        for (t, p), n in self._counts.items():
            out[p] = out.get(p, 0) + n
        return dict(sorted(out.items()))
