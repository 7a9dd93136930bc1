"""question banks, questions (group order kept), paper definitions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 18:08:54.407695
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('papers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('practice_category', sa.String(length=16), nullable=True),
    sa.Column('blueprint', sa.JSON(), nullable=False),
    sa.Column('bank_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_papers'))
    )
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_papers_kind'), ['kind'], unique=False)

    op.create_table('question_banks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_banks')),
    sa.UniqueConstraint('name', name=op.f('uq_question_banks_name'))
    )
    op.create_table('bank_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=4), nullable=False),
    sa.Column('category', sa.String(length=255), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=True),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('group_key', sa.String(length=128), nullable=True),
    sa.Column('group_seq', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bank_id'], ['question_banks.id'], name=op.f('fk_bank_questions_bank_id_question_banks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_questions')),
    sa.UniqueConstraint('bank_id', 'fingerprint', name=op.f('uq_bank_questions_bank_id'))
    )
    with op.batch_alter_table('bank_questions', schema=None) as batch_op:
        batch_op.create_index('ix_bank_questions_bank_category', ['bank_id', 'category'], unique=False, postgresql_ops={'category': 'text_pattern_ops'})
        batch_op.create_index('ix_bank_questions_bank_group', ['bank_id', 'group_key', 'group_seq'], unique=False)
        batch_op.create_index('ix_bank_questions_bank_type', ['bank_id', 'type'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bank_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_bank_questions_bank_type')
        batch_op.drop_index('ix_bank_questions_bank_group')
        batch_op.drop_index('ix_bank_questions_bank_category', postgresql_ops={'category': 'text_pattern_ops'})

    op.drop_table('bank_questions')
    op.drop_table('question_banks')
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_papers_kind'))

    op.drop_table('papers')
