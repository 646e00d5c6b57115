"""The outbox worker: delivery, retries with backoff, dead letters, stable Message-IDs."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from sqlmodel import select

from stickerreg.models import OutboxKind, OutboxMessage, OutboxStatus, utcnow
from stickerreg.services import outbox


def compose_simple(session, row):
    email = EmailMessage()
    email["To"] = "owner@example.se"
    email["From"] = "no-reply@stickerreg.se"
    email["Subject"] = f"row {row.id}"
    email["Message-ID"] = row.email_message_id
    email.set_content("hello")
    return email


class FlakyTransport:
    """Fails the first `failures` sends, then accepts; remembers what it accepted."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.attempted: list[str] = []
        self.sent: list[EmailMessage] = []

    def __call__(self, email: EmailMessage) -> None:
        self.attempted.append(email["Message-ID"])
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("smtp down")
        self.sent.append(email)


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def queue(session, count=1):
    # The worker doesn't care what kind a row is: the composer does (here: compose_simple).
    rows = [outbox.enqueue(session, kind=OutboxKind.SCAN_ALERT, payload={"n": n}) for n in range(count)]
    session.commit()
    return rows


def run(engine, transport, clock, compose=compose_simple, max_attempts=3):
    return outbox.run_once(engine, compose=compose, transport=transport, max_attempts=max_attempts, now=clock)


def test_due_rows_are_sent_once(engine, session):
    queue(session, 3)
    transport, clock = FlakyTransport(), Clock()
    assert run(engine, transport, clock).sent == 3
    assert run(engine, transport, clock).sent == 0
    assert len(transport.sent) == 3
    assert outbox.counts(session)["sent"] == 3


def test_a_failure_is_retried_after_backoff_with_the_same_message_id(engine, session):
    [row] = queue(session)
    transport, clock = FlakyTransport(failures=1), Clock()
    stats = run(engine, transport, clock)
    assert (stats.sent, stats.failed) == (0, 1)
    session.refresh(row)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == clock.now + outbox.backoff(1)
    assert "ConnectionRefusedError" in row.last_error

    assert run(engine, transport, clock).sent == 0  # not due yet
    clock.advance(outbox.backoff(1))
    assert run(engine, transport, clock).sent == 1
    assert transport.attempted == [row.email_message_id, row.email_message_id]


def test_repeated_failure_ends_in_the_dead_letter_state(engine, session):
    [row] = queue(session)
    transport, clock = FlakyTransport(failures=100), Clock()
    for _ in range(3):
        run(engine, transport, clock)
        clock.advance(outbox.MAX_BACKOFF)
    session.refresh(row)
    assert row.status == OutboxStatus.DEAD and row.attempts == 3
    clock.advance(timedelta(days=30))
    assert run(engine, transport, clock).sent == 0  # dead rows stay dead


def test_backoff_grows_and_is_capped():
    waits = [outbox.backoff(n) for n in range(1, 20)]
    assert waits[0] == timedelta(seconds=30) and waits[1] == timedelta(seconds=60)
    assert waits == sorted(waits) and max(waits) == outbox.MAX_BACKOFF


def test_one_bad_row_does_not_hold_up_the_others(engine, session):
    rows = queue(session, 3)

    def compose(session, row):
        if row.id == rows[1].id:
            raise KeyError("template missing")
        return compose_simple(session, row)

    transport, clock = FlakyTransport(), Clock()
    stats = run(engine, transport, clock, compose=compose)
    assert (stats.sent, stats.failed) == (2, 1)


def test_nothing_to_send_cancels_the_row(engine, session):
    [row] = queue(session)
    stats = run(engine, FlakyTransport(), Clock(), compose=lambda s, r: None)
    assert stats.cancelled == 1
    session.refresh(row)
    assert row.status == OutboxStatus.CANCELLED


def test_compose_changes_are_rolled_back_when_sending_fails(engine, session):
    [row] = queue(session)

    def compose(db, outbox_row):
        db.add(OutboxMessage(kind="side-effect", payload={}, email_message_id="<side@x>"))
        return compose_simple(db, outbox_row)

    run(engine, FlakyTransport(failures=1), Clock(), compose=compose)
    kinds = session.exec(select(OutboxMessage.kind)).all()
    assert kinds == [OutboxKind.SCAN_ALERT]


def test_message_ids_are_unique_and_well_formed(session):
    rows = queue(session, 20)
    ids = {r.email_message_id for r in rows}
    assert len(ids) == 20
    assert all(i.startswith("<") and i.endswith("@stickerreg.se>") for i in ids)
