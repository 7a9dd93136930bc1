"""Attempt rules (rule 8) and the result (rule 10), without a server."""

from __future__ import annotations

import datetime as dt

import pytest

from exam_server.exam import rules
from exam_server.exam.lifecycle import MOVES, AttemptAction, AttemptState, next_attempt_state
from exam_server.exam.rules import AttemptFact, Candidate, Lock, Outcome, PaperSituation, Window
from registry.errors import IllegalTransition

NOW = dt.datetime(2026, 6, 1, 9, 0)
OPEN = Window(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1), 60, 3, 60.0)
LATER = Window(NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=2), 60, 3, 60.0)
ENDED = Window(NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=1), 60, 3, 60.0)
GENERAL = Candidate("APPROVED", "general", False, "合格", "合格")
SIMPLE = Candidate("APPROVED", "simple", False, "合格", "合格")
PASS = AttemptFact("scored", 80.0, True)
FAIL = AttemptFact("scored", 40.0, False)
RUNNING = AttemptFact("in_progress", None, None)


def statuses(candidate: Candidate, *sits: PaperSituation) -> dict[str, rules.PaperStatus]:
    return {s.kind: s for s in rules.paper_statuses(candidate, sits, now=NOW)}


def test_required_papers_follow_the_procedure() -> None:
    assert rules.required_papers("simple") == ("humanities",)
    assert rules.required_papers("general") == ("humanities", "professional")


def test_exemption_waives_humanities_under_simple_and_professional_under_general() -> None:
    assert rules.waived_paper("simple", True) == "humanities"
    assert rules.waived_paper("general", True) == "professional"
    assert rules.waived_paper("general", False) is None


@pytest.mark.parametrize(("candidate", "sits", "kind", "lock"), [
    (Candidate("SUBMITTED", "general", False), [PaperSituation("humanities", OPEN)], "humanities", Lock.NOT_APPROVED),
    (Candidate("FAILED", "general", False, "不合格", "合格"), [PaperSituation("humanities", OPEN)], "humanities",
     Lock.ASSESSMENT_DECIDED),
    (GENERAL, [PaperSituation("humanities", OPEN), PaperSituation("professional", OPEN)], "professional",
     Lock.NEEDS_HUMANITIES),
    (GENERAL, [], "humanities", Lock.NOT_SCHEDULED),
    (GENERAL, [PaperSituation("humanities", LATER)], "humanities", Lock.NOT_OPEN),
    (SIMPLE, [PaperSituation("humanities", OPEN, (FAIL, FAIL, FAIL))], "humanities", Lock.ATTEMPTS_USED),
    (SIMPLE, [PaperSituation("humanities", OPEN, (PASS,))], "humanities", Lock.PASSED),
    (Candidate("APPROVED", "simple", True, "合格", "合格"), [PaperSituation("humanities", OPEN)], "humanities", Lock.WAIVED),
    (GENERAL, [PaperSituation("humanities", OPEN, (FAIL,))], "humanities", Lock.ATTEMPTS_USED),
    (SIMPLE, [PaperSituation("humanities", OPEN, (RUNNING,))], "humanities", Lock.OTHER_IN_PROGRESS),
    (GENERAL, [PaperSituation("humanities", OPEN, (PASS,)), PaperSituation("professional", OPEN)], "professional", None),
    (SIMPLE, [PaperSituation("humanities", OPEN, (FAIL, FAIL))], "humanities", None),
    (Candidate("APPROVED", "general", True, "合格", "合格"), [PaperSituation("humanities", OPEN)], "professional", Lock.WAIVED),
])
def test_start_refusals(candidate: Candidate, sits: list[PaperSituation], kind: str, lock: Lock | None) -> None:
    assert rules.start_refusal(candidate, sits, kind, now=NOW) is lock


def test_closed_window_is_locked_and_failed() -> None:
    st = statuses(SIMPLE, PaperSituation("humanities", ENDED, (FAIL,)))["humanities"]
    assert st.lock is Lock.CLOSED and st.outcome is Outcome.FAILED
    assert Lock.CLOSED.words == "考试已结束"


def test_every_lock_has_words() -> None:
    for lock in Lock:
        assert lock.words and not lock.words.isascii()


def test_general_procedure_allows_one_attempt_whatever_the_schedule_says() -> None:
    assert rules.attempts_allowed("general", OPEN) == 1
    assert rules.attempts_allowed("simple", OPEN) == 3
    st = statuses(GENERAL, PaperSituation("humanities", OPEN))["humanities"]
    assert (st.attempts_allowed, st.attempts_left) == (1, 1)


