"""Benchmark of the outbox worker against a bare smtplib loop, in the same run, and a count of
emails sent twice when two workers share one outbox.

Run: ``python bench/bench_outbox.py --count 1000`` (``make bench`` does). An aiosmtpd server in
a process of its own counts every delivery by Message-ID and notes when it arrived. Measured:

- **bare**: the same emails, composed beforehand, sent by ``smtplib`` over one connection in a
  plain loop: what the SMTP path costs by itself.
- **one worker**: ``flask --app stickerreg outbox run`` as an operator starts it, in its own
  process with its default settings, on PostgreSQL; started and idle before the rows are
  queued, stopped (Ctrl-C) once none is pending.
- **two workers**: two such processes on PostgreSQL, and again on SQLite (one file).

The emails are scan alerts and password resets for 50 owners (a reset writes its token
while it is composed, as real mail does). A rate is deliveries over the time from the first
to the last delivery at the server. Each of `--rounds` rounds measures all three on
PostgreSQL, and the medians count: a shared machine that gets busier or quieter moves the
three alike. Targets: one worker ≥ 0.5 × bare; two workers on PostgreSQL ≥ 1.6 × one
worker; no email delivered twice, on either database. Exits 1 with
``MISSED: ...`` for each target missed. PostgreSQL is ``--postgres-url`` (default: the tests'
``TEST_POSTGRES_URL`` or postgres@127.0.0.1:5432/test); the run uses a schema of its own and
drops it after. Without PostgreSQL its figures are skipped and said so.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, SQLModel, func, select  # noqa: E402
from targets import verdict  # noqa: E402

import stickerreg.models  # noqa: E402,F401  (registers the tables)
from stickerreg import create_app  # noqa: E402
from stickerreg.emails import composer  # noqa: E402
from stickerreg.models import OutboxKind, OutboxMessage, OutboxStatus, utcnow  # noqa: E402
from stickerreg.services import accounts, outbox, stickers  # noqa: E402

OWNERS = 50
TARGET_ONE_VS_BARE = 0.5
TARGET_TWO_VS_ONE = 1.6
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-outbox-secret-key-not-for-production"
BASE_URL = "https://stickerreg.example"
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# --- the SMTP server, in a process of its own -------------------------------------------


def _serve_smtp(port: int, commands) -> None:
    """aiosmtpd on `port`; answers "report" with what arrived since the last "reset"."""
    from aiosmtpd.controller import Controller

    arrived: list[tuple[float, bytes]] = []

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            found = _MESSAGE_ID.search(envelope.content)
            arrived.append((time.monotonic(), found.group(1) if found else b"?"))
            return "250 Message accepted for delivery"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    commands.send("up")
    while True:
        command = commands.recv()
        if command == "reset":
            arrived.clear()
        elif command == "report":
            commands.send(list(arrived))
        else:
            controller.stop()
            return


@dataclass
class Delivered:
    count: int
    distinct: int
    span: float  # seconds from the first delivery to the last

    @property
    def duplicates(self) -> int:
        return self.count - self.distinct

    @property
    def rate(self) -> float:
        return (self.count - 1) / self.span if self.span > 0 else float("nan")


class Sink:
    """The counting SMTP server."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._commands, theirs = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve_smtp, args=(self.port, theirs), daemon=True)
        self._process.start()
        assert self._commands.recv() == "up"

    def reset(self) -> None:
        self._commands.send("reset")

    def report(self) -> Delivered:
        self._commands.send("report")
        arrived = self._commands.recv()
        times = [at for at, _ in arrived]
        return Delivered(len(arrived), len({mid for _, mid in arrived}), max(times) - min(times) if times else 0.0)

    def close(self) -> None:
        self._commands.send("stop")
        self._process.join(10)


# --- data -------------------------------------------------------------------------------


