"""The worker (`flask worker`): export jobs the web only queues, written by the worker and
taken up again after a restart; periodic jobs that run once however many workers run; the
heartbeat; everything due at once with `flask worker --once`; emails composed without a
request. Clocks are passed in: nothing here waits for time to pass."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest
from flask import url_for
from helpers import PASSWORD, Clock, browser, csrf_token
from sqlmodel import select

from stickerreg import emails
from stickerreg import worker as background
from stickerreg.db import session_scope
from stickerreg.models import (
    ExportJob,
    JobStatus,
    OutboxKind,
    OutboxMessage,
    PeriodicJob,
    Role,
    WorkerHeartbeat,
    utcnow,
)
from stickerreg.services import outbox
from stickerreg.services import worker as service
from stickerreg.services.printshop import batches, exports

BASE_URL = "http://localhost"


@pytest.fixture
def batch(session):
    made = batches.create_and_mint(session, count=5, set_size=2, layout="a4-3x7", product="Nyckelbricka")
    session.commit()
    return made


@pytest.fixture
def export_dir(app, tmp_path):
    app.config["EXPORT_DIR"] = str(tmp_path / "exports")
    return tmp_path / "exports"


def a_job(session, batch, **state) -> ExportJob:
    """An export job as some earlier worker left it."""
    job = exports.start_export(session, batch, "csv")
    for name, value in state.items():
        setattr(job, name, value)
    session.add(job)
    session.commit()
    return job


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "exports"


def reread(session, job: ExportJob) -> ExportJob:
    session.expire_all()
    return session.get(ExportJob, job.id)


# --- export jobs ------------------------------------------------------------------------------


def test_an_export_the_web_queues_waits_for_the_worker_and_the_page_follows_it_to_the_end(
    app, session, user_factory, batch, export_dir
):
    staff = user_factory(email="print@example.se", password=PASSWORD, role=Role.PRINTSHOP)
    client = browser(app, staff.email)
    page = f"/printshop/batches/{batch.public_id}"
    response = client.post(page + "/exports", data={"csrf_token": csrf_token(client, page), "format": "csv"})
    assert response.status_code == 303
    job = exports.find_job(session, response.headers["Location"].rsplit("/", 1)[1])
    assert (job.status, job.claimed_by) == (JobStatus.QUEUED, None)  # the web only queued it
    progress = f"/printshop/exports/{job.public_id}"
    assert 'hx-trigger="load delay:1s"' in client.get(progress, headers={"HX-Request": "true"}).get_data(as_text=True)

    duty = background.exports_duty(app, "worker-1")
    with app.app_context():
        assert duty.run() is True  # wrote one: look again at once
        assert duty.run() is False  # nothing left
    job = reread(session, job)
    assert (job.status, job.done, job.claimed_by, job.attempts) == (JobStatus.DONE, 5, None, 1)
    fragment = client.get(progress, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' not in fragment and f"{progress}/download" in fragment
    with client.get(f"{progress}/download") as download:
        assert download.status_code == 200 and download.get_data().count(b"\n") == 6


@pytest.mark.parametrize("lease", ["ran out", "none (left by a web thread before leases)"])
def test_a_stuck_export_is_taken_up_again_after_a_restart(engine, session, batch, out_dir, lease):
    clock = Clock()
    until = clock.now - timedelta(seconds=1) if lease == "ran out" else None
    job = a_job(session, batch, status=JobStatus.RUNNING.value, claimed_by="before-the-restart", lease_until=until,
                attempts=1, done=2)
    finished = exports.run_next(engine, out_dir, worker="after-the-restart", base_url=BASE_URL, now=clock)
    assert finished.id == job.id
    assert (finished.status, finished.done, finished.attempts, finished.claimed_by) == (JobStatus.DONE, 5, 2, None)
    assert (out_dir / f"{job.public_id}.csv").read_text(encoding="utf-8-sig").count("\n") == 6


def test_an_export_whose_worker_is_alive_is_left_alone(engine, session, batch, out_dir):
    clock = Clock()
    job = a_job(session, batch, status=JobStatus.RUNNING.value, claimed_by="alive",
                lease_until=clock.now + timedelta(seconds=30), attempts=1)
    assert exports.run_next(engine, out_dir, worker="other", base_url=BASE_URL, now=clock) is None
    clock.advance(timedelta(seconds=31))  # its last progress write was too long ago: the worker is gone
    assert exports.run_next(engine, out_dir, worker="other", base_url=BASE_URL, now=clock).id == job.id


def test_an_export_cut_off_again_and_again_fails_with_a_reason(engine, session, batch, out_dir):
    clock = Clock()
    job = a_job(session, batch, status=JobStatus.RUNNING.value, claimed_by="crashed",
                lease_until=clock.now - timedelta(seconds=1), attempts=exports.MAX_EXPORT_ATTEMPTS)
    assert exports.run_next(engine, out_dir, worker="next", base_url=BASE_URL, now=clock) is None
    job = reread(session, job)
    assert job.status == JobStatus.FAILED and "cut off 3 times" in job.error and job.claimed_by is None


def test_a_worker_that_lost_its_export_stops_writing_and_leaves_it_to_the_new_owner(
    engine, session, batch, out_dir, monkeypatch
):
    monkeypatch.setattr(exports, "PROGRESS_INTERVAL", 0)
    job = a_job(session, batch)

    def taken_over_meanwhile(done, total):  # e.g. a pause longer than the lease
        with session_scope(engine) as other:
            other.get(ExportJob, job.id).claimed_by = "new-owner"
            other.commit()

    ended = exports.run_export(engine, job.id, out_dir, base_url=BASE_URL, worker="first",
                               on_progress=taken_over_meanwhile)
    assert (ended.status, ended.claimed_by, ended.error) == (JobStatus.RUNNING, "new-owner", None)
    assert list(out_dir.iterdir()) == []  # neither a file nor a partial one


def test_the_command_lines_export_is_never_taken_by_a_background_worker(engine, session, batch, out_dir):
    job = exports.start_export(session, batch, "csv", worker="flask-batch-export")
    session.commit()
    assert exports.run_next(engine, out_dir, worker="background", base_url=BASE_URL) is None
    ended = exports.run_export(engine, job.id, out_dir, base_url=BASE_URL, worker="flask-batch-export")
    assert ended.status == JobStatus.DONE and ended.attempts == 1


# --- periodic jobs ----------------------------------------------------------------------------


class Job:
    """A periodic job that counts its runs and fails while told to."""

    def __init__(self, name="tidy", fail=False):
        self.runs, self.fail = 0, fail
        self.periodic = service.Periodic(name, timedelta(days=1), self)

    def __call__(self):
        self.runs += 1
        if self.fail:
            raise RuntimeError("disk full")


def test_a_periodic_job_runs_once_a_day_however_many_workers_run(engine):
    job, clock = Job(), Clock()
    assert service.run_periodic(engine, [job.periodic], worker="a", now=clock) == ["tidy"]
    assert service.run_periodic(engine, [job.periodic], worker="b", now=clock) == []
    clock.advance(timedelta(hours=23, minutes=59))
    assert service.run_periodic(engine, [job.periodic], worker="b", now=clock) == []
    clock.advance(timedelta(minutes=1))
    assert service.run_periodic(engine, [job.periodic], worker="b", now=clock) == ["tidy"]
    assert job.runs == 2


def test_a_failed_periodic_job_is_recorded_and_tried_again_an_hour_later(engine, session):
    job, clock = Job(fail=True), Clock()
    assert service.run_periodic(engine, [job.periodic], worker="a", now=clock) == ["tidy"]
    row = session.get(PeriodicJob, "tidy")
    assert row.last_error == "RuntimeError: disk full" and row.claimed_by is None
    clock.advance(timedelta(minutes=59))
    assert service.run_periodic(engine, [job.periodic], worker="a", now=clock) == []
    clock.advance(timedelta(minutes=1))
    job.fail = False
    assert service.run_periodic(engine, [job.periodic], worker="a", now=clock) == ["tidy"]
    session.refresh(row)
    assert row.last_error is None and row.next_run_at == clock.now + timedelta(days=1)


def test_a_periodic_job_whose_worker_died_runs_again_after_its_lease(engine, session):
    job, clock = Job(), Clock()
    session.add(PeriodicJob(name="tidy", next_run_at=clock.now))
    assert service.claim_periodic(session, job.periodic, worker="died", now=clock.now)
    session.commit()
    clock.advance(timedelta(minutes=30))
    assert service.run_periodic(engine, [job.periodic], worker="b", now=clock) == []
    clock.advance(job.periodic.lease)
    assert service.run_periodic(engine, [job.periodic], worker="b", now=clock) == ["tidy"]


def test_the_worker_runs_retention_once_a_day(app, monkeypatch):
    assert [job.name for job in background.periodic_jobs(app)] == ["retention"]
    asked = []
    monkeypatch.setattr(background.retention, "run", lambda session, *, now, periods: asked.append(periods) or {})
    assert background.run_once(app).endswith("periodic jobs run: retention")
    assert background.run_once(app).endswith("periodic jobs run: none due")
    assert len(asked) == 1 and asked[0].sent_emails == timedelta(days=app.config["RETENTION_SENT_EMAIL_DAYS"])


# --- everything at once, and the loop ----------------------------------------------------------


def test_flask_worker_once_sends_the_outbox_writes_the_exports_and_runs_what_is_due(
    app, session, user_factory, batch, export_dir
):
    owner = user_factory()
    outbox.enqueue(session, kind=OutboxKind.EMAIL_CHANGED, payload={"user_id": owner.id})
    job = exports.start_export(session, batch, "svg")
    session.commit()
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("emails: sent 1, failed 0, dead 0, cancelled 0; exports written: 1; ")
    assert len(list((export_dir.parent / "mail").glob("*.eml"))) == 1
    assert reread(session, job).status == JobStatus.DONE


def wait_until(condition, what: str):
    """Wait for another thread to get somewhere (a deadline against hanging, not a timing test)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def test_a_running_worker_beats_goes_on_after_a_failed_pass_and_says_goodbye(engine, session):
    passes = []

    def flaky_pass():
        passes.append(1)
        if len(passes) == 1:
            raise ConnectionError("database restarting")
        return False

    worker = service.Worker(engine, [service.Duty("flaky", flaky_pass, idle=0.01)], worker_id="host:1:abc")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: len(passes) >= 2, "a second pass after the failed one")
        wait_until(lambda: service.freshness(session, now=utcnow()).state == "ok", "a heartbeat")
        [beat] = session.exec(select(WorkerHeartbeat)).all()
        assert (beat.worker_id, beat.duties) == ("host:1:abc", "flaky")
    finally:
        stop.set()
        thread.join()
    session.expire_all()
    assert service.freshness(session, now=utcnow()).state == "none"  # stopped on purpose: not stale


