"""Attempt rules of domain rule 8 and the result of rule 10, as plain data in, decisions out.

Nothing here touches the database or the clock: callers pass ``now`` and what they loaded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Sequence

HUMANITIES = "humanities"
PROFESSIONAL = "professional"
PAPER_NAMES = {HUMANITIES: "医学人文测评", PROFESSIONAL: "业务水平测评"}
PASSING_RATING = "合格"


class Lock(StrEnum):
    """Why a paper cannot be started now; ``words`` is what the physician reads."""

    NOT_APPROVED = "not_approved"
    ASSESSMENT_DECIDED = "assessment_decided"
    WAIVED = "waived"
    NEEDS_HUMANITIES = "needs_humanities"
    NOT_SCHEDULED = "not_scheduled"
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    ATTEMPTS_USED = "attempts_used"
    PASSED = "passed"
    FAILED = "failed"
    OTHER_IN_PROGRESS = "other_in_progress"

    @property
    def words(self) -> str:
        return _LOCK_WORDS[self]


_LOCK_WORDS = {
    Lock.NOT_APPROVED: "报名未审核通过",
    Lock.ASSESSMENT_DECIDED: "本周期考核已有结果",
    Lock.WAIVED: "已免考",
    Lock.NEEDS_HUMANITIES: "需先通过医学人文测评",
    Lock.NOT_SCHEDULED: "考试尚未安排",
    Lock.NOT_OPEN: "考试尚未开始",
    Lock.CLOSED: "考试已结束",
    Lock.ATTEMPTS_USED: "考试次数已用完",
    Lock.PASSED: "已通过，无需再考",
    Lock.FAILED: "未通过",
    Lock.OTHER_IN_PROGRESS: "另一场考试正在进行中",
}


class Outcome(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"


OUTCOME_WORDS = {Outcome.PENDING: "未完成", Outcome.PASSED: "通过", Outcome.FAILED: "未通过", Outcome.WAIVED: "已免考"}


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    time_limit_minutes: int
    attempts_allowed: int
    pass_mark: float


@dataclass(frozen=True, slots=True)
class AttemptFact:
    """What the rules need of one earlier or current attempt."""

    state: str  # lifecycle.AttemptState value
    score: float | None
    passed: bool | None


@dataclass(frozen=True, slots=True)
class PaperSituation:
    kind: str
    window: Window | None
    attempts: tuple[AttemptFact, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """The physician's registration as the rules see it."""

    state: str  # registry.states.State value
    procedure: str | None  # "simple" | "general"
    exemption_granted: bool
    work_rating: str | None = None
    ethics_rating: str | None = None


@dataclass(frozen=True, slots=True)
class PaperStatus:
    kind: str
    outcome: Outcome
    attempts_allowed: int
    attempts_used: int
    best_score: float | None
    in_progress: bool
    lock: Lock | None  # None: may start (or resume, when in_progress)

    @property
    def attempts_left(self) -> int:
        return max(0, self.attempts_allowed - self.attempts_used)

    @property
    def name(self) -> str:
        return PAPER_NAMES[self.kind]


def required_papers(procedure: str | None) -> tuple[str, ...]:
    """Papers in the order they must be taken (rule 8)."""
    return (HUMANITIES,) if procedure == "simple" else (HUMANITIES, PROFESSIONAL)


def waived_paper(procedure: str | None, exemption_granted: bool) -> str | None:
    """A granted exemption waives humanities under the simple procedure, professional under the general (rule 7)."""
    if not exemption_granted:
        return None
    return HUMANITIES if procedure == "simple" else PROFESSIONAL


def attempts_allowed(procedure: str | None, window: Window | None) -> int:
    if procedure != "simple":
        return 1  # general procedure: exactly one attempt per paper
    return window.attempts_allowed if window else 3


def deadline(started_at: dt.datetime, time_limit_minutes: int, extra_minutes: int, window_end: dt.datetime) -> dt.datetime:
    """min(start + limit, window end) + extra: extra time is an accommodation, so it may run past the
    window's end; moving the window moves the deadline, and lengthening never gives more than the limit."""
    return min(started_at + dt.timedelta(minutes=time_limit_minutes), window_end) + dt.timedelta(minutes=extra_minutes)


