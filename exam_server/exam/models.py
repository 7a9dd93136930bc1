"""The exam engine's tables, on registry's Base: schedules, attempts, answers, question snapshots, and
the invigilators' assignments that scope who sees which attempt.

An attempt stores what was drawn (``paper``: ``DrawnPaper.to_record``) and refers to the drawn
questions by fingerprint in ``exam_question_snapshots``, content-addressed, so a later edit of a
bank question never changes a paper somebody already sat.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class ExamSchedule(Base):
    """One paper offered in one cycle for one practice category (humanities: all categories),
    by one assessment body (``body_id``) or by the admin for every body (``body_id`` NULL)."""

    __tablename__ = "exam_schedules"
    __table_args__ = (Index("ix_exam_schedules_cycle_kind", "cycle_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_bodies.id"), index=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    practice_category: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(128))
    window_start: Mapped[dt.datetime] = mapped_column(DateTime)
    window_end: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=3)
    pass_mark: Mapped[float] = mapped_column(Float, default=60.0)
    # What each proctoring finding does (filled by the proctoring work; empty = flag for review).
    violation_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set once by whichever process decides the physicians who never passed by the window's end.
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Attempt(Base):
    """One sitting of one schedule's paper by one physician."""

    __tablename__ = "exam_attempts"
    __table_args__ = (
        UniqueConstraint("schedule_id", "registration_id", "attempt_no"),
        # At most one attempt in progress per physician and cycle, whatever the paper.
        Index("ux_exam_attempts_one_in_progress", "registration_id", unique=True,
              sqlite_where=text("state = 'in_progress'"), postgresql_where=text("state = 'in_progress'")),
        # The sweeper's scan.
        Index("ix_exam_attempts_state_deadline", "state", "deadline"),
        # A physician's attempts (the start's situation, the pre-draw's "none yet"): the unique
        # constraint above leads with schedule_id and cannot serve this.
        Index("ix_exam_attempts_registration_id", "registration_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("exam_schedules.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    deadline: Mapped[dt.datetime] = mapped_column(DateTime)
    extra_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # The browser that may answer; another device taking over replaces it.
    device_id: Mapped[str] = mapped_column(String(64))
    paper: Mapped[dict[str, Any]]
    question_count: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    submit_reason: Mapped[str | None] = mapped_column(String(16))
    submit_note: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    scored_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Answer(Base):
    """The latest answer to one item of an attempt; ``seq`` is the client's sequence number."""

    __tablename__ = "exam_answers"
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"), primary_key=True)
    item_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    choice: Mapped[str] = mapped_column(String(8))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    saved_at: Mapped[dt.datetime] = mapped_column(DateTime)


class QuestionSnapshot(Base):
    """A drawn question's content by fingerprint (``question_bank.question_to_dict``)."""

    __tablename__ = "exam_question_snapshots"
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[dict[str, Any]]


class InvigilatorAssignment(Base):
    """An invigilator follows a group of a schedule's candidates: an institution's, or block
    ``block_no`` (0-based) of ``block_size`` candidates in physician order, or all of them."""

    __tablename__ = "proctor_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("exam_schedules.id"), index=True)
    invigilator_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    block_no: Mapped[int | None] = mapped_column(Integer)
    block_size: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PredrawnPaper(Base):
    """A paper drawn ahead for a physician's first attempt at a schedule (:mod:`.predraw`), so the
    start at a synchronised opening is one short transaction that claims it. ``basis`` names what the
    draw depended on (the pool's questions and enemies, the blueprint, time limit and pass mark): a
    paper whose basis is no longer the schedule's is never claimed. Claimed rows keep which attempt
    took them."""

    __tablename__ = "exam_predrawn_papers"
    __table_args__ = (
        # Leading registration_id: the start looks its physician's papers up by registration.
        UniqueConstraint("registration_id", "schedule_id", "attempt_no", name="uq_exam_predrawn_registration"),
        Index("ix_exam_predrawn_schedule_basis", "schedule_id", "basis"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("exam_schedules.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(64))
    paper: Mapped[dict[str, Any]]
    question_count: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # A claim is written in the attempt's own transaction; the key makes a claim without its attempt fail.
    claimed_by_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("exam_attempts.id", ondelete="SET NULL"))
