"""The cycle-progress chart's time axis shows the data: it starts just before the first event (at
least two weeks back), not at the start of a three-year cycle where the line would lie flat."""

from __future__ import annotations

import datetime as dt

from exam_server.results.statistics import PROGRESS_MIN_DAYS, progress_start

CYCLE = dt.date(2024, 1, 1)
TODAY = dt.date(2026, 12, 7)


def test_everything_today_shows_the_last_week() -> None:
    assert progress_start([TODAY, TODAY], start=CYCLE, end=TODAY) == TODAY - dt.timedelta(days=PROGRESS_MIN_DAYS - 1)


def test_the_axis_begins_the_day_before_the_first_event() -> None:
    first = dt.date(2026, 3, 10)
    assert progress_start([TODAY, first, dt.date(2026, 6, 1)], start=CYCLE, end=TODAY) == first - dt.timedelta(days=1)


def test_never_before_the_cycle_and_without_events_two_weeks() -> None:
    assert progress_start([dt.date(2023, 5, 1)], start=CYCLE, end=TODAY) == CYCLE
    assert progress_start([], start=CYCLE, end=TODAY) == TODAY - dt.timedelta(days=PROGRESS_MIN_DAYS - 1)
    assert progress_start([], start=TODAY, end=TODAY) == TODAY
    # Events after the end of the axis do not move its start.
    assert progress_start([TODAY + dt.timedelta(days=3)], start=CYCLE, end=TODAY) == TODAY - dt.timedelta(days=PROGRESS_MIN_DAYS - 1)