def open_at(window: Window, now: dt.datetime) -> bool:
    return window.start <= now < window.end


def applicable(windows: Sequence[Window], now: dt.datetime) -> int | None:
    """Which of a physician's windows for one paper applies now (its index): the open one, else the
    next to open, else the one that ended last. Schedules are refused when they would give a physician
    two open windows for one paper (:func:`windows_clash`); should old data hold two, the one ending
    last applies. Attempts, limits and results never depend on this choice beyond the attempt limit
    and the dates shown: they are per physician, cycle and paper."""
    if not windows:
        return None
    order = sorted(range(len(windows)), key=lambda i: (windows[i].end, i))
    opened = [i for i in order if open_at(windows[i], now)]
    if opened:
        return opened[-1]
    upcoming = sorted((i for i in order if now < windows[i].start), key=lambda i: (windows[i].start, i))
    if upcoming:
        return upcoming[0]
    return order[-1]


@dataclass(frozen=True, slots=True)
class Offer:
    """A schedule as the one-window rule sees it: whom it reaches and when."""

    id: int | None
    kind: str
    practice_category: str | None
    body_id: int | None  # None: the admin's, for every body
    start: dt.datetime
    end: dt.datetime


def windows_clash(new: Offer, existing: Sequence[Offer]) -> Offer | None:
    """The first existing schedule that would give some physician a second open window for the same
    paper at the same time as ``new`` (None: no clash). Windows that only touch do not clash."""
    for other in existing:
        if other.id is not None and other.id == new.id:
            continue
        same_paper = other.kind == new.kind and (new.kind == HUMANITIES or other.practice_category == new.practice_category)
        same_people = new.body_id is None or other.body_id is None or new.body_id == other.body_id
        if same_paper and same_people and new.start < other.end and other.start < new.end:
            return other
    return None


def paper_outcome(procedure: str | None, situation: PaperSituation, *, waived: bool, now: dt.datetime) -> Outcome:
    if waived:
        return Outcome.WAIVED
    scored = [a for a in situation.attempts if a.passed is not None]
    if any(a.passed for a in scored):
        return Outcome.PASSED
    allowed = attempts_allowed(procedure, situation.window)
    if scored and len(situation.attempts) >= allowed and not any(a.passed is None for a in situation.attempts):
        return Outcome.FAILED
    in_progress = any(a.passed is None for a in situation.attempts)
    if situation.window is not None and now >= situation.window.end and not in_progress:
        return Outcome.FAILED
    return Outcome.PENDING


_DECIDED = {"PASSED", "FAILED"}


def paper_statuses(candidate: Candidate, situations: Sequence[PaperSituation], *, now: dt.datetime) -> list[PaperStatus]:
    """Each required paper in order, with its outcome and, when it cannot be started, why."""
    by_kind = {s.kind: s for s in situations}
    waived = waived_paper(candidate.procedure, candidate.exemption_granted)
    anything_in_progress = any(a.passed is None for s in situations for a in s.attempts)
    out: list[PaperStatus] = []
    earlier_done = True
    for kind in required_papers(candidate.procedure):
        sit = by_kind.get(kind, PaperSituation(kind, None))
        outcome = paper_outcome(candidate.procedure, sit, waived=kind == waived, now=now)
        scores = [a.score for a in sit.attempts if a.score is not None]
        in_progress = any(a.passed is None for a in sit.attempts)
        allowed = attempts_allowed(candidate.procedure, sit.window)
        lock: Lock | None
        if outcome is Outcome.WAIVED:
            lock = Lock.WAIVED
        elif outcome is Outcome.PASSED:
            lock = Lock.PASSED
        elif in_progress:
            lock = None  # resume
        elif outcome is Outcome.FAILED:
            if len(sit.attempts) >= allowed:
                lock = Lock.ATTEMPTS_USED
            elif sit.window is not None and now >= sit.window.end:
                lock = Lock.CLOSED
            else:
                lock = Lock.FAILED
        elif candidate.state in _DECIDED:
            lock = Lock.ASSESSMENT_DECIDED
        elif candidate.state != "APPROVED":
            lock = Lock.NOT_APPROVED
        elif not earlier_done:
            lock = Lock.NEEDS_HUMANITIES
        elif sit.window is None:
            lock = Lock.NOT_SCHEDULED
        elif now < sit.window.start:
            lock = Lock.NOT_OPEN
        elif now >= sit.window.end:
            lock = Lock.CLOSED
        elif len(sit.attempts) >= allowed:
            lock = Lock.ATTEMPTS_USED
        elif anything_in_progress:
            lock = Lock.OTHER_IN_PROGRESS
        else:
            lock = None
        out.append(PaperStatus(kind, outcome, allowed, len(sit.attempts), max(scores) if scores else None,
                               in_progress, lock))
        earlier_done = earlier_done and outcome in (Outcome.PASSED, Outcome.WAIVED)
    return out


