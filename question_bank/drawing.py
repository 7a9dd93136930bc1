"""Drawing one attempt's paper from a :class:`~question_bank.pool.Pool`.

Deterministic: the same seed, blueprint, pool and seen-list give the same paper, so a reload
(or a server restart) shows the same questions in the same order with the same option order.
Random choices come from :class:`random.Random` seeded with the given seed only.

* Questions of a section are sampled without touching the rest of the pool (``random.sample``
  over the section's index is O(picked), not O(pool)).
* Questions the physician already saw (fingerprints or ids in ``seen``) are avoided while the
  section still has enough unseen ones; only the shortfall is filled from seen questions.
* A3/A4 groups and B1 sets are drawn whole, sub-questions in their original order, and count as
  their number of sub-questions; B1 shared options are shuffled once for the whole set.
* Enemies (互斥题) never share a paper (:func:`~question_bank.enemies.clashes`): a question (or
  group) is skipped when the paper already holds one of its enemies. When that leaves a section
  short, the paper is drawn by :func:`~question_bank.fill.find_fill` instead (first in a seeded
  random order, then in the order :func:`~question_bank.blueprint.check_pool` proved works), so a
  blueprint the check accepted is always drawn. The same holds when two group sections of one type
  share groups (nested categories) and the random draw used up groups the other section needed.
* Options are shuffled per question (not for true/false) and relabelled A, B, C...; the drawn
  item keeps the map back to the original labels, and the key in display labels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping

from .blueprint import Blueprint, Section, draw_order
from .enemies import clashes, enemy_pairs_among
from .errors import DrawError, PoolShortfallError, Shortfall
from .fill import find_fill, groups_nest
from .model import OPTION_LABELS, Image, Option, Question, QuestionType
from .pool import Pool

__all__ = ["DrawnItem", "DrawnGroup", "DrawnPaper", "draw_paper", "paper_from_record"]


@dataclass(frozen=True)
class DrawnGroup:
    index: int
    type: QuestionType
    stem: str
    options: tuple[Option, ...]  # B1 shared options in display order, relabelled
    option_map: tuple[str, ...]  # original label of each displayed option
    images: tuple[Image, ...]
    item_numbers: tuple[int, ...]


@dataclass(frozen=True)
class DrawnItem:
    number: int  # 1-based position in the paper
    section_index: int
    question: Question
    options: tuple[Option, ...]  # as displayed (relabelled A, B, ...; TF: T/F)
    option_map: tuple[str, ...]  # original label of each displayed option
    key: tuple[str, ...]  # correct display labels, sorted
    points: float
    group_index: int | None = None

    @property
    def multiple(self) -> bool:
        return self.question.type is QuestionType.X


@dataclass(frozen=True)
class DrawnPaper:
    title: str
    seed: str
    sections: tuple[Section, ...]
    items: tuple[DrawnItem, ...]
    groups: tuple[DrawnGroup, ...]
    partial_credit: bool
    pass_mark: float
    time_limit_minutes: int
    total_points: float = field(default=0.0)

    def question_refs(self) -> list[str]:
        """Fingerprints of the drawn questions: add these to the physician's seen-list."""
        return [it.question.fingerprint for it in self.items]

    def to_record(self) -> dict[str, Any]:
        """A compact JSON-able record of exactly what was drawn (questions by fingerprint and
        the option order), so the paper can be rebuilt by :func:`paper_from_record` even if the
        pool changes later."""
        return {
            "title": self.title,
            "seed": self.seed,
            "partial_credit": self.partial_credit,
            "pass_mark": self.pass_mark,
            "time_limit_minutes": self.time_limit_minutes,
            "sections": [{"title": s.title, "type": s.type.value, "category_prefix": s.category_prefix,
                          "count": s.count, "points_each": s.points_each} for s in self.sections],
            "items": [{"fp": it.question.fingerprint, "section": it.section_index,
                       "order": "".join(it.option_map), "group": it.group_index} for it in self.items],
            "groups": [{"order": "".join(g.option_map)} for g in self.groups],
        }


def _relabel(options: tuple[Option, ...], order: list[int]) -> tuple[tuple[Option, ...], tuple[str, ...]]:
    shown = tuple(Option(OPTION_LABELS[i], options[j].text) for i, j in enumerate(order))
    return shown, tuple(options[j].label for j in order)


def _display_key(key: tuple[str, ...], option_map: tuple[str, ...]) -> tuple[str, ...]:
    ks = set(key)
    return tuple(sorted(OPTION_LABELS[i] for i, orig in enumerate(option_map) if orig in ks))


