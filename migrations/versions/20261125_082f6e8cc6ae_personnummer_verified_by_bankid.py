"""personnummer verified by BankID

Revision ID: 082f6e8cc6ae
Revises: 55435517d79b
Create Date: 2026-11-25 14:09:52.935140
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '082f6e8cc6ae'
down_revision = '55435517d79b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personnummer_verified_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('personnummer_verified_at')

