"""Proctoring tables, on registry's Base: consent, live enrolments, identity checks, attempt events,
violations and invigilation assignments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class FaceConsent(Base):
    """人脸信息采集授权: one row per acceptance; withdrawing stamps ``withdrawn_at``."""

    __tablename__ = "proctor_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), index=True)
    text_version: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class LiveEnrolment(Base):
    """The registration photo's enrolment plus passing live captures (``proctoring.add_capture``)."""

    __tablename__ = "proctor_enrolments"
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), primary_key=True)
    enrolment: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class IdentityCheck(Base):
    """One pre-exam identity check: the challenge the server picked and how it ended. A manual
    verification by the body is a check with ``manual_by`` set."""

    __tablename__ = "proctor_identity_checks"
    __table_args__ = (Index("ix_proctor_identity_checks_physician_created", "physician_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"))
    kind: Mapped[str] = mapped_column(String(16))
    steps: Mapped[list[Any]]
    state: Mapped[str] = mapped_column(String(16))  # open | passed | failed
    failure: Mapped[str | None] = mapped_column(String(32))
    distance: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    used_by_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("exam_attempts.id"))
    manual_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(Text)


class ProctorEvent(Base):
    """Something that happened during an attempt: a frame's verdict, a browser event, a violation,
    an invigilator's action. ``frame_key``/``thumb_key`` are evidence in file storage."""

    __tablename__ = "proctor_events"
    __table_args__ = (Index("ix_proctor_events_attempt_id_id", "attempt_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer, default=0)  # 0 info, 1 notice, 2 warning, 3 violation
    detail: Mapped[dict[str, Any]]
    frame_key: Mapped[str | None] = mapped_column(String(128))
    thumb_key: Mapped[str | None] = mapped_column(String(128))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class Violation(Base):
    """A persistent finding (policy) or a browser event the schedule treats as one; reviewed later."""

    __tablename__ = "proctor_violations"
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id", ondelete="CASCADE"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("exam_schedules.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    consequence: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime)
    evidence_event_ids: Mapped[list[Any]]
    median_distance: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | confirmed | dismissed
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


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
