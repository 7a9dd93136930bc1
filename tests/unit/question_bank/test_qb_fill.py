"""The search that proves a blueprint can be filled without two enemies (question_bank.fill): the
bound on each enemy-connected set, the free questions nested sections share, the reason given
when a paper cannot be drawn, and the order candidates are tried in. Small exact cases."""

from __future__ import annotations

import itertools

from question_bank import (
    Blueprint, Group, Option, PaperKind, Pool, Question, QuestionType, Section, TF_OPTIONS, check_pool,
)
from question_bank.errors import Shortfall
from question_bank.fill import _max_independent, find_fill, reachable

OPTS = (Option("A", "甲"), Option("B", "乙"), Option("C", "丙"))


def a1(name: str, category: str) -> Question:
    return Question(QuestionType.A1, f"{name} 题", OPTS, ("A",), category=category)


def tf(name: str, category: str = "z") -> Question:
    return Question(QuestionType.TF, f"{name} 句。", TF_OPTIONS, ("T",), category=category)


def case(name: str, size: int, category: str) -> list[Question]:
    g = Group(name, QuestionType.A3, f"病例 {name}")
    return [Question(QuestionType.A3, f"病例 {name} 问 {i}", OPTS, ("A",), category=category, group=g) for i in range(size)]


def paper(*sections: Section) -> Blueprint:
    return Blueprint("卷", PaperKind.HUMANITIES, sections, 60, sum(s.count for s in sections))


def pairs(*links: tuple[Question, Question]) -> list[tuple[str, str]]:
    return [(a.fingerprint, b.fingerprint) for a, b in links]


def only_shortfall(bp: Blueprint, pool: Pool) -> Shortfall:
    """The one shortfall, whose section, counts and message the API returns."""
    (short,) = check_pool(bp, pool)
    return short


# ---------------------------------------------------------------- the bound on an enemy-connected set


def graph(n: int, edges: list[tuple[int, int]]) -> dict[int, frozenset[int]]:
    adj: dict[int, set[int]] = {u: set() for u in range(n)}
    for a, b in edges:
        adj[a].add(b)
        adj[b].add(a)
    return {u: frozenset(v) for u, v in adj.items()}


def brute_force(n: int, adj: dict[int, frozenset[int]]) -> int:
    return max(k for k in range(n + 1) for s in itertools.combinations(range(n), k)
               if all(b not in adj[a] for a, b in itertools.combinations(s, 2)))


CYCLE5 = [(i, (i + 1) % 5) for i in range(5)]
SMALL = {
    "no enemies": (4, []),
    "a star (its centre is the first node)": (5, [(0, i) for i in range(1, 5)]),
    "a path": (5, [(i, i + 1) for i in range(4)]),
    "a 5-cycle": (5, CYCLE5),
    "a clique": (4, list(itertools.combinations(range(4), 2))),
    "a triangle with a tail": (5, [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4)]),
    "two triangles joined at the first node": (5, [(0, 1), (0, 2), (1, 2), (0, 3), (0, 4), (3, 4)]),
}


def test_the_largest_enemy_free_set_of_a_small_component_is_exact():
    for name, (n, edges) in SMALL.items():
        adj = graph(n, edges)
        assert _max_independent(list(range(n)), adj) == brute_force(n, adj), name
        # Node numbers are pool units: any numbers, in any order.
        renamed = {u * 7 + 3: frozenset(v * 7 + 3 for v in vs) for u, vs in adj.items()}
        assert _max_independent(sorted(renamed, reverse=True), renamed) == brute_force(n, adj), name


def blown_up_cycle() -> dict[int, frozenset[int]]:
    """Each node of a 5-cycle replaced by 4 mutual enemies, all enemies of the neighbouring fours:
    20 nodes, at most 2 apart; covering it by cliques needs 3."""
    edges = [(4 * i + a, 4 * i + b) for i in range(5) for a, b in itertools.combinations(range(4), 2)]
    edges += [(4 * i + a, 4 * j + b) for i, j in CYCLE5 for a in range(4) for b in range(4)]
    return graph(20, edges)


def test_twenty_nodes_are_still_counted_exactly():
    assert _max_independent(list(range(20)), blown_up_cycle()) == 2


