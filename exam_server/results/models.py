"""Result tables, on registry's Base: publication of results, review requests (复核申请),
certificates and the assessment bodies' seals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class PublishedResult(Base):
    """A registration's result once the body has published it; before that the physician sees 待公布."""

    __tablename__ = "published_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("assessment_bodies.id"), index=True)
    result: Mapped[str] = mapped_column(String(8))  # 合格 / 不合格, as published (a review may change it)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))


class PublishedSchedule(Base):
    """A body has published the scores of one exam schedule (one paper) for its physicians; before
    that (and before the whole result is published) the physician sees 待公布 for that paper."""

    __tablename__ = "published_schedules"
    __table_args__ = (UniqueConstraint("schedule_id", "body_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("exam_schedules.id"))
    body_id: Mapped[int] = mapped_column(ForeignKey("assessment_bodies.id"))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))


class ResultReview(Base):
    """A physician's request to review a 不合格 result; one per registration."""

    __tablename__ = "result_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), index=True)  # pending / upheld / changed
    version: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))


class Certificate(Base):
    """A 合格证书: the facts it states, signed at issue; revoked when the result changes."""

    __tablename__ = "certificates"
    __table_args__ = (Index("ix_certificates_body_institution", "body_id", "institution_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    # Not unique: a revoked certificate keeps its number (verifiers are told it was revoked) and a
    # later pass of the same registration gets a new one.
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("assessment_bodies.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reports.SIGNED_FIELDS -> text
    signature: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    # reports.REVOCATION_CATEGORIES key: what the public verification says the revocation was for.
    revoked_category: Mapped[str | None] = mapped_column(String(32))


class BodySeal(Base):
    """The assessment body's seal image (PNG with transparency), printed on its certificates."""

    __tablename__ = "body_seals"
    body_id: Mapped[int] = mapped_column(ForeignKey("assessment_bodies.id"), primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
