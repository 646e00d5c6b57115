"""index users.phone

A partner's lead file is checked against customers' phone numbers 500 numbers at a time
(services.registers); without an index each check read the whole users table.

Revision ID: 3f9a1c5e7b20
Revises: 6cf7c81f6157
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '3f9a1c5e7b20'
down_revision = '6cf7c81f6157'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_phone'), ['phone'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone'))