def _exact_subset(units: list[int], sizes: Mapping[int, int], target: int,
                  enemies: Mapping[int, frozenset[int]] | None = None) -> list[int] | None:
    """Pick units (in the given order's preference) whose sizes sum exactly to ``target``, no
    two of them enemies."""
    enemies = enemies or {}
    chosen: list[int] = []
    total = 0
    for u in units:
        if total + sizes[u] <= target and not clashes(u, chosen, enemies):
            chosen.append(u)
            total += sizes[u]
            if total == target:
                return chosen
    # Greedy failed: dynamic programming over reachable sums (rare, small inputs).
    best: dict[int, list[int]] = {0: []}
    for u in units:
        s = sizes[u]
        for t, picks in list(best.items()):
            nt = t + s
            if nt <= target and nt not in best and not clashes(u, picks, enemies):
                best[nt] = picks + [u]
        if target in best:
            return best[target]
    return None


def _pick_singles(sample: list[int], count: int, chosen: set[int], seen_units: set[int],
                  enemies: Mapping[int, frozenset[int]]) -> list[int]:
    """The first ``count`` units of ``sample`` the paper can take, unseen ones first."""
    choice: list[int] = []
    for stale in (False, True):
        for u in sample:
            if len(choice) == count:
                return choice
            if u not in chosen and (u in seen_units) == stale and not clashes(u, chosen, enemies):
                choice.append(u)
                chosen.add(u)
    return choice


def _random_picks(pool: Pool, blueprint: Blueprint, rng: random.Random,
                  seen_units: set[int]) -> tuple[dict[int, list[int]], list[Shortfall]]:
    """Each section's units in a seeded random order, skipping enemies of what is already in."""
    enemies = pool.enemies
    used: set[int] = set()
    picked: dict[int, list[int]] = {}
    shortfalls: list[Shortfall] = []
    for si in draw_order(blueprint.sections):
        s = blueprint.sections[si]
        bucket = pool.bucket(s.type, s.category_prefix)
        if s.type.is_group:
            order = rng.sample(bucket, len(bucket))
            sizes = {u: len(pool.units[u]) for u in order}
            fresh = [u for u in order if u not in used and u not in seen_units and not clashes(u, used, enemies)]
            choice = _exact_subset(fresh, sizes, s.count, enemies)
            if choice is None:
                stale = [u for u in order if u not in used and u in seen_units and not clashes(u, used, enemies)]
                choice = _exact_subset(fresh + stale, sizes, s.count, enemies)
        else:
            blocked_n = sum(len(enemies.get(u, ())) for u in used) if enemies else 0
            k = min(len(bucket), s.count + len(seen_units) + len(used) + blocked_n)
            chosen = set(used)
            choice = _pick_singles(rng.sample(bucket, k), s.count, chosen, seen_units, enemies)
            if len(choice) < s.count and enemies and k < len(bucket):
                # Enemies within the section blocked more than the sample allowed for.
                chosen = set(used)
                choice = _pick_singles(rng.sample(bucket, len(bucket)), s.count, chosen, seen_units, enemies)
            if len(choice) < s.count:
                choice = None
        if choice is None:
            have = pool.count(s.type, s.category_prefix)
            shortfalls.append(Shortfall(si, s.title, s.count, have,
                                        f"第 {si + 1} 部分（{s.title}）：题库中 {s.type.label_zh}（{s.category_prefix or '全部分类'}）不足以抽取 {s.count} 道"))
            continue
        used.update(choice)
        picked[si] = choice
    return picked, shortfalls


def _filled_picks(pool: Pool, blueprint: Blueprint, rng: random.Random, seen_units: set[int]) -> dict[int, list[int]]:
    """Each section's units from a fill proved to keep enemies apart (random order first, then
    the order the blueprint check uses); the single questions without enemies it counts are
    chosen at random, unseen ones first."""
    sections = blueprint.sections
    fill = find_fill(sections, pool, prefer=lambda _u: rng.random())
    if not fill.ok:
        fill = find_fill(sections, pool)
    if not fill.ok:
        raise PoolShortfallError(fill.shortfalls)
    used = {u for units in fill.units.values() for u in units}
    picked: dict[int, list[int]] = {}
    for si in draw_order(sections):
        s = sections[si]
        units = list(fill.units.get(si, []))
        n = fill.free.get(si, 0)
        if n:
            bucket = pool.bucket(s.type, s.category_prefix)
            order = [u for u in rng.sample(bucket, len(bucket)) if u not in used and u not in pool.enemies]
            free = ([u for u in order if u not in seen_units] + [u for u in order if u in seen_units])[:n]
            used.update(free)
            units += free
        rng.shuffle(units)
        picked[si] = units
    return picked


