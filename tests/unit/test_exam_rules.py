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


def test_deadline_is_the_earlier_of_limit_and_window_end_plus_extra_time() -> None:
    start = NOW
    assert rules.deadline(start, 60, 0, NOW + dt.timedelta(days=1)) == NOW + dt.timedelta(minutes=60)
    assert rules.deadline(start, 60, 15, NOW + dt.timedelta(days=1)) == NOW + dt.timedelta(minutes=75)
    assert rules.deadline(start, 60, 0, NOW + dt.timedelta(minutes=30)) == NOW + dt.timedelta(minutes=30)
    # extra time is an accommodation: it runs past the window's end
    assert rules.deadline(start, 60, 15, NOW + dt.timedelta(minutes=30)) == NOW + dt.timedelta(minutes=45)
    # lengthening the window never gives more than the time limit (plus the extra)
    assert rules.deadline(start, 60, 5, NOW + dt.timedelta(days=9)) == NOW + dt.timedelta(minutes=65)


def test_the_open_window_applies_else_the_next_else_the_last() -> None:
    assert rules.applicable([], NOW) is None
    assert rules.applicable([ENDED, OPEN, LATER], NOW) == 1
    assert rules.applicable([LATER, ENDED], NOW) == 0
    much_later = Window(NOW + dt.timedelta(days=5), NOW + dt.timedelta(days=6), 60, 3, 60.0)
    assert rules.applicable([much_later, LATER, ENDED], NOW) == 1
    older = Window(NOW - dt.timedelta(days=9), NOW - dt.timedelta(days=8), 60, 3, 60.0)
    assert rules.applicable([ENDED, older], NOW) == 0
    # a window is open from its start up to (not at) its end
    assert rules.applicable([ENDED, Window(NOW, NOW + dt.timedelta(hours=1), 60, 3, 60.0)], NOW) == 1
    assert not rules.open_at(Window(NOW - dt.timedelta(hours=1), NOW, 60, 3, 60.0), NOW)


def test_two_open_windows_for_one_physician_and_paper_clash() -> None:
    def offer(i: int | None, body: int | None, start: int, end: int, kind: str = "humanities",
              category: str | None = None) -> rules.Offer:
        return rules.Offer(i, kind, category, body, NOW + dt.timedelta(hours=start), NOW + dt.timedelta(hours=end))

    admins = offer(1, None, 0, 10)
    assert rules.windows_clash(offer(None, 7, 5, 15), [admins]) == admins  # the admin's reaches body 7 too
    assert rules.windows_clash(offer(None, 7, 10, 15), [admins]) is None  # touching is not overlapping
    assert rules.windows_clash(offer(None, 7, 5, 15), [offer(2, 8, 0, 10)]) is None  # another body's physicians
    assert rules.windows_clash(offer(None, None, 5, 15), [offer(2, 8, 0, 10)]) is not None
    assert rules.windows_clash(offer(None, 7, 5, 15, "professional", "临床"), [admins]) is None
    assert rules.windows_clash(offer(None, 7, 5, 15, "professional", "临床"),
                               [offer(3, None, 0, 10, "professional", "口腔")]) is None
    assert rules.windows_clash(offer(None, 7, 5, 15, "professional", "临床"),
                               [offer(3, None, 0, 10, "professional", "临床")]) is not None
    assert rules.windows_clash(offer(1, None, 5, 15), [admins]) is None  # an edit does not clash with itself


def test_attempts_under_any_window_count_and_a_running_one_is_never_failed() -> None:
    # the attempt limit is per paper: two failed attempts under an earlier window and one now
    st = statuses(SIMPLE, PaperSituation("humanities", OPEN, (FAIL, FAIL, FAIL)))["humanities"]
    assert st.outcome is Outcome.FAILED and st.lock is Lock.ATTEMPTS_USED
    # every window ended, an attempt still running (its deadline is later): pending, resumable
    st = statuses(SIMPLE, PaperSituation("humanities", ENDED, (RUNNING,)))["humanities"]
    assert st.outcome is Outcome.PENDING and st.lock is None and st.in_progress
    # every window ended, never sat: failed, and the words say the window closed
    st = statuses(SIMPLE, PaperSituation("humanities", ENDED, ()))["humanities"]
    assert st.outcome is Outcome.FAILED and st.lock is Lock.CLOSED and st.attempts_used == 0
    # a later window still to come: not decided
    st = statuses(SIMPLE, PaperSituation("humanities", LATER, (FAIL,)))["humanities"]
    assert st.outcome is Outcome.PENDING and st.lock is Lock.NOT_OPEN


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


ONE_US = dt.timedelta(microseconds=1)


def _lock_at(now: dt.datetime, window: Window) -> Lock | None:
    return rules.start_refusal(SIMPLE, [PaperSituation("humanities", window)], "humanities", now=now)


def test_a_paper_opens_at_its_windows_start_and_closes_at_its_end_to_the_microsecond() -> None:
    start, end = NOW, NOW + dt.timedelta(hours=2)
    window = Window(start, end, 60, 3, 60.0)
    assert _lock_at(start - ONE_US, window) is Lock.NOT_OPEN
    assert _lock_at(start, window) is None
    assert _lock_at(end - ONE_US, window) is None
    assert _lock_at(end, window) is Lock.CLOSED


def test_a_window_closed_on_an_unfinished_paper_fails_it_from_its_end() -> None:
    window = Window(NOW - dt.timedelta(hours=2), NOW, 60, 3, 60.0)
    sit = PaperSituation("humanities", window, (FAIL,))
    assert rules.paper_outcome("simple", sit, waived=False, now=NOW - ONE_US) is Outcome.PENDING
    assert rules.paper_outcome("simple", sit, waived=False, now=NOW) is Outcome.FAILED
    st = {s.kind: s for s in rules.paper_statuses(SIMPLE, [sit], now=NOW)}["humanities"]
    assert (st.outcome, st.lock) == (Outcome.FAILED, Lock.CLOSED)


