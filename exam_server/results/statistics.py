"""Rows for statistics and exports, selected within the actor's scope (registry.scope)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import reports
from question_bank import Question, QuestionType, question_from_dict
from question_bank.model import OPTION_LABELS
from registry.idcard import mask_id_number
from registry.models import Institution, Physician, Registration
from registry.registrations import current_cycle
from registry.roles import Role
from registry.scope import Actor, ensure_role, institution_clause
from registry.states import STATE_WORDS, State

from ..banks.models import BankQuestion
from ..exam.models import Answer, Attempt, ExamSchedule, QuestionSnapshot
from .models import Certificate, PublishedResult
from .services import PROCEDURE_WORDS, RESULT_OF_STATE

STAFF = (Role.INSTITUTION, Role.BODY, Role.HEALTH_ADMIN, Role.ADMIN)


async def registration_rows(session: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    """One row per physician in scope for the current cycle (not-opened ones included)."""
    ensure_role(actor, *STAFF)
    cycle = await current_cycle(session)
    stmt = (select(Physician, Registration, PublishedResult, Certificate)
            .join(Institution, Physician.institution_id == Institution.id)
            .outerjoin(Registration, (Registration.physician_id == Physician.id) & (Registration.cycle_id == cycle.id))
            .outerjoin(PublishedResult, PublishedResult.registration_id == Registration.id)
            .outerjoin(Certificate, (Certificate.registration_id == Registration.id) & Certificate.revoked_at.is_(None))
            .where(institution_clause(actor)).order_by(Physician.id))
    rows = []
    for physician, reg, pub, cert in (await session.execute(stmt)).all():
        state = State.NOT_OPENED if reg is None else State(reg.state)
        rows.append({
            "name": physician.name, "id_number": mask_id_number(physician.id_number),
            "institution": physician.institution.name, "category": physician.practice_category,
            "scope": physician.practice_scope or "", "procedure": PROCEDURE_WORDS.get((reg.procedure if reg else "") or "", "未选择"),
            "state": STATE_WORDS[state], "state_code": str(state),
            "work_rating": reg.work_rating if reg else None, "ethics_rating": reg.ethics_rating if reg else None,
            "result": RESULT_OF_STATE.get(state), "published": pub is not None,
            "certificate": cert.number if cert else None,
            "submitted_at": reg.submitted_at if reg else None, "body_reviewed_at": reg.body_reviewed_at if reg else None,
            "published_at": pub.published_at if pub else None,
        })
    return rows


async def paper_score_rows(session: AsyncSession, actor: Actor) -> list[reports.PaperScoreRow]:
    """Each scored attempt of the current cycle in scope (paper, score, pass mark), for pass rates by
    paper and score distributions."""
    ensure_role(actor, *STAFF)
    cycle = await current_cycle(session)
    rows = (await session.execute(
        select(ExamSchedule.title, Attempt.score, ExamSchedule.pass_mark)
        .join(ExamSchedule, Attempt.schedule_id == ExamSchedule.id)
        .join(Physician, Attempt.physician_id == Physician.id)
        .join(Institution, Physician.institution_id == Institution.id)
        .where(ExamSchedule.cycle_id == cycle.id, Attempt.score.is_not(None), institution_clause(actor)))).all()
    return [reports.PaperScoreRow(paper=t, score=float(sc), pass_mark=float(pm)) for t, sc, pm in rows]


def statistics(rows: list[dict[str, Any]], papers: list[reports.PaperScoreRow], *, start: dt.date,
               end: dt.date) -> dict[str, Any]:
    """Figures and SVG charts from rows already limited to the actor's scope."""
    result_rows = [reports.ResultRow(institution=r["institution"], category=r["category"], procedure=r["procedure"],
                                     state=r["state"], result=r["result"]) for r in rows]
    by_state = reports.counts_by_state(result_rows)
    rates = {name: reports.pass_rates(result_rows, key) for name, key in (
        ("institution", lambda r: r.institution), ("category", lambda r: r.category),
        ("procedure", lambda r: r.procedure))}
    paper_rates = reports.paper_pass_rates(papers)
    distribution = reports.score_distribution([p.score for p in papers])
    events = [(r[k].date(), label) for r in rows for k, label in (
        ("submitted_at", "已提交"), ("body_reviewed_at", "已复核"), ("published_at", "已公布")) if r[k]]
    end = min(end, dt.date.today()) if start <= dt.date.today() else end
    series = reports.cycle_progress(events, start=start, end=max(start, end), milestones=["已提交", "已复核", "已公布"])
    labels = [d.strftime("%m-%d") for d, _ in series]
    progress = {m: [float(v[m]) for _, v in series] for m in ("已提交", "已复核", "已公布")}

    def rate_items(rs: list[reports.Rate]) -> list[tuple[str, float]]:
        return [(r.group, r.rate or 0.0) for r in rs]

    return {
        "total": len(rows),
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


async def question_statistic_rows(session: AsyncSession, actor: Actor, *, bank_id: int | None = None,
                                  min_drawn: int = 10) -> list[dict[str, Any]]:
    """Item analysis of every question drawn in a scored attempt (all cycles), joined to the bank
    question by fingerprint (an edited question has a new fingerprint and starts afresh).

    Attempts are ranked by score as a share of the paper's full mark, so attempts at different
    papers can form one upper and one lower 27%."""
    ensure_role(actor, Role.ADMIN)
    attempts = (await session.execute(
        select(Attempt.id, Attempt.paper, Attempt.score, Attempt.max_score).where(Attempt.score.is_not(None)))).all()
    answers: dict[int, dict[int, str]] = {}
    for attempt_id, item, choice in (await session.execute(
            select(Answer.attempt_id, Answer.item_number, Answer.choice)
            .join(Attempt, Answer.attempt_id == Attempt.id).where(Attempt.score.is_not(None)))).all():
        answers.setdefault(attempt_id, {})[item] = choice
    keys = {k for _, record, _, _ in attempts for k in (record or {}).get("snaps", [])}
    questions: dict[str, Question] = {}
    for fp, payload in (await session.execute(select(QuestionSnapshot.fingerprint, QuestionSnapshot.payload)
                                              .where(QuestionSnapshot.fingerprint.in_(keys)))).all() if keys else ():
        questions[fp] = question_from_dict(payload)
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
    stats = reports.question_statistics(rows, scores, options, min_drawn=min_drawn)
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


async def attempt_rows(session: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    """Every attempt of the current cycle by a physician in the actor's scope, for the XLSX export."""
    ensure_role(actor, *STAFF)
    cycle = await current_cycle(session)
    result = await session.execute(
        select(Physician.name, Physician.id_number, Institution.name, ExamSchedule.title, Attempt.attempt_no,
               Attempt.started_at, Attempt.submitted_at, Attempt.score, ExamSchedule.pass_mark, Attempt.passed,
               Attempt.state)
        .join(ExamSchedule, Attempt.schedule_id == ExamSchedule.id)
        .join(Physician, Attempt.physician_id == Physician.id)
        .join(Institution, Physician.institution_id == Institution.id)
        .where(ExamSchedule.cycle_id == cycle.id, institution_clause(actor))
        .order_by(Institution.name, Physician.id, ExamSchedule.title, Attempt.attempt_no))
    return [{
        "name": name, "id_number": mask_id_number(id_number), "institution": inst, "paper": title,
        "attempt_no": no, "started_at": started, "submitted_at": submitted, "score": score, "pass_mark": pass_mark,
        "outcome": "作答中" if state == "in_progress" else ("合格" if passed else ("不合格" if passed is not None else "—")),
    } for name, id_number, inst, title, no, started, submitted, score, pass_mark, passed, state in result.all()]
