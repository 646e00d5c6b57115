"""print shop batches, events, export jobs

Revision ID: 071d0e01299a
Revises: 082f6e8cc6ae
Create Date: 2026-11-25 14:38:57.911834
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '071d0e01299a'
down_revision = '082f6e8cc6ae'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.Column('product', sa.String(length=80), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('set_size', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reprint_of_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reprint_of_id'], ['batches.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_public_id'), ['public_id'], unique=True)

    op.create_table('batch_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('batch_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_events_batch_id'), ['batch_id'], unique=False)

    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=24), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_jobs_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_public_id'), ['public_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_export_jobs_status'), ['status'], unique=False)

    with op.batch_alter_table('sticker_sets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('activation_plain', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_sticker_sets_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key('fk_sticker_sets_batch_id_batches', 'batches', ['batch_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('sticker_sets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_sticker_sets_batch_id_batches', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sticker_sets_batch_id'))
        batch_op.drop_column('activation_plain')
        batch_op.drop_column('batch_id')

    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_public_id'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_batch_id'))

    op.drop_table('export_jobs')
    with op.batch_alter_table('batch_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_events_batch_id'))

    op.drop_table('batch_events')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_public_id'))

    op.drop_table('batches')