def test_heartbeats_are_fresh_then_stale_and_forgotten_after_a_week(session):
    clock = Clock()
    service.beat(session, "old", duties="outbox", now=clock.now)
    session.commit()
    assert service.freshness(session, now=clock.now + service.STALE_AFTER).state == "ok"
    stale = service.freshness(session, now=clock.now + service.STALE_AFTER + timedelta(seconds=1))
    assert (stale.state, stale.last_seen, stale.fresh) == ("stale", clock.now, 0)
    clock.advance(service.FORGET_AFTER + timedelta(seconds=1))
    service.beat(session, "new", duties="outbox", now=clock.now)
    session.commit()
    assert session.exec(select(WorkerHeartbeat.worker_id)).all() == ["new"]


def test_worker_ids_fit_their_column_and_differ_within_a_process():
    first, second = service.new_worker_id(), service.new_worker_id()
    assert first != second and len(first) <= 64 and first.count(":") == 2


# --- emails without a request ------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["http://localhost", "https://stickerreg.se", "https://stickerreg.se:443",
                                      "http://127.0.0.1:5000", "https://example.org/stickerreg"])
def test_email_links_are_those_url_for_makes_in_a_request_to_the_public_address(app, base_url):
    app.config["PUBLIC_BASE_URL"] = base_url
    links = [("finder.conversation", {"token": "t0k-en"}), ("account.sticker", {"code": "ABC123"}),
             ("auth.reset", {"token": "x"}), ("auth.login", {}), ("account.idprotect_alerts", {})]
    with app.test_request_context("/", base_url=base_url):  # how emails were composed before
        expected = [url_for(endpoint, _external=True, **values) for endpoint, values in links]
    with app.app_context():
        assert [emails._link(endpoint, **values) for endpoint, values in links] == expected


