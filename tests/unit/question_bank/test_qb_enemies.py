"""Item enemies (互斥题): the rule, codes, the template's 互斥题 column and resolving what a file names."""

from __future__ import annotations

import pytest

from question_bank import Group, Option, Question, QuestionType, TF_OPTIONS, read_file, write_questions
from question_bank.enemies import (
    MAX_ENEMIES,
    EnemyLinks,
    clashes,
    code_problem,
    enemy_pairs_among,
    normalise_code,
    pairs_by_code,
    parse_enemy_codes,
)
from question_bank.formats._table import COLUMNS


def opts(*texts: str) -> tuple[Option, ...]:
    return tuple(Option("ABCDEFGH"[i], t) for i, t in enumerate(texts))


def a1(stem: str, code: str = "", enemies: tuple[str, ...] = (), **kw) -> Question:  # type: ignore[no-untyped-def]
    return Question(QuestionType.A1, stem, opts("甲", "乙", "丙"), ("A",), code=code, enemies=enemies, **kw)


def tf(stem: str, code: str = "", enemies: tuple[str, ...] = ()) -> Question:
    return Question(QuestionType.TF, stem, TF_OPTIONS, ("T",), code=code, enemies=enemies)


# ---------------------------------------------------------------- the rule


ENEMIES = {1: frozenset({2}), 2: frozenset({1, 3}), 3: frozenset({2})}


def test_a_unit_clashes_only_with_an_enemy_already_in_the_paper():
    assert clashes(1, {2}, ENEMIES)
    assert clashes(3, {2}, ENEMIES)
    assert clashes(2, {3}, ENEMIES) and clashes(2, {1}, ENEMIES)
    assert not clashes(1, {3}, ENEMIES)  # enemies are not transitive
    assert not clashes(1, set(), ENEMIES)
    assert not clashes(4, {1, 2, 3}, ENEMIES)  # a unit without enemies never clashes
    assert not clashes(1, {1}, {1: frozenset({1})})  # never its own enemy


def test_enemy_pairs_among_a_paper():
    assert enemy_pairs_among([1, 3], ENEMIES) == []
    assert enemy_pairs_among([1, 2], ENEMIES) == [(1, 2)]
    assert enemy_pairs_among([3, 2, 1], ENEMIES) == [(1, 2), (2, 3)]
    assert enemy_pairs_among([], ENEMIES) == []
    assert enemy_pairs_among([1], {1: frozenset({1})}) == []


def test_pairs_by_code_name_questions_of_the_list_only():
    q1, q2 = a1("一", code="Q1"), tf("二。", code="Q2", enemies=("Q1", "Q9"))
    q3 = tf("三。", enemies=("Q2",))
    assert pairs_by_code([q1, q2, q3]) == sorted({tuple(sorted((q1.fingerprint, q2.fingerprint))),
                                                   tuple(sorted((q3.fingerprint, q2.fingerprint)))})
    assert pairs_by_code([q2]) == []


# ---------------------------------------------------------------- codes and cells


@pytest.mark.parametrize("raw, code", [(" RW-001 ", "RW-001"), ("ＲＷ－００１", "RW-001"), (12, "12"), (12.0, "12"),
                                       ("rw-1", "rw-1")])
def test_codes_are_normalised(raw, code):  # type: ignore[no-untyped-def]
    assert normalise_code(raw) == code
    assert code_problem(code) is None


@pytest.mark.parametrize("code, words", [("A" * 33, "过长"), ("RW 001", "空格"), ("RW、001", "分隔符"),
                                         ("RW\x00", "控制字符"), ("RW;1", "分隔符")])
def test_bad_codes_are_named(code, words):  # type: ignore[no-untyped-def]
    message = code_problem(code)
    assert message and words in message and "试题编号" in message
    assert "\x00" not in message


def test_enemy_cells_split_on_what_people_type():
    assert parse_enemy_codes("RW-1、RW-2,RW-3，RW-4;RW-5；RW-6 RW-7\nRW-8") == (
        tuple(f"RW-{i}" for i in range(1, 9)), [])
    assert parse_enemy_codes("RW-1、RW-1 、 rw-1") == (("RW-1", "rw-1"), [])
    assert parse_enemy_codes("") == ((), []) and parse_enemy_codes(None) == ((), [])


def test_hostile_enemy_cells_are_refused_in_words():
    codes, problems = parse_enemy_codes("RW-1\x00RW-2")
    assert codes == () and "控制字符" in problems[0]
    codes, problems = parse_enemy_codes("、".join(f"Q{i}" for i in range(MAX_ENEMIES + 1)))
    assert f"最多填写 {MAX_ENEMIES} 个" in problems[0]
    codes, problems = parse_enemy_codes("Q" * 5000)
    assert codes == () and "过长" in problems[0]
    codes, problems = parse_enemy_codes("Q1、" + "X" * 40)
    assert codes == ("Q1",) and "过长" in problems[0]


# ---------------------------------------------------------------- the template column


