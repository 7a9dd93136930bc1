"""Filling a blueprint without two enemies in one paper: a search that proves it can be done.

:func:`find_fill` is what :func:`~question_bank.blueprint.check_pool` runs to refuse a paper
definition the bank cannot fill, and what :func:`~question_bank.drawing.draw_paper` falls back to
when its random draw runs into enemies; it reads a pool through the small
:class:`~question_bank.pool.PoolCounts` interface, so a pool counted by the database answers the
same as one holding every question.

How it works:

* Single questions without enemies are interchangeable: each section takes as many of them as it
  can, most specific section first (swapping one for a question with enemies never helps, because
  category buckets nest). Only the rest is searched.
* The rest (single questions with enemies, and every A3/A4/B1 group, whose sizes must add up
  exactly) is a depth-first search, section by section in draw order, trying the units with the
  fewest enemies first, and undoing a choice when a later section cannot be filled.
* Before each section the search bounds what is still possible: within each connected set of
  enemies at most as many units can be taken as its largest enemy-free subset (computed exactly
  for small sets, bounded by a clique cover for large ones). A fact whose A1 question and three
  判断 statements are all enemies gives at most one question, whatever the sections; so a bank of
  44 such facts is refused at once for 88 questions, with the reason.
* The search is bounded (``budget`` steps). Running out is reported as its own reason, never as
  a paper that can be filled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from .errors import Shortfall
from .model import QuestionType

if TYPE_CHECKING:  # pragma: no cover
    from .pool import PoolCounts

__all__ = ["Fill", "find_fill", "draw_order", "within", "groups_nest", "reachable", "BUDGET"]


class Section(Protocol):
    """What a search reads of a blueprint section (:class:`question_bank.blueprint.Section`)."""

    title: str
    type: QuestionType
    category_prefix: str
    count: int


BUDGET = 200_000
EXACT_COMPONENT = 20  # largest enemy-connected set whose enemy-free maximum is computed exactly


@dataclass
class Fill:
    """A way to fill the blueprint (``ok``), or why there is none (``shortfalls``).

    ``free[s]``: how many single questions without enemies section ``s`` takes; ``units[s]``:
    the other units it takes (pool unit numbers)."""

    ok: bool
    free: dict[int, int] = field(default_factory=dict)
    units: dict[int, list[int]] = field(default_factory=dict)
    shortfalls: list[Shortfall] = field(default_factory=list)
    exhausted: bool = False  # the step budget ran out before an answer


class _OutOfBudget(Exception):
    pass


def within(prefix: str, outer: str) -> bool:
    """Whether category ``prefix`` lies under ``outer`` (whole path segments)."""
    return outer == "" or prefix == outer or prefix.startswith(outer + "/")


def draw_order(sections: Sequence[Section]) -> list[int]:
    """Sections ordered most specific first, so nested prefixes never starve each other."""
    return sorted(range(len(sections)), key=lambda i: (-sections[i].category_prefix.count("/") - (sections[i].category_prefix != ""), i))


def groups_nest(sections: Sequence[Section]) -> bool:
    """Whether two group sections of one type draw from nested categories: they then share
    groups, and group sizes that add up for each alone may not for both (counts cannot tell)."""
    return any(a.type is b.type and (within(a.category_prefix, b.category_prefix) or within(b.category_prefix, a.category_prefix))
               for i, a in enumerate(sections) if a.type.is_group for b in sections[i + 1:])


def _where(s: "Section") -> str:
    return s.category_prefix or "全部分类"


def _name(i: int, s: "Section") -> str:
    return f"第 {i + 1} 部分（{s.title}）"


def _max_independent(nodes: list[int], adj: dict[int, frozenset[int]]) -> int:
    """The size of the largest enemy-free subset of ``nodes`` (exact for small sets; a clique
    cover, which is never smaller, for large ones)."""
    if len(nodes) <= EXACT_COMPONENT:
        index = {u: i for i, u in enumerate(nodes)}
        nbr = [sum(1 << index[v] for v in adj[u] if v in index) for u in nodes]
        memo: dict[int, int] = {}

        def best(mask: int) -> int:
            if not mask:
                return 0
            hit = memo.get(mask)
            if hit is not None:
                return hit
            v = (mask & -mask).bit_length() - 1
            rest = mask & ~(1 << v)
            # Leave v out, or take it and leave its enemies out (no enemies left: taking it is best).
            result = 1 + best(rest & ~nbr[v]) if not nbr[v] & rest else max(best(rest), 1 + best(rest & ~nbr[v]))
            memo[mask] = result
            return result

        return best((1 << len(nodes)) - 1)
    cliques: list[list[int]] = []
    for u in nodes:
        for c in cliques:
            if all(v in adj[u] for v in c):
                c.append(u)
                break
        else:
            cliques.append([u])
    return len(cliques)


def _components(units: set[int], adj: dict[int, frozenset[int]]) -> dict[int, int]:
    comp: dict[int, int] = {}
    for start in sorted(units):
        if start in comp:
            continue
        stack = [start]
        comp[start] = start
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v in units and v not in comp:
                    comp[v] = start
                    stack.append(v)
    return comp


def find_fill(sections: Sequence["Section"], pool: "PoolCounts", *, budget: int = BUDGET,
              prefer: Callable[[int], object] | None = None) -> Fill:
    """A fill of ``sections`` from ``pool`` with no two enemies, or the reasons there is none,
    section by section in :func:`draw_order`.

    ``prefer``: sort key that orders units of equal enemy count (default: the pool's tie, so the
    database's count and the loaded pool search alike); a draw passes a seeded random one."""
    order = draw_order(sections)
    free: dict[int, int] = {}
    need: dict[int, int] = {}
    taken: list[int] = []
    for si in order:
        s = sections[si]
        if s.type.is_group:
            need[si] = s.count
        else:
            used = sum(free[j] for j in taken if not sections[j].type.is_group and sections[j].type is s.type
                       and within(sections[j].category_prefix, s.category_prefix))
            free[si] = min(s.count, max(pool.free_count(s.type, s.category_prefix) - used, 0))
            need[si] = s.count - free[si]
        taken.append(si)

    tie = prefer or pool.unit_tie
    cands: dict[int, list[int]] = {}
    for si in order:
        s = sections[si]
        units = pool.explicit_units(s.type, s.category_prefix) if need[si] else ()
        cands[si] = sorted(units, key=lambda u: (len(pool.unit_enemies(u)), tie(u), u))
    relevant = {u for c in cands.values() for u in c}
    adj = {u: frozenset(v for v in pool.unit_enemies(u) if v in relevant) for u in relevant}
    comp = _components(relevant, adj)
    members: dict[int, list[int]] = {}
    for u, c in comp.items():
        members.setdefault(c, []).append(u)
    alpha = {c: _max_independent(sorted(m), adj) for c, m in members.items()}

    chosen: set[int] = set()
    blocked: Counter[int] = Counter()
    picks: dict[int, list[int]] = {si: [] for si in order}
    steps = [0]
    deepest: list[tuple[int, Shortfall]] = []  # (position in order, reason) of the furthest failure

    def fail(pos: int, reason: Shortfall) -> bool:
        if not deepest or pos > deepest[0][0]:
            deepest[:] = [(pos, reason)]
        return False

    def available(u: int) -> bool:
        return u not in chosen and not blocked[u]

    def capacity(units: Sequence[int]) -> int:
        """At most how many of ``units`` (still available) one paper can hold together."""
        per: Counter[int] = Counter(comp[u] for u in units if available(u))
        return sum(min(n, alpha[c]) for c, n in per.items())

    def bounds_hold(pos: int) -> bool:
        rest = [si for si in order[pos:] if need[si]]
        singles = [si for si in rest if not sections[si].type.is_group]
        for si in rest:
            s = sections[si]
            if s.type.is_group:
                sizes = [pool.unit_size(u) for u in cands[si] if available(u)]
                if not reachable(sizes, need[si]):
                    have = sum(sizes)
                    why = (f"{_name(si, s)}：排除与本卷其他试题互斥的组后，{s.type.label_zh}（{_where(s)}）各组小题数无法恰好凑成 "
                           f"{s.count} 道" if have >= need[si] else
                           f"{_name(si, s)}：排除与本卷其他试题互斥的组后，{s.type.label_zh}（{_where(s)}）只剩 {have} 道，需要 {s.count} 道")
                    return fail(pos, Shortfall(si, s.title, s.count, have, why + "，请减少题量或解除部分互斥关系"))
                continue
            cap = capacity(cands[si])
            if cap < need[si]:
                most = free[si] + cap
                return fail(pos, Shortfall(si, s.title, s.count, most,
                                           f"{_name(si, s)}：需要 {s.count} 道 {s.type.label_zh}（{_where(s)}），但互斥的试题不能同卷，"
                                           f"最多只能选出 {most} 道，请减少题量、补充试题或解除部分互斥关系"))
        if len(singles) > 1:
            union = sorted({u for si in singles for u in cands[si]})
            total = sum(need[si] for si in singles)
            cap = capacity(union)
            if cap < total:
                first = min(singles)
                names = "、".join(str(si + 1) for si in sorted(singles))
                return fail(pos, Shortfall(first, sections[first].title, total, cap,
                                           f"第 {names} 部分还需从有互斥关系的试题中共选出 {total} 道，但互斥的试题不能同卷，"
                                           f"这些试题最多只能同时选出 {cap} 道，请减少题量、补充试题或解除部分互斥关系"))
        return True

    def take(si: int, u: int) -> None:
        chosen.add(u)
        picks[si].append(u)
        blocked.update(pool.unit_enemies(u))

    def untake(si: int, u: int) -> None:
        blocked.subtract(pool.unit_enemies(u))
        picks[si].remove(u)
        chosen.discard(u)

    def greedy() -> bool:
        """The search's first path, without recursion: enough for nearly every bank."""
        for si in order:
            left = need[si]
            for u in cands[si]:
                if not left:
                    break
                if pool.unit_size(u) <= left and available(u):
                    take(si, u)
                    left -= pool.unit_size(u)
            if left:
                for sj in order:
                    for u in list(picks[sj]):
                        untake(sj, u)
                return False
        return True

    def section(pos: int) -> bool:
        if pos == len(order):
            return True
        si = order[pos]
        if not need[si]:
            return section(pos + 1)
        if not bounds_hold(pos):
            return False
        if pick(pos, si, 0, need[si]):
            return True
        s = sections[si]
        return fail(pos, Shortfall(si, s.title, s.count, s.count - need[si],
                                   f"{_name(si, s)}：按互斥关系无法与其他部分同时抽足 {s.count} 道 {s.type.label_zh}（{_where(s)}），"
                                   "请减少题量、补充试题或解除部分互斥关系"))

    def pick(pos: int, si: int, start: int, left: int) -> bool:
        if left == 0:
            return section(pos + 1)
        steps[0] += 1
        if steps[0] > budget:
            raise _OutOfBudget()
        c = cands[si]
        for j in range(start, len(c)):
            u = c[j]
            size = pool.unit_size(u)
            if size > left or not available(u):
                continue
            take(si, u)
            if pick(pos, si, j + 1, left - size):
                return True
            untake(si, u)
        return False

    try:
        found = greedy() or section(0)
    except (_OutOfBudget, RecursionError):
        pos, _ = deepest[0] if deepest else (0, None)
        si = order[min(pos, len(order) - 1)]
        s = sections[si]
        return Fill(False, exhausted=True, shortfalls=[Shortfall(si, s.title, s.count, 0,
                                                 f"{_name(si, s)}：互斥关系过于复杂，未能在限定步数内找到不含互斥题的组卷方案，"
                                                 "请减少题量或解除部分互斥关系")])
    if found:
        return Fill(True, free=free, units={si: list(v) for si, v in picks.items()})
    return Fill(False, shortfalls=[deepest[0][1]] if deepest else [])


def reachable(sizes: list[int], target: int) -> bool:
    """Whether some of ``sizes`` add up to exactly ``target``."""
    reach = 1
    mask = (1 << (target + 1)) - 1
    for n in sizes:
        reach = (reach | (reach << n)) & mask
    return bool(reach >> target & 1)
