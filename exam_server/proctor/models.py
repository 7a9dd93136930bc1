"""Proctoring tables, on registry's Base: attempt events, violations and invigilation assignments
(consent and identity checks are identity/models.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


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