def test_deadline_is_the_earlier_of_limit_plus_extra_and_window_end() -> None:
    start = NOW
    assert rules.deadline(start, 60, 0, NOW + dt.timedelta(days=1)) == NOW + dt.timedelta(minutes=60)
    assert rules.deadline(start, 60, 15, NOW + dt.timedelta(days=1)) == NOW + dt.timedelta(minutes=75)
    assert rules.deadline(start, 60, 15, NOW + dt.timedelta(minutes=30)) == NOW + dt.timedelta(minutes=30)


def test_simple_procedure_passes_on_the_first_passing_attempt() -> None:
    sit = PaperSituation("humanities", OPEN, (FAIL, PASS))
    assert rules.paper_outcome("simple", sit, waived=False, now=NOW) is Outcome.PASSED
    assert rules.paper_outcome("simple", PaperSituation("humanities", OPEN, (FAIL,)), waived=False, now=NOW) is Outcome.PENDING


def test_result_follows_rule_ten() -> None:
    both = statuses(GENERAL, PaperSituation("humanities", OPEN, (PASS,)), PaperSituation("professional", OPEN, (PASS,)))
    assert rules.assessment_result(GENERAL, list(both.values())) == "PASSED"
    pending = statuses(GENERAL, PaperSituation("humanities", OPEN, (PASS,)), PaperSituation("professional", OPEN))
    assert rules.assessment_result(GENERAL, list(pending.values())) is None
    failed_pro = statuses(GENERAL, PaperSituation("humanities", OPEN, (PASS,)), PaperSituation("professional", OPEN, (FAIL,)))
    assert rules.assessment_result(GENERAL, list(failed_pro.values())) == "FAILED"
    bad_rating = Candidate("APPROVED", "general", False, "合格", "不合格")
    assert rules.assessment_result(bad_rating, list(both.values())) == "FAILED"
    used_up = statuses(SIMPLE, PaperSituation("humanities", OPEN, (FAIL, FAIL, FAIL)))
    assert rules.assessment_result(SIMPLE, list(used_up.values())) == "FAILED"
    closed = statuses(SIMPLE, PaperSituation("humanities", ENDED))
    assert rules.assessment_result(SIMPLE, list(closed.values())) == "FAILED"
    waived = Candidate("APPROVED", "simple", True, "合格", "合格")
    assert rules.assessment_result(waived, list(statuses(waived).values())) == "PASSED"


def test_an_attempt_in_progress_keeps_a_closed_window_pending() -> None:
    sit = PaperSituation("humanities", ENDED, (RUNNING,))
    assert rules.paper_outcome("simple", sit, waived=False, now=NOW) is Outcome.PENDING


def test_check_answers_names_every_problem() -> None:
    options = [("ABCD", False), ("ABCDE", True), ("TF", False)]
    check = rules.check_answers([
        {"item": 1, "choice": "B", "seq": 3},
        {"item": 1, "choice": "C", "seq": 2},  # older seq in the same request loses
        {"item": 2, "choice": "AE", "seq": 1, "flagged": True},
        {"item": 3, "choice": "T", "seq": 1},
    ], options)
    assert check.problems == []
    assert check.accepted == [(1, "B", False, 3), (2, "AE", True, 1), (3, "T", False, 1)]
    bad = rules.check_answers([
        {"item": 4, "choice": "A", "seq": 1},
        {"item": 1, "choice": "Z", "seq": 1},
        {"item": 1, "choice": "AB", "seq": 2},
        {"item": 2, "choice": "A", "seq": -1},
        {"item": 2, "choice": "A", "seq": 2**63},
        {"item": True, "choice": "A", "seq": 1},
        {"item": 2, "choice": ["A"], "seq": 1},
        "junk",
    ], options)
    messages = [p.message for p in bad.problems]
    assert len(messages) == 8 and bad.accepted == []
    assert "题号应为 1 到 3" in messages[0]
    assert "选项“Z”不是该题的选项" in messages[1]
    assert "单选题" in messages[2]


@pytest.mark.parametrize(("state", "action", "after"), [
    (AttemptState.IN_PROGRESS, AttemptAction.SUBMIT, AttemptState.SUBMITTED),
    (AttemptState.SUBMITTED, AttemptAction.SCORE, AttemptState.SCORED),
    (AttemptState.SCORED, AttemptAction.VOID, AttemptState.VOIDED),
])
def test_lifecycle_moves(state: AttemptState, action: AttemptAction, after: AttemptState) -> None:
    assert next_attempt_state(state, action) is after


def test_lifecycle_refuses_everything_else() -> None:
    legal = {(m.source, a) for a, m in MOVES.items()}
    for state in AttemptState:
        for action in AttemptAction:
            if (state, action) not in legal:
                with pytest.raises(IllegalTransition):
                    next_attempt_state(state, action)
