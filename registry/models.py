"""The system of record: organisations, people, accounts, cycles, registrations, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, utcnow


class Region(Base):
    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class HealthAdministration(Base):
    """卫生健康行政部门: oversees one region."""

    __tablename__ = "health_administrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    region: Mapped[Region] = relationship(lazy="joined")


class AssessmentBody(Base):
    """考核机构."""

    __tablename__ = "assessment_bodies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    # How a physician reaches the body (telephone, address, hours): shown where the physician is told
    # to contact it, e.g. for a manual identity verification. Maintained by the admin.
    contact: Mapped[str | None] = mapped_column(String(200))


class Institution(Base):
    """医疗卫生机构."""

    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("assessment_bodies.id"), index=True)
    region: Mapped[Region] = relationship(lazy="joined")
    body: Mapped[AssessmentBody] = relationship(lazy="joined")


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))


class Physician(Base):
    """Master data from the national e-registration system; identity fields are read-only."""

    __tablename__ = "physicians"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    id_type: Mapped[str] = mapped_column(String(24))
    id_number: Mapped[str] = mapped_column(String(32), index=True)
    gender: Mapped[str | None] = mapped_column(String(2))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    qualification_cert_no: Mapped[str] = mapped_column(String(32))
    practice_cert_no: Mapped[str] = mapped_column(String(32))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    practice_category: Mapped[str] = mapped_column(String(16))
    practice_scope: Mapped[str | None] = mapped_column(String(64))
    practice_start_date: Mapped[dt.date | None] = mapped_column(Date)
    institution: Mapped[Institution] = relationship(lazy="joined")


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    # Staff log in with a username; physicians with their ID number (via physician_id).
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    physician_id: Mapped[int | None] = mapped_column(ForeignKey("physicians.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_version: Mapped[int] = mapped_column(Integer, default=1)
    phone: Mapped[str | None] = mapped_column(String(16))
    phone_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_bodies.id"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    physician: Mapped[Physician | None] = relationship(lazy="joined")


class Cycle(Base):
    """An assessment cycle (3 years); exactly one is current."""

    __tablename__ = "cycles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)


class Registration(Base):
    """One physician in one cycle; `state` moves only through registry.registration_states."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("physician_id", "cycle_id"),
        Index("ix_registrations_cycle_state", "cycle_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    state: Mapped[str] = mapped_column(String(24))
    # Bumped on every transition; an update that finds another version lost a race.
    version: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    procedure: Mapped[str | None] = mapped_column(String(8))
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    return_reason: Mapped[str | None] = mapped_column(Text)
    returned_by: Mapped[str | None] = mapped_column(String(16))
    work_rating: Mapped[str | None] = mapped_column(String(8))
    ethics_rating: Mapped[str | None] = mapped_column(String(8))
    rating_comment: Mapped[str | None] = mapped_column(Text)
    institution_reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    institution_reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    body_reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    body_reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    physician: Mapped[Physician] = relationship(lazy="joined")


class StoredFile(Base):
    """An uploaded file; bytes live in the storage backend under `storage_key`."""

    __tablename__ = "stored_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    owner_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ExemptionCondition(Base):
    """Code table of 免考 conditions maintained by the admin."""

    __tablename__ = "exemption_conditions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Exemption(Base):
    __tablename__ = "exemptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), unique=True)
    state: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer, default=1)
    condition_codes: Mapped[list[Any]] = mapped_column(default=list)
    proof_file_ids: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    institution_decided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    body_decided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Transfer(Base):
    """A physician moved to another institution by a health administration."""

    __tablename__ = "transfers"
    id: Mapped[int] = mapped_column(primary_key=True)
    physician_id: Mapped[int] = mapped_column(ForeignKey("physicians.id"), index=True)
    from_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    to_institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    reason: Mapped[str] = mapped_column(Text)
    by_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Message(Base):
    """In-app message to one account."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditLog(Base):
    """Who did what to which record and when; append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(36))


class CodeEntry(Base):
    """An entry the admin added to a code table (practice category, practice scope, title).

    The defaults live in registry.codes; these rows extend them and can be retired, never deleted,
    because registrations may already hold the value.
    """

    __tablename__ = "code_entries"
    __table_args__ = (UniqueConstraint("table", "parent", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    table: Mapped[str] = mapped_column(String(24))
    # The practice category a scope belongs to; "" for tables without a parent.
    parent: Mapped[str] = mapped_column(String(16), default="")
    value: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
