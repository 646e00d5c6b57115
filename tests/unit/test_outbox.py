"""The outbox worker: delivery, retries with backoff, dead letters, stable Message-IDs; claims
and leases that keep two workers from sending the same email; one SMTP connection per pass."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from helpers import Clock, SmtpInbox, free_port
from sqlalchemy import event
from sqlmodel import Session, select

from stickerreg.db import make_engine
from stickerreg.mail import SmtpTransport
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


def test_what_composing_wrote_is_saved_before_the_email_goes(engine, session):
    """A link's token is written while composing: it must exist when the email can be read."""
    [row] = queue(session)
    seen_at_send = []

    def compose(db, outbox_row):
        db.add(OutboxMessage(kind="side-effect", payload={}, email_message_id="<side@x>"))
        return compose_simple(db, outbox_row)

    def transport(email):
        with Session(engine) as reader:
            seen_at_send.extend(reader.exec(select(OutboxMessage.kind)).all())

    run(engine, transport, Clock(), compose=compose)
    assert sorted(seen_at_send) == ["scan_alert", "side-effect"]


def test_what_a_failed_compose_wrote_is_rolled_back_and_the_others_still_go(engine, session):
    rows = queue(session, 3)

    def compose(db, outbox_row):
        db.add(OutboxMessage(kind="side-effect", payload={}, email_message_id=f"<side-{outbox_row.id}@x>"))
        if outbox_row.id == rows[1].id:
            raise KeyError("template missing")
        return compose_simple(db, outbox_row)

    transport = FlakyTransport()
    stats = run(engine, transport, Clock(), compose=compose)
    assert (stats.sent, stats.failed) == (2, 1)
    assert [email["Message-ID"] for email in transport.sent] == [rows[0].email_message_id, rows[2].email_message_id]
    sides = session.exec(select(OutboxMessage.email_message_id).where(OutboxMessage.kind == "side-effect")).all()
    assert sorted(sides) == [f"<side-{rows[0].id}@x>", f"<side-{rows[2].id}@x>"]


def test_message_ids_are_unique_and_well_formed(session):
    rows = queue(session, 20)
    ids = {r.email_message_id for r in rows}
    assert len(ids) == 20
    assert all(i.startswith("<") and i.endswith("@stickerreg.se>") for i in ids)


# --- claims and leases: two workers never send the same row ------------------------------


class CountingTransport:
    """Counts deliveries by Message-ID, from any number of threads (a stand-in SMTP sink)."""

    def __init__(self, before_send=None):
        self.lock = threading.Lock()
        self.delivered = Counter()
        self.before_send = before_send

    def __call__(self, email: EmailMessage) -> None:
        if self.before_send:
            self.before_send(email)
        with self.lock:
            self.delivered[email["Message-ID"]] += 1


def test_a_claimed_row_is_no_other_workers_until_its_lease_runs_out(engine, session):
    rows = queue(session, 3)
    clock = Clock()
    assert outbox.claim(session, worker="a", now=clock(), lease=timedelta(minutes=2)) == [r.id for r in rows]
    session.commit()
    clock.advance(timedelta(minutes=1))
    assert outbox.claim(session, worker="b", now=clock()) == []  # still a's
    clock.advance(timedelta(minutes=1, seconds=1))
    assert outbox.claim(session, worker="b", now=clock()) == [r.id for r in rows]  # a's lease ran out
    session.commit()
    claimed_by = session.exec(select(OutboxMessage.claimed_by)).all()
    assert claimed_by == ["b", "b", "b"]


