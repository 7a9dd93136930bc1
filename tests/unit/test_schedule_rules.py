"""The schedule rules of exam_server.exam.rules at their edges: which of several windows applies
when two are open or tie, and the one-open-window rule when windows touch from either side or
reach the same body's physicians."""

from __future__ import annotations

import datetime as dt

from exam_server.exam import rules
from exam_server.exam.rules import Offer, Window

NOW = dt.datetime(2026, 6, 1, 9, 0)
H = dt.timedelta(hours=1)


def window(start: int, end: int) -> Window:
    return Window(NOW + start * H, NOW + end * H, 60, 3, 60.0)


def test_of_two_open_windows_the_one_ending_last_applies():
    assert rules.applicable([window(-2, 5), window(-1, 3)], NOW) == 0
    assert rules.applicable([window(-1, 3), window(-2, 5)], NOW) == 1
    # Equal ends: the later listed.
    assert rules.applicable([window(-2, 5), window(-1, 5)], NOW) == 1


def test_of_windows_to_come_the_first_to_open_applies_and_ties_go_to_the_first_listed():
    assert rules.applicable([window(3, 4), window(1, 9), window(2, 3)], NOW) == 1
    assert rules.applicable([window(1, 9), window(1, 4)], NOW) == 0  # same start: the first listed
    assert rules.applicable([window(1, 4), window(1, 4)], NOW) == 0


def test_when_every_window_ended_the_last_to_end_applies():
    assert rules.applicable([window(-9, -1), window(-5, -3)], NOW) == 0
    assert rules.applicable([window(-5, -3), window(-9, -1), window(-4, -2)], NOW) == 1
    assert rules.applicable([window(-5, -1), window(-9, -1)], NOW) == 1  # equal ends: the later listed


def test_a_window_opens_at_its_start_and_closes_at_its_end_to_the_microsecond():
    us = dt.timedelta(microseconds=1)
    w = window(0, 1)
    assert rules.open_at(w, NOW) and rules.open_at(w, NOW + H - us)
    assert not rules.open_at(w, NOW - us) and not rules.open_at(w, NOW + H)


def offer(i: int | None, body: int | None, start: int, end: int, kind: str = "humanities",
          category: str | None = None) -> Offer:
    return Offer(i, kind, category, body, NOW + start * H, NOW + end * H)


def test_windows_that_touch_from_either_side_do_not_clash():
    existing = offer(1, 7, 0, 10)
    assert rules.windows_clash(offer(None, 7, -5, 0), [existing]) is None  # ends as the other starts
    assert rules.windows_clash(offer(None, 7, 10, 15), [existing]) is None  # starts as the other ends
    assert rules.windows_clash(offer(None, 7, -5, 1), [existing]) == existing
    assert rules.windows_clash(offer(None, 7, 9, 15), [existing]) == existing
    assert rules.windows_clash(offer(None, 7, 2, 3), [existing]) == existing  # inside
    assert rules.windows_clash(offer(None, 7, -1, 11), [existing]) == existing  # around


def test_the_same_body_twice_clashes_and_the_first_clash_is_named():
    first, second = offer(1, 7, 0, 10), offer(2, 7, 5, 20)
    assert rules.windows_clash(offer(None, 7, 6, 8), [offer(3, 8, 0, 10), first, second]) == first
    assert rules.windows_clash(offer(None, 7, 12, 14), [first, second]) == second
    assert rules.windows_clash(offer(None, 9, 6, 8), [first, second]) is None


def test_an_edited_schedule_is_checked_against_the_others_but_not_itself():
    edited = offer(2, 7, 0, 10)
    assert rules.windows_clash(edited, [offer(2, 7, 0, 10), offer(3, 7, 9, 12)]) == offer(3, 7, 9, 12)
    # Two new schedules (no id yet) are different schedules.
    assert rules.windows_clash(offer(None, 7, 0, 10), [offer(None, 7, 0, 10)]) == offer(None, 7, 0, 10)


def test_professional_papers_clash_only_within_one_practice_category():
    clinic = offer(1, None, 0, 10, "professional", "临床")
    assert rules.windows_clash(offer(None, 7, 5, 6, "professional", "临床"), [clinic]) == clinic
    assert rules.windows_clash(offer(None, 7, 5, 6, "professional", "中医"), [clinic]) is None
    assert rules.windows_clash(offer(None, 7, 5, 6, "humanities", "临床"), [clinic]) is None
    # The humanities paper is one paper whatever the category written on the schedule.
    assert rules.windows_clash(offer(None, 7, 5, 6, "humanities", "中医"), [offer(1, None, 0, 10, "humanities", "临床")])