def test_a_large_component_is_bounded_by_a_clique_cover():
    # 22 nodes, every pair enemies except 11 disjoint pairs: at most 2 together, two cliques cover it.
    partner = {u: u ^ 1 for u in range(22)}
    adj = graph(22, [(a, b) for a, b in itertools.combinations(range(22), 2) if partner[a] != b])
    assert _max_independent(list(range(22)), adj) == 2
    assert _max_independent(list(range(21)), graph(21, list(itertools.combinations(range(21), 2)))) == 1
    assert _max_independent(list(range(25)), graph(25, [])) == 25
    # A cover is never below the truth: 25 nodes, a 5-cycle of fives (at most 2 fives' worth apart).
    edges = [(5 * i + a, 5 * i + b) for i in range(5) for a, b in itertools.combinations(range(5), 2)]
    edges += [(5 * i + a, 5 * j + b) for i, j in CYCLE5 for a in range(5) for b in range(5)]
    assert _max_independent(list(range(25)), graph(25, edges)) >= 2


def test_reachable_sums():
    assert reachable([2, 3, 3], 6) and reachable([2, 3, 3], 5) and reachable([], 0)
    assert not reachable([2, 3, 3], 4) and not reachable([2, 3, 3], 9) and not reachable([], 1)


# ---------------------------------------------------------------- through check_pool: the reasons


def test_a_wider_section_gets_only_the_free_questions_a_narrower_one_left():
    f1, f2 = a1("自由一", "c/a"), a1("自由二", "c/a")
    e1, e2 = a1("互斥一", "c/b"), a1("互斥二", "c/b")
    t = tf("判断", "c/a")
    pool = Pool([f1, f2, e1, e2, t], enemies=pairs((e1, e2)))
    narrow, wide = Section("窄", QuestionType.A1, "c/a", 2, 1), Section("宽", QuestionType.A1, "", 2, 1)
    # The narrow section takes both free questions: the wide one would need e1 and e2 together.
    assert only_shortfall(paper(narrow, wide), pool) == Shortfall(
        1, "宽", 2, 1, "第 2 部分（宽）：需要 2 道 A1型题（单选）（全部分类），但互斥的试题不能同卷，最多只能选出 1 道，"
                       "请减少题量、补充试题或解除部分互斥关系")
    # A statement section takes nothing from the single-choice questions; a narrower A1 section leaves f2.
    statements = Section("判断", QuestionType.TF, "c/a", 1, 1)
    assert check_pool(paper(statements, Section("窄", QuestionType.A1, "c/a", 1, 1), wide), pool) == []
    fill = find_fill((statements, Section("窄", QuestionType.A1, "c/a", 1, 1), wide), pool)
    assert fill.ok and fill.free == {0: 1, 1: 1, 2: 1} and len(fill.units[2]) == 1


def test_a_group_section_left_without_an_exact_sum_by_an_earlier_pick():
    q = a1("唯一", "c/a")
    g1, g3 = case("两问", 2, "c/b"), case("三问", 3, "c/b")
    pool = Pool([q, *g1, *g3], enemies=pairs((q, g1[0])))
    short = only_shortfall(paper(Section("单选", QuestionType.A1, "c/a", 1, 1), Section("病例", QuestionType.A3, "c", 2, 1)), pool)
    assert short == Shortfall(1, "病例", 2, 3, "第 2 部分（病例）：排除与本卷其他试题互斥的组后，A3型题（共用题干）（c）各组小题数"
                                             "无法恰好凑成 2 道，请减少题量或解除部分互斥关系")


def test_a_group_section_left_too_few_questions_by_an_earlier_pick():
    q = a1("唯一", "c/a")
    g2, g1 = case("两问", 2, "c/b"), case("一问", 1, "c/b")
    pool = Pool([q, *g2, *g1], enemies=pairs((q, g2[0])))
    short = only_shortfall(paper(Section("单选", QuestionType.A1, "c/a", 1, 1), Section("病例", QuestionType.A3, "c", 2, 1)), pool)
    assert short == Shortfall(1, "病例", 2, 1, "第 2 部分（病例）：排除与本卷其他试题互斥的组后，A3型题（共用题干）（c）只剩 1 道，"
                                             "需要 2 道，请减少题量或解除部分互斥关系")