def sheet(*rows: list[object]) -> bytes:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    width = len(COLUMNS)
    for r in rows:
        w.writerow(list(r) + [""] * (width - len(r)))
    return buf.getvalue().encode("utf-8-sig")


def row(kind: str, stem: str, key: str, code: str = "", enemies: str = "", group: str = "",
        options: tuple[str, ...] = ("甲", "乙", "丙")) -> list[object]:
    opt = list(options) + [""] * (8 - len(options))
    return [kind, stem, *opt, key, "", "", "", "", group, code, enemies]


def test_template_reads_codes_and_enemies_and_writes_them_back():
    data = sheet(row("A1", "儿科处方的印刷用纸颜色为", "A", code="RW-1", options=("淡绿色", "淡黄色", "白色")),
                 row("判断", "儿科处方的印刷用纸颜色为淡绿色。", "对", code="RW-2", enemies="RW-1", options=()))
    result = read_file(data, filename="t.csv")
    assert result.ok, result.problems
    assert [(q.code, q.enemies) for q in result.questions] == [("RW-1", ()), ("RW-2", ("RW-1",))]
    for fmt in ("xlsx", "csv"):
        back = read_file(write_questions(result.questions, format=fmt))
        assert [(q.code, q.enemies) for q in back.questions] == [("RW-1", ()), ("RW-2", ("RW-1",))], fmt
        assert [q.fingerprint for q in back.questions] == [q.fingerprint for q in result.questions]


def test_template_refuses_bad_codes_and_enemy_cells_by_row():
    data = sheet(row("A1", "一", "A", code="Q1"),
                 row("A1", "二", "A", code="Q1"),                          # row 3: duplicate code
                 row("A1", "三", "A", code="Q 3"),                         # row 4: space in a code
                 row("A1", "四", "A", code="Q4", enemies="Q4"),            # row 5: itself
                 row("A1", "五", "A", enemies="Q1\x00Q2"),                 # row 6: NUL
                 row("A1", "六", "A", enemies="、".join(f"Q{i}" for i in range(60))),  # row 7: too many
                 row("共用题干", "病例", "", code="G-1", group="G1", options=()),      # row 8: code on a shared row
                 row("A3", "问一", "A", group="G1"), row("A3", "问二", "A", group="G1"))
    result = read_file(data, filename="t.csv")
    by_row = {p.line_or_row: p for p in result.problems}
    # Rows 9 and 10 lose their group with the refused shared row, and say so.
    assert set(by_row) == {3, 4, 5, 6, 7, 8, 9, 10}, [p.message_zh for p in result.problems]
    assert by_row[9].field == by_row[10].field == "共用题干组号"
    assert "与第 2 行重复" in by_row[3].message_zh and by_row[3].field == "试题编号"
    assert "空格" in by_row[4].message_zh
    assert "本题自己" in by_row[5].message_zh and by_row[5].field == "互斥题"
    assert "控制字符" in by_row[6].message_zh and "\x00" not in by_row[6].message_zh
    assert "最多填写 50 个" in by_row[7].message_zh
    assert "共用题干行不填试题编号和互斥题" in by_row[8].message_zh
    assert all(p.message_zh.startswith(f"第 {p.line_or_row} 行") for p in result.problems)


def test_files_without_the_new_columns_still_import():
    old = [c for c in COLUMNS if c not in ("试题编号", "互斥题")]
    data = (",".join(old) + "\nA1,题干,甲,乙,,,,,,,A,1,分类,,,\n").encode("utf-8-sig")
    result = read_file(data, filename="old.csv")
    assert result.ok and result.questions[0].code == "" and result.questions[0].enemies == ()


# ---------------------------------------------------------------- resolving an import's references


def links_of(*qs: Question) -> EnemyLinks:
    links = EnemyLinks()
    for q in qs:
        links.add(q)
    return links


def test_references_resolve_to_the_file_first_then_the_bank():
    q1 = a1("一", code="Q1", source_ref="第 2 行")
    q2 = tf("二。", code="Q2", enemies=("Q1", "OLD"), )
    stored = {"OLD": "f" * 32}
    pairs, problems = links_of(q1, q2).resolve(stored)
    assert problems == []
    assert pairs == sorted({tuple(sorted((q1.fingerprint, q2.fingerprint))), tuple(sorted((q2.fingerprint, "f" * 32)))})


def test_a_later_row_may_be_named():
    q1 = a1("一", code="Q1", enemies=("Q2",))
    q2 = a1("二", code="Q2")
    pairs, problems = links_of(q1, q2).resolve()
    assert problems == [] and len(pairs) == 1


def test_unresolvable_references_are_whole_file_problems_naming_the_row():
    qs = [a1("一", code="Q1", enemies=("NOPE",), source_ref="第 2 行"),
          a1("二", code="Q2", enemies=("Q2",), source_ref="第 3 行"),
          a1("三", code="TAKEN", source_ref="第 4 行"),
          a1("四", code="Q1", source_ref="第 5 行")]
    pairs, problems = links_of(*qs).resolve({"TAKEN": "0" * 32})
    messages = [p.message_zh for p in problems]
    assert pairs == []
    assert [p.line_or_row for p in problems] == [2, 3, 4, 5]
    assert "“NOPE”在本文件和题库中都找不到" in messages[0]
    assert "本题自己" in messages[1]
    assert "已被题库中另一道试题使用" in messages[2]
    assert "与第 2 行重复" in messages[3]
    assert all(p.whole_file for p in problems)


