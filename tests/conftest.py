"""Shared fixtures: one clean database per test, on SQLite and again on PostgreSQL
when it answers; an app with CSRF on; factories; a real SMTP server (aiosmtpd).

The schema is built once per test process: SQLite tests get a copy of a template file,
PostgreSQL tests share one schema per process that is emptied after each test.
"""

from __future__ import annotations

import os
import shutil

import pytest
import sqlalchemy as sa
from helpers import BROWSER_UA, app_with, running_smtp_inbox
from sqlmodel import Session, SQLModel
from werkzeug.routing import Rule

import stickerreg.models  # noqa: F401  (registers the tables)
from stickerreg import passwords
from stickerreg.db import make_engine
from stickerreg.models import Role, Sticker, StickerStatus, User
from stickerreg.services import accounts, stickers


def _reuse_url_builders() -> None:
    """Every test makes its own app, and Werkzeug turns each of its ~60 routes into two URL
    builder functions by generating and compiling Python code: two thirds of create_app,
    the same code every time. Compiled builders are plain functions of the rule (its text,
    parts and defaults; the rule comes in as an argument), so a test process keeps them."""
    compile_builder = Rule._compile_builder
    builders: dict = {}

    def reused(self, append_unknown=True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = reused


_reuse_url_builders()

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_postgres_problem: list[str] = []


def postgres_unavailable() -> str | None:
    """Why PostgreSQL can't be used here, or None when it answers (asked once per run)."""
    if not _postgres_problem:
        try:
            engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(sa.text("select 1"))
            engine.dispose()
            _postgres_problem.append("")
        except Exception as error:  # any failure means: skip, and say why
            _postgres_problem.append(f"PostgreSQL at {POSTGRES_URL} is not reachable: {type(error).__name__}")
    return _postgres_problem[0] or None


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_kind(request) -> str:
    """Every database-touching test runs once per kind."""
    if request.param == "postgresql" and (reason := postgres_unavailable()):
        pytest.skip(reason)
    return request.param


@pytest.fixture(scope="session")
def postgres_schema_url(database_kind, worker_id):
    """A schema of its own per xdist worker, so parallel workers never meet."""
    if database_kind != "postgresql":
        yield None
        return
    # Process id, not just the worker name: two test runs on one machine must not meet.
    schema = f"test_{worker_id}_{os.getpid()}"
    _run_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = sa.create_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    yield url
    _run_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def postgres_cleaner(postgres_schema_url):
    """Empties every table of the process's schema (children first) and restarts the ids,
    in one short transaction on a connection kept for the whole run: much cheaper than
    TRUNCATE, which rewrites every table's files even when it is empty."""
    if postgres_schema_url is None:
        yield None
        return
    engine = sa.create_engine(postgres_schema_url, poolclass=sa.pool.StaticPool)
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.connect() as connection:
        sequences = connection.execute(sa.text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")).scalars().all()
    restart = "; ".join(f'ALTER SEQUENCE "{name}" RESTART' for name in sequences)

    def clean() -> None:
        with engine.begin() as connection:
            for table in tables:
                connection.execute(table.delete())
            connection.exec_driver_sql(restart)

    yield clean
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """The schema in an SQLite file, built once per test process; tests get copies."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return path


def _run_sql(*statements: str) -> None:
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


@pytest.fixture
def database_url(request, database_kind, tmp_path):
    """A clean database for this test."""
    if database_kind == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    clean = request.getfixturevalue("postgres_cleaner")
    yield request.getfixturevalue("postgres_schema_url")
    clean()


@pytest.fixture
def app(database_url, tmp_path):
    with app_with(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Hash as the test app does, also where a test uses services without an app."""
    passwords.configure(passwords.TESTING)


@pytest.fixture
def engine(database_url):
    """An engine on this test's database, made the way the app makes its own."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A database session for arranging and checking data; service tests need no app."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def user_factory(session):
    counter = iter(range(1, 10_000))

    def make(*, email: str | None = None, locale: str = "sv", password: str | None = None,
             role: Role = Role.CUSTOMER) -> User:
        user = accounts.create_user(
            session, email=email or f"owner{next(counter)}@example.se", password=password, locale=locale, role=role
        )
        session.commit()
        return user

    return make


@pytest.fixture
def sticker_factory(session, user_factory):
    def make(
        *,
        activated: bool = True,
        owner: User | None = None,
        label: str = "Nycklar",
        lost_mode: bool = False,
        reward_text: str | None = None,
        public_note: str | None = None,
        status: StickerStatus | None = None,
    ) -> Sticker:
        [sticker] = stickers.mint(session, count=1)
        if activated:
            stickers.activate_for(session, sticker, owner or user_factory(), label=label)
        sticker.lost_mode, sticker.reward_text, sticker.public_note = lost_mode, reward_text, public_note
        if status is not None:
            sticker.status = status.value
        session.add(sticker)
        session.commit()
        return sticker

    return make


@pytest.fixture
def browser_client(client):
    """A test client that presents itself as a phone's browser."""
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    return client


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free local port, for as long as the test runs."""
    with running_smtp_inbox() as inbox:
        yield inbox