def fresh_schema(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    return engine


def seed_owners(engine: sa.Engine) -> list[tuple[int, int]]:
    """OWNERS owners, each with a sticker in lost mode: (user id, sticker id) pairs."""
    pairs = []
    with Session(engine, expire_on_commit=False) as session:
        for n in range(OWNERS):
            owner = accounts.create_user(session, email=f"owner{n}@example.se", password=None)
            [sticker] = stickers.mint(session, count=1)
            stickers.activate_for(session, sticker, owner, label=f"Nycklar {n}")
            sticker.lost_mode = True
            session.add(sticker)
            pairs.append((owner.id, sticker.id))
        session.commit()
    return pairs


def queue(engine: sa.Engine, pairs: list[tuple[int, int]], count: int) -> None:
    """`count` due emails in one transaction: scan alerts and password resets, alternately."""
    scanned_at = utcnow().isoformat()
    with Session(engine) as session:
        for n in range(count):
            user_id, sticker_id = pairs[n % len(pairs)]
            if n % 2:
                outbox.enqueue(session, kind=OutboxKind.RESET_PASSWORD, payload={"user_id": user_id})
            else:
                outbox.enqueue(session, kind=OutboxKind.SCAN_ALERT,
                               payload={"sticker_id": sticker_id, "scanned_at": scanned_at})
        session.commit()


def pending(engine: sa.Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).where(OutboxMessage.status == OutboxStatus.PENDING)).one()


def clear_outbox(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.exec(sa.delete(OutboxMessage))
        session.commit()


# --- what is measured -------------------------------------------------------------------


def bare_loop(url: str, engine: sa.Engine, pairs, sink: Sink, count: int, folder: Path) -> Delivered:
    """Compose the emails first (not timed), then send them in a plain loop on one connection."""
    clear_outbox(engine)
    queue(engine, pairs, count)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "PUBLIC_BASE_URL": BASE_URL, "SMTP_URL": sink.url,
                      "MAIL_DIR": str(folder / "mail")})
    compose = composer(app)
    with app.app_context(), Session(app.extensions["db_engine"], expire_on_commit=False) as session:
        emails = [compose(session, row) for row in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
        session.rollback()
    app.extensions["db_engine"].dispose()
    sink.reset()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for email in emails:
            smtp.send_message(email)
    return sink.report()


def workers(url: str, engine: sa.Engine, pairs, sink: Sink, count: int, processes: int, folder: Path) -> Delivered:
    """`processes` outbox workers as operators start them; the rows are queued once all are idle."""
    clear_outbox(engine)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLASK_")}
    environment.update(DATABASE_URL=url, SMTP_URL=sink.url, SECRET_KEY=SECRET, PUBLIC_BASE_URL=BASE_URL,
                       STICKERREG_INSTANCE=str(folder), MAIL_DIR=str(folder / "mail"), PYTHONUNBUFFERED="1",
                       PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "flask", "--app", "stickerreg", "outbox", "run"]
    logs = [(folder / f"worker-{n}.log").open("w") for n in range(processes)]
    started = [subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=log, text=True)
               for log in logs]
    try:
        for worker in started:
            line = worker.stdout.readline()
            if "running" not in line:
                raise RuntimeError(f"the worker did not start: {line}; see {folder}/worker-*.log")
        sink.reset()
        queue(engine, pairs, count)
        deadline = time.monotonic() + 60 + count / 5
        while pending(engine) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pending(engine):
            raise RuntimeError(f"{pending(engine)} emails still pending at the deadline")
    finally:
        for worker in started:
            worker.send_signal(signal.SIGINT)
        for worker in started:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        for log in logs:
            log.close()
    return sink.report()


# --- the run ----------------------------------------------------------------------------


def postgres_schema(base_url: str) -> tuple[str | None, str]:
    """A schema of its own on PostgreSQL: (its URL, or None when PostgreSQL does not answer; why)."""
    schema = f"bench_outbox_{os.getpid()}"
    try:
        admin = sa.create_engine(base_url, connect_args={"connect_timeout": 3})
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    except Exception as error:  # any failure: skip PostgreSQL and say why
        return None, f"PostgreSQL at {base_url} does not answer ({type(error).__name__})"
    return f"{base_url}{'&' if '?' in base_url else '?'}options=-csearch_path%3D{schema}", schema


