"""The question banks' tables, on registry's Base: question banks, their questions, paper definitions, import jobs.

A question is stored whole as ``payload`` (``question_bank.question_to_dict``, images embedded);
the other columns are copies of what lists, searches and the unique fingerprint need. Members
of an A3/A4/B1 group share ``group_key`` (unique per bank for one group's content) and keep
their order in ``group_seq``. ``code`` is the admin's number for the question (试题编号, unique
in its bank when set); enemy pairs (互斥题) are rows of ``question_enemies``, by question id, so
an edit that changes a question's content keeps them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class QuestionBank(Base):
    """题库."""

    __tablename__ = "question_banks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class BankQuestion(Base):
    """One question of a bank (a group member is one row per sub-question)."""

    __tablename__ = "bank_questions"
    __table_args__ = (
        UniqueConstraint("bank_id", "fingerprint"),
        # Prefix search (category = p OR category LIKE 'p/%') within a bank.
        Index("ix_bank_questions_bank_category", "bank_id", "category",
              postgresql_ops={"category": "text_pattern_ops"}),
        Index("ix_bank_questions_bank_type", "bank_id", "type"),
        Index("ix_bank_questions_bank_group", "bank_id", "group_key", "group_seq"),
        UniqueConstraint("bank_id", "code", name="uq_bank_questions_bank_code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(4))
    category: Mapped[str] = mapped_column(String(255), default="")
    difficulty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The stem as plain text for search (a group member's shared case text is appended).
    stem: Mapped[str] = mapped_column(Text)
    group_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    group_seq: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[dict[str, Any]]
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class QuestionEnemy(Base):
    """Two questions of one bank that must never share a paper (互斥题), stored once with the
    smaller id first. ``source`` says who made the pair: ``import`` (a file's 互斥题 column),
    ``admin`` (the question page or the API) or ``cueing`` (a pair the cueing check listed and
    the admin confirmed)."""

    __tablename__ = "question_enemies"
    question_id: Mapped[int] = mapped_column(ForeignKey("bank_questions.id", ondelete="CASCADE"), primary_key=True)
    enemy_id: Mapped[int] = mapped_column(ForeignKey("bank_questions.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="admin")
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Paper(Base):
    """A paper definition: a blueprint (``Blueprint.to_dict``) drawn from one or more banks."""

    __tablename__ = "papers"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    practice_category: Mapped[str | None] = mapped_column(String(16), nullable=True)
    blueprint: Mapped[dict[str, Any]]
    bank_ids: Mapped[list[Any]]
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImportJob(Base):
    """One uploaded question file and what became of it: read (preview), then stored (import).

    The upload waits in file storage (``file_key``) between the two steps, so a page reload or
    another admin's browser finds the job where it was; progress while a step runs lives in the
    live state (it need not survive), the outcome here."""

    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bank_name: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    format: Mapped[str] = mapped_column(String(16), default="")
    # previewing -> previewed -> importing -> done; or failed / cancelled
    state: Mapped[str] = mapped_column(String(16), index=True)
    skip_unsupported: Mapped[bool] = mapped_column(Boolean, default=False)
    # Cueing pairs of the preview the admin confirmed as enemies, stored with the questions.
    enemy_pairs: Mapped[list[Any] | None] = mapped_column(nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    preview: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    report_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
