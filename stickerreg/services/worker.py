"""The background worker: a loop per duty (the outbox, export jobs, periodic jobs), each in a
thread of its own so a long export never holds up an email, and a heartbeat row so /readyz
can tell whether a worker is alive.

Flask-free: ``stickerreg.worker`` builds the duties from an app, tests hand in their own.
Whatever a duty takes, it takes as a lease in the database (a conditional UPDATE), so any
number of workers (a `flask worker` process beside the thread in `flask serve`) share the
work without doing anything twice, and the work of one that died is taken up after its lease.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, func, select, update

from stickerreg.db import session_scope
from stickerreg.models import PeriodicJob, WorkerHeartbeat, utcnow

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = timedelta(seconds=15)
STALE_AFTER = timedelta(seconds=60)  # four missed heartbeats: the worker is gone or stuck
FORGET_AFTER = timedelta(days=7)  # heartbeats of workers that died without saying goodbye
WORKER_ID_LENGTH = 64


def new_worker_id() -> str:
    """A name for one worker: host, process and a random part (a process may run two)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"[:WORKER_ID_LENGTH]


# --- duties and the loop ----------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """One kind of background work. `run` does one pass and returns True when more may be
    waiting (it took a full batch), and the loop goes on at once; otherwise it waits `idle`
    seconds. `context` is held around the thread's whole life (an app context)."""

    name: str
    run: Callable[[], bool]
    idle: float = 1.0
    context: Callable[[], AbstractContextManager] = nullcontext


@dataclass
class Worker:
    """Runs its duties until stopped, beating its heartbeat meanwhile."""

    engine: Engine
    duties: Sequence[Duty]
    worker_id: str = field(default_factory=new_worker_id)
    now: Callable[[], datetime] = utcnow
    beat_every: timedelta = HEARTBEAT_EVERY

    def run(self, stop: threading.Event) -> None:
        """Every duty in a thread of its own; this thread beats. Returns once `stop` is set
        (or on Ctrl-C), after the duties finished their pass; then says goodbye."""
        threads = [threading.Thread(target=self._loop, args=(duty, stop), name=f"worker-{duty.name}", daemon=True)
                   for duty in self.duties]
        for thread in threads:
            thread.start()
        try:
            while not stop.is_set():
                self._beat()
                stop.wait(self.beat_every.total_seconds())
        finally:
            stop.set()
            for thread in threads:
                # A long export is left to its lease: another worker takes it up from the start.
                thread.join(timeout=10)
            self._forget()

    def _loop(self, duty: Duty, stop: threading.Event) -> None:
        with duty.context():
            while not stop.is_set():
                try:
                    more = duty.run()
                except Exception:  # the database or the mail server away: try again later
                    log.exception("worker %s: a pass of %s failed; trying again", self.worker_id, duty.name)
                    more = False
                if not more:
                    stop.wait(duty.idle)

    def _beat(self) -> None:
        try:
            with session_scope(self.engine) as session:
                beat(session, self.worker_id, duties=" ".join(duty.name for duty in self.duties), now=self.now())
                session.commit()
        except Exception:  # a missed beat shows as stale; it must not stop the work
            log.exception("worker %s: heartbeat failed", self.worker_id)

    def _forget(self) -> None:
        try:
            with session_scope(self.engine) as session:
                forget(session, self.worker_id)
                session.commit()
        except Exception:
            log.exception("worker %s: could not remove its heartbeat", self.worker_id)


# --- heartbeats ---------------------------------------------------------------------------


def beat(session: Session, worker_id: str, *, duties: str, now: datetime) -> None:
    """Note that the worker is alive now; forget workers not seen for FORGET_AFTER."""
    duties = duties[:100]
    touched = session.exec(update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id)
                           .values(last_seen=now, duties=duties))
    if touched.rowcount == 0:
        session.add(WorkerHeartbeat(worker_id=worker_id, duties=duties, started_at=now, last_seen=now))
    session.exec(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < now - FORGET_AFTER))


def forget(session: Session, worker_id: str) -> None:
    """A worker that stops cleanly removes its heartbeat: gone on purpose is not stale."""
    session.exec(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))


@dataclass(frozen=True)
class Freshness:
    """Whether a worker is alive: "ok" (one beat within STALE_AFTER), "stale" (workers were
    here but none beat lately) or "none" (no worker has run against this database)."""

    state: str
    last_seen: datetime | None
    fresh: int  # how many workers beat within STALE_AFTER


def freshness(session: Session, *, now: datetime, stale_after: timedelta = STALE_AFTER) -> Freshness:
    """How fresh the newest worker heartbeat is."""
    newest, fresh = session.exec(select(
        func.max(WorkerHeartbeat.last_seen),
        func.count().filter(WorkerHeartbeat.last_seen >= now - stale_after),
    )).one()
    if newest is None:
        return Freshness("none", None, 0)
    return Freshness("ok" if fresh else "stale", newest, fresh)


# --- periodic jobs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Periodic:
    """A job run every `every` by whichever worker claims it; a failed run is tried again
    after `retry_after`, and one whose worker died, after its lease."""

    name: str
    every: timedelta
    run: Callable[[], object]
    lease: timedelta = timedelta(hours=1)
    retry_after: timedelta = timedelta(hours=1)


def claim_periodic(session: Session, job: Periodic, *, worker: str, now: datetime) -> bool:
    """Take the job for this run if it is due and nobody holds it; the caller commits."""
    free = or_(PeriodicJob.lease_until.is_(None), PeriodicJob.lease_until < now)
    taken = session.exec(
        update(PeriodicJob).where(PeriodicJob.name == job.name, PeriodicJob.next_run_at <= now, free)
        .values(claimed_by=worker, lease_until=now + job.lease, last_started_at=now)
    )
    return taken.rowcount == 1


def finish_periodic(session: Session, job: Periodic, *, worker: str, started: datetime, now: datetime,
                    error: str | None) -> None:
    """Let go of the job and say when it runs next; the caller commits."""
    session.exec(
        update(PeriodicJob).where(PeriodicJob.name == job.name, PeriodicJob.claimed_by == worker)
        .values(claimed_by=None, lease_until=None, last_finished_at=now, last_error=error,
                next_run_at=started + job.every if error is None else now + job.retry_after)
    )


def run_periodic(engine: Engine, jobs: Sequence[Periodic], *, worker: str,
                 now: Callable[[], datetime] = utcnow) -> list[str]:
    """Run every job that is due and free, each under its own claim; the names of those run."""
    ran = []
    for job in jobs:
        _schedule(engine, job, now())
        started = now()
        with session_scope(engine) as session:
            claimed = claim_periodic(session, job, worker=worker, now=started)
            session.commit()
        if not claimed:
            continue
        error = None
        try:
            job.run()
        except Exception as failure:  # recorded, retried later; the worker goes on
            log.exception("periodic job %s failed", job.name)
            error = f"{type(failure).__name__}: {failure}"[:500]
        with session_scope(engine) as session:
            finish_periodic(session, job, worker=worker, started=started, now=now(), error=error)
            session.commit()
        ran.append(job.name)
    return ran


def _schedule(engine: Engine, job: Periodic, now: datetime) -> None:
    """The job's row, due now, the first time any worker meets it."""
    with session_scope(engine) as session:
        if session.get(PeriodicJob, job.name) is not None:
            return
        session.add(PeriodicJob(name=job.name, next_run_at=now))
        try:
            session.commit()
        except IntegrityError:  # another worker wrote it first: the same row
            session.rollback()
