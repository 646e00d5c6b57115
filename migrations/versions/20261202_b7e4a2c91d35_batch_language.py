"""batch language

A batch's stickers and backing cards are printed in its language (Swedish unless English
was asked for). Batches made before this were printed in English, so they keep English.

Revision ID: b7e4a2c91d35
Revises: 8d41b7e2c9f3
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b7e4a2c91d35'
down_revision = '8d41b7e2c9f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    op.execute("UPDATE batches SET language = 'en'")
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.alter_column('language', existing_type=sa.String(length=8), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_column('language')
