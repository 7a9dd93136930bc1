"""The cueing check: a 判断 or A1 stem that states another question's stem with its key or a distractor."""

from __future__ import annotations

from question_bank import Group, Option, Question, QuestionType, TF_OPTIONS
from question_bank.cueing import CueItem, _cue, _bigrams, find_cues, normalise_for_cues
from question_bank.demo import demo_banks

COLOURS = ("淡绿色", "淡黄色", "淡红色", "白色", "淡蓝色")


def opts(*texts: str) -> tuple[Option, ...]:
    return tuple(Option("ABCDEFGH"[i], t) for i, t in enumerate(texts))


def a1(stem: str, options: tuple[str, ...] = COLOURS, key: str = "A") -> Question:
    return Question(QuestionType.A1, stem, opts(*options), (key,))


def tf(stem: str, truth: bool = True) -> Question:
    return Question(QuestionType.TF, stem, TF_OPTIONS, ("T" if truth else "F",))


def cues(*qs: Question, among: tuple[Question, ...] = ()) -> set[tuple[str, str, str, str]]:
    return {(c.teller, c.told, c.kind, c.option)
            for c in find_cues([CueItem.of(q, q.stem) for q in qs], among=[CueItem.of(q, q.stem) for q in among])}


PAEDIATRIC = "《处方管理办法》规定，儿科处方的印刷用纸颜色为（　　）"


def test_the_issue_example_a_true_statement_answers_and_a_false_one_rules_out():
    q = a1(PAEDIATRIC)
    told_key = tf("《处方管理办法》规定，儿科处方的印刷用纸颜色为淡绿色。")
    told_other = tf("《处方管理办法》规定，儿科处方的印刷用纸颜色为淡黄色。", truth=False)
    found = cues(q, told_key, told_other)
    assert (told_key.stem, q.stem, "key", "淡绿色") in found
    assert (told_other.stem, q.stem, "distractor", "淡黄色") in found
    # The two statements say the same thing with another ending: one gives the other away.
    assert (told_key.stem, told_other.stem, "statement", "") in found or (told_other.stem, told_key.stem, "statement", "") in found
    assert len(found) == 3
    (key_cue,) = [c for c in find_cues([CueItem.of(q, "q"), CueItem.of(told_key, "t")])]
    assert key_cue.reason_zh == "陈述了题干和正确答案“淡绿色”"


def test_another_subject_in_the_same_words_is_not_a_cue():
    q = a1(PAEDIATRIC)
    emergency = tf("《处方管理办法》规定，急诊处方的印刷用纸颜色为淡黄色。")
    narcotic = tf("《处方管理办法》规定，麻醉药品和第一类精神药品处方的印刷用纸颜色为淡红色。")
    assert cues(q, emergency, narcotic) == set()


def test_a_statement_without_one_of_the_options_is_not_a_cue():
    q = a1(PAEDIATRIC)
    assert cues(q, tf("《处方管理办法》规定，儿科处方的印刷用纸颜色为紫色。")) == set()


def test_wording_noise_does_not_hide_a_cue():
    q = a1("儿科处方的印刷用纸颜色为 （ ）")
    statement = tf("儿科处方 的印刷用纸颜色为：淡绿色！")
    assert cues(q, statement) == {(statement.stem, q.stem, "key", "淡绿色")}
    assert normalise_for_cues("ＡＢ，c　d（ ）") == "abcd"


def test_an_a1_stem_can_tell_too():
    told = a1("变异链球菌致龋的主要代谢底物是（　　）", ("蔗糖", "脂肪", "蛋白质"))
    teller = a1("龋病最主要的致病菌变异链球菌，致龋的主要代谢底物是蔗糖，其作用是（　　）", ("产酸", "产碱", "产气"))
    assert (teller.stem, told.stem, "key", "蔗糖") in cues(told, teller)


def test_a_b1_question_is_told_through_its_groups_options():
    shared = Group("B", QuestionType.B1, "", opts("1年", "2年", "3年"))
    told = Question(QuestionType.B1, "麻醉药品处方的保存期限为", (), ("C",), group=shared)
    teller = tf("麻醉药品处方的保存期限为3年。")
    assert cues(told, teller) == {(teller.stem, told.stem, "key", "3年")}


def test_questions_of_one_group_are_never_reported():
    case = Group("G", QuestionType.A3, "病例")
    q1 = Question(QuestionType.A3, "最可能的诊断是", opts("甲病", "乙病"), ("A",), group=case)
    q2 = Question(QuestionType.A3, "最可能的诊断是甲病，应首选", opts("丙药", "丁药"), ("A",), group=case)
    assert cues(q1, q2) == set()


def test_duplicates_and_unrelated_questions_are_not_cues():
    s = tf("心房颤动最常见的严重并发症是脑栓塞。")
    assert cues(s, tf("心房颤动最常见的严重并发症是脑栓塞。")) == set()
    assert cues(a1("乳牙的数目是（　　）", ("20颗", "24颗")), tf("心房颤动最常见的严重并发症是脑栓塞。")) == set()


def test_stored_pairs_are_not_reported_again():
    q = a1(PAEDIATRIC)
    t = tf("《处方管理办法》规定，儿科处方的印刷用纸颜色为淡绿色。")
    assert cues(among=(q, t)) == set()
    assert {(c[0], c[1]) for c in cues(t, among=(q,))} == {(t.stem, q.stem)}


def test_the_index_finds_what_comparing_every_pair_finds():
    # The candidate index is a shortcut: it must not lose a pair the rule accepts.
    qs = demo_banks()["医学人文"]
    items = [CueItem.of(q, q.code) for q in qs]
    fast = {(c.teller, c.told, c.kind) for c in find_cues(items)}
    df: dict[str, int] = {}
    grams = [_bigrams(it.stem) for it in items]
    for g in grams:
        for b in g:
            df[b] = df.get(b, 0) + 1
    rare = [frozenset(sorted(g, key=lambda b: (df[b], b))[:2]) for g in grams]
    slow: dict[tuple[str, str], str] = {}
    for t, teller in enumerate(items):
        if teller.type not in (QuestionType.TF, QuestionType.A1):
            continue
        for d, told in enumerate(items):
            if d != t and not (teller.group and teller.group == told.group):
                cue = _cue(teller, told, grams[t], grams[d], rare[d])
                if cue:
                    slow.setdefault(tuple(sorted((teller.ref, told.ref))), cue.kind)  # type: ignore[arg-type]
    assert {tuple(sorted((a, b))) for a, b, _ in fast} == set(slow)
