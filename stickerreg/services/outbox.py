"""The transactional outbox: rows written with their cause, sent later by workers.

A worker claims a batch of due rows with one conditional UPDATE (on PostgreSQL after picking
them FOR UPDATE SKIP LOCKED, so two workers take different rows instead of queueing behind
each other): they are its alone until `lease_until`. A chunk at a time, it composes them and
commits what composing wrote, then sends them over one connection, recording each sent as
soon as the server took it (the one place in services that commits); one bad email is
recorded on its own and never holds up the others. A worker killed mid-send leaves its claim
to run out; its rows not yet sent, and the one it was sending, are then sent by whoever
claims them next, with the same Message-ID: at least once (the one email in flight when a
worker died may arrive twice, and a receiving server can drop it by its Message-ID), never
by two workers at the same time.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import bindparam, or_
from sqlalchemy import update as sa_update
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select, update

from stickerreg.db import count_by
from stickerreg.models import OutboxKind, OutboxMessage, OutboxStatus, utcnow
from stickerreg.services.worker import new_worker_id

log = logging.getLogger(__name__)

# Builds the email for a row (None when there is nothing left to send). It may have a
# `prepare(session, rows)` attribute, called before each chunk is composed, that loads in bulk
# what composing the rows will read and returns it, to be kept while they are composed.
Composer = Callable[[Session, OutboxMessage], EmailMessage | None]
# Delivers one email; raises on failure. One that is also a context manager (SmtpTransport)
# is entered for each pass, to keep one connection open for the batch.
Transport = Callable[[EmailMessage], None]

BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
BATCH = 50  # rows per claim
# Emails are composed this many at a time (what composing wrote is committed once per chunk);
# each is recorded sent as soon as the server took it, so a worker killed mid-pass sends
# again (after the lease, under the same Message-ID) at most the one email it was sending.
CHUNK = 10
# A claim lasts this long; a worker starts no send in its second half, so a slow mail server
# never has it send a row whose claim ran out (and another worker may hold).
LEASE = timedelta(minutes=2)


@dataclass
class RunStats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    released: int = 0  # claimed, then handed back unsent (the claim was running out)

    def add(self, other: RunStats) -> None:
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def enqueue(session: Session, *, kind: OutboxKind, payload: dict, domain: str = "stickerreg.se",
            flush: bool = True) -> OutboxMessage:
    """Queue an email; its Message-ID is fixed now so retries never look like new mail.
    `flush=False` leaves the INSERT to the caller's next flush or commit (same transaction)."""
    row = OutboxMessage(
        kind=OutboxKind(kind).value,
        payload=payload,
        email_message_id=f"<{secrets.token_hex(16)}@{domain}>",
    )
    session.add(row)
    if flush:
        session.flush()
    return row


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, ... capped at 6 hours."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _claimable(now: datetime):
    return (
        OutboxMessage.status == OutboxStatus.PENDING,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
    )


def claim(session: Session, *, worker: str, now: datetime, lease: timedelta = LEASE, limit: int = BATCH) -> list[int]:
    """Claim up to `limit` due rows for `worker` until now + lease; their ids, oldest first.
    The caller commits. The UPDATE checks again that each row is free: where the database
    can't skip locked rows (SQLite), two workers may pick the same rows, and the second
    UPDATE (writers take turns) finds them taken; it then looks again, past them. Nothing is
    written when nothing is due."""
    return [row.id for row in _claim_rows(session, worker=worker, now=now, lease=lease, limit=limit)]


def _claim_rows(session: Session, *, worker: str, now: datetime, lease: timedelta, limit: int) -> list[OutboxMessage]:
    while True:
        picked = list(session.exec(
            select(OutboxMessage.id).where(*_claimable(now))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no such clause and needs none
        ))
        if not picked:
            return []
        taken = {row.id: row for row in session.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(picked), *_claimable(now))
            .values(claimed_by=worker, lease_until=now + lease).returning(OutboxMessage)
        )}
        if taken:
            return [taken[row_id] for row_id in picked if row_id in taken]


