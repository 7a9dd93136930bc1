"""Rows for statistics and exports, selected within the actor's scope (registry.scope)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import reports
from question_bank import Question, QuestionType, question_from_dict
from question_bank.model import OPTION_LABELS
from registry.idcard import mask_id_number
from registry.models import Institution, Physician, Registration
from registry.publication import DECIDED, UNPUBLISHED, UNPUBLISHED_WORDS, hides_unpublished
from registry.registrations import current_cycle
from registry.roles import Role
from registry.scope import Actor, ensure_role, institution_clause
from registry.states import STATE_WORDS, State

from ..banks.models import BankQuestion
from ..exam.models import Answer, Attempt, ExamSchedule, QuestionSnapshot
from .models import Certificate, PublishedResult, PublishedSchedule
from .services import PROCEDURE_WORDS, RESULT_OF_STATE

STAFF = (Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)


# -- rows for exports: column-only statements a server-side cursor streams, and plain converters ----


def registration_statement(cycle_id: int, actor: Actor) -> Select[Any]:
    """One row per physician in scope for the cycle (not-opened ones included), by physician id."""
    return (select(Physician.name, Physician.id_number, Institution.name, Physician.practice_category,
                   Physician.practice_scope, Registration.procedure, Registration.state, Registration.work_rating,
                   Registration.ethics_rating, PublishedResult.id, Certificate.number, Registration.submitted_at,
                   Registration.body_reviewed_at, PublishedResult.published_at)
            .join(Institution, Physician.institution_id == Institution.id)
            .outerjoin(Registration, (Registration.physician_id == Physician.id) & (Registration.cycle_id == cycle_id))
            .outerjoin(PublishedResult, PublishedResult.registration_id == Registration.id)
            .outerjoin(Certificate, (Certificate.registration_id == Registration.id) & Certificate.revoked_at.is_(None))
            .where(institution_clause(actor)).order_by(Physician.id))


def registration_row(row: Sequence[Any], hide: bool = False) -> dict[str, Any]:
    """The export's columns of one row; with ``hide`` (the actor's role sees results only once published,
    registry/publication.py) a decided, unpublished outcome reads 待公布 in both its state and result."""
    (name, id_number, institution, category, scope, procedure, state_code, work, ethics, published_id, certificate,
     submitted_at, body_reviewed_at, published_at) = row
    state = State.NOT_OPENED if state_code is None else State(state_code)
    shown = {"state": STATE_WORDS[state], "state_code": str(state), "result": RESULT_OF_STATE.get(state)}
    if hide and state in DECIDED and published_id is None:
        shown = {"state": UNPUBLISHED_WORDS, "state_code": UNPUBLISHED, "result": UNPUBLISHED_WORDS}
    return {
        "name": name, "id_number": mask_id_number(id_number), "institution": institution, "category": category,
        "scope": scope or "", "procedure": PROCEDURE_WORDS.get(procedure or "", "未选择"), **shown,
        "work_rating": work, "ethics_rating": ethics, "published": published_id is not None, "certificate": certificate,
        "submitted_at": submitted_at, "body_reviewed_at": body_reviewed_at, "published_at": published_at,
    }


REVIEW_STATES = ("SUBMITTED", "INSTITUTION_APPROVED", "RETURNED")


def review_statement(cycle_id: int, actor: Actor) -> Select[Any]:
    """The registrations awaiting or returned from review (the review list export)."""
    return registration_statement(cycle_id, actor).where(Registration.state.in_(REVIEW_STATES))


def _score_released() -> ColumnElement[bool]:
    """Whether the physician may see the attempt's score (as the physician's result page decides it): the
    whole result is published, or the physician's body published the scores of the attempt's schedule.
    Needs the outer joins `_with_releases` adds."""
    return PublishedResult.id.is_not(None) | PublishedSchedule.id.is_not(None)


def _with_releases(stmt: Select[Any]) -> Select[Any]:
    # Both joins match at most one row (unique registration; unique schedule and body), so no attempt repeats.
    return (stmt.outerjoin(PublishedResult, PublishedResult.registration_id == Attempt.registration_id)
            .outerjoin(PublishedSchedule, (PublishedSchedule.schedule_id == Attempt.schedule_id)
                       & (PublishedSchedule.body_id == Institution.body_id)))


def attempt_statement(cycle_id: int, actor: Actor) -> Select[Any]:
    """Every attempt of the cycle by a physician in the actor's scope."""
    return _with_releases(
        select(Physician.name, Physician.id_number, Institution.name, ExamSchedule.title, Attempt.attempt_no,
               Attempt.started_at, Attempt.submitted_at, Attempt.score, ExamSchedule.pass_mark, Attempt.passed,
               Attempt.state, _score_released())
        .join(ExamSchedule, Attempt.schedule_id == ExamSchedule.id)
        .join(Physician, Attempt.physician_id == Physician.id)
        .join(Institution, Physician.institution_id == Institution.id)
    ).where(ExamSchedule.cycle_id == cycle_id, institution_clause(actor)).order_by(
        Institution.name, Physician.id, ExamSchedule.title, Attempt.attempt_no)


