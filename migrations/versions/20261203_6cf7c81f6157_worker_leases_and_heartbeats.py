"""worker leases and heartbeats

One worker process (`flask worker`) does all background work. Outbox rows and export jobs
get a claim (`claimed_by`, `lease_until`) taken by one conditional UPDATE, so two workers
never take the same row and a row whose worker died is taken up again after its lease;
export jobs count their attempts. Workers write a heartbeat row for /readyz, and periodic
jobs (retention) keep when they run next, so they run once a day however many workers run.

Export jobs left running by a web thread before this have no lease: the worker takes them
up again as interrupted.

Revision ID: 6cf7c81f6157
Revises: b6f2d582c7f2
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '6cf7c81f6157'
down_revision = 'b6f2d582c7f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))

    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=True))
    op.execute("UPDATE export_jobs SET attempts = CASE WHEN status = 'queued' THEN 0 ELSE 1 END")
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.alter_column('attempts', existing_type=sa.Integer(), nullable=False)

    op.create_table('worker_heartbeats',
    sa.Column('worker_id', sa.String(length=64), nullable=False),
    sa.Column('duties', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('worker_id')
    )
    op.create_table('periodic_jobs',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('next_run_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_started_at', sa.DateTime(), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('periodic_jobs')
    op.drop_table('worker_heartbeats')
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
