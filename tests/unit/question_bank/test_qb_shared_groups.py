"""Two group sections of one type with nested categories share groups: sizes that add up for
each section alone may not for both. The paper check must refuse such a blueprint (it used to
accept it by counts, and the draw failed at exam start), and accept and draw one that works."""

from __future__ import annotations

import functools

import pytest

from question_bank import (
    Blueprint,
    CountedPool,
    Group,
    Option,
    PaperKind,
    Pool,
    PoolShortfallError,
    Question,
    QuestionType,
    Section,
    check_pool,
    draw_paper,
)
from question_bank import blueprint as blueprint_module
from question_bank.fill import find_fill, groups_nest

OPTS = (Option("A", "甲"), Option("B", "乙"), Option("C", "丙"))


def single(n: int, qtype: QuestionType, category: str) -> Question:
    return Question(qtype, f"第 {n} 题", OPTS, ("A",), category=category)


def group(n: int, size: int, category: str) -> list[Question]:
    g = Group(f"G{n}", QuestionType.A3, f"病例 {n}")
    return [Question(QuestionType.A3, f"病例 {n} 问 {i}", OPTS, ("A",), category=category, group=g) for i in range(size)]


def blueprint(sections: list[Section]) -> Blueprint:
    return Blueprint("卷", PaperKind.HUMANITIES, tuple(sections), 60, sum(s.count for s in sections))


def counted(pool: Pool) -> CountedPool:
    """The pool as the database counts it (no enemies here): singles by category, each group."""
    singles: dict[tuple[QuestionType, str], int] = {}
    groups = []
    for unit in pool.units:
        head = unit[0]
        if head.group is None:
            singles[(head.type, head.category)] = singles.get((head.type, head.category), 0) + 1
        else:
            groups.append((head.type, head.category, len(unit), min(q.fingerprint for q in unit)))
    return CountedPool([(t, c, n) for (t, c), n in singles.items()], groups)


def test_groups_of_two_and_three_cannot_fill_two_and_one():
    pool = Pool(group(1, 2, "c/a") + group(2, 3, "c/a"))
    sections = [Section("一", QuestionType.A3, "", 2, 1), Section("二", QuestionType.A3, "", 1, 1)]
    bp = blueprint(sections)
    msg = ("第 2 部分（二）：题库中 A3型题（共用题干）（全部分类）的题组已被其他部分占用后，各组小题数无法恰好凑成 1 道"
           "（同一组不能同时用于两个部分），请调整题量或补充题组")
    for p in (pool, counted(pool)):  # loaded and counted by the database alike
        [short] = check_pool(bp, p)
        assert (short.section_index, short.section_title, short.needed, short.message_zh) == (1, "二", 1, msg)
    for seed in range(5):
        with pytest.raises(PoolShortfallError):
            draw_paper(pool, bp, seed=seed)


def test_nested_sections_that_groups_can_fill_are_accepted_and_drawn():
    """Groups of 2, 2 and 4: the first section (4) must take the 4, not the two 2s, or the second
    section (2, inside c/a) has nothing left; a random draw often takes the two 2s first."""
    pool = Pool(group(1, 2, "c/a") + group(2, 2, "c/b") + group(3, 4, "c/a") + [single(9, QuestionType.A1, "c/a")])
    sections = [Section("一", QuestionType.A3, "", 4, 1), Section("二", QuestionType.A3, "c/a", 2, 1),
                Section("三", QuestionType.A1, "c", 1, 1)]
    bp = blueprint(sections)
    assert check_pool(bp, pool) == [] and check_pool(bp, counted(pool)) == []
    papers = set()
    for seed in range(30):
        paper = draw_paper(pool, bp, seed=seed)
        by_section = [[it.question.group.key for it in paper.items if it.section_index == i and it.question.group]
                      for i in range(2)]
        assert [len(b) for b in by_section] == [4, 2]
        assert not set(by_section[0]) & set(by_section[1])
        papers.add(tuple(paper.question_refs()))
    assert len(papers) == 1  # only one paper works: G3 then G1 (G2 is not in c/a)


def test_draw_falls_back_when_the_random_draw_starves_the_other_section():
    """Both sections over all categories: 4 = 4 or 2 + 2, and 2 is only left after the 4."""
    pool = Pool(group(1, 2, "c/a") + group(2, 2, "c/b") + group(3, 4, "c/a"))
    sections = [Section("一", QuestionType.A3, "", 4, 1), Section("二", QuestionType.A3, "", 2, 1)]
    bp = blueprint(sections)
    assert check_pool(bp, pool) == []
    seconds = set()
    for seed in range(30):
        paper = draw_paper(pool, bp, seed=seed)
        first = {it.question.group.key for it in paper.items if it.section_index == 0}
        second = {it.question.group.key for it in paper.items if it.section_index == 1}
        assert first == {"G3"} and len(second) == 1 and second <= {"G1", "G2"}
        seconds |= second
    assert seconds == {"G1", "G2"}  # still random among the papers that work


def refused_only_by_search() -> tuple[Pool, Blueprint]:
    """Groups of 2, 3 and 4 for 5 (all) and 2 (c): each alone fits, 2 + 5 = 3 + 4 fits by counts,
    but 2 is only the 2-group and 5 only 2 + 3; no count or bound sees it, only the search does."""
    pool = Pool(group(1, 2, "c/a") + group(2, 3, "c/a") + group(3, 4, "c/b"))
    return pool, blueprint([Section("一", QuestionType.A3, "", 5, 1), Section("二", QuestionType.A3, "c", 2, 1)])


def test_a_paper_only_the_search_refuses():
    pool, bp = refused_only_by_search()
    for p in (pool, counted(pool)):
        [short] = check_pool(bp, p)
        assert short.message_zh == ("第 1 部分（一）：题库中 A3型题（共用题干）（全部分类）的题组已被其他部分占用后，各组小题数无法恰好凑成 5 道"
                                    "（同一组不能同时用于两个部分），请调整题量或补充题组")
    with pytest.raises(PoolShortfallError):
        draw_paper(pool, bp, seed=0)


def test_running_out_of_search_steps_is_a_clear_refusal(monkeypatch):
    pool, bp = refused_only_by_search()
    monkeypatch.setattr(blueprint_module, "find_fill", functools.partial(find_fill, budget=0))
    [short] = check_pool(bp, pool)
    assert short.message_zh == ("第 2 部分（二）：A3型题（共用题干）（c）与其他部分共用题组，未能在限定步数内确认各部分能同时抽足，"
                                "请调整题量或分类")


def test_groups_nest_only_for_one_group_type_in_nested_categories():
    def sec(t: QuestionType, prefix: str) -> Section:
        return Section("s", t, prefix, 2, 1)

    assert groups_nest([sec(QuestionType.A3, "c"), sec(QuestionType.A3, "c/a")])
    assert groups_nest([sec(QuestionType.A3, "c/a"), sec(QuestionType.A3, "")])
    assert not groups_nest([sec(QuestionType.A3, "c/a"), sec(QuestionType.A3, "c/b")])
    assert not groups_nest([sec(QuestionType.A3, "c"), sec(QuestionType.A4, "c")])
    assert not groups_nest([sec(QuestionType.A1, "c"), sec(QuestionType.A1, "c")])
    assert not groups_nest([sec(QuestionType.A3, "c")])
