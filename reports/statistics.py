"""Statistics from plain rows: counts, pass rates, score distributions, cycle progress and item
analysis of questions. The caller selects the rows within a user's scope; nothing here knows
about roles or databases."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PASS, FAIL = "合格", "不合格"


@dataclass(frozen=True, kw_only=True)
class ResultRow:
    """One physician's registration in a cycle, as the statistics see it."""

    institution: str
    category: str  # 执业类别
    procedure: str  # 一般程序 / 简易程序
    state: str  # the state in words (待机构审核, 考核合格, ...)
    result: str | None = None  # 合格 / 不合格 once decided (and published, if the caller says so)


@dataclass(frozen=True, kw_only=True)
class PaperScoreRow:
    paper: str
    score: float
    pass_mark: float


@dataclass(frozen=True)
class Rate:
    group: str
    total: int  # decided results in the group
    passed: int

    @property
    def failed(self) -> int:
        return self.total - self.passed

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None


def counts_by_state(rows: Iterable[ResultRow]) -> dict[str, int]:
    """Physicians per state, most frequent first (ties by name)."""
    counts = Counter(r.state for r in rows)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def pass_rates(rows: Iterable[ResultRow], key: Callable[[ResultRow], str]) -> list[Rate]:
    """Pass rate per group among decided results; undecided rows are not counted."""
    total: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for r in rows:
        if r.result not in (PASS, FAIL):
            continue
        g = key(r)
        total[g] += 1
        passed[g] += r.result == PASS
    return [Rate(g, total[g], passed[g]) for g in sorted(total)]


def paper_pass_rates(rows: Iterable[PaperScoreRow]) -> list[Rate]:
    total: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for r in rows:
        total[r.paper] += 1
        passed[r.paper] += r.score >= r.pass_mark
    return [Rate(g, total[g], passed[g]) for g in sorted(total)]


def score_distribution(scores: Iterable[float], *, full_mark: float = 100, bin_width: float = 10) -> list[tuple[str, int]]:
    """Counts per score band ``[a, b)``; the last band includes the full mark."""
    if bin_width <= 0 or full_mark <= 0:
        raise ValueError("bin_width and full_mark must be positive")
    bins = max(1, math.ceil(full_mark / bin_width))
    counts = [0] * bins
    for s in scores:
        if s is None or not math.isfinite(s):
            continue
        i = min(bins - 1, max(0, int(s // bin_width)))
        counts[i] += 1
    labels = [f"{i * bin_width:g}-{min(full_mark, (i + 1) * bin_width):g}" for i in range(bins)]
    return list(zip(labels, counts))


def cycle_progress(
    events: Iterable[tuple[dt.date, str]], *, start: dt.date, end: dt.date, milestones: Sequence[str]
) -> list[tuple[dt.date, dict[str, int]]]:
    """Cumulative count per milestone for each day from ``start`` to ``end``.

    ``events`` are (day, milestone) pairs, e.g. the day each physician first reached 待机构审核;
    events before ``start`` count from the first day, later ones are ignored.
    """
    if end < start:
        raise ValueError("end before start")
    per_day: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for day, milestone in events:
        if milestone in milestones and day <= end:
            per_day[max(day, start)][milestone] += 1
    running = Counter({m: 0 for m in milestones})
    series = []
    day = start
    while day <= end:
        running.update(per_day.get(day, {}))
        series.append((day, {m: running[m] for m in milestones}))
        day += dt.timedelta(days=1)
    return series


# -- question statistics (item analysis) ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AnswerRow:
    """One question as drawn in one attempt."""

    attempt: Hashable
    question: Hashable
    chosen: frozenset[str] = frozenset()  # option keys the candidate chose (empty: unanswered)
    correct: bool = False


@dataclass(frozen=True)
class QuestionStat:
    question: Hashable
    drawn: int
    answered: int
    correct: int
    share_correct: float | None
    discrimination: float | None  # share correct in the upper 27% minus the lower 27%
    never_chosen: tuple[str, ...]
    flags: tuple[str, ...] = field(default=())


FLAG_EASY, FLAG_HARD, FLAG_NEGATIVE = "过易", "过难", "区分度为负"


def question_statistics(
    answers: Iterable[AnswerRow],
    attempt_scores: Mapping[Hashable, float],
    options: Mapping[Hashable, Sequence[str]],
    *,
    easy_above: float = 0.9,
    hard_below: float = 0.2,
    min_drawn: int = 10,
) -> list[QuestionStat]:
    """Item analysis per question.

    Attempts are ranked by total score; the upper and lower groups are the top and bottom 27%
    (at least one attempt each). A question's discrimination is the share correct among the
    upper-group attempts that drew it minus that among the lower-group ones (None if either
    group never drew it). Flags are raised only for questions drawn at least ``min_drawn`` times.
    """
    ranked = sorted(attempt_scores, key=lambda a: (attempt_scores[a], str(a)))
    n = len(ranked)
    k = max(1, math.ceil(0.27 * n)) if n >= 2 else 0
    lower, upper = set(ranked[:k]), set(ranked[n - k :]) if k else set()
    drawn: Counter = Counter()
    answered: Counter = Counter()
    right: Counter = Counter()
    chosen_options: dict[Hashable, set[str]] = defaultdict(set)
    group_n = {"u": Counter(), "l": Counter()}
    group_right = {"u": Counter(), "l": Counter()}
    for a in answers:
        q = a.question
        drawn[q] += 1
        if a.chosen:
            answered[q] += 1
            chosen_options[q] |= a.chosen
        right[q] += a.correct
        for g, members in (("u", upper), ("l", lower)):
            if a.attempt in members:
                group_n[g][q] += 1
                group_right[g][q] += a.correct
    stats = []
    for q in sorted(drawn, key=str):
        share = right[q] / drawn[q]
        disc = None
        if group_n["u"][q] and group_n["l"][q]:
            disc = group_right["u"][q] / group_n["u"][q] - group_right["l"][q] / group_n["l"][q]
        flags = []
        if drawn[q] >= min_drawn:
            if share > easy_above:
                flags.append(FLAG_EASY)
            if share < hard_below:
                flags.append(FLAG_HARD)
            if disc is not None and disc < 0:
                flags.append(FLAG_NEGATIVE)
        never = tuple(o for o in options.get(q, ()) if o not in chosen_options[q])
        stats.append(QuestionStat(q, drawn[q], answered[q], right[q], share, disc, never, tuple(flags)))
    return stats
