"""claimed personnummer and session lifetimes

A typed personnummer is only a customer's claim, so several accounts may hold one: the
unique constraint gives way to a plain index and a unique index over BankID-proved
numbers only. Signed-in sessions get `last_seen_at`, so idle ones can end.

Revision ID: 5c2e81f0d4a7
Revises: 3a9d5c1e7b20
Create Date: 2026-12-01 12:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '5c2e81f0d4a7'
down_revision = '3a9d5c1e7b20'
branch_labels = None
depends_on = None

PROVED = sa.text('personnummer_verified_at IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_personnummer_digest', type_='unique')
        batch_op.create_index(batch_op.f('ix_users_personnummer_digest'), ['personnummer_digest'], unique=False)
        batch_op.create_index('uq_users_proved_personnummer', ['personnummer_digest'], unique=True,
                              sqlite_where=PROVED, postgresql_where=PROVED)
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE login_sessions SET last_seen_at = created_at')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    # Back to one account per number: typed claims that now share a number are dropped,
    # except on the account that proved it (or, failing that, the first that claimed it).
    op.execute(
        'UPDATE users SET personnummer_digest = NULL, personnummer_masked = NULL '
        'WHERE personnummer_digest IS NOT NULL AND personnummer_verified_at IS NULL AND EXISTS ('
        'SELECT 1 FROM users AS other WHERE other.personnummer_digest = users.personnummer_digest '
        'AND (other.personnummer_verified_at IS NOT NULL OR other.id < users.id))'
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('uq_users_proved_personnummer')
        batch_op.drop_index(batch_op.f('ix_users_personnummer_digest'))
        batch_op.create_unique_constraint('uq_users_personnummer_digest', ['personnummer_digest'])