def attempt_row(row: Sequence[Any], hide: bool = False) -> dict[str, Any]:
    """With ``hide``, a submitted attempt's score and outcome read 待公布 until the physician may see them."""
    name, id_number, inst, title, no, started, submitted, score, pass_mark, passed, state, released = row
    outcome = "作答中" if state == "in_progress" else ("合格" if passed else ("不合格" if passed is not None else "—"))
    if hide and not released and state != "in_progress":
        score, outcome = UNPUBLISHED_WORDS, UNPUBLISHED_WORDS
    return {
        "name": name, "id_number": mask_id_number(id_number), "institution": inst, "paper": title,
        "attempt_no": no, "started_at": started, "submitted_at": submitted, "score": score, "pass_mark": pass_mark,
        "outcome": outcome,
    }


@dataclass(frozen=True)
class ExportKind:
    """An XLSX export: its sheet title, columns, the statement selecting its rows within a scope, and the
    converter from a database row to the columns' mapping (run in the writer's thread)."""

    name: str
    title: str
    columns: Sequence[reports.Column]
    statement: Callable[[int, Actor], Select[Any]]
    row: Callable[[Sequence[Any], bool], dict[str, Any]]

    def converter(self, actor: Actor) -> Callable[[Sequence[Any]], dict[str, Any]]:
        """The row converter for this actor: hiding what the role may not see before publication."""
        return functools.partial(self.row, hide=hides_unpublished(actor.role))


EXPORTS = {e.name: e for e in (
    ExportKind("results", "考核结果", reports.RESULT_COLUMNS, registration_statement, registration_row),
    ExportKind("reviews", "审核名单", reports.REVIEW_COLUMNS, review_statement, registration_row),
    ExportKind("attempts", "测评作答记录", reports.ATTEMPT_COLUMNS, attempt_statement, attempt_row),
)}