def test_questions_blocked_by_an_earlier_section_are_not_counted_as_possible():
    g = case("病例", 2, "c/a")
    e1, e2, e3 = a1("一", "c/b"), a1("二", "c/b"), a1("三", "c/b")
    pool = Pool([*g, e1, e2, e3], enemies=pairs((g[1], e1), (e2, e3)))
    short = only_shortfall(paper(Section("病例", QuestionType.A3, "c/a", 2, 1), Section("单选", QuestionType.A1, "c", 2, 1)), pool)
    assert short == Shortfall(1, "单选", 2, 1, "第 2 部分（单选）：需要 2 道 A1型题（单选）（c），但互斥的试题不能同卷，"
                                             "最多只能选出 1 道，请减少题量、补充试题或解除部分互斥关系")


def test_a_bound_that_fails_before_any_pick_is_reported_as_it_stood_then():
    # The group section comes first; the A1 section can hold only 2 of its 3 whatever is picked,
    # and after the only group (enemy of c and d) just 1: the reason is the first, 2.
    g = case("病例", 2, "c/a")
    a, b, c, d = (a1(n, "c/b") for n in "abcd")
    pool = Pool([*g, a, b, c, d], enemies=pairs((a, b), (c, d), (g[0], c), (g[1], d)))
    short = only_shortfall(paper(Section("病例", QuestionType.A3, "c/a", 2, 1), Section("单选", QuestionType.A1, "c", 3, 1)), pool)
    assert (short.section_index, short.needed, short.available) == (1, 3, 2) and "最多只能选出 2 道" in short.message_zh


def test_of_equally_deep_dead_ends_the_first_tried_is_the_reason():
    # G1 (one enemy) is tried before G2 (two): after G1 the A1 section can hold 2 of 3, after G2 only 1.
    g1, g2 = case("一", 2, "c/a"), case("二", 2, "c/a")
    a, b, c = (a1(n, "c/b") for n in "abc")
    pool = Pool([*g1, *g2, a, b, c], enemies=pairs((g1[0], a), (g2[0], a), (g2[1], b)))
    short = only_shortfall(paper(Section("病例", QuestionType.A3, "c/a", 2, 1), Section("单选", QuestionType.A1, "c", 3, 1)), pool)
    assert (short.section_index, short.needed, short.available) == (1, 3, 2) and "最多只能选出 2 道" in short.message_zh


def test_sections_short_together_are_named_together():
    # Two statement facts, each an A1 question and a statement that are enemies: 2 questions at most
    # across both sections, though each alone could have its 2.
    q1, q2, t1, t2 = a1("一", "c/a"), a1("二", "c/a"), tf("一", "c/a"), tf("二", "c/a")
    pool = Pool([q1, q2, t1, t2], enemies=pairs((q1, t1), (q2, t2)))
    bp = paper(Section("单选", QuestionType.A1, "c", 2, 1), Section("判断", QuestionType.TF, "c", 1, 1))
    assert only_shortfall(bp, pool) == Shortfall(
        0, "单选", 3, 2, "第 1、2 部分还需从有互斥关系的试题中共选出 3 道，但互斥的试题不能同卷，这些试题最多只能同时选出 2 道，"
                         "请减少题量、补充试题或解除部分互斥关系")


def test_a_section_filled_by_free_questions_does_not_join_the_others_enemies():
    # Section 一 takes its free question; x's enemies must not merge {a, b} and {c, d} into one set
    # that seems to allow 3 apart (b, d, x): section 二 can hold 2 of a, b, c, d.
    f, x = a1("自由", "c/a"), a1("x", "c/a")
    a, b, c, d = (a1(n, "c/b") for n in "abcd")
    pool = Pool([f, x, a, b, c, d], enemies=pairs((a, b), (c, d), (x, a), (x, c)))
    short = only_shortfall(paper(Section("一", QuestionType.A1, "c/a", 1, 1), Section("二", QuestionType.A1, "c/b", 3, 1)), pool)
    assert (short.section_index, short.needed, short.available) == (1, 3, 2)
    assert short.message_zh.startswith("第 2 部分（二）：需要 3 道 A1型题（单选）（c/b）") and "最多只能选出 2 道" in short.message_zh


def test_a_cycle_of_five_enemies_gives_at_most_two():
    qs = [a1(f"环{i}", "c/a") for i in range(5)]
    pool = Pool(qs, enemies=pairs(*((qs[i], qs[j]) for i, j in CYCLE5)))
    short = only_shortfall(paper(Section("单选", QuestionType.A1, "c", 3, 1)), pool)
    assert (short.section_index, short.section_title, short.needed, short.available) == (0, "单选", 3, 2)
    assert short.message_zh.startswith("第 1 部分（单选）：需要 3 道 A1型题（单选）（c）") and "最多只能选出 2 道" in short.message_zh
    assert check_pool(paper(Section("单选", QuestionType.A1, "c", 2, 1)), pool) == []


