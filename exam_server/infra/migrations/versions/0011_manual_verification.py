"""identity: the body's contact, failed captures and the manual verification's method

Revision ID: 0011_manual_verification
Revises: 0010_item_enemies
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_manual_verification"
down_revision = "0010_item_enemies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessment_bodies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact", sa.String(length=200), nullable=True))
    with op.batch_alter_table("proctor_identity_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("captures", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proctor_identity_checks", schema=None) as batch_op:
        batch_op.drop_column("method")
        batch_op.drop_column("captures")
    with op.batch_alter_table("assessment_bodies", schema=None) as batch_op:
        batch_op.drop_column("contact")