def draw_paper(
    pool: Pool,
    blueprint: Blueprint,
    *,
    seed: str | int,
    seen: Collection[str] = (),
) -> DrawnPaper:
    """Draw one attempt's paper. ``seen``: fingerprints/ids the physician already saw.

    Raises :class:`PoolShortfallError` when a section cannot be filled even with seen
    questions, or not without two enemies in the paper."""
    rng = random.Random(str(seed))
    seen_units = {u for u in (pool.unit_of(str(r)) for r in seen) if u is not None}
    picked, shortfalls = _random_picks(pool, blueprint, rng, seen_units)
    if shortfalls and (pool.has_enemies or groups_nest(blueprint.sections)):
        picked = _filled_picks(pool, blueprint, rng, seen_units)
    elif shortfalls:
        raise PoolShortfallError(sorted(shortfalls, key=lambda x: x.section_index))
    if enemy_pairs_among((u for units in picked.values() for u in units), pool.enemies):  # pragma: no cover
        raise DrawError("抽题结果中出现了互斥的试题")

    items: list[DrawnItem] = []
    groups: list[DrawnGroup] = []
    shuffle = blueprint.shuffle_options
    for si, s in enumerate(blueprint.sections):
        for u in picked[si]:
            unit = pool.units[u]
            head = unit[0]
            gi = None
            g_map: tuple[str, ...] = ()
            if head.group is not None:
                g = head.group
                gi = len(groups)
                g_opts: tuple[Option, ...] = ()
                if g.type is QuestionType.B1:
                    order = list(range(len(g.options)))
                    if shuffle:
                        rng.shuffle(order)
                    g_opts, g_map = _relabel(g.options, order)
                groups.append(DrawnGroup(gi, g.type, g.stem, g_opts, g_map, g.images,
                                         tuple(range(len(items) + 1, len(items) + 1 + len(unit)))))
            for q in unit:
                if q.type is QuestionType.B1:
                    shown, omap = groups[gi].options, g_map  # type: ignore[index]
                else:
                    opts = q.choices
                    order = list(range(len(opts)))
                    if shuffle and q.type is not QuestionType.TF:
                        rng.shuffle(order)
                    if q.type is QuestionType.TF:
                        shown, omap = opts, tuple(o.label for o in opts)
                    else:
                        shown, omap = _relabel(opts, order)
                key = q.key if q.type is QuestionType.TF else _display_key(q.key, omap)
                items.append(DrawnItem(len(items) + 1, si, q, shown, omap, key, s.points_each, gi))
    if len(items) != blueprint.question_count:  # pragma: no cover - guarded by the picks above
        raise DrawError("抽题结果与试卷题量不一致")
    return DrawnPaper(blueprint.title, str(seed), blueprint.sections, tuple(items), tuple(groups),
                      blueprint.partial_credit, blueprint.pass_mark, blueprint.time_limit_minutes,
                      blueprint.total_points)


def paper_from_record(record: Mapping[str, Any], questions: Mapping[str, Question]) -> DrawnPaper:
    """Rebuild a paper from :meth:`DrawnPaper.to_record`; ``questions`` maps fingerprint ->
    question (e.g. loaded from storage). Raises :class:`DrawError` when one is missing."""
    sections = tuple(Section(s["title"], QuestionType(s["type"]), s["category_prefix"], int(s["count"]),
                             float(s["points_each"])) for s in record["sections"])
    items: list[DrawnItem] = []
    group_items: dict[int, list[int]] = {}
    group_q: dict[int, Question] = {}
    for n, it in enumerate(record["items"], start=1):
        q = questions.get(it["fp"])
        if q is None:
            raise DrawError(f"试卷第 {n} 题的试题已不在题库中")
        omap = tuple(it["order"])
        by_label = {o.label: o for o in q.choices}
        if q.type is QuestionType.TF:
            shown = q.choices
        else:
            shown = tuple(Option(OPTION_LABELS[i], by_label[l].text) for i, l in enumerate(omap))
        key = q.key if q.type is QuestionType.TF else _display_key(q.key, omap)
        gi = it.get("group")
        if gi is not None:
            group_items.setdefault(gi, []).append(n)
            group_q.setdefault(gi, q)
        items.append(DrawnItem(n, int(it["section"]), q, shown, omap, key, sections[int(it["section"])].points_each, gi))
    groups = []
    for gi, g_rec in enumerate(record["groups"]):
        g = group_q[gi].group
        assert g is not None
        gmap = tuple(g_rec["order"])
        by_label = {o.label: o for o in g.options}
        g_opts = tuple(Option(OPTION_LABELS[i], by_label[l].text) for i, l in enumerate(gmap))
        groups.append(DrawnGroup(gi, g.type, g.stem, g_opts, gmap, g.images, tuple(group_items[gi])))
    return DrawnPaper(record["title"], record["seed"], sections, tuple(items), tuple(groups),
                      bool(record["partial_credit"]), float(record["pass_mark"]),
                      int(record["time_limit_minutes"]), round(sum(s.count * s.points_each for s in sections), 4))
