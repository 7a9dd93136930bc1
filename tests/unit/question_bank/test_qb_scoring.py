"""Scoring rules and the keyless candidate view."""

from __future__ import annotations

import json

import pytest

from question_bank import (
    Blueprint, PaperKind, Pool, QuestionType, ScoringError, Section, candidate_view, draw_paper, score_paper,
)


def _paper(mixed_questions, *, partial: bool):
    bp = Blueprint("卷", PaperKind.HUMANITIES, (
        Section("单选", QuestionType.A1, "", 1, 2), Section("多选", QuestionType.X, "", 1, 3),
        Section("判断", QuestionType.TF, "", 2, 1), Section("病例", QuestionType.A3, "", 2, 2),
        Section("配伍", QuestionType.B1, "", 2, 1)), 30, 6, partial_credit=partial)
    return draw_paper(Pool(mixed_questions), bp, seed="s")


def _item(paper, t):
    return next(it for it in paper.items if it.question.type is t)


def _wrong(it):
    return next(o.label for o in it.options if o.label not in it.key)


def test_all_correct_passes_and_all_wrong_fails(mixed_questions):
    paper = _paper(mixed_questions, partial=False)
    right = {it.number: list(it.key) for it in paper.items}
    rep = score_paper(paper, right)
    assert rep.total == rep.max_total == 13 and rep.passed and rep.answered == 8
    wrong = {it.number: [_wrong(it)] for it in paper.items}
    rep = score_paper(paper, wrong)
    assert rep.total == 0 and not rep.passed
    assert score_paper(paper, {}).total == 0


def test_multiple_answer_all_or_nothing_by_default(mixed_questions):
    paper = _paper(mixed_questions, partial=False)
    x = _item(paper, QuestionType.X)
    assert score_paper(paper, {x.number: list(x.key)[:2]}).items[x.number - 1].awarded == 0
    assert score_paper(paper, {x.number: "".join(x.key)}).items[x.number - 1].awarded == 3


def test_multiple_answer_partial_credit_rule(mixed_questions):
    paper = _paper(mixed_questions, partial=True)
    x = _item(paper, QuestionType.X)
    k = list(x.key)
    assert len(k) == 3
    score = lambda ans: score_paper(paper, {x.number: ans}).items[x.number - 1].awarded  # noqa: E731
    assert score(k) == 3
    assert score(k[:2]) == 2  # 3 points * 2/3
    assert score(k[:1]) == 1
    assert score(k[:2] + [_wrong(x)]) == 0  # any wrong choice -> 0
    assert score([]) == 0


def test_single_answer_with_two_choices_scores_zero(mixed_questions):
    paper = _paper(mixed_questions, partial=True)
    a1 = _item(paper, QuestionType.A1)
    assert score_paper(paper, {a1.number: [a1.key[0], _wrong(a1)]}).total == 0


def test_pass_mark_boundary(mixed_questions):
    paper = _paper(mixed_questions, partial=False)
    tfs = [it for it in paper.items if it.question.type is not QuestionType.X]
    answers = {}
    total = 0
    for it in tfs:
        if total + it.points <= 6:
            answers[it.number] = list(it.key)
            total += it.points
    rep = score_paper(paper, answers)
    assert rep.total == 6 and rep.passed


def test_invalid_answers_are_refused(mixed_questions):
    paper = _paper(mixed_questions, partial=False)
    with pytest.raises(ScoringError, match="第 99 题"):
        score_paper(paper, {99: ["A"]})
    with pytest.raises(ScoringError, match="不是该题的选项"):
        score_paper(paper, {1: ["Z"]})


