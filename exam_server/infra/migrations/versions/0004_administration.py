"""administration: code table entries added by the admin

Revision ID: 0004_administration
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_administration"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table", sa.String(length=24), nullable=False),
        sa.Column("parent", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_entries")),
        sa.UniqueConstraint("table", "parent", "value", name=op.f("uq_code_entries_table")),
    )


def downgrade() -> None:
    op.drop_table("code_entries")
