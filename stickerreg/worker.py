"""The worker's duties, built from an app: `flask worker` runs them all in a process of its
own, `flask serve` in a thread beside the web (the one-process demo of `make run`), and
`flask outbox run` only the outbox. Every claim is a lease in the database, so they may all
run at once without sending an email or writing an export twice.

- outbox: the app's email composer and mail transport (SMTP_URL, else .eml files), a batch
  per pass, at once again after a full batch;
- exports: export jobs the print shop queued, written into the app's export folder;
- periodic: jobs that run every so often on whichever worker claims them first; today the
  daily retention run (`flask retention run`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flask import Flask

from stickerreg import mail
from stickerreg.db import session_scope
from stickerreg.emails import composer
from stickerreg.models import utcnow
from stickerreg.services import outbox, retention
from stickerreg.services import worker as background
from stickerreg.services.printshop import exports

DUTIES = ("outbox", "exports", "periodic")
IDLE_SECONDS = {"outbox": 1.0, "exports": 1.0, "periodic": 60.0}


def build(app: Flask, duties: tuple[str, ...] = DUTIES, *, idle: float | None = None,
          worker_id: str | None = None) -> background.Worker:
    """A worker with the named duties; `idle` overrides how long each waits when it found
    nothing to do (`flask outbox run --poll`). The outbox runs in WORKER_THREADS threads,
    each claiming batches of its own (for a mail server slow to answer); exports and
    periodic jobs in one each."""
    worker_id = worker_id or background.new_worker_id()
    made = {"outbox": outbox_duty, "exports": exports_duty, "periodic": periodic_duty}
    built = []
    for name in duties:
        copies = app.config.get("WORKER_THREADS", 1) if name == "outbox" else 1
        for copy in range(1, copies + 1):
            duty = made[name](app, worker_id, idle=IDLE_SECONDS[name] if idle is None else idle)
            built.append(duty if copy == 1 else replace(duty, name=f"{name}-{copy}"))
    return background.Worker(engine=app.extensions["db_engine"], duties=built, worker_id=worker_id)


def outbox_duty(app: Flask, worker_id: str, *, idle: float = IDLE_SECONDS["outbox"]) -> background.Duty:
    """Send a batch of due emails over one connection; more at once after a full batch."""
    run_args = outbox_args(app)

    def send_batch() -> bool:
        return outbox.run_once(app.extensions["db_engine"], worker=worker_id, **run_args).claimed >= outbox.BATCH

    return background.Duty("outbox", send_batch, idle=idle, context=app.app_context)


def outbox_args(app: Flask) -> dict:
    """What every outbox pass of this app needs: its composer, transport, attempts and lease."""
    return dict(
        compose=composer(app),
        transport=mail.transport_from_config(app.config["SMTP_URL"], app.config["MAIL_DIR"]),
        max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"],
        lease=timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"]),
    )


def exports_duty(app: Flask, worker_id: str, *, idle: float = IDLE_SECONDS["exports"]) -> background.Duty:
    """Write the next export job the print shop queued (or one a dead worker left)."""

    def write_next() -> bool:
        out_dir = exports.export_dir(app.config, app.instance_path)  # read each time: tests move it
        return exports.run_next(app.extensions["db_engine"], out_dir, worker=worker_id,
                                base_url=app.config["PUBLIC_BASE_URL"]) is not None

    return background.Duty("exports", write_next, idle=idle, context=app.app_context)


def periodic_duty(app: Flask, worker_id: str, *, idle: float = IDLE_SECONDS["periodic"]) -> background.Duty:
    """Run the periodic jobs that are due."""
    jobs = periodic_jobs(app)

    def run_due() -> bool:
        background.run_periodic(app.extensions["db_engine"], jobs, worker=worker_id)
        return False  # the next is due in a day at the soonest

    return background.Duty("periodic", run_due, idle=idle, context=app.app_context)


def run_once(app: Flask) -> str:
    """Everything due now, once (`flask worker --once`): the outbox drained, every waiting
    export written, the periodic jobs that are due; what was done, in a line."""
    worker_id = background.new_worker_id()
    engine = app.extensions["db_engine"]
    with app.app_context():
        sent = outbox.drain(engine, worker=worker_id, **outbox_args(app))
        written = 0
        while exports.run_next(engine, exports.export_dir(app.config, app.instance_path), worker=worker_id,
                               base_url=app.config["PUBLIC_BASE_URL"]) is not None:
            written += 1
        ran = background.run_periodic(engine, periodic_jobs(app), worker=worker_id)
    return (f"emails: sent {sent.sent}, failed {sent.failed}, dead {sent.dead}, cancelled {sent.cancelled}; "
            f"exports written: {written}; periodic jobs run: {', '.join(ran) or 'none due'}")


def periodic_jobs(app: Flask) -> list[background.Periodic]:
    """Every periodic job, with how often it runs. Scan alerts need none: they are queued
    when the scan happens."""
    return [background.Periodic("retention", timedelta(days=1), lambda: run_retention(app))]


def run_retention(app: Flask) -> dict[str, int]:
    """The retention run of `flask retention run`, in one transaction."""
    with session_scope(app.extensions["db_engine"]) as session:
        deleted = retention.run(session, now=utcnow(), periods=retention.Periods.from_config(app.config))
        session.commit()
    return deleted