async def registration_rows(session: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    """Every row of the results export as a list (small scopes and tests; exports stream instead)."""
    ensure_role(actor, *STAFF)
    cycle = await current_cycle(session)
    convert = EXPORTS["results"].converter(actor)
    return [convert(r) for r in (await session.execute(registration_statement(cycle.id, actor))).all()]


async def attempt_rows(session: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    """Every row of the attempts export as a list (small scopes and tests; exports stream instead)."""
    ensure_role(actor, *STAFF)
    cycle = await current_cycle(session)
    convert = EXPORTS["attempts"].converter(actor)
    return [convert(r) for r in (await session.execute(attempt_statement(cycle.id, actor))).all()]


# -- statistics: counted by the database, so a province's rows never come into the process ---------


@dataclass(frozen=True)
class Figures:
    """What the statistics are computed from: counts per group, never one row per physician."""

    groups: list[tuple[reports.ResultRow, int]]  # (institution, category, procedure, state, result) -> physicians
    events: list[tuple[dt.date, str, int]]  # (day, milestone, physicians)
    papers: list[tuple[reports.PaperScoreRow, int]]  # (paper, score, pass mark) -> attempts


def _day(value: Any) -> dt.date:
    # SQLite's date() answers text, PostgreSQL's a date.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def statistic_figures(session: AsyncSession, actor: Actor, cycle_id: int) -> Figures:
    """Grouped counts of the cycle's registrations in scope, their milestone days and scored attempts."""
    ensure_role(actor, *STAFF)
    hide = hides_unpublished(actor.role)
    in_scope = institution_clause(actor)
    reg_join = (Registration.physician_id == Physician.id) & (Registration.cycle_id == cycle_id)
    n = func.count()
    published = PublishedResult.id.is_not(None)
    grouped = (await session.execute(
        select(Institution.name, Physician.practice_category, Registration.procedure, Registration.state, published, n)
        .join(Institution, Physician.institution_id == Institution.id).outerjoin(Registration, reg_join)
        .outerjoin(PublishedResult, PublishedResult.registration_id == Registration.id)
        .where(in_scope)
        .group_by(Institution.name, Physician.practice_category, Registration.procedure, Registration.state,
                  published))).all()
    groups = []
    for institution, category, procedure, state_code, is_published, count in grouped:
        state = State.NOT_OPENED if state_code is None else State(state_code)
        words, result = STATE_WORDS[state], RESULT_OF_STATE.get(state)
        if hide and state in DECIDED and not is_published:  # counted as 待公布, out of the pass rates
            words, result = UNPUBLISHED_WORDS, None
        groups.append((reports.ResultRow(institution=institution, category=category,
                                         procedure=PROCEDURE_WORDS.get(procedure or "", "未选择"),
                                         state=words, result=result), int(count)))
    events: list[tuple[dt.date, str, int]] = []
    for column, label, extra in ((Registration.submitted_at, "已提交", None),
                                 (Registration.body_reviewed_at, "已复核", None),
                                 (PublishedResult.published_at, "已公布", PublishedResult)):
        day = func.date(column)
        stmt = (select(day, n).select_from(Physician).join(Institution, Physician.institution_id == Institution.id)
                .join(Registration, reg_join))
        if extra is not None:
            stmt = stmt.join(PublishedResult, PublishedResult.registration_id == Registration.id)
        for value, count in (await session.execute(stmt.where(in_scope, column.is_not(None)).group_by(day))).all():
            events.append((_day(value), label, int(count)))
    scored = (select(ExamSchedule.title, Attempt.score, ExamSchedule.pass_mark, n)
              .join(ExamSchedule, Attempt.schedule_id == ExamSchedule.id)
              .join(Physician, Attempt.physician_id == Physician.id)
              .join(Institution, Physician.institution_id == Institution.id)
              .where(ExamSchedule.cycle_id == cycle_id, Attempt.score.is_not(None), in_scope))
    if hide:  # only the scores the physicians themselves may see count in the rates and the distribution
        scored = _with_releases(scored).where(_score_released())
    papers = [(reports.PaperScoreRow(paper=t, score=float(sc), pass_mark=float(pm)), int(count))
              for t, sc, pm, count in (await session.execute(
                  scored.group_by(ExamSchedule.title, Attempt.score, ExamSchedule.pass_mark))).all()]
    return Figures(groups, events, papers)


def _repeat(pairs: Iterable[tuple[Any, int]]) -> Iterator[Any]:
    return itertools.chain.from_iterable(itertools.repeat(item, count) for item, count in pairs)


PROGRESS_MIN_DAYS = 7


def progress_start(days: list[dt.date], *, start: dt.date, end: dt.date) -> dt.date:
    """Where the progress chart's time axis begins: a cycle lasts three years, and a line drawn over
    all of it before anything happened is flat with one spike at the end. The axis starts a little
    before the first event (at least PROGRESS_MIN_DAYS back from ``end``), never before the cycle."""
    first = min((d for d in days if d <= end), default=end)
    return max(start, min(first - dt.timedelta(days=1), end - dt.timedelta(days=PROGRESS_MIN_DAYS - 1)))


def statistics(figures: Figures, *, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Figures and SVG charts from counts already limited to the actor's scope (the library's functions
    take one row per physician: each group's row is repeated lazily, never held as a list)."""
    by_state = reports.counts_by_state(_repeat(figures.groups))
    rates = {name: reports.pass_rates(_repeat(figures.groups), key) for name, key in (
        ("institution", lambda r: r.institution), ("category", lambda r: r.category),
        ("procedure", lambda r: r.procedure))}
    paper_rates = reports.paper_pass_rates(_repeat(figures.papers))
    distribution = reports.score_distribution(p.score for p in _repeat(figures.papers))
    events = _repeat(((day, label), count) for day, label, count in figures.events)
    end = min(end, dt.date.today()) if start <= dt.date.today() else end
    shown = progress_start([day for day, _label, _count in figures.events], start=start, end=max(start, end))
    series = reports.cycle_progress(events, start=shown, end=max(start, end), milestones=["已提交", "已复核", "已公布"])
    labels = [d.strftime("%m-%d") for d, _ in series]
    progress = {m: [float(v[m]) for _, v in series] for m in ("已提交", "已复核", "已公布")}

    def rate_items(rs: list[reports.Rate]) -> list[tuple[str, float]]:
        return [(r.group, r.rate or 0.0) for r in rs]

    return {
        "total": sum(count for _, count in figures.groups),
        "by_state": by_state,
        "pass_rates": {k: [{"group": r.group, "total": r.total, "passed": r.passed, "rate": r.rate} for r in v]
                       for k, v in {**rates, "paper": paper_rates}.items()},
        "score_distribution": distribution,
        "progress": {"labels": labels, "series": progress},
        "charts": {
            "by_state": reports.bar_chart(list(by_state.items()), title="各状态人数", unit="人"),
            "by_institution": reports.bar_chart(rate_items(rates["institution"]), title="各机构合格率", percent=True, max_value=1),
            "by_category": reports.bar_chart(rate_items(rates["category"]), title="各执业类别合格率", percent=True, max_value=1),
            "by_procedure": reports.bar_chart(rate_items(rates["procedure"]), title="各考核程序合格率", percent=True, max_value=1),
            "by_paper": reports.bar_chart(rate_items(paper_rates), title="各试卷合格率", percent=True, max_value=1),
            "scores": reports.histogram(distribution, title="成绩分布"),
            "progress": reports.line_chart(labels, progress, title="考核周期进度（累计人数）"),
        },
    }


# -- question statistics (item analysis) for the admin ---------------------------------------------

TF_WORDS = {"T": "正确", "F": "错误"}


def answer_rows_of_attempt(attempt_id: int, record: dict[str, Any], choices: dict[int, str],
                           questions: dict[str, Question]) -> list[reports.AnswerRow]:
    """One AnswerRow per drawn item of an attempt, in the bank's own option labels.

    ``record`` is the attempt's ``paper`` (DrawnPaper.to_record plus ``snaps``), ``choices`` the
    stored answers (item number -> display labels, e.g. "AC"), ``questions`` the snapshots by key.
    The candidate saw options relabelled A, B, ... in a shuffled order (``order`` holds the
    original label of each displayed one), so a choice is mapped back before it is compared with
    the key or counted as chosen; true/false items keep their labels T and F."""
    rows = []
    for n, (item, snap) in enumerate(zip(record.get("items", []), record.get("snaps", [])), start=1):
        q = questions.get(snap)
        if q is None:
            continue
        order = str(item.get("order") or "")
        if q.type is QuestionType.TF:
            original = dict(zip(order or "TF", order or "TF"))
            picked = [choices.get(n, "")] if choices.get(n) else []
        else:
            original = {OPTION_LABELS[i]: label for i, label in enumerate(order)}
            picked = list(choices.get(n, ""))
        chosen = frozenset(original[c] for c in picked if c in original)
        rows.append(reports.AnswerRow(attempt=attempt_id, question=str(item["fp"]), chosen=chosen,
                                      correct=bool(chosen) and chosen == frozenset(q.key)))
    return rows


ANALYSIS_BATCH = 5000


def _item_analysis(attempts: Sequence[Any], answers: dict[int, dict[int, str]], payloads: Sequence[Any],
                   min_drawn: int) -> list[reports.QuestionStat]:
    questions: dict[str, Question] = {fp: question_from_dict(payload) for fp, payload in payloads}
    rows: list[reports.AnswerRow] = []
    scores: dict[int, float] = {}
    options: dict[str, tuple[str, ...]] = {}
    for attempt_id, record, score, max_score in attempts:
        scores[attempt_id] = float(score) / float(max_score) if max_score else float(score)
        for snap, item in zip(record.get("snaps", []), record.get("items", [])):
            q = questions.get(snap)
            if q is not None:
                options.setdefault(str(item["fp"]), tuple(o.label for o in q.choices))
        rows += answer_rows_of_attempt(attempt_id, record, answers.get(attempt_id, {}), questions)
    return reports.question_statistics(rows, scores, options, min_drawn=min_drawn)


async def question_statistic_rows(session: AsyncSession, actor: Actor, *, bank_id: int | None = None,
                                  min_drawn: int = 10) -> list[dict[str, Any]]:
    """Item analysis of every question drawn in a scored attempt (all cycles), joined to the bank
    question by fingerprint (an edited question has a new fingerprint and starts afresh).

    Attempts are ranked by score as a share of the paper's full mark, so attempts at different
    papers can form one upper and one lower 27%."""
    ensure_role(actor, Role.ADMIN)
    # Every scored attempt and answer is needed (the 27% groups rank all attempts); they are read from a
    # cursor in batches and analysed in a worker thread, so no single step holds the event loop.
    attempts: list[Any] = []
    result = await session.stream(select(Attempt.id, Attempt.paper, Attempt.score, Attempt.max_score)
                                  .where(Attempt.score.is_not(None)).execution_options(yield_per=ANALYSIS_BATCH))
    async for part in result.partitions(ANALYSIS_BATCH):
        attempts.extend(part)
    answers: dict[int, dict[int, str]] = {}
    result = await session.stream(select(Answer.attempt_id, Answer.item_number, Answer.choice)
                                  .join(Attempt, Answer.attempt_id == Attempt.id).where(Attempt.score.is_not(None))
                                  .execution_options(yield_per=ANALYSIS_BATCH))
    async for part in result.partitions(ANALYSIS_BATCH):
        for attempt_id, item, choice in part:
            answers.setdefault(attempt_id, {})[item] = choice
    keys = {k for _, record, _, _ in attempts for k in (record or {}).get("snaps", [])}
    payloads = (await session.execute(select(QuestionSnapshot.fingerprint, QuestionSnapshot.payload)
                                      .where(QuestionSnapshot.fingerprint.in_(keys)))).all() if keys else []
    stats = await asyncio.to_thread(_item_analysis, attempts, answers, payloads, min_drawn)
    bank_stmt = select(BankQuestion.id, BankQuestion.fingerprint, BankQuestion.bank_id, BankQuestion.type,
                       BankQuestion.stem, BankQuestion.retired).where(
        BankQuestion.fingerprint.in_([str(s.question) for s in stats]))
    if bank_id is not None:
        bank_stmt = bank_stmt.where(BankQuestion.bank_id == bank_id)
    by_fp: dict[str, Any] = {}
    for row in (await session.execute(bank_stmt)).all() if stats else ():
        by_fp.setdefault(row.fingerprint, row)
    out = []
    for s in stats:
        bank_row = by_fp.get(str(s.question))
        if bank_row is None and bank_id is not None:
            continue
        words = TF_WORDS if bank_row is not None and bank_row.type == "TF" else {}
        out.append({
            "question": bank_row.id if bank_row else None, "fingerprint": s.question,
            "stem": (bank_row.stem[:60] if bank_row else "（题库中已无此版本）"), "type": bank_row.type if bank_row else "",
            "retired": bool(bank_row.retired) if bank_row else None,
            "drawn": s.drawn, "answered": s.answered, "correct": s.correct,
            "share_correct": None if s.share_correct is None else round(s.share_correct, 3),
            "discrimination": None if s.discrimination is None else round(s.discrimination, 3),
            "never_chosen": "、".join(words.get(o, o) for o in s.never_chosen), "flags": "、".join(s.flags),
        })
    # Flagged questions first, then the most drawn.
    out.sort(key=lambda r: (not r["flags"], -r["drawn"], r["question"] or 0))
    return out
