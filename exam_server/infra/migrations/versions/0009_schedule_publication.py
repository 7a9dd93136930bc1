"""results: publication of one exam schedule's scores by a body

Revision ID: 0009_schedule_publication
Revises: 0008_proctoring
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_schedule_publication"
down_revision = "0008_proctoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["assessment_bodies.id"], name=op.f("fk_published_schedules_body_id_assessment_bodies")),
        sa.ForeignKeyConstraint(["published_by"], ["accounts.id"], name=op.f("fk_published_schedules_published_by_accounts")),
        sa.ForeignKeyConstraint(["schedule_id"], ["exam_schedules.id"], name=op.f("fk_published_schedules_schedule_id_exam_schedules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_schedules")),
        sa.UniqueConstraint("schedule_id", "body_id", name=op.f("uq_published_schedules_schedule_id")),
    )


def downgrade() -> None:
    op.drop_table("published_schedules")