def test_the_simple_procedure_takes_the_schedules_attempt_limit_and_three_without_one() -> None:
    two = Window(OPEN.start, OPEN.end, 60, 2, 60.0)
    assert rules.attempts_allowed("simple", two) == 2
    assert rules.attempts_allowed("simple", None) == 3
    sit = PaperSituation("humanities", two, (FAIL, FAIL))
    assert rules.paper_outcome("simple", sit, waived=False, now=NOW) is Outcome.FAILED
    st = statuses(SIMPLE, sit)["humanities"]
    assert (st.attempts_allowed, st.attempts_used, st.attempts_left, st.lock) == (2, 2, 0, Lock.ATTEMPTS_USED)
    assert statuses(SIMPLE)["humanities"].attempts_allowed == 3  # not scheduled yet


def test_the_best_score_of_a_paper_is_its_highest_scored_attempt() -> None:
    st = statuses(SIMPLE, PaperSituation("humanities", OPEN, (FAIL, AttemptFact("scored", 55.5, False), RUNNING)))
    assert st["humanities"].best_score == 55.5
    assert statuses(SIMPLE, PaperSituation("humanities", OPEN, (RUNNING,)))["humanities"].best_score is None
    assert statuses(SIMPLE, PaperSituation("humanities", OPEN))["humanities"].best_score is None


def test_a_paper_in_progress_is_resumed_not_started_again() -> None:
    st = statuses(SIMPLE, PaperSituation("humanities", OPEN, (FAIL, RUNNING)))["humanities"]
    assert st.in_progress is True and st.lock is None and st.outcome is Outcome.PENDING
    assert statuses(SIMPLE, PaperSituation("humanities", OPEN, (FAIL,)))["humanities"].in_progress is False


def test_an_attempt_running_on_a_paper_no_longer_required_blocks_starting_another() -> None:
    # The procedure changed from general to simple while the professional paper was being sat.
    st = statuses(SIMPLE, PaperSituation("humanities", OPEN), PaperSituation("professional", OPEN, (RUNNING,)))
    assert st["humanities"].lock is Lock.OTHER_IN_PROGRESS


OPTIONS = [("ABCD", False), ("ABCDEFGH", True), ("TF", False)]


def test_answers_to_the_first_and_the_last_item_are_taken_and_item_zero_is_not() -> None:
    check = rules.check_answers([{"item": 1, "choice": "A", "seq": 1}, {"item": 3, "choice": "F", "seq": 1},
                                 {"item": 0, "choice": "A", "seq": 1}, {"item": 4, "choice": "A", "seq": 1}], OPTIONS)
    assert check.accepted == [(1, "A", False, 1), (3, "F", False, 1)]
    assert [(p.item, p.message) for p in check.problems] == [
        (None, "第 3 条答案：题号应为 1 到 3 之间的整数"), (None, "第 4 条答案：题号应为 1 到 3 之间的整数")]


def test_seq_runs_from_zero_to_just_below_two_to_the_53() -> None:
    check = rules.check_answers([{"item": 1, "choice": "A", "seq": 0}, {"item": 2, "choice": "A", "seq": 2**53 - 1},
                                 {"item": 3, "choice": "T", "seq": 2**53}, {"item": 3, "choice": "T", "seq": -1}],
                                OPTIONS)
    assert check.accepted == [(1, "A", False, 0), (2, "A", False, 2**53 - 1)]
    assert [(p.item, p.message) for p in check.problems] == [(3, "第 3 题：序号（seq）应为非负整数")] * 2


def test_a_choice_has_at_most_eight_letters() -> None:
    check = rules.check_answers([{"item": 2, "choice": "ABCDEFGH", "seq": 1},
                                 {"item": 2, "choice": "ABCDEFGHA", "seq": 2}], OPTIONS)
    assert check.accepted == [(2, "ABCDEFGH", False, 1)]
    assert [(p.item, p.message) for p in check.problems] == [(2, "第 2 题：答案格式不正确")]


def test_a_missing_choice_clears_the_answer_and_flagged_must_be_a_boolean() -> None:
    check = rules.check_answers([{"item": 1, "seq": 4}, {"item": 2, "choice": "A", "seq": 1, "flagged": "yes"}],
                                OPTIONS)
    assert check.accepted == [(1, "", False, 4)]
    assert [(p.item, p.message) for p in check.problems] == [(2, "第 2 题：答案格式不正确")]


def test_every_bad_answer_is_named_by_its_place_and_the_rest_are_still_taken() -> None:
    check = rules.check_answers(["junk", {"item": 1, "choice": "azb", "seq": 1}, {"item": 1, "choice": "ab", "seq": 2},
                                 {"item": 3, "choice": "t", "seq": 5}, {"item": 3, "choice": "YTZ", "seq": 6}], OPTIONS)
    assert check.accepted == [(3, "T", False, 5)]
    assert [(p.item, p.message) for p in check.problems] == [
        (None, "第 1 条答案格式不正确"), (1, "第 1 题：选项“Z”不是该题的选项"), (1, "第 1 题是单选题，只能选择一个选项"),
        (3, "第 3 题：选项“YZ”不是该题的选项")]


def test_a_repeated_seq_does_not_replace_the_answer_already_taken() -> None:
    """As in storage, where only a higher seq overwrites a saved answer."""
    check = rules.check_answers([{"item": 1, "choice": "A", "seq": 7}, {"item": 1, "choice": "B", "seq": 7}], OPTIONS)
    assert check.accepted == [(1, "A", False, 7)]
