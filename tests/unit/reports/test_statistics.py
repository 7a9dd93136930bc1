from __future__ import annotations

import datetime as dt

import pytest

from reports import (
    AnswerRow, PaperScoreRow, ResultRow, counts_by_state, cycle_progress, paper_pass_rates, pass_rates,
    question_statistics, score_distribution,
)
from reports.statistics import FLAG_EASY, FLAG_HARD, FLAG_NEGATIVE

ROWS = [
    ResultRow(institution="甲医院", category="临床", procedure="一般程序", state="考核合格", result="合格"),
    ResultRow(institution="甲医院", category="临床", procedure="简易程序", state="考核不合格", result="不合格"),
    ResultRow(institution="甲医院", category="口腔", procedure="一般程序", state="待机构审核"),
    ResultRow(institution="乙医院", category="口腔", procedure="一般程序", state="考核合格", result="合格"),
    ResultRow(institution="乙医院", category="临床", procedure="一般程序", state="考核合格", result="合格"),
]


def test_counts_by_state_most_frequent_first():
    assert counts_by_state(ROWS) == {"考核合格": 3, "待机构审核": 1, "考核不合格": 1}
    assert counts_by_state([]) == {}


def test_pass_rates_by_institution_category_and_procedure_count_decided_results_only():
    by_inst = {r.group: (r.total, r.passed, r.rate) for r in pass_rates(ROWS, lambda r: r.institution)}
    assert by_inst == {"甲医院": (2, 1, 0.5), "乙医院": (2, 2, 1.0)}
    by_cat = {r.group: r.failed for r in pass_rates(ROWS, lambda r: r.category)}
    assert by_cat == {"临床": 1, "口腔": 0}
    by_proc = {r.group: r.rate for r in pass_rates(ROWS, lambda r: r.procedure)}
    assert by_proc == {"一般程序": 1.0, "简易程序": 0.0}


def test_paper_pass_rates_and_score_distribution():
    rows = [PaperScoreRow(paper="人文", score=s, pass_mark=60) for s in (59.5, 60, 100, 0)]
    (rate,) = paper_pass_rates(rows)
    assert (rate.total, rate.passed) == (4, 2)
    dist = dict(score_distribution([0, 9.9, 10, 59.5, 60, 99, 100, float("nan")]))
    assert dist["0-10"] == 2 and dist["10-20"] == 1 and dist["50-60"] == 1 and dist["60-70"] == 1 and dist["90-100"] == 2
    assert sum(dist.values()) == 7
    with pytest.raises(ValueError):
        score_distribution([1], bin_width=0)


def test_cycle_progress_is_cumulative_per_day():
    d = dt.date(2026, 3, 1)
    events = [(d - dt.timedelta(days=5), "已提交"), (d, "已提交"), (d + dt.timedelta(days=2), "已提交"),
              (d + dt.timedelta(days=2), "已出结果"), (d + dt.timedelta(days=9), "已提交")]
    series = cycle_progress(events, start=d, end=d + dt.timedelta(days=3), milestones=["已提交", "已出结果"])
    assert [s["已提交"] for _, s in series] == [2, 2, 3, 3]
    assert [s["已出结果"] for _, s in series] == [0, 0, 1, 1]
    with pytest.raises(ValueError):
        cycle_progress([], start=d, end=d - dt.timedelta(days=1), milestones=[])


def test_question_statistics_share_discrimination_unchosen_options_and_flags():
    # 10 attempts scored 0..9; q1 answered right by the strong half (positive discrimination),
    # q2 by the weak half (negative), q3 by all (too easy), q4 by none (too hard).
    scores = {f"a{i}": float(i) for i in range(10)}
    answers = []
    for i in range(10):
        a = f"a{i}"
        answers.append(AnswerRow(attempt=a, question="q1", chosen=frozenset("A" if i >= 5 else "B"), correct=i >= 5))
        answers.append(AnswerRow(attempt=a, question="q2", chosen=frozenset("A" if i < 5 else "C"), correct=i < 5))
        answers.append(AnswerRow(attempt=a, question="q3", chosen=frozenset("A"), correct=True))
        answers.append(AnswerRow(attempt=a, question="q4", chosen=frozenset() if i % 2 else frozenset("B"), correct=False))
    options = {q: ("A", "B", "C", "D") for q in ("q1", "q2", "q3", "q4")}
    stats = {s.question: s for s in question_statistics(answers, scores, options, min_drawn=10)}
    assert stats["q1"].drawn == 10 and stats["q1"].share_correct == 0.5
    assert stats["q1"].discrimination == 1.0 and stats["q1"].flags == ()
    assert stats["q2"].discrimination == -1.0 and FLAG_NEGATIVE in stats["q2"].flags
    assert stats["q3"].flags == (FLAG_EASY,) and stats["q3"].never_chosen == ("B", "C", "D")
    assert FLAG_HARD in stats["q4"].flags and stats["q4"].answered == 5
    assert stats["q1"].never_chosen == ("C", "D")
    # Below the minimum number of draws nothing is flagged.
    few = question_statistics(answers, scores, options, min_drawn=11)
    assert all(s.flags == () for s in few)


def test_question_statistics_with_one_attempt_has_no_discrimination():
    (stat,) = question_statistics([AnswerRow(attempt=1, question=7, chosen=frozenset("A"), correct=True)], {1: 5.0}, {})
    assert stat.discrimination is None and stat.share_correct == 1.0
