"""Scale-out proof (issue 15): two web instances and two workers behind nginx share their rate
limits, and a kill -9 of one instance and one worker mid-load loses no finder message; no email
goes twice but, at most, the one the killed worker was sending (under the same Message-ID, so a
receiving server drops it); the only errors are the requests in flight on the killed instance.

Run: `make test-scale` (installs Debian's nginx; needs PostgreSQL and Redis on loopback).
The rig is in conftest.py; `pytest -s` shows the summary line with the counts.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from bench_web import Browser
from rig import LOOKUP_LIMIT, MESSAGE_LIMIT, Cluster, refuses
from sqlmodel import Session, select

from stickerreg.models import Message, OutboxMessage, OutboxStatus, WorkerHeartbeat, utcnow
from stickerreg.services.worker import STALE_AFTER

pytestmark = [pytest.mark.scale, pytest.mark.xdist_group("scale")]

CLIENTS = 6
SECONDS_BEFORE_KILL = 2.5
SECONDS_AFTER_KILL = 3.0
MESSAGE_TEXT = "Hittade dina nycklar vid busshållplatsen."


def test_one_client_cannot_exceed_a_limit_by_hitting_both_instances(cluster: Cluster):
    """The same client address, alternating between instance A and B directly (each trusts one
    proxy hop, as behind nginx): the limits count in Redis, so both together accept exactly N."""
    a, b = (Browser(app.port) for app in cluster.apps)
    b.cookies = a.cookies  # one browser on both instances
    try:
        check_one_limit_over_both(cluster, a, b)
    finally:
        a.connection.close()
        b.connection.close()


def check_one_limit_over_both(cluster: Cluster, a: Browser, b: Browser) -> None:
    client = {"X-Forwarded-For": "203.0.113.7"}
    assert a.request("GET", f"/s/{cluster.active_codes[0]}", headers=client)[0] == 200
    form = {"message": f"rate-limit {MESSAGE_TEXT}"}
    answered = [instance.request("POST", f"/s/{code}/message", form, headers=client)[0]
                for instance, code in zip(itertools.cycle((a, b)), cluster.active_codes * 2, strict=False)]
    assert answered == [303] * MESSAGE_LIMIT + [429] * (len(answered) - MESSAGE_LIMIT)

    reader = {"X-Forwarded-For": "203.0.113.8"}
    looked_up = [instance.request("GET", f"/s/{cluster.unknown_codes[0]}", headers=reader)[0]
                 for instance, _ in zip(itertools.cycle((a, b)), range(LOOKUP_LIMIT + 10), strict=False)]
    assert looked_up == [200] * LOOKUP_LIMIT + [429] * 10


@dataclass
class Request:
    kind: str  # "lookup" or "message"
    started: float
    finished: float
    status: int  # 0: no answer at all
    upstream: str = ""  # the instance nginx last tried
    body: str | None = None  # a message's text


@dataclass
class Load:
    """Finders through nginx: each request from a client address of its own (so the per-client
    limits never refuse the load), two sticker lookups for each message."""

    cluster: Cluster
    stop: threading.Event = field(default_factory=threading.Event)
    killed_at: float = float("inf")  # set before `stop`; each client then sends one more message
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, index: int) -> None:
        browser = Browser(self.cluster.front)
        addresses = (f"10.{index}.{n // 250}.{n % 250 + 1}" for n in itertools.count())
        codes = itertools.cycle(self.cluster.active_codes[index % 3:] + self.cluster.unknown_codes)
        try:
            mine = self._visit(index, browser, addresses, codes)
        finally:
            browser.connection.close()
        with self.lock:
            self.requests += mine

    def _visit(self, index: int, browser: Browser, addresses, codes) -> list[Request]:
        """Until stopped: two lookups, then a message (sent as our page's form is: Sec-Fetch-Site)."""
        browser.keep_cookies = False  # no "sent" notices piling up, as for a browser that follows each 303
        mine: list[Request] = []
        for number in itertools.count():
            if self.stop.is_set() and any(r.kind == "message" and r.started > self.killed_at for r in mine):
                break
            mine.append(self._send(browser, "lookup", f"/s/{next(codes)}", next(addresses)))
            mine.append(self._send(browser, "lookup", f"/s/{next(codes)}", next(addresses)))
            body = f"scale-{index}-{number} {MESSAGE_TEXT}"
            code = self.cluster.active_codes[(index + number) % len(self.cluster.active_codes)]
            mine.append(self._send(browser, "message", f"/s/{code}/message", next(addresses),
                                   form={"message": body}, body=body))
        return mine

    def _send(self, browser: Browser, kind: str, path: str, address: str, *, form: dict | None = None,
              body: str | None = None) -> Request:
        started = time.monotonic()
        try:
            status, headers, _ = browser.request("POST" if form else "GET", path, form,
                                                 headers={"X-Forwarded-For": address})
        except (OSError, http.client.HTTPException):
            return Request(kind, started, time.monotonic(), 0, body=body)
        upstream = headers.get("X-Upstream", "").split(",")[-1].strip()
        return Request(kind, started, time.monotonic(), status, upstream, body)


def test_a_killed_instance_and_worker_lose_no_message_and_send_none_twice(cluster: Cluster):
    """Mid-load, kill -9 instance A (master and workers) and worker 1. nginx fails over to B;
    worker 2 sends every accepted message's email, including those worker 1 held."""
    wait_until_sent(cluster)  # what an earlier test queued is out: the sink holds only the load's from here
    first_email = len(cluster.sink.messages)
    load = Load(cluster)
    threads = [threading.Thread(target=load.client, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(SECONDS_BEFORE_KILL)
    killed_app, survivor_app = cluster.apps
    killed_worker, survivor_worker = cluster.workers
    killed_worker_id, survivor_id = cluster.worker_ids
    wait_for_a_claim(cluster.database_url, killed_worker_id)  # so its death leaves work half done
    emails_before_kill = len(cluster.sink.messages)
    killed_worker.kill()
    killed_app.kill()
    while not refuses(killed_app.port):  # the kernel closes the listening socket as the group dies
        time.sleep(0.01)
    load.killed_at = dead_at = time.monotonic()
    time.sleep(SECONDS_AFTER_KILL)
    load.stop.set()
    for thread in threads:
        thread.join()

    held = held_by(cluster.database_url, killed_worker_id)
    wait_until_sent(cluster)  # the survivor takes the dead worker's emails up once their lease ends
    outcome = read_back(cluster, load.requests, cluster.sink.messages[first_email:])
    outcome["summary"].update(killed_worker_held=len(held),
                              requests_after_kill=sum(r.started > dead_at for r in load.requests),
                              emails_after_kill=len(cluster.sink.messages) - emails_before_kill)
    print("\nscale-out: " + json.dumps(outcome["summary"]))

    check_errors(load.requests, killed=f"127.0.0.1:{killed_app.port}", dead_at=dead_at)
    after = [r for r in load.requests if r.started > dead_at]
    assert after and {r.status for r in after} <= {200, 303}, Counter(r.status for r in after)
    assert {r.upstream for r in after} == {f"127.0.0.1:{survivor_app.port}"}

    check_messages(outcome)
    # Sent twice (same Message-ID), at most the one email the killed worker was sending when it
    # died: each is recorded sent as soon as the server took it.
    assert len(outcome["repeated"]) <= 1 and set(outcome["repeated"]) <= held, outcome["repeated"]
    assert survivor_worker.alive() and survivor_app.alive()
    assert len(cluster.sink.messages) > emails_before_kill  # the surviving worker kept sending
    check_survivor_is_ready(cluster, survivor_id)


def wait_for_a_claim(database_url: str, worker_id: str, timeout: float = 5.0) -> None:
    """Return as soon as the worker holds outbox rows (it sends a batch every second or so
    under this load), or after `timeout`: then it is killed between passes, which the summary
    shows as killed_worker_held 0."""
    engine = sa.create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                if connection.execute(sa.select(sa.func.count()).select_from(OutboxMessage).where(
                        OutboxMessage.claimed_by == worker_id,
                        OutboxMessage.status == OutboxStatus.PENDING.value)).scalar():
                    return
                connection.rollback()
                time.sleep(0.005)
    finally:
        engine.dispose()


def held_by(database_url: str, worker_id: str) -> set[str]:
    """The Message-IDs of the emails the killed worker had claimed and not yet sent."""
    engine = sa.create_engine(database_url)
    with Session(engine) as session:
        held = set(session.exec(select(OutboxMessage.email_message_id).where(
            OutboxMessage.claimed_by == worker_id, OutboxMessage.status == OutboxStatus.PENDING.value)))
    engine.dispose()
    return held


def wait_until_sent(cluster: Cluster, timeout: float = 60.0) -> None:
    """Poll until no email waits in the outbox (a wait for a condition, not a measurement)."""
    engine = sa.create_engine(cluster.database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as session:
                waiting = session.exec(select(sa.func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status == OutboxStatus.PENDING.value)).one()
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        engine.dispose()
    assert not waiting, f"{waiting} emails still pending; worker log:\n{cluster.workers[1].output()[-3000:]}"


def read_back(cluster: Cluster, requests: list[Request], emails: list) -> dict:
    """What the database holds and the sink received, against what the clients were told."""
    accepted = {r.body for r in requests if r.kind == "message" and r.status == 303}
    unanswered = {r.body for r in requests if r.kind == "message" and r.status != 303}
    engine = sa.create_engine(cluster.database_url)
    with Session(engine) as session:
        stored = Counter(session.exec(select(Message.body).where(Message.body.like("scale-%"))))
        ids = dict(session.exec(select(Message.id, Message.body).where(Message.body.like("scale-%"))).all())
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "finder_message")).all()
        emailed = {ids[row.payload["message_id"]]: (row.email_message_id, row.status) for row in rows
                   if row.payload.get("message_id") in ids}
    engine.dispose()
    received = Counter(email["Message-ID"] for email in emails)
    statuses = Counter(f"{r.kind} {r.status}" for r in requests)
    summary = {
        "requests": len(requests), "lookups": sum(r.kind == "lookup" for r in requests),
        "messages_sent": sum(r.kind == "message" for r in requests), "messages_accepted": len(accepted),
        "stored_without_303": len(set(stored) - accepted), "emails_received": sum(received.values()),
        "distinct_message_ids": len(received), "duplicates": sum(received.values()) - len(received),
        "errors": {key: count for key, count in statuses.items() if not key.endswith((" 200", " 303"))},
    }
    return {"summary": summary, "accepted": accepted, "unanswered": unanswered, "stored": stored,
            "emailed": emailed, "received": received,
            "repeated": [message_id for message_id, count in received.items() if count > 1]}


def check_errors(requests: list[Request], *, killed: str, dead_at: float) -> None:
    """The only errors: requests in flight on the killed instance. nginx answers 502 for a
    message it had passed on (it never sends a POST twice) and retries a lookup on the other
    instance; an answer cut off halfway (status 0 here) cannot be retried either. Each client
    has one request in flight at a time, so there are at most as many as clients."""
    errors = [r for r in requests if r.status not in (200, 303)]
    assert all((r.status == 502 and r.kind == "message" and r.upstream == killed) or r.status == 0
               for r in errors), errors
    assert all(r.started <= dead_at for r in errors), [r for r in errors if r.started > dead_at]
    assert len(errors) <= CLIENTS, errors


def check_messages(outcome: dict) -> None:
    """Every accepted message is stored once and emailed; nothing else was stored, and every
    stored message's email went out under its own Message-ID."""
    accepted, stored, emailed, received = (outcome[key] for key in ("accepted", "stored", "emailed", "received"))
    assert accepted and all(stored[body] == 1 for body in accepted), "an accepted message is missing or doubled"
    assert set(stored) <= accepted | outcome["unanswered"], "a message was stored that nobody sent"
    assert max(stored.values()) == 1
    assert set(emailed) == set(stored), "a stored message has no email"
    assert {status for _, status in emailed.values()} == {OutboxStatus.SENT.value}
    assert set(received) == {message_id for message_id, _ in emailed.values()}
    assert len(received) == len(accepted) + outcome["summary"]["stored_without_303"]


def check_survivor_is_ready(cluster: Cluster, survivor_id: str) -> None:
    """Through nginx, /readyz finds the database, Redis and a fresh worker; the survivor's own
    heartbeat is fresh."""
    monitor = Browser(cluster.front)
    try:
        status, _, body = monitor.request("GET", "/readyz")
    finally:
        monitor.connection.close()
    ready = json.loads(body)
    assert status == 200 and ready["checks"] == {"database": "ok", "rate_limit_storage": "ok", "worker": "ok"}, ready
    engine = sa.create_engine(cluster.database_url)
    with Session(engine) as session:
        beat = session.get(WorkerHeartbeat, survivor_id)
    engine.dispose()
    assert beat is not None and beat.last_seen >= utcnow() - STALE_AFTER
