"""Database engine, sessions for work outside a request, and Alembic helpers.

Flask-free, so services and workers load without a web app; the per-request session
lives in ``stickerreg.web.database``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine, func, select

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, *, pool_size: int | None = None, max_overflow: int | None = None) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout. `pool_size` and
    `max_overflow` (DB_POOL_SIZE, DB_MAX_OVERFLOW) size the connection pool of this process;
    None keeps SQLAlchemy's defaults (5 and 10)."""
    parsed = make_url(url)
    pool = {name: value for name, value in (("pool_size", pool_size), ("max_overflow", max_overflow))
            if value is not None}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **pool)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        pool = {}  # one in-memory database per connection: there is no pool to size
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15}, **pool)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for work outside a request (CLI, worker); the caller commits."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def count_by(session: Session, column, values: type[Enum]) -> dict[str, int]:
    """Rows per value of `column` in one GROUP BY, every one of `values` named (0 for none)."""
    found = dict(session.exec(select(column, func.count()).group_by(column)).all())
    return {value.value: found.get(value.value, 0) for value in values}


def alembic_config(url: str):
    """Alembic configuration pointing at our migrations and the given database. Alembic
    is imported here, not at the top: only migrating needs it, and it is a tenth of a
    second of every command's start-up."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at `url` up to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
