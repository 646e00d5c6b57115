"""accounts, sessions, tokens, sticker sets

Revision ID: 55435517d79b
Revises: 774b554c052e
Create Date: 2026-11-25 13:29:39.827904
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '55435517d79b'
down_revision = '774b554c052e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_tokens_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_auth_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('sticker_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activation_hash', sa.String(length=64), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sticker_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sticker_sets_owner_id'), ['owner_id'], unique=False)

    with op.batch_alter_table('stickers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('set_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('category', sa.String(length=16), nullable=False, server_default='other'))
        batch_op.add_column(sa.Column('scan_alerts', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('last_scan_alert_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_stickers_set_id'), ['set_id'], unique=False)
        batch_op.create_foreign_key('fk_stickers_set_id_sticker_sets', 'sticker_sets', ['set_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='customer'))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('street', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('postal_code', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('city', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('personnummer_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('personnummer_masked', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('notify_by_email', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_unique_constraint('uq_users_personnummer_digest', ['personnummer_digest'])



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('uq_users_personnummer_digest', type_='unique')
        batch_op.drop_column('notify_by_email')
        batch_op.drop_column('personnummer_masked')
        batch_op.drop_column('personnummer_digest')
        batch_op.drop_column('city')
        batch_op.drop_column('postal_code')
        batch_op.drop_column('street')
        batch_op.drop_column('phone')
        batch_op.drop_column('role')
        batch_op.drop_column('email_verified_at')

    with op.batch_alter_table('stickers', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('fk_stickers_set_id_sticker_sets', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stickers_set_id'))
        batch_op.drop_column('last_scan_alert_at')
        batch_op.drop_column('scan_alerts')
        batch_op.drop_column('category')
        batch_op.drop_column('set_id')

    with op.batch_alter_table('sticker_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sticker_sets_owner_id'))

    op.drop_table('sticker_sets')
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_login_sessions_token_hash'))

    op.drop_table('login_sessions')
    with op.batch_alter_table('auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_auth_tokens_token_hash'))

    op.drop_table('auth_tokens')