def test_emails_are_composed_without_a_request(app, session, user_factory, monkeypatch):
    def no_request(*args, **kwargs):
        raise AssertionError("an email was composed in a fake request")

    monkeypatch.setattr(app, "test_request_context", no_request)
    owner = user_factory(locale="en")
    row = outbox.enqueue(session, kind=OutboxKind.RESET_PASSWORD, payload={"user_id": owner.id})
    session.commit()
    email = emails.composer(app)(session, row)
    assert "http://localhost/auth/reset/" in email.get_body(preferencelist=("plain",)).get_content()
    assert email["Message-ID"] == session.exec(select(OutboxMessage.email_message_id)).one()


def test_worker_threads_run_that_many_outbox_loops_and_one_of_everything_else(app):
    app.config["WORKER_THREADS"] = 3
    names = [duty.name for duty in background.build(app).duties]
    assert names == ["outbox", "outbox-2", "outbox-3", "exports", "periodic"]
    assert [duty.name for duty in background.build(app, ("outbox",), idle=0.5).duties] == [
        "outbox", "outbox-2", "outbox-3"]


def test_emails_built_with_the_cached_header_classes_are_byte_for_byte_the_same():
    def build(email_policy):
        email = EmailMessage(policy=email_policy)
        email["From"] = "Stickerreg <no-reply@stickerreg.se>"
        email["To"] = "Åsa Öberg <asa@example.se>"
        email["Subject"] = "Någon hittade din sak: " + "nycklar med en blå bricka och ett långt namn " * 3
        email["Message-ID"] = "<0123456789abcdef@stickerreg.se>"
        email["Date"] = "Tue, 01 Dec 2026 14:00:00 -0000"
        email["Auto-Submitted"] = "auto-generated"
        email.set_content("Hej,\n\nnågon skannade din dekal.\n" + "å" * 200 + "\n")
        email.add_alternative("<p>Hej, någon skannade din dekal.</p>", subtype="html")
        email.set_boundary("==boundary==")
        return email.as_bytes()

    for _ in range(2):  # the second time from the cache
        assert build(emails.EMAIL_POLICY) == build(policy.default)


def test_the_outbox_claims_its_emails_for_the_configured_lease(app, session, user_factory, engine):
    app.config["OUTBOX_LEASE_SECONDS"] = 30
    outbox.enqueue(session, kind=OutboxKind.EMAIL_CHANGED, payload={"user_id": user_factory().id})
    session.commit()
    claims = []

    def note_the_claim(email):  # while it is sent, the row is the worker's until its lease ends
        with session_scope(engine) as reader:
            row = reader.exec(select(OutboxMessage)).one()
            claims.append(row.lease_until - utcnow())

    run_args = {**background.outbox_args(app), "transport": note_the_claim}
    with app.app_context():
        assert outbox.run_once(engine, **run_args).sent == 1
    [left] = claims
    assert timedelta(0) < left <= timedelta(seconds=30)  # not the default two minutes