# ---------------------------------------------------------------- the order candidates are tried in


def test_the_question_with_fewer_enemies_is_tried_first():
    # a and b both fit; b blocks more statements, so a is taken, whichever sorts first in the pool.
    for n in range(40):
        a, b = a1(f"少{n}", "c/a"), a1(f"多{n}", "c/a")
        s1, s2, s3 = tf(f"甲{n}"), tf(f"乙{n}"), tf(f"丙{n}")
        pool = Pool([a, b, s1, s2, s3], enemies=pairs((a, s1), (b, s2), (b, s3)))
        if pool.unit_of(b.fingerprint) < pool.unit_of(a.fingerprint):  # type: ignore[operator]
            break
    else:
        raise AssertionError("no names put b first")
    fill = find_fill((Section("单选", QuestionType.A1, "c", 1, 1),), pool)
    assert fill.ok and fill.units[0] == [pool.unit_of(a.fingerprint)]


def test_a_section_the_bound_lets_through_but_no_pick_fills():
    # c and d are enemies; the group (an enemy of c only) makes their set look like it holds 2 apart
    # (d and the group), so only the search finds that section 一 cannot have both.
    f, c, d = a1("自由", "c/a"), a1("c", "c/a"), a1("d", "c/a")
    g = case("病例", 2, "c/b")
    pool = Pool([f, c, d, *g], enemies=pairs((c, d), (g[0], c)))
    short = only_shortfall(paper(Section("单选", QuestionType.A1, "c/a", 3, 1), Section("病例", QuestionType.A3, "c", 2, 1)), pool)
    assert short == Shortfall(0, "单选", 3, 1, "第 1 部分（单选）：按互斥关系无法与其他部分同时抽足 3 道 A1型题（单选）（c/a），"
                                             "请减少题量、补充试题或解除部分互斥关系")


# ---------------------------------------------------------------- the search itself


def trap() -> tuple[Pool, tuple[Section, ...], dict[str, Question]]:
    """Section 一's obvious pick x (fewest enemies) blocks y, section 二's only question; z works."""
    x, z, y = a1("x", "c/a"), a1("z", "c/a"), a1("y", "c/b")
    t1, t2 = tf("t1"), tf("t2")
    pool = Pool([x, y, z, t1, t2], enemies=pairs((x, y), (z, t1), (z, t2)))
    return pool, (Section("一", QuestionType.A1, "c/a", 1, 1), Section("二", QuestionType.A1, "c/b", 1, 1)), {"x": x, "y": y, "z": z}


def test_the_budget_counts_search_steps_exactly():
    pool, sections, q = trap()
    # Two steps: x, found to starve section 二, then z; then y.
    fill = find_fill(sections, pool, budget=2)
    assert fill.ok and fill.units == {0: [pool.unit_of(q["z"].fingerprint)], 1: [pool.unit_of(q["y"].fingerprint)]}
    out = find_fill(sections, pool, budget=1)
    # Out of steps in section 二, the deepest the search got: that section is named.
    assert not out.ok and out.shortfalls == [Shortfall(1, "二", 1, 0, "第 2 部分（二）：互斥关系过于复杂，未能在限定步数内找到"
                                                                      "不含互斥题的组卷方案，请减少题量或解除部分互斥关系")]


def test_the_search_skips_a_blocked_candidate_and_keeps_looking():
    # Tried in the order a, b, c, d: a then c starves section 二 (c blocks y); b is blocked by a,
    # so the next try is a with d, not b with anything.
    a, b, c, d = (a1(n, "c/a") for n in "abcd")
    y = a1("y", "c/b")
    t1, t2 = tf("t1"), tf("t2")
    pool = Pool([a, b, c, d, y, t1, t2], enemies=pairs((a, b), (c, y), (d, t1), (d, t2)))
    rank = {pool.unit_of(q.fingerprint): i for i, q in enumerate([a, b, c, d])}
    fill = find_fill((Section("一", QuestionType.A1, "c/a", 2, 1), Section("二", QuestionType.A1, "c/b", 1, 1)), pool,
                     prefer=lambda u: rank.get(u, 9))
    unit = lambda q: pool.unit_of(q.fingerprint)  # noqa: E731
    assert fill.ok and fill.units == {0: [unit(a), unit(d)], 1: [unit(y)]}
