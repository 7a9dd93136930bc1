"""Pre-exam identity tables, on registry's Base: face-capture consent, live enrolments, identity checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Index, String, Text
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
    state: Mapped[str] = mapped_column(String(16))  # open | passed | failed | refused (manual) | abandoned
    failure: Mapped[str | None] = mapped_column(String(32))
    distance: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    used_by_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("exam_attempts.id"))
    manual_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(String(32))  # a manual decision: how the body checked (MANUAL_METHODS)
    # A failed check's frames (storage keys, one per phase), shown to the body beside the registration photo.
    captures: Mapped[list[Any] | None]
