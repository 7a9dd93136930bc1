"""results: publication, review requests, certificates, body seals

Revision ID: 0007_reports
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0007_reports"
down_revision = "0005_import_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('body_seals',
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['body_id'], ['assessment_bodies.id'], name=op.f('fk_body_seals_body_id_assessment_bodies')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['accounts.id'], name=op.f('fk_body_seals_uploaded_by_accounts')),
    sa.PrimaryKeyConstraint('body_id', name=op.f('pk_body_seals'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=24), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('physician_id', sa.Integer(), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['body_id'], ['assessment_bodies.id'], name=op.f('fk_certificates_body_id_assessment_bodies')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_certificates_institution_id_institutions')),
    sa.ForeignKeyConstraint(['issued_by'], ['accounts.id'], name=op.f('fk_certificates_issued_by_accounts')),
    sa.ForeignKeyConstraint(['physician_id'], ['physicians.id'], name=op.f('fk_certificates_physician_id_physicians')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_certificates_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_body_institution', ['body_id', 'institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_physician_id'), ['physician_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_registration_id'), ['registration_id'], unique=False)

    op.create_table('published_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('body_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['body_id'], ['assessment_bodies.id'], name=op.f('fk_published_results_body_id_assessment_bodies')),
    sa.ForeignKeyConstraint(['published_by'], ['accounts.id'], name=op.f('fk_published_results_published_by_accounts')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_published_results_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_results')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_published_results_registration_id'))
    )
    with op.batch_alter_table('published_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_results_body_id'), ['body_id'], unique=False)

    op.create_table('result_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['accounts.id'], name=op.f('fk_result_reviews_decided_by_accounts')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_result_reviews_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_reviews')),
    sa.UniqueConstraint('registration_id', name=op.f('uq_result_reviews_registration_id'))
    )
    with op.batch_alter_table('result_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_reviews_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('result_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_reviews_state'))

    op.drop_table('result_reviews')
    with op.batch_alter_table('published_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_results_body_id'))

    op.drop_table('published_results')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_registration_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_physician_id'))
        batch_op.drop_index('ix_certificates_body_institution')

    op.drop_table('certificates')
    op.drop_table('body_seals')

