"""question banks: question codes (试题编号) and item enemies (互斥题)

Revision ID: 0010_item_enemies
Revises: 0009_schedule_publication
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_item_enemies"
down_revision = "0009_schedule_publication"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bank_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_bank_questions_bank_code", ["bank_id", "code"])
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enemy_pairs", sa.JSON(), nullable=True))
    op.create_table(
        "question_enemies",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("enemy_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["question_banks.id"], name=op.f("fk_question_enemies_bank_id_question_banks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["enemy_id"], ["bank_questions.id"], name=op.f("fk_question_enemies_enemy_id_bank_questions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["bank_questions.id"],
                                name=op.f("fk_question_enemies_question_id_bank_questions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("question_id", "enemy_id", name=op.f("pk_question_enemies")),
    )
    with op.batch_alter_table("question_enemies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_enemies_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_enemies_enemy_id"), ["enemy_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("question_enemies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_enemies_enemy_id"))
        batch_op.drop_index(batch_op.f("ix_question_enemies_bank_id"))
    op.drop_table("question_enemies")
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_column("enemy_pairs")
    with op.batch_alter_table("bank_questions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_bank_questions_bank_code", type_="unique")
        batch_op.drop_column("code")
