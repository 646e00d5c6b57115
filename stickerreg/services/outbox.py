"""The transactional outbox: rows written with their cause, sent later by a worker.

The worker is the one place in services that commits: each row is its own transaction,
so one bad email never holds up or rolls back the others.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select, update

from stickerreg.db import session_scope
from stickerreg.models import OutboxKind, OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)

# Builds the email for a row (None when there is nothing left to send).
Composer = Callable[[Session, OutboxMessage], EmailMessage | None]
# Delivers one email; raises on failure.
Transport = Callable[[EmailMessage], None]

BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class RunStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0


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


def due_ids(session: Session, *, now: datetime, limit: int = 50) -> list[int]:
    """Ids of pending rows whose time has come, oldest first."""
    statement = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(session.exec(statement))


def run_once(
    engine: Engine,
    *,
    compose: Composer,
    transport: Transport,
    max_attempts: int,
    now: Callable[[], datetime] = utcnow,
) -> RunStats:
    """Try every due row once; returns what happened."""
    stats = RunStats()
    with session_scope(engine) as session:
        ids = due_ids(session, now=now())
    for row_id in ids:
        with session_scope(engine) as session:
            _deliver(session, row_id, compose, transport, max_attempts, now(), stats)
    return stats


def _deliver(session, row_id, compose, transport, max_attempts, now, stats) -> None:
    # Lock the row so two workers (PostgreSQL) never send the same email twice.
    row = session.exec(
        select(OutboxMessage).where(OutboxMessage.id == row_id).with_for_update(skip_locked=True)
    ).first()
    if row is None or row.status != OutboxStatus.PENDING:
        return
    try:
        email = compose(session, row)
        if email is None:
            _finish(row, OutboxStatus.CANCELLED, now)
            stats.cancelled += 1
        else:
            transport(email)
            _finish(row, OutboxStatus.SENT, now)
            stats.sent += 1
    except Exception as error:  # any failure of compose or transport is retried
        session.rollback()
        row = session.get(OutboxMessage, row_id)
        _record_failure(row, error, max_attempts, now, stats)
    session.add(row)
    session.commit()


def _finish(row: OutboxMessage, status: OutboxStatus, now: datetime) -> None:
    row.status = status.value
    row.sent_at = now if status == OutboxStatus.SENT else None
    row.last_error = None


def _record_failure(row: OutboxMessage, error: Exception, max_attempts: int, now: datetime, stats: RunStats) -> None:
    row.attempts += 1
    # Class name and message only: never the email itself, which holds personal data.
    row.last_error = f"{type(error).__name__}: {error}"[:500]
    if row.attempts >= max_attempts:
        row.status = OutboxStatus.DEAD.value
        stats.dead += 1
        log.error("outbox row %s dead after %s attempts: %s", row.id, row.attempts, type(error).__name__)
    else:
        row.next_attempt_at = now + backoff(row.attempts)
        stats.failed += 1
        log.warning("outbox row %s failed (attempt %s): %s", row.id, row.attempts, type(error).__name__)


def run_forever(
    engine: Engine,
    *,
    compose: Composer,
    transport: Transport,
    max_attempts: int,
    stop: threading.Event,
    poll_seconds: float = 2.0,
) -> None:
    """Drain the outbox until `stop` is set; survives database hiccups."""
    while not stop.is_set():
        try:
            run_once(engine, compose=compose, transport=transport, max_attempts=max_attempts)
        except Exception:
            log.exception("outbox worker pass failed; retrying")
        stop.wait(poll_seconds)


def requeue_dead(session: Session, *, now: datetime | None = None) -> int:
    """Give every dead row a fresh start (after the cause was fixed: a mail server back, a
    bug deployed away): pending now, attempts from zero, same Message-ID. Returns how many."""
    requeued = session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now or utcnow(), last_error=None)
    )
    return requeued.rowcount


def counts(session: Session) -> dict[str, int]:
    """Rows per status, for the CLI and monitoring."""
    found = dict(
        session.exec(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return {status.value: found.get(status.value, 0) for status in OutboxStatus}