def start_refusal(candidate: Candidate, situations: Sequence[PaperSituation], kind: str, *, now: dt.datetime) -> Lock | None:
    """Why ``kind`` may not be started now (None: it may). An attempt in progress refuses a new start."""
    for status in paper_statuses(candidate, situations, now=now):
        if status.kind == kind:
            if status.in_progress:
                return Lock.OTHER_IN_PROGRESS
            return status.lock
    return Lock.NOT_SCHEDULED


def assessment_result(candidate: Candidate, statuses: Sequence[PaperStatus]) -> str | None:
    """Rule 10: "PASSED" when every rating is 合格 and every required paper passed or waived,
    "FAILED" as soon as a rating or a required paper fails, None while anything is pending."""
    ratings = [r for r in (candidate.work_rating, candidate.ethics_rating) if r is not None]
    if any(r != PASSING_RATING for r in ratings):
        return "FAILED"
    if any(s.outcome is Outcome.FAILED for s in statuses):
        return "FAILED"
    if all(s.outcome in (Outcome.PASSED, Outcome.WAIVED) for s in statuses):
        return "PASSED"
    return None


@dataclass(frozen=True, slots=True)
class AnswerProblem:
    item: int | None
    message: str


@dataclass(slots=True)
class AnswerCheck:
    """Answers that fit the paper, and every problem with the others (by item)."""

    accepted: list[tuple[int, str, bool, int]] = field(default_factory=list)
    problems: list[AnswerProblem] = field(default_factory=list)


MAX_SEQ = 2**53


def check_answers(raw: Sequence[object], item_options: Sequence[tuple[str, bool]]) -> AnswerCheck:
    """Validate answers against the drawn paper: ``item_options[n-1]`` is (labels shown, multiple).

    Each raw answer is ``{"item": n, "choice": "AC", "flagged": bool, "seq": int}``; an empty
    choice clears an answer. Of several answers to one item in a request, the highest seq counts."""
    out = AnswerCheck()
    best: dict[int, tuple[int, str, bool, int]] = {}
    for i, a in enumerate(raw, start=1):
        where = f"第 {i} 条答案"
        if not isinstance(a, dict):
            out.problems.append(AnswerProblem(None, f"{where}格式不正确"))
            continue
        item, choice, flagged, seq = a.get("item"), a.get("choice", ""), a.get("flagged", False), a.get("seq")
        if type(item) is not int or not 1 <= item <= len(item_options):
            out.problems.append(AnswerProblem(None, f"{where}：题号应为 1 到 {len(item_options)} 之间的整数"))
            continue
        if type(seq) is not int or not 0 <= seq < MAX_SEQ:
            out.problems.append(AnswerProblem(item, f"第 {item} 题：序号（seq）应为非负整数"))
            continue
        if not isinstance(choice, str) or len(choice) > 8 or type(flagged) is not bool:
            out.problems.append(AnswerProblem(item, f"第 {item} 题：答案格式不正确"))
            continue
        labels, multiple = item_options[item - 1]
        picked = "".join(sorted(set(choice.upper())))
        bad = [c for c in picked if c not in labels]
        if bad:
            out.problems.append(AnswerProblem(item, f"第 {item} 题：选项“{''.join(bad)}”不是该题的选项"))
            continue
        if len(picked) > 1 and not multiple:
            out.problems.append(AnswerProblem(item, f"第 {item} 题是单选题，只能选择一个选项"))
            continue
        if item not in best or best[item][3] < seq:
            best[item] = (item, picked, flagged, seq)
    out.accepted = sorted(best.values())
    return out