def release(session: Session, ids: list[int], *, worker: str) -> None:
    """Hand claimed rows back unsent, for any worker to take now; the caller commits."""
    session.exec(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker)
                 .values(claimed_by=None, lease_until=None))


def run_once(
    engine: Engine,
    *,
    compose: Composer,
    transport: Transport,
    max_attempts: int,
    now: Callable[[], datetime] = utcnow,
    worker: str | None = None,
    batch: int = BATCH,
    lease: timedelta = LEASE,
) -> RunStats:
    """One pass: claim a batch of due rows, then CHUNK at a time compose them (committing what
    composing wrote), send them over one connection and record them sent; the counts. A
    full batch (`claimed == batch`) means more may be due: call again at once. One database
    connection serves the whole pass, and no send starts in the second half of the lease."""
    worker = worker or new_worker_id()
    claimed_at = now()
    deadline = claimed_at + lease / 2
    stats = RunStats()
    with engine.connect() as connection, Session(bind=connection) as session:
        rows = _claim_rows(session, worker=worker, now=claimed_at, lease=lease, limit=batch)
        session.expunge_all()  # the rows outlive the claim's commit as plain values
        session.commit()
        stats.claimed = len(rows)
        if not rows:
            return stats
        with _connection(transport):
            for start in range(0, len(rows), CHUNK):
                composed = _compose_all(session, rows[start:start + CHUNK], worker, compose, max_attempts, now, stats)
                _send_all(session, composed, transport, worker, max_attempts, now, deadline, stats)
                if now() >= deadline:
                    _release(session, rows[start + CHUNK:], worker, stats)
                    break
    return stats


def _send_all(session: Session, composed: list[tuple[OutboxMessage, EmailMessage]], transport: Transport,
              worker: str, max_attempts: int, now: Callable[[], datetime], deadline: datetime,
              stats: RunStats) -> None:
    """Send the composed emails, recording each as sent (or failed) the moment the server
    answered. Past the deadline, the rest are handed back unsent."""
    for position, (row, email) in enumerate(composed):
        if now() >= deadline:
            _release(session, [left for left, _ in composed[position:]], worker, stats)
            break
        try:
            transport(email)
        except Exception as error:  # recorded, retried after its backoff
            _record_failure(session, row, error, worker=worker, max_attempts=max_attempts, now=now(), stats=stats)
        else:
            session.connection().execute(_MARK_SENT, {"row_id": row.id, "worker": worker, "sent_at": now()})
            stats.sent += 1
        session.commit()


# Recording one email sent, the statement a worker runs most: what _settle writes for a sent
# row, but built once and run as a plain statement (no ORM bookkeeping; the rows are not in
# the session). Building it per email, as _settle does, cost 0.1-0.2 ms more an email.
_outbox = OutboxMessage.__table__
_MARK_SENT = (
    sa_update(_outbox)
    .where(_outbox.c.id == bindparam("row_id"), _outbox.c.claimed_by == bindparam("worker"))
    .values(status=OutboxStatus.SENT.value, sent_at=bindparam("sent_at", type_=_outbox.c.sent_at.type),
            last_error=None, claimed_by=None, lease_until=None)
)


def _release(session: Session, rows: list[OutboxMessage], worker: str, stats: RunStats) -> None:
    if rows:
        release(session, [row.id for row in rows], worker=worker)
        session.commit()
        stats.released += len(rows)