def drop_schema(base_url: str, schema: str) -> None:
    admin = sa.create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def line(name: str, delivered: Delivered, note: str = "") -> None:
    print(f"  {name:<28} {delivered.rate:8.1f} emails/s  {delivered.count:>6} delivered, "
          f"{delivered.duplicates} twice  {note}".rstrip())


def measure_postgres(url: str, sink: Sink, args, folder: Path) -> tuple[float, float, float, int]:
    """Median rates of the bare loop, one worker and two workers over the rounds (each round
    measures all three, so a machine that gets busier or quieter moves all three alike);
    and how many emails went twice."""
    engine = fresh_schema(url)
    pairs = seed_owners(engine)
    rates: dict[str, list[float]] = {"bare": [], "one": [], "two": []}
    twice = 0
    for number in range(1, args.rounds + 1):
        print(f"  round {number}")
        bare = bare_loop(url, engine, pairs, sink, args.count, folder)
        line("bare smtplib loop", bare, "one connection, composed beforehand")
        one = workers(url, engine, pairs, sink, args.count, 1, folder)
        line("one worker", one, "flask outbox run")
        two = workers(url, engine, pairs, sink, args.count, 2, folder)
        line("two workers", two, "two processes")
        for name, delivered in (("bare", bare), ("one", one), ("two", two)):
            rates[name].append(delivered.rate)
        twice += one.duplicates + two.duplicates
    engine.dispose()
    return (*(statistics.median(rates[name]) for name in ("bare", "one", "two")), twice)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="emails per measurement (default 1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds on PostgreSQL; medians count (default 3)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="PostgreSQL to use (a schema of its own)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (workers, schema) when stopped
    missed: list[str] = []
    sink = Sink()
    print(f"Outbox, {args.count:,} emails per measurement (scan alerts and password resets), "
          f"aiosmtpd in a process of its own")
    try:
        with tempfile.TemporaryDirectory() as temporary:
            folder = Path(temporary)
            postgres, schema = postgres_schema(args.postgres_url)
            if postgres is None:
                print(f"SKIPPED the PostgreSQL figures: {schema}")
            else:
                print("PostgreSQL")
                try:
                    bare, one, two, twice = measure_postgres(postgres, sink, args, folder)
                finally:
                    drop_schema(args.postgres_url, schema)
                print(f"  medians: bare {bare:.1f}, one worker {one:.1f}, two workers {two:.1f} emails/s")
                print(f"  one worker / bare          {one / bare:8.2f}   (target ≥ {TARGET_ONE_VS_BARE})")
                print(f"  two workers / one worker   {two / one:8.2f}   (target ≥ {TARGET_TWO_VS_ONE})")
                print(f"  sent twice                 {twice:8d}   (target 0)")
                if one / bare < TARGET_ONE_VS_BARE:
                    missed.append(f"one worker is {one / bare:.2f} × the bare loop (< {TARGET_ONE_VS_BARE})")
                if two / one < TARGET_TWO_VS_ONE:
                    missed.append(f"two workers are {two / one:.2f} × one (< {TARGET_TWO_VS_ONE})")
                if twice:
                    missed.append(f"{twice} emails sent twice on PostgreSQL")
            print("SQLite (one file)")
            sqlite = f"sqlite:///{folder / 'bench.sqlite3'}"
            engine = fresh_schema(sqlite)
            pairs = seed_owners(engine)
            two_sqlite = workers(sqlite, engine, pairs, sink, args.count, 2, folder)
            engine.dispose()
            line("two workers", two_sqlite, "two processes")
            if two_sqlite.duplicates:
                missed.append(f"{two_sqlite.duplicates} emails sent twice on SQLite")
    finally:
        sink.close()
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
