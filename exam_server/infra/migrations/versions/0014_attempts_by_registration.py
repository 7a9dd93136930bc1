"""exam: attempts looked up by registration

Revision ID: 0014_attempts_by_registration
Revises: 0013_predrawn_papers

The unique (schedule_id, registration_id, attempt_no) index does not serve a lookup by registration
alone; with 20,000 attempts the pre-draw pass's "no attempt yet" test scanned that whole index once
per registration, seconds of database CPU every 30 s.
"""

from __future__ import annotations

from alembic import op

revision = "0014_attempts_by_registration"
down_revision = "0013_predrawn_papers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_exam_attempts_registration_id", "exam_attempts", ["registration_id"])


def downgrade() -> None:
    op.drop_index("ix_exam_attempts_registration_id", table_name="exam_attempts")
