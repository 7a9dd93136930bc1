"""Attempt records to item-analysis rows: a displayed (shuffled, relabelled) choice is mapped back
to the bank's own option label before it is compared with the key or counted as chosen."""

from __future__ import annotations

import reports
from exam_server.results.statistics import answer_rows_of_attempt
from question_bank import Option, Question, QuestionType


def _q(type_: QuestionType, key: tuple[str, ...], labels: str = "ABCDE") -> Question:
    options = () if type_ is QuestionType.TF else tuple(Option(label, f"选项{label}") for label in labels)
    return Question(type=type_, stem="题干", options=options, key=key)


def test_display_labels_map_back_to_bank_labels():
    single, multi, tf = _q(QuestionType.A1, ("C",)), _q(QuestionType.X, ("A", "D")), _q(QuestionType.TF, ("T",))
    record = {
        "items": [{"fp": "q1", "order": "CABED"},  # displayed A is the bank's C (the key)
                  {"fp": "q2", "order": "DCBAE"},  # displayed A, D are the bank's D, A (the key)
                  {"fp": "q3", "order": "TF"},
                  {"fp": "q1", "order": "ABCDE"}],
        "snaps": ["s1", "s2", "s3", "s1"],
    }
    rows = answer_rows_of_attempt(7, record, {1: "A", 2: "AD", 3: "F"}, {"s1": single, "s2": multi, "s3": tf})
    assert [(r.question, set(r.chosen), r.correct) for r in rows] == [
        ("q1", {"C"}, True), ("q2", {"A", "D"}, True), ("q3", {"F"}, False), ("q1", set(), False)]
    assert all(r.attempt == 7 for r in rows)


def test_hand_computed_item_analysis_from_attempts():
    # Four attempts at one paper of two questions; scores 4 > 3 > 1 > 0. 27% of four is 1.08,
    # rounded up to two attempts: the upper group is attempts 1 and 2, the lower 3 and 4.
    q = _q(QuestionType.A1, ("B",), "ABCD")
    record = {"items": [{"fp": "easy", "order": "ABCD"}, {"fp": "odd", "order": "ABCD"}], "snaps": ["s", "s"]}
    answers = {1: {1: "B", 2: "A"}, 2: {1: "B", 2: "C"}, 3: {1: "B", 2: "B"}, 4: {1: "B"}}
    rows = [r for a, ch in answers.items() for r in answer_rows_of_attempt(a, record, ch, {"s": q})]
    stats = {s.question: s for s in reports.question_statistics(rows, {1: 4, 2: 3, 3: 1, 4: 0}, {"easy": "ABCD", "odd": "ABCD"},
                                                               min_drawn=4)}
    easy, odd = stats["easy"], stats["odd"]
    assert (easy.drawn, easy.correct, easy.share_correct, easy.discrimination) == (4, 4, 1.0, 0.0)
    assert easy.never_chosen == ("A", "C", "D") and easy.flags == ("过易",)
    # odd: wrong for the upper two (A, C), right for 3, unanswered by 4:
    # share 1/4; upper 0/2 minus lower 1/2 = -0.5.
    assert (odd.drawn, odd.answered, odd.correct, odd.share_correct, odd.discrimination) == (4, 3, 1, 0.25, -0.5)
    assert odd.never_chosen == ("D",) and odd.flags == ("区分度为负",)
