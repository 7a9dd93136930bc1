"""exam: papers drawn ahead for first attempts, claimed by the start

Revision ID: 0013_predrawn_papers
Revises: 0012_revocation_category
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_predrawn_papers"
down_revision = "0012_revocation_category"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exam_predrawn_papers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=False),
        sa.Column("paper", sa.JSON(), nullable=False),
        sa.Column("question_count", sa.Integer(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_by_attempt_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["schedule_id"], ["exam_schedules.id"], ondelete="CASCADE",
                                name=op.f("fk_exam_predrawn_papers_schedule_id_exam_schedules")),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"], ondelete="CASCADE",
                                name=op.f("fk_exam_predrawn_papers_registration_id_registrations")),
        sa.ForeignKeyConstraint(["claimed_by_attempt_id"], ["exam_attempts.id"], ondelete="SET NULL",
                                name=op.f("fk_exam_predrawn_papers_claimed_by_attempt_id_exam_attempts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_predrawn_papers")),
        sa.UniqueConstraint("registration_id", "schedule_id", "attempt_no", name=op.f("uq_exam_predrawn_registration")),
    )
    op.create_index("ix_exam_predrawn_schedule_basis", "exam_predrawn_papers", ["schedule_id", "basis"])


def downgrade() -> None:
    op.drop_index("ix_exam_predrawn_schedule_basis", table_name="exam_predrawn_papers")
    op.drop_table("exam_predrawn_papers")
