"""Demo data for the exam engine: physicians at every stage and papers open now.

Kept apart from ``demo.seed_demo`` so the registration demo physicians stay at 未开通报名; the
physicians here are extra ones, put straight into their stage (recorded in the audit log as
demo seeding, not as anybody's review).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry import audit, master_data
from registry.db import make_engine, make_sessionmaker, utcnow
from registry.models import Account, Cycle, Exemption, Physician, Registration

from ..banks.models import Paper
from ..exam.models import ExamSchedule, InvigilatorAssignment
from ..settings import Settings
from .seed import demo_id_number, physicians_csv

# name, born, seq, institution, category, scope, qualification year, first practice, stage, procedure, exemption
EXAM_PHYSICIANS = [
    ("周文", dt.date(1984, 5, 20), 111, "INST001", "临床", "内科", "2007", dt.date(2008, 8, 1), "APPROVED", "general", False),
    ("吴敏", dt.date(1975, 8, 14), 122, "INST001", "临床", "外科", "1999", dt.date(2000, 7, 1), "APPROVED", "simple", False),
    ("郑凯", dt.date(1990, 12, 3), 133, "INST002", "口腔", "口腔", "2013", dt.date(2014, 9, 1), "APPROVED", "general", True),
    ("冯雪", dt.date(1987, 7, 7), 144, "INST001", "临床", "儿科", "2010", dt.date(2011, 3, 1), "SUBMITTED", "general", False),
    ("何平", dt.date(1982, 1, 25), 155, "INST001", "临床", "内科", "2005", dt.date(2006, 5, 1), "INSTITUTION_APPROVED", "general", False),
    ("许静", dt.date(1993, 10, 9), 166, "INST002", "口腔", "口腔", "2016", dt.date(2017, 2, 1), "APPROVED", "simple", False),
]
DEMO_INVIGILATOR = "proctor01"
STAGE_WORDS = {"APPROVED": "审核通过，可立即参加测评", "SUBMITTED": "待机构审核", "INSTITUTION_APPROVED": "待考核机构复核"}
PROCEDURE_WORDS = {"general": "一般程序", "simple": "简易程序"}


def exam_login(index: int) -> str:
    name, born, seq, *_ = EXAM_PHYSICIANS[index]
    return demo_id_number("120101", born, seq)


async def put_in_stage(session: AsyncSession, physician: Physician, cycle: Cycle, *, state: str, procedure: str,
                       exemption: bool = False) -> Registration:
    """A registration in ``state`` with 合格 ratings (and a granted exemption when asked)."""
    now = utcnow()
    reviewed = state in ("INSTITUTION_APPROVED", "APPROVED")
    reg = Registration(physician_id=physician.id, cycle_id=cycle.id, state=state, version=1, procedure=procedure,
                       data={}, opened_at=now, submitted_at=now,
                       work_rating="合格" if reviewed else None, ethics_rating="合格" if reviewed else None,
                       institution_reviewed_at=now if reviewed else None,
                       body_reviewed_at=now if state == "APPROVED" else None)
    session.add(reg)
    await session.flush()
    if exemption:
        session.add(Exemption(registration_id=reg.id, state="GRANTED", condition_codes=[], proof_file_ids=[],
                              note="演示数据"))
    audit.record(session, actor_id=None, action="demo.seed_stage", entity="registration", entity_id=reg.id,
                 detail={"state": state, "procedure": procedure, "exemption": exemption})
    return reg


def exam_physicians_csv() -> bytes:
    rows = [(n, b, s, i, c, sc, y, st) for n, b, s, i, c, sc, y, st, *_ in EXAM_PHYSICIANS]
    return physicians_csv(rows)


async def seed_exam_demo(settings: Settings, *, window_days: int = 30) -> bool:
    """Schedules open from yesterday for ``window_days`` days, and the physicians above."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if await session.scalar(select(ExamSchedule.id).limit(1)) is not None:
                return False
            await master_data.import_physicians(session, "demo-exam-physicians.csv", exam_physicians_csv(),
                                                actor_id=None, initial_password=settings.initial_password)
            cycle = await session.scalar(select(Cycle).where(Cycle.is_current.is_(True)))
            assert cycle is not None
            start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=1)
            schedules = []
            for paper in (await session.scalars(select(Paper).order_by(Paper.id))).all():
                bp = paper.blueprint
                schedules.append(ExamSchedule(
                    cycle_id=cycle.id, body_id=None, paper_id=paper.id, kind=paper.kind,
                    practice_category=paper.practice_category if paper.kind == "professional" else None,
                    title=paper.title, window_start=start, window_end=start + dt.timedelta(days=window_days + 1),
                    time_limit_minutes=int(bp["time_limit_minutes"]), attempts_allowed=int(bp.get("attempts_allowed", 3)),
                    pass_mark=float(bp["pass_mark"]), violation_policy={}))
            session.add_all(schedules)
            await session.flush()
            # The demo invigilator follows every candidate of every demo schedule (监考工作台 shows them).
            proctor = await session.scalar(select(Account).where(Account.username == DEMO_INVIGILATOR))
            if proctor is not None:
                session.add_all(InvigilatorAssignment(schedule_id=s.id, invigilator_id=proctor.id) for s in schedules)
            for i, (*_, state, procedure, exemption) in enumerate(EXAM_PHYSICIANS):
                account = await session.scalar(select(Account).join(Physician, Account.physician_id == Physician.id)
                                               .where(Physician.id_number == exam_login(i)))
                assert account is not None and account.physician is not None
                await put_in_stage(session, account.physician, cycle, state=state, procedure=procedure,
                                   exemption=exemption)
        return True
    finally:
        await engine.dispose()


def print_exam_logins(settings: Settings) -> None:
    print(f"考试演示医师（证件号码 + 初始密码 {settings.initial_password}）：")
    for i, (name, _b, _s, inst, cat, _sc, _y, _st, state, procedure, exemption) in enumerate(EXAM_PHYSICIANS):
        extra = "，已批准免考业务水平测评" if exemption else ""
        print(f"  {name:<4} {exam_login(i)}  ({inst}，{cat}，{PROCEDURE_WORDS[procedure]}，{STAGE_WORDS[state]}{extra})")
    print(f"  → 立即参加考试：{EXAM_PHYSICIANS[0][0]} {exam_login(0)}（一般程序：先医学人文测评，再业务水平测评）", flush=True)