def test_rows_another_worker_claims_between_our_pick_and_our_update_stay_theirs(engine, database_url, session):
    """The race the conditional UPDATE settles: on SQLite both workers pick the same rows and
    the second finds them taken (it then looks past them); PostgreSQL's SKIP LOCKED has the
    other worker pick different rows to begin with."""
    queue(session, 6)
    other = make_engine(database_url)
    theirs: list[int] = []

    def the_other_worker_claims_first(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("UPDATE OUTBOX") and not theirs:
            with Session(other) as meanwhile:
                theirs.extend(outbox.claim(meanwhile, worker="a", now=utcnow(), limit=3))
                meanwhile.commit()

    event.listen(engine, "before_cursor_execute", the_other_worker_claims_first)
    try:
        with Session(engine) as ours:
            mine = outbox.claim(ours, worker="b", now=utcnow(), limit=3)
            ours.commit()
    finally:
        event.remove(engine, "before_cursor_execute", the_other_worker_claims_first)
        other.dispose()
    assert len(theirs) == len(mine) == 3 and not set(theirs) & set(mine)
    owners = dict(session.exec(select(OutboxMessage.id, OutboxMessage.claimed_by)).all())
    assert {owners[row_id] for row_id in theirs} == {"a"} and {owners[row_id] for row_id in mine} == {"b"}


def test_a_worker_killed_mid_send_leaves_the_row_to_another_after_its_lease(engine, session):
    [row] = queue(session)
    clock = Clock()
    # The killed worker: it claimed the row and was gone before it could mark it sent.
    outbox.claim(session, worker="killed", now=clock(), lease=outbox.LEASE)
    session.commit()
    transport = CountingTransport()
    survivor = dict(compose=compose_simple, transport=transport, max_attempts=3, now=clock, worker="survivor")
    assert outbox.run_once(engine, **survivor).claimed == 0  # not before the lease ends
    clock.advance(outbox.LEASE + timedelta(seconds=1))
    assert outbox.run_once(engine, **survivor).sent == 1
    assert transport.delivered == {row.email_message_id: 1}  # the same Message-ID as the first try
    session.refresh(row)
    assert (row.status, row.claimed_by, row.lease_until, row.attempts) == (OutboxStatus.SENT, None, None, 0)


class Killed(BaseException):
    """A worker process killed (kill -9) while the mail server was taking an email."""


def test_a_worker_killed_mid_chunk_sends_again_only_the_email_it_was_sending(engine, session):
    rows = queue(session, outbox.CHUNK)
    clock = Clock()
    server = CountingTransport()

    def dies_during_the_fourth_send(email):
        server(email)
        if sum(server.delivered.values()) == 4:  # the server took it; the worker never heard back
            raise Killed

    with pytest.raises(Killed):
        outbox.run_once(engine, compose=compose_simple, transport=dies_during_the_fourth_send, max_attempts=3,
                        now=clock, worker="killed")
    session.expire_all()
    assert [row.status for row in session.exec(select(OutboxMessage))].count(OutboxStatus.SENT) == 3
    clock.advance(outbox.LEASE + timedelta(seconds=1))
    survivor = outbox.run_once(engine, compose=compose_simple, transport=server, max_attempts=3, now=clock,
                               worker="survivor")
    assert survivor.sent == outbox.CHUNK - 3
    assert set(server.delivered) == {row.email_message_id for row in rows}
    assert sorted(server.delivered.values()) == [1] * (outbox.CHUNK - 1) + [2]  # the one in flight, only


def test_a_worker_sends_nothing_in_the_second_half_of_its_lease_and_hands_the_rest_back(engine, session):
    rows = queue(session, 3)
    clock = Clock()

    def slow_mail_server(email):  # the first send takes half the lease
        clock.advance(outbox.LEASE / 2)

    transport = CountingTransport(before_send=slow_mail_server)
    stats = outbox.run_once(engine, compose=compose_simple, transport=transport, max_attempts=3, now=clock, worker="a")
    assert (stats.claimed, stats.sent, stats.released) == (3, 1, 2)
    session.expire_all()
    assert [(r.status, r.claimed_by) for r in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))] == [
        ("sent", None), ("pending", None), ("pending", None)]
    assert outbox.claim(session, worker="b", now=clock()) == [rows[1].id, rows[2].id]  # free at once


