"""/readyz reports the background worker's heartbeat without ever failing readiness for it:
"none" when no worker has run (a web-only setup, or `flask serve` not started yet), "ok"
while one beats, "stale" (degraded, still 200) once all have been quiet too long."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stickerreg.models import utcnow
from stickerreg.services import worker


@pytest.fixture
def beat_at(session):
    def beat(when, worker_id="host:1:abc"):
        worker.beat(session, worker_id, duties="outbox exports periodic", now=when)
        session.commit()

    return beat


def test_without_any_worker_readyz_says_none_and_stays_ok(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ok" and ready.json["checks"]["worker"] == "none"
    assert ready.json["worker_last_seen"] is None


def test_a_worker_that_beat_just_now_is_ok(client, beat_at):
    seen = utcnow().replace(microsecond=0)
    beat_at(seen)
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json["status"], ready.json["checks"]["worker"]) == (200, "ok", "ok")
    assert ready.json["worker_last_seen"] == seen.isoformat(timespec="seconds")


def test_a_worker_quiet_for_too_long_is_stale_degraded_but_still_ready(client, beat_at):
    beat_at(utcnow() - worker.STALE_AFTER - timedelta(seconds=5))
    ready = client.get("/readyz")
    assert ready.status_code == 200  # the web serves on; the outbox keeps the mail
    assert (ready.json["status"], ready.json["checks"]["worker"]) == ("degraded", "stale")


def test_one_live_worker_among_dead_ones_is_enough(client, beat_at):
    beat_at(utcnow() - timedelta(hours=1), "host:1:dead")
    beat_at(utcnow(), "host:2:alive")
    assert client.get("/readyz").json["checks"]["worker"] == "ok"


def test_a_stopped_worker_leaves_none_behind(client, session, beat_at):
    beat_at(utcnow(), "host:1:abc")
    worker.forget(session, "host:1:abc")
    session.commit()
    assert client.get("/readyz").json["checks"]["worker"] == "none"