def _compose_all(session: Session, rows: list[OutboxMessage], worker: str, compose: Composer, max_attempts: int,
                 now: Callable[[], datetime], stats: RunStats) -> list[tuple[OutboxMessage, EmailMessage]]:
    """Compose every row in one transaction, and commit what composing wrote (a fresh link's
    token) before any email goes, so no link in a sent email points at nothing. Rows with
    nothing left to send are cancelled in the same commit. A row whose composing fails (a
    bug, a template gone) is recorded as failed, and the others are composed again
    without it."""
    waiting = list(rows)
    prepare = getattr(compose, "prepare", None)
    while True:
        composed, cancelled, failed = [], [], None
        read_ahead = prepare(session, waiting) if prepare is not None and waiting else None  # noqa: F841 (kept alive)
        for row in waiting:
            try:
                email = compose(session, row)
            except Exception as error:  # recorded, retried after its backoff
                failed = (row, error)
                break
            if email is None:
                cancelled.append(row)
            else:
                composed.append((row, email))
        if failed is None:
            break
        session.rollback()
        _record_failure(session, *failed, worker=worker, max_attempts=max_attempts, now=now(), stats=stats)
        session.commit()
        waiting.remove(failed[0])
    if cancelled:
        _settle(session, [row.id for row in cancelled], worker,
                values=dict(status=OutboxStatus.CANCELLED.value, sent_at=None, last_error=None))
    session.commit()
    stats.cancelled += len(cancelled)
    return composed


def drain(engine: Engine, *, batch: int = BATCH, **run_args) -> RunStats:
    """Send everything due now, batch after batch (`flask outbox run --once`); the sums."""
    total = RunStats()
    while True:
        stats = run_once(engine, batch=batch, **run_args)
        total.add(stats)
        if stats.claimed < batch:
            return total


def _connection(transport: Transport) -> AbstractContextManager:
    """A transport that can keep its connection open is entered for the whole pass."""
    return transport if isinstance(transport, AbstractContextManager) else nullcontext()


def _settle(session: Session, ids: list[int], worker: str, *, values: dict) -> None:
    """Write the rows' outcome and let go of them (only while the claim is still this worker's)."""
    session.exec(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker)
                 .values(claimed_by=None, lease_until=None, **values))


def _record_failure(session: Session, row: OutboxMessage, error: Exception, *, worker: str, max_attempts: int,
                    now: datetime, stats: RunStats) -> None:
    """Count the attempt and set the next (or give up: dead); the caller commits."""
    attempts = row.attempts + 1
    # Class name and message only: never the email itself, which holds personal data.
    failure = {"attempts": attempts, "last_error": f"{type(error).__name__}: {error}"[:500]}
    if attempts >= max_attempts:
        _settle(session, [row.id], worker, values=dict(status=OutboxStatus.DEAD.value, **failure))
        stats.dead += 1
        log.error("outbox row %s dead after %s attempts: %s", row.id, attempts, type(error).__name__)
    else:
        _settle(session, [row.id], worker, values=dict(next_attempt_at=now + backoff(attempts), **failure))
        stats.failed += 1
        log.warning("outbox row %s failed (attempt %s): %s", row.id, attempts, type(error).__name__)


def requeue_dead(session: Session, *, now: datetime | None = None) -> int:
    """Give every dead row a fresh start (after the cause was fixed: a mail server back, a
    bug deployed away): pending now, attempts from zero, same Message-ID. Returns how many."""
    requeued = session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now or utcnow(), last_error=None,
                claimed_by=None, lease_until=None)
    )
    return requeued.rowcount


def counts(session: Session) -> dict[str, int]:
    """Rows per status, for the CLI and monitoring."""
    return count_by(session, OutboxMessage.status, OutboxStatus)


@dataclass(frozen=True)
class Backlog:
    """What waits in the outbox (for monitoring): rows still to send, rows given up on, and
    when the oldest row still to send was queued (None when none is)."""

    pending: int
    dead: int
    oldest_pending_at: datetime | None


def backlog(session: Session) -> Backlog:
    """The outbox's backlog in one query on the status index (ix_outbox_due), which never
    touches the sent rows that make up most of the table."""
    pending = OutboxMessage.status == OutboxStatus.PENDING
    waiting, dead, oldest = session.exec(
        select(func.count().filter(pending), func.count().filter(OutboxMessage.status == OutboxStatus.DEAD),
               func.min(OutboxMessage.created_at).filter(pending))
        .where(OutboxMessage.status.in_((OutboxStatus.PENDING.value, OutboxStatus.DEAD.value)))
    ).one()
    return Backlog(pending=waiting, dead=dead, oldest_pending_at=oldest)
