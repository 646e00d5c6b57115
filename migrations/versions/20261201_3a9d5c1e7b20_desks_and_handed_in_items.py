"""desks and handed-in items: one name per concept

kiosk_locations → desks, found_cases → handed_in_items, found_case_photos →
handed_in_photos; location_id → desk_id and case_id → item_id. Tables are renamed in
place (both databases carry foreign keys along), indexes are rebuilt under their new
names, and queued "found_case" emails become "handed_in" ones.

Revision ID: 3a9d5c1e7b20
Revises: 29126175c0f8
Create Date: 2026-12-01 10:21:36.632242
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '3a9d5c1e7b20'
down_revision = '29126175c0f8'
branch_labels = None
depends_on = None

# (table, {old column: new column}) in the order they are renamed.
TABLES = [
    ('kiosk_locations', 'desks', {}),
    ('found_cases', 'handed_in_items', {'location_id': 'desk_id'}),
    ('found_case_photos', 'handed_in_photos', {'case_id': 'item_id'}),
    ('kiosk_devices', 'kiosk_devices', {'location_id': 'desk_id'}),
]
# (table, column, unique) of every index, named ix_<table>_<column> by the models.
INDEXES = {
    'kiosk_locations': [('public_id', True)],
    'found_cases': [('location_id', False), ('public_id', True), ('reference', True), ('status', False),
                    ('sticker_id', False)],
    'kiosk_devices': [('location_id', False), ('public_id', True)],
}


def upgrade() -> None:
    _rename(forward=True)
    _rename_outbox_kind('found_case', 'handed_in', 'case_id', 'item_id')


def downgrade() -> None:
    _rename(forward=False)
    _rename_outbox_kind('handed_in', 'found_case', 'item_id', 'case_id')


def _rename(*, forward: bool) -> None:
    tables = TABLES if forward else [(new, old, {b: a for a, b in cols.items()}) for old, new, cols in TABLES]
    for old, new, columns in tables:
        for column, _unique in _indexes(old, forward):
            op.drop_index(f'ix_{old}_{column}', table_name=old)
        if old != new:
            op.rename_table(old, new)
        for before, after in columns.items():
            op.execute(f'ALTER TABLE {new} RENAME COLUMN {before} TO {after}')
        for column, unique in _indexes(old, forward):
            op.create_index(f'ix_{new}_{columns.get(column, column)}', new, [columns.get(column, column)], unique=unique)
        if op.get_bind().dialect.name == 'postgresql':
            _rename_postgres_names(old, new, columns)


def _indexes(table: str, forward: bool) -> list[tuple[str, bool]]:
    if forward:
        return INDEXES.get(table, [])
    originals = {new: (old, cols) for old, new, cols in TABLES}
    old, cols = originals[table]
    return [(cols.get(column, column), unique) for column, unique in INDEXES.get(old, [])]


def _rename_postgres_names(old: str, new: str, columns: dict) -> None:
    """PostgreSQL keeps constraint and sequence names through a rename: give them the
    names a fresh database would have, so both look the same to an operator."""
    bind = op.get_bind()
    constraints = bind.execute(sa.text(
        "SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(:table)"), {'table': new}).scalars()
    for name in list(constraints):
        fresh = name.replace(f'{old}_', f'{new}_', 1) if name.startswith(f'{old}_') else name
        for before, after in columns.items():
            fresh = fresh.replace(f'_{before}_', f'_{after}_')
        if fresh != name:
            op.execute(f'ALTER TABLE {new} RENAME CONSTRAINT "{name}" TO "{fresh}"')
    has_sequence = bind.execute(sa.text("SELECT to_regclass(:name) IS NOT NULL"), {'name': f'{old}_id_seq'}).scalar()
    if has_sequence and old != new:
        op.execute(f'ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq')


def _rename_outbox_kind(old_kind: str, new_kind: str, old_key: str, new_key: str) -> None:
    """Queued emails keep working: their kind and payload key follow the new names."""
    outbox = sa.table('outbox', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                      sa.column('payload', sa.JSON))
    bind = op.get_bind()
    for row_id, payload in bind.execute(sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.kind == old_kind)):
        payload = dict(payload or {})
        if old_key in payload:
            payload[new_key] = payload.pop(old_key)
        bind.execute(outbox.update().where(outbox.c.id == row_id).values(kind=new_kind, payload=payload))