def test_candidate_view_contains_no_key_or_explanation(mixed_questions):
    paper = _paper(mixed_questions, partial=False)
    view = candidate_view(paper)
    blob = json.dumps(view, ensure_ascii=False)

    def keys(o):
        if isinstance(o, dict):
            for k, v in o.items():
                yield k
                yield from keys(v)
        elif isinstance(o, list):
            for v in o:
                yield from keys(v)

    names = set(keys(view))
    assert not names & {"key", "answer", "correct", "explanation", "fingerprint", "option_map", "id"}
    for q in mixed_questions:
        if q.explanation:
            assert q.explanation not in blob
    assert len(view["items"]) == len(paper.items)
    b1 = [g for g in view["groups"] if g["type"] == "B1"][0]
    assert len(b1["options"]) == 5
    assert all(i["options"] == [] for i in view["items"] if i["type"] == "B1")
    a3 = [g for g in view["groups"] if g["type"] == "A3"][0]
    assert a3["stem"].startswith("女，30岁")


def _uneven_paper(mixed_questions, *, pass_mark: float):
    """Partial credit on a 2.5-point multiple-answer item with 3 correct options: thirds of 2.5."""
    bp = Blueprint("卷", PaperKind.HUMANITIES, (
        Section("单选", QuestionType.A1, "", 1, 2), Section("多选", QuestionType.X, "", 1, 2.5),
        Section("判断", QuestionType.TF, "", 2, 1), Section("病例", QuestionType.A3, "", 2, 2),
        Section("配伍", QuestionType.B1, "", 2, 1)), 30, pass_mark, partial_credit=True)
    return draw_paper(Pool(mixed_questions), bp, seed="s")


def test_partial_credit_that_does_not_divide_evenly_is_rounded_to_two_decimals(mixed_questions):
    paper = _uneven_paper(mixed_questions, pass_mark=6)
    x, a1 = _item(paper, QuestionType.X), _item(paper, QuestionType.A1)
    k = list(x.key)
    one_third = score_paper(paper, {x.number: k[:1]})
    assert one_third.items[x.number - 1].awarded == 0.83  # 2.5 / 3
    assert one_third.total == 0.83
    two_thirds = score_paper(paper, {x.number: k[:2], a1.number: list(a1.key)})
    assert two_thirds.items[x.number - 1].awarded == 1.67  # 2.5 * 2 / 3
    assert two_thirds.total == 3.67
    assert two_thirds.max_total == 12.5


def test_the_pass_mark_is_reached_exactly_or_missed_by_a_hundredth(mixed_questions):
    paper = _uneven_paper(mixed_questions, pass_mark=3.67)
    x, a1 = _item(paper, QuestionType.X), _item(paper, QuestionType.A1)
    k = list(x.key)
    exactly = score_paper(paper, {x.number: k[:2], a1.number: list(a1.key)})
    assert exactly.total == 3.67 and exactly.passed
    paper = _uneven_paper(mixed_questions, pass_mark=3.68)
    short = score_paper(paper, {x.number: k[:2], a1.number: list(a1.key)})
    assert short.total == 3.67 and not short.passed


def test_each_item_reports_its_number_choice_key_and_points(mixed_questions):
    paper = _uneven_paper(mixed_questions, pass_mark=6)
    x, a1 = _item(paper, QuestionType.X), _item(paper, QuestionType.A1)
    rep = score_paper(paper, {x.number: list(x.key)[:2], a1.number: list(a1.key)})
    assert [s.number for s in rep.items] == [it.number for it in paper.items] == list(range(1, len(paper.items) + 1))
    assert [s.key for s in rep.items] == [it.key for it in paper.items]
    assert [s.max_points for s in rep.items] == [it.points for it in paper.items]
    assert rep.items[a1.number - 1].correct and rep.items[a1.number - 1].chosen == a1.key
    assert not rep.items[x.number - 1].correct  # partly right is not correct
    assert rep.answered == 2 and rep.pass_mark == 6


def test_a_true_false_answer_naming_both_options_scores_zero(mixed_questions):
    paper = _paper(mixed_questions, partial=False)
    tf = _item(paper, QuestionType.TF)
    assert score_paper(paper, {tf.number: "".join(tf.key)}).items[tf.number - 1].awarded == 1
    assert score_paper(paper, {tf.number: "TF"}).items[tf.number - 1].awarded == 0
    assert score_paper(paper, {tf.number: ["T", "F"]}).items[tf.number - 1].awarded == 0
