"""Blueprints, pool checks and drawing (property-based)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank import (
    Blueprint, BlueprintError, DrawError, Group, Option, PaperKind, Pool, PoolShortfallError, PracticeCategory, Question,
    QuestionType, Section, TF_OPTIONS, check_pool, draw_paper, paper_from_record, require_fillable,
)

CATS = ["临床/内科", "临床/外科", "医学人文/法律法规"]


def make_pool(n_single: int, n_x: int, n_tf: int, group_sizes: list[int], n_b1: int = 2) -> list[Question]:
    qs: list[Question] = []
    five = lambda i: tuple(Option("ABCDE"[j], f"选项{i}-{j}") for j in range(5))  # noqa: E731
    for i in range(n_single):
        qs.append(Question(QuestionType.A1, f"单选题 {i}", five(i), ("ABCDE"[i % 5],), category=CATS[i % 3]))
    for i in range(n_x):
        qs.append(Question(QuestionType.X, f"多选题 {i}", five(i), ("A", "C"), category=CATS[i % 3]))
    for i in range(n_tf):
        qs.append(Question(QuestionType.TF, f"判断题 {i}", TF_OPTIONS, ("T",), category=CATS[i % 3]))
    for g, size in enumerate(group_sizes):
        grp = Group(f"G{g}", QuestionType.A3, f"病例 {g}")
        qs.extend(Question(QuestionType.A3, f"病例 {g} 问 {k}", five(k), ("A",), category="临床/内科", group=grp)
                  for k in range(size))
    b1 = Group("B", QuestionType.B1, "", tuple(Option("ABCDE"[j], f"共用{j}") for j in range(5)))
    qs.extend(Question(QuestionType.B1, f"配伍 {k}", (), ("ABCDE"[k],), category="临床/内科", group=b1)
              for k in range(n_b1))
    return qs


def blueprint(single=5, x=2, tf=3, a3=0, b1=0, prefix="临床") -> Blueprint:
    secs = [Section("单选", QuestionType.A1, prefix, single, 2), Section("多选", QuestionType.X, "", x, 2),
            Section("判断", QuestionType.TF, "", tf, 1)]
    if a3:
        secs.append(Section("病例", QuestionType.A3, "临床/内科", a3, 2))
    if b1:
        secs.append(Section("配伍", QuestionType.B1, "临床", b1, 1))
    total = sum(s.count * s.points_each for s in secs)
    return Blueprint("测试卷", PaperKind.PROFESSIONAL, tuple(secs), 60, total * 0.6,
                     practice_category=PracticeCategory.CLINICAL, partial_credit=True)


POOL = Pool(make_pool(60, 20, 20, [2, 3, 3, 4], 3))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), single=st.integers(1, 30), x=st.integers(0, 10), tf=st.integers(0, 10),
       a3=st.sampled_from([0, 2, 3, 5, 7, 12]), b1=st.sampled_from([0, 3]))
def test_draw_is_deterministic_complete_unique_and_groups_intact(seed, single, x, tf, a3, b1):
    secs_bp = blueprint(single, max(x, 1), max(tf, 1), a3, b1)
    p1 = draw_paper(POOL, secs_bp, seed=seed)
    p2 = draw_paper(POOL, secs_bp, seed=seed)
    assert p1 == p2
    fps = p1.question_refs()
    assert len(fps) == len(set(fps)) == secs_bp.question_count
    for si, s in enumerate(secs_bp.sections):
        items = [it for it in p1.items if it.section_index == si]
        assert len(items) == s.count
        assert all(it.question.type is s.type for it in items)
        assert all(it.question.category == s.category_prefix or it.question.category.startswith(s.category_prefix + "/")
                   or s.category_prefix == "" for it in items)
    for g in p1.groups:
        members = [p1.items[n - 1] for n in g.item_numbers]
        assert list(g.item_numbers) == list(range(g.item_numbers[0], g.item_numbers[-1] + 1))
        assert len({m.question.group for m in members}) == 1
        full = [q for q in POOL.units[POOL.unit_of(members[0].question.fingerprint)]]
        assert [m.question for m in members] == full
        if g.type is QuestionType.B1:
            assert all(m.options == g.options for m in members)
    for it in p1.items:  # shuffled options keep the right answer
        orig = {o.label: o.text for o in it.question.choices}
        shown = {o.label: o.text for o in it.options}
        assert sorted(shown[k] for k in it.key) == sorted(orig[k] for k in it.question.key)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), n=st.integers(1, 20))
def test_avoids_seen_questions_when_pool_allows(seed, n):
    bp = Blueprint("人文", PaperKind.HUMANITIES, (Section("单选", QuestionType.A1, "", n, 1),), 30, n * 0.6)
    pool = Pool(make_pool(2 * n + 3, 0, 0, []))
    first = draw_paper(pool, bp, seed=seed)
    second = draw_paper(pool, bp, seed=seed + 1, seen=first.question_refs())
    assert not set(first.question_refs()) & set(second.question_refs())
    seen_all = first.question_refs() + second.question_refs()
    third = draw_paper(pool, bp, seed=seed + 2, seen=seen_all)  # only 3 unseen left: falls back to seen ones
    assert len(set(third.question_refs())) == n
    unseen = {q.fingerprint for u in pool.units for q in u if q.type is QuestionType.A1} - set(seen_all)
    assert unseen <= set(third.question_refs()) or len(unseen) > n


def test_different_seeds_give_different_papers_and_record_round_trip():
    bp = blueprint(10, 3, 3, 5, 3)
    a = draw_paper(POOL, bp, seed="attempt-1")
    b = draw_paper(POOL, bp, seed="attempt-2")
    assert a.question_refs() != b.question_refs()
    lookup = {q.fingerprint: q for u in POOL.units for q in u}
    assert paper_from_record(a.to_record(), lookup) == a


def test_shortfall_messages_name_section():
    bp = blueprint(single=100, a3=50)
    shortfalls = check_pool(bp, POOL)
    assert [s.section_index for s in shortfalls] == [0, 3]
    assert shortfalls[0].message_zh.startswith("第 1 部分（单选）：需要 100 道") and "缺" in shortfalls[0].message_zh
    with pytest.raises(PoolShortfallError):
        require_fillable(bp, POOL)
    with pytest.raises(PoolShortfallError):
        draw_paper(POOL, bp, seed=1)
    odd = blueprint(a3=1)  # groups have 2-4 sub-questions, 1 cannot be made exactly
    assert "无法恰好凑成" in check_pool(odd, POOL)[0].message_zh


def test_nested_prefix_sections_do_not_starve():
    pool = Pool(make_pool(30, 0, 0, []))  # 10 per category
    bp = Blueprint("x", PaperKind.HUMANITIES, (Section("临床", QuestionType.A1, "临床", 10, 1),
                                               Section("内科", QuestionType.A1, "临床/内科", 10, 1)), 30, 10)
    assert check_pool(bp, pool) == []
    paper = draw_paper(pool, bp, seed=3)
    assert len(set(paper.question_refs())) == 20
    bp2 = Blueprint("x", PaperKind.HUMANITIES, (Section("临床", QuestionType.A1, "临床", 11, 1),
                                                Section("内科", QuestionType.A1, "临床/内科", 10, 1)), 30, 10)
    assert check_pool(bp2, pool)[0].section_index == 0


def test_blueprint_validation_and_dict_round_trip():
    bp = Blueprint("", PaperKind.PROFESSIONAL, (Section("s", QuestionType.A1, "临床 /内科", 0, 0),), 0, 500,
                   attempts_allowed=0, window_start=datetime(2025, 2, 1), window_end=datetime(2025, 1, 1))
    msgs = bp.problems()
    for part in ("试卷名称为空", "题量必须大于 0", "每题分值必须大于 0", "格式不规范", "考试时长", "及格分", "考试次数",
                 "结束时间必须晚于开始时间", "必须指定执业类别"):
        assert any(part in m for m in msgs), part
    with pytest.raises(BlueprintError):
        bp.validate()
    good = blueprint(a3=5)
    assert Blueprint.from_dict(good.to_dict()) == good


@pytest.mark.parametrize("points, problem", [(1.25, False), (0.5, False), (0.125, True), (1 / 3, True)])
def test_points_per_item_have_at_most_two_decimals(points: float, problem: bool):
    """Item scores are kept to 2 decimals, so 8 right answers worth 0.125 would total 0.96 of 1."""
    bp = Blueprint("x", PaperKind.HUMANITIES, (Section("单选", QuestionType.A1, "", 8, points),), 30, 0.5)
    assert any("每题分值最多保留两位小数" in m for m in bp.problems()) is problem


def test_pool_is_independent_of_input_order():
    qs = make_pool(20, 5, 5, [2, 3])
    bp = blueprint(5, 2, 2, 5)
    singles = [q for q in qs if q.group is None]
    grouped = [q for q in qs if q.group is not None]  # sub-question order inside a group is meaningful
    assert draw_paper(Pool(qs), bp, seed=9) == draw_paper(Pool(grouped + list(reversed(singles))), bp, seed=9)


def test_counted_pool_answers_the_paper_check_like_the_full_pool():
    """Counts as the database aggregates them (CountedPool) give the same shortfalls as the
    loaded questions (Pool)."""
    import random

    from question_bank import CountedPool

    rng = random.Random(7)
    for _ in range(40):
        sizes = [rng.randrange(2, 5) for _ in range(rng.randrange(0, 6))]
        qs = make_pool(rng.randrange(0, 40), rng.randrange(0, 15), rng.randrange(0, 15), sizes, rng.randrange(0, 4))
        singles: dict[tuple[QuestionType, str], int] = {}
        groups: dict[str, list[Question]] = {}
        for q in qs:
            if q.group is None:
                singles[(q.type, q.category)] = singles.get((q.type, q.category), 0) + 1
            else:
                groups.setdefault(q.group.key, []).append(q)
        counted = CountedPool(((t, c, n) for (t, c), n in singles.items()),
                              ((m[0].type, m[0].category, len(m)) for m in groups.values()))
        full = Pool(qs)
        assert len(counted) == len(full)
        bp = blueprint(rng.randrange(1, 30), rng.randrange(1, 12), rng.randrange(1, 12), rng.choice([0, 2, 3, 5, 9]),
                       rng.choice([0, 2, 3]), prefix=rng.choice(["", "临床", "临床/内科", "医学人文"]))
        assert check_pool(bp, counted) == check_pool(bp, full)


def test_a_draw_that_falls_short_names_every_short_section():
    with pytest.raises(PoolShortfallError) as err:
        draw_paper(POOL, blueprint(single=100, x=30), seed=1)
    assert [(s.section_index, s.section_title, s.needed, s.available, s.message_zh) for s in err.value.shortfalls] == [
        (0, "单选", 100, 40, "第 1 部分（单选）：题库中 A1型题（单选）（临床）不足以抽取 100 道"),
        (1, "多选", 30, 20, "第 2 部分（多选）：题库中 X型题（多选）（全部分类）不足以抽取 30 道"),
    ]


def _reordered(it) -> bool:
    """Whether the item shows its options in another order than the bank holds them."""
    source = it.question.group.options if it.question.type is QuestionType.B1 else it.question.choices
    return it.option_map != tuple(o.label for o in source)


def test_options_are_shuffled_except_true_false_unless_the_blueprint_says_not():
    bp = blueprint(10, 3, 3, 5, 3)
    paper = draw_paper(POOL, bp, seed="shuffle")
    assert sum(_reordered(it) for it in paper.items if it.question.type is not QuestionType.TF) >= 10
    assert all(it.option_map == ("T", "F") and it.key == it.question.key
               for it in paper.items if it.question.type is QuestionType.TF)
    kept = Blueprint(bp.title, bp.kind, bp.sections, bp.time_limit_minutes, bp.pass_mark,
                     practice_category=bp.practice_category, partial_credit=True, shuffle_options=False)
    plain = draw_paper(POOL, kept, seed="shuffle")
    assert not any(_reordered(it) for it in plain.items)
    assert all(it.key == it.question.key for it in plain.items)


def test_a_drawn_paper_records_its_title_seed_and_groups():
    paper = draw_paper(POOL, blueprint(5, 2, 3, 5), seed=7)
    assert (paper.title, paper.seed) == ("测试卷", "7")
    for it in paper.items:
        if it.question.group is None:
            assert it.group_index is None
        else:
            assert it.number in paper.groups[it.group_index].item_numbers


def test_a_rebuilt_paper_keeps_its_points_and_names_a_question_gone_from_the_bank():
    secs = (Section("单选", QuestionType.A1, "", 3, 1.25), Section("多选", QuestionType.X, "", 2, 2.5))
    bp = Blueprint("分值", PaperKind.HUMANITIES, secs, 30, 4)
    paper = draw_paper(POOL, bp, seed=3)
    lookup = {q.fingerprint: q for u in POOL.units for q in u}
    rebuilt = paper_from_record(paper.to_record(), lookup)
    assert rebuilt.total_points == paper.total_points == 8.75
    del lookup[paper.items[1].question.fingerprint]
    with pytest.raises(DrawError) as err:
        paper_from_record(paper.to_record(), lookup)
    assert err.value.message_zh == "试卷第 2 题的试题已不在题库中"
