"""Item enemies (互斥题): questions that must never share a paper.

Two questions are enemies when one gives the other away, e.g. a 判断 statement that says an A1
question's answer or rules one of its options out (:mod:`question_bank.cueing` finds likely
pairs). The admin marks them; drawing keeps them apart.

* In files (the template's 试题编号 and 互斥题 columns) a question is named by its code in its
  bank. :class:`EnemyLinks` gathers what an import names and resolves it at the end of the file,
  against the file's own codes first, then the bank's.
* In a :class:`~question_bank.pool.Pool` enemies are pairs of question refs (fingerprint or id)
  and become pairs of units: A3/A4/B1 groups are drawn whole, so a group is the enemy of whatever
  any of its sub-questions is the enemy of.
* :func:`clashes` is the rule itself; :func:`enemy_pairs_among` checks a finished paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Iterable, Mapping

from .errors import Problem
from .model import Question
from .normalise import clean_text

__all__ = [
    "MAX_CODE_CHARS",
    "MAX_ENEMIES",
    "normalise_code",
    "code_problem",
    "parse_enemy_codes",
    "clashes",
    "enemy_pairs_among",
    "pairs_by_code",
    "EnemyLinks",
    "unit_enemies",
]

MAX_CODE_CHARS = 32
MAX_ENEMIES = 50  # per question: more is a sign of a wrong column, not of a real bank
MAX_ENEMY_CELL_CHARS = 4000

# Separators of a 互斥题 cell: what Excel users type between codes.
_SEPARATORS = re.compile(r"[\s,，、;；|｜]+")
_BAD_CODE_CHARS = re.compile(r"[\s,，、;；|｜\x00-\x1f\x7f]")


def _half(ch: str) -> str:
    o = ord(ch)
    return chr(o - 0xFEE0) if 0xFF01 <= o <= 0xFF5E else ch


def normalise_code(value: object) -> str:
    """A code as typed (``" ＲＷ－００１ "``) -> as stored (``"RW-001"``); case is kept."""
    return "".join(_half(c) for c in clean_text(value).strip())


def code_problem(code: str) -> str | None:
    """Why ``code`` (normalised) cannot be a 试题编号, in Chinese; None when it can."""
    if len(code) > MAX_CODE_CHARS:
        return f"试题编号“{code[:MAX_CODE_CHARS]}…”过长（最多 {MAX_CODE_CHARS} 个字符）"
    bad = _BAD_CODE_CHARS.search(code)
    if bad:
        ch = bad.group()
        what = "空格或换行" if ch.isspace() else ("控制字符" if ord(ch) < 32 or ord(ch) == 127 else f"分隔符“{ch}”")
        return f"试题编号“{_printable(code)}”中不能含有{what}"
    return None


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:MAX_CODE_CHARS + 8]


def parse_enemy_codes(value: object) -> tuple[tuple[str, ...], list[str]]:
    """The codes of a 互斥题 cell (separated by 、 , ; or spaces), distinct and in order, and
    what is wrong with the cell (Chinese messages; empty when nothing)."""
    text = clean_text(value)
    if not text.strip():
        return (), []
    if len(text) > MAX_ENEMY_CELL_CHARS:
        return (), [f"互斥题内容过长（{len(text)} 个字符），每题最多填写 {MAX_ENEMIES} 个试题编号"]
    problems: list[str] = []
    if any(ord(c) < 32 and c != "\n" or ord(c) == 127 for c in text):
        problems.append("互斥题中含有控制字符（文件可能已损坏）")
        return (), problems
    codes: list[str] = []
    for part in _SEPARATORS.split(text):
        code = normalise_code(part)
        if not code or code in codes:
            continue
        why = code_problem(code)
        if why:
            problems.append(f"互斥题中的{why}")
            continue
        codes.append(code)
    if len(codes) > MAX_ENEMIES:
        problems.append(f"互斥题最多填写 {MAX_ENEMIES} 个试题编号，本行填写了 {len(codes)} 个")
    return tuple(codes), problems


def clashes(unit: int, chosen: Collection[int], enemies: Mapping[int, Collection[int]]) -> bool:
    """The rule: ``unit`` may not join a paper that already holds one of its enemies.

    ``enemies`` maps a unit to the units it must never share a paper with (symmetric); a unit
    is never its own enemy."""
    return any(e != unit and e in chosen for e in enemies.get(unit, ()))


def enemy_pairs_among(units: Iterable[int], enemies: Mapping[int, Collection[int]]) -> list[tuple[int, int]]:
    """Every pair of enemies among ``units`` (each pair once, smaller first): empty for a
    paper that keeps the rule."""
    chosen = set(units)
    return sorted({(min(u, e), max(u, e)) for u in chosen for e in enemies.get(u, ()) if e != u and e in chosen})


def pairs_by_code(questions: Iterable[Question]) -> list[tuple[str, str]]:
    """Enemy pairs (by fingerprint) that the questions' own ``code`` / ``enemies`` name among
    themselves; codes naming no question of the list are ignored."""
    qs = list(questions)
    by_code = {q.code: q.fingerprint for q in qs if q.code}
    out: set[tuple[str, str]] = set()
    for q in qs:
        for c in q.enemies:
            other = by_code.get(c)
            if other is not None and other != q.fingerprint:
                out.add((min(q.fingerprint, other), max(q.fingerprint, other)))
    return sorted(out)


_ROW = re.compile(r"第\s*(\d+)\s*行")


@dataclass(frozen=True, slots=True)
class _Link:
    fingerprint: str
    code: str
    enemies: tuple[str, ...]
    where: str
    group: str | None


class EnemyLinks:
    """The codes and enemy references of an import, gathered question by question and resolved
    once the whole file is read (a reference may name a later row). Holds a few short strings
    per question that has a code or enemies, never the questions."""

    def __init__(self) -> None:
        self._links: list[_Link] = []

    def add(self, q: Question) -> None:
        if q.code or q.enemies:
            self._links.append(_Link(q.fingerprint, q.code, q.enemies, q.source_ref or "", q.group_key))

    def resolve(self, stored: Mapping[str, str] | None = None) -> tuple[list[tuple[str, str]], list[Problem]]:
        """``(pairs, problems)``: enemy pairs by fingerprint (smaller first, each once) and what
        cannot be resolved. ``stored`` maps the bank's codes to their questions' fingerprints.

        A file's code names its own question; one the bank already uses for another question
        is refused. Problems are whole-file: a reference is never dropped silently, and the
        question it names might be one a partial import would skip."""
        stored = stored or {}
        problems: list[Problem] = []
        mine: dict[str, _Link] = {}
        for link in self._links:
            if not link.code:
                continue
            first = mine.get(link.code)
            if first is None:
                mine[link.code] = link
                taken = stored.get(link.code)
                if taken is not None and taken != link.fingerprint:
                    problems.append(_problem(link, "试题编号", f"试题编号“{link.code}”已被题库中另一道试题使用，请换一个编号"))
            elif first.fingerprint != link.fingerprint:
                problems.append(_problem(link, "试题编号", f"试题编号“{link.code}”与{first.where or '前面的试题'}重复"))
        pairs: set[tuple[str, str]] = set()
        for link in self._links:
            for c in link.enemies:
                own = mine.get(c)
                other = own.fingerprint if own is not None else stored.get(c)
                if other is None:
                    problems.append(_problem(link, "互斥题", f"互斥题“{c}”在本文件和题库中都找不到（应填写同一题库中试题的试题编号）"))
                elif other == link.fingerprint:
                    problems.append(_problem(link, "互斥题", f"互斥题不能填写本题自己的试题编号“{c}”"))
                elif link.group is not None and own is not None and own.group == link.group:
                    problems.append(_problem(link, "互斥题", f"互斥题“{c}”与本题同属一组（共用题干或共用选项），同组小题总是一起出现，不能互为互斥题"))
                else:
                    pairs.add((min(link.fingerprint, other), max(link.fingerprint, other)))
        problems.sort(key=lambda p: p.line_or_row or 0)
        return sorted(pairs), problems


def _problem(link: _Link, field: str, message: str) -> Problem:
    m = _ROW.search(link.where)
    where = f"{link.where}：" if link.where else ""
    return Problem(int(m.group(1)) if m else None, field, where + message, whole_file=True)


def unit_enemies(pairs: Iterable[tuple[int, int]]) -> dict[int, frozenset[int]]:
    """Pairs of units -> each unit's enemies (symmetric; pairs within one unit dropped)."""
    out: dict[int, set[int]] = {}
    for a, b in pairs:
        if a != b:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
    return {u: frozenset(v) for u, v in out.items()}
