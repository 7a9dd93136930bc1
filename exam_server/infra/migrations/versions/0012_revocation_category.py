"""certificates: the body's reason category for a revocation, shown by the public verification

Revision ID: 0012_revocation_category
Revises: 0011_manual_verification
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_revocation_category"
down_revision = "0011_manual_verification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_category", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_column("revoked_category")
