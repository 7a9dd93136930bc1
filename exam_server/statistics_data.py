"""Rows for statistics and exports, selected within the actor's scope (registry.scope)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import reports
from registry.idcard import mask_id_number
from registry.models import Institution, Physician, Registration
from registry.registrations import current_cycle
from registry.roles import Role
from registry.scope import Actor, ensure_role, institution_clause
from registry.states import STATE_WORDS, State

from .exam.models import Attempt, ExamSchedule
from .result_models import Certificate, PublishedResult
from .results import PROCEDURE_WORDS, RESULT_OF_STATE

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