def test_a_bank_code_of_the_same_question_is_not_a_clash():
    q = a1("一", code="Q1")
    assert links_of(q).resolve({"Q1": q.fingerprint}) == ([], [])


def test_sub_questions_of_one_group_cannot_be_enemies():
    g = Group("G1", QuestionType.A3, "病例")
    s1 = Question(QuestionType.A3, "问一", opts("甲", "乙"), ("A",), group=g, code="S1", source_ref="第 3 行")
    s2 = Question(QuestionType.A3, "问二", opts("甲", "乙"), ("A",), group=g, code="S2", enemies=("S1",), source_ref="第 4 行")
    pairs, problems = links_of(s1, s2).resolve()
    assert pairs == [] and "同属一组" in problems[0].message_zh and problems[0].line_or_row == 4


# ---------------------------------------------------------------- limits and exact words


def test_full_width_letters_become_half_width_at_both_ends_of_the_range():
    from question_bank.enemies import MAX_CODE_CHARS

    assert normalise_code("！ＡＺ～") == "!AZ~"  # U+FF01 and U+FF5E, the range's ends
    assert normalise_code("\uff00\uff5f") == "\uff00\uff5f"  # just outside it: kept
    assert normalise_code("  Ａ1 \n") == "A1"
    assert MAX_CODE_CHARS == 32
    assert code_problem("A" * 32) is None
    assert code_problem("A" * 33) == f"试题编号“{'A' * 32}…”过长（最多 32 个字符）"


@pytest.mark.parametrize("code, message", [
    ("RW 1", "试题编号“RW 1”中不能含有空格或换行"),
    ("RW\t1", "试题编号“RW?1”中不能含有空格或换行"),
    ("RW\x011", "试题编号“RW?1”中不能含有控制字符"),
    ("RW\x7f1", "试题编号“RW?1”中不能含有控制字符"),
    ("RW，1", "试题编号“RW，1”中不能含有分隔符“，”"),
    ("RW|1", "试题编号“RW|1”中不能含有分隔符“|”"),
])
def test_a_bad_code_is_named_exactly(code: str, message: str):
    assert code_problem(code) == message


def test_an_enemy_cell_at_its_limits():
    fifty = "、".join(f"Q{i}" for i in range(MAX_ENEMIES))
    assert parse_enemy_codes(fifty) == (tuple(f"Q{i}" for i in range(MAX_ENEMIES)), [])
    codes, problems = parse_enemy_codes(fifty + "、Q50")
    assert len(codes) == 51 and problems == ["互斥题最多填写 50 个试题编号，本行填写了 51 个"]
    longest = "、" * 3998 + "Q1"  # 4,000 characters: read
    assert parse_enemy_codes(longest) == (("Q1",), [])
    assert parse_enemy_codes(longest + "、") == ((), ["互斥题内容过长（4001 个字符），每题最多填写 50 个试题编号"])
    assert parse_enemy_codes("  \n ") == ((), [])
    assert parse_enemy_codes("Q1\nQ2") == (("Q1", "Q2"), [])  # a line break separates, it is not a control character
    assert parse_enemy_codes("Q1\tQ2") == (("Q1", "Q2"), [])  # a tab is read as a space
    for bad in ("Q1\x7fQ2", "Q1\x01Q2"):
        assert parse_enemy_codes(bad) == ((), ["互斥题中含有控制字符（文件可能已损坏）"]), repr(bad)
    assert parse_enemy_codes("Q1、" + "X" * 33) == (("Q1",), [f"互斥题中的试题编号“{'X' * 32}…”过长（最多 32 个字符）"])


def test_unit_enemies_are_symmetric_and_never_within_one_unit():
    from question_bank.enemies import unit_enemies

    assert unit_enemies([(1, 2), (3, 3), (2, 4), (2, 1)]) == {1: frozenset({2}), 2: frozenset({1, 4}), 4: frozenset({2})}
    assert unit_enemies([]) == {}


def test_problems_without_a_row_come_first_and_carry_no_place():
    q1 = a1("一", code="Q1", enemies=("NOPE",), source_ref="第 7 行")
    q2 = a1("二", enemies=("ALSO",))  # no source_ref: the message has no place and no row
    pairs, problems = links_of(q1, q2).resolve()
    assert pairs == []
    assert [(p.line_or_row, p.field, p.message_zh) for p in problems] == [
        (None, "互斥题", "互斥题“ALSO”在本文件和题库中都找不到（应填写同一题库中试题的试题编号）"),
        (7, "互斥题", "第 7 行：互斥题“NOPE”在本文件和题库中都找不到（应填写同一题库中试题的试题编号）"),
    ]