def test_a_full_batch_says_more_may_be_due_and_drain_sends_everything(engine, session):
    queue(session, 7)
    transport, clock = CountingTransport(), Clock()
    first = outbox.run_once(engine, compose=compose_simple, transport=transport, max_attempts=3, now=clock, batch=3)
    assert (first.claimed, first.sent) == (3, 3)
    rest = outbox.drain(engine, compose=compose_simple, transport=transport, max_attempts=3, now=clock, batch=3)
    assert (rest.claimed, rest.sent) == (4, 4)
    assert len(transport.delivered) == 7 and set(transport.delivered.values()) == {1}


def test_two_workers_drain_the_outbox_without_sending_any_email_twice(database_url, session):
    """Two workers, each with its own engine (as two processes have), claim small batches
    from one outbox; both are made to hold a claim at the same moment (SQLite has no SKIP
    LOCKED: the conditional UPDATE alone keeps them apart there)."""
    rows = queue(session, 60)
    both_hold_a_claim = threading.Barrier(2, timeout=60)
    composed_by: dict[str, str] = {}

    def compose(db, row):
        worker = threading.current_thread().name
        if worker not in composed_by.values():
            both_hold_a_claim.wait()
        composed_by[row.email_message_id] = worker
        return compose_simple(db, row)

    transport = CountingTransport()
    engines = [make_engine(database_url) for _ in range(2)]

    def work(engine, name):
        while outbox.run_once(engine, compose=compose, transport=transport, max_attempts=3, worker=name,
                              batch=5).claimed:
            pass

    threads = [threading.Thread(target=work, args=(engine, name), name=name)
               for engine, name in zip(engines, ("worker-a", "worker-b"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert sorted(transport.delivered) == sorted(r.email_message_id for r in rows)
    assert set(transport.delivered.values()) == {1}  # no email sent twice
    assert set(composed_by.values()) == {"worker-a", "worker-b"}  # and both did their share
    assert outbox.counts(session)["sent"] == 60


# --- one SMTP connection per pass ---------------------------------------------------------


class CountingSmtp(SmtpInbox):
    """The test SMTP server, also counting connections (each greets with EHLO)."""

    def __init__(self, port):
        super().__init__(port)
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses


class Server:
    """A running aiosmtpd that can go away and come back on the same port."""

    def __init__(self, inbox: CountingSmtp):
        self.inbox = inbox
        self.start()

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.inbox.port)
        self.controller.start()

    def restart(self) -> None:
        self.controller.stop()
        self.start()


@pytest.fixture
def counting_smtp():
    server = Server(CountingSmtp(free_port()))
    yield server.inbox, server
    server.controller.stop()


def test_a_pass_sends_its_whole_batch_over_one_smtp_connection(engine, session, counting_smtp):
    inbox, _ = counting_smtp
    queue(session, 5)
    stats = outbox.run_once(engine, compose=compose_simple, transport=SmtpTransport(inbox.url), max_attempts=3)
    assert stats.sent == 5 and len(inbox.wait_for(5)) == 5
    assert inbox.connections == 1


def test_a_connection_the_server_dropped_is_replaced_and_the_email_still_goes(engine, session, counting_smtp):
    inbox, server = counting_smtp
    transport = SmtpTransport(inbox.url)
    first, second = (compose_simple(session, row) for row in queue(session, 2))
    with transport:
        transport(first)
        server.restart()  # the server goes away and comes back: the kept connection is dead
        transport(second)
    assert [email["Message-ID"] for email in inbox.wait_for(2)] == [first["Message-ID"], second["Message-ID"]]
    assert inbox.connections == 2


def test_without_a_pass_each_email_has_a_connection_of_its_own(session, counting_smtp):
    inbox, _ = counting_smtp
    transport = SmtpTransport(inbox.url)
    for row in queue(session, 2):
        transport(compose_simple(session, row))
    assert len(inbox.wait_for(2)) == 2 and inbox.connections == 2
