"""Prometheus metrics: /metrics opens only to the bearer of METRICS_TOKEN (to anyone else it is
an unknown URL), labels name endpoints and never a path, the queue gauges are the database's
own figures, and under gunicorn's several processes (multiprocess mode) the counts add up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import SECRET_KEY, app_with, free_port, phone_client
from prometheus_client.parser import text_string_to_metric_families

from stickerreg import codes, metrics
from stickerreg.models import OutboxKind, OutboxStatus, utcnow
from stickerreg.services import outbox, worker
from stickerreg.services.printshop import batches, exports

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-" + "x" * 16
AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def metrics_app(database_url, tmp_path):
    with app_with(database_url, tmp_path, METRICS_TOKEN=TOKEN) as app:
        yield app


@pytest.fixture
def metrics_client(metrics_app):
    return phone_client(metrics_app)


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by its name and labels."""
    response = client.get("/metrics", headers=AUTHORIZED)
    assert response.status_code == 200
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def growth(before: dict, after: dict, name: str, **labels) -> float:
    """How much a series went up between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def as_unknown_url(response, path: str) -> tuple:
    """What a visitor can tell from an answer: status, type and body (the path left out)."""
    return response.status_code, response.mimetype, response.get_data(as_text=True).replace(path, "<path>")


# --- who may read them ----------------------------------------------------------------------


def test_without_a_metrics_token_there_is_no_such_page(app, client):
    assert "metrics.scrape" not in app.view_functions
    assert client.get("/metrics", headers=AUTHORIZED).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x",
                                           f"Bearer {TOKEN[:-1]}", "Bearer", "Bearer ö€", f"Bearer  {TOKEN} extra"])
def test_without_the_right_bearer_token_it_is_the_404_of_an_unknown_url(metrics_client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    unknown = metrics_client.get("/no-metrics-here", headers=headers)
    answer = metrics_client.get("/metrics", headers=headers)
    assert as_unknown_url(answer, "/metrics") == as_unknown_url(unknown, "/no-metrics-here")
    assert answer.status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "FROBNICATE"])
def test_other_methods_get_the_404_of_an_unknown_url_even_with_the_token(metrics_client, method):
    """A 405 (or the Allow header of an OPTIONS answer) would tell that the page exists."""
    unknown = metrics_client.open("/no-metrics-here", method=method)
    for headers in ({}, AUTHORIZED):
        answer = metrics_client.open("/metrics", method=method, headers=headers)
        assert as_unknown_url(answer, "/metrics") == as_unknown_url(unknown, "/no-metrics-here")
        assert answer.status_code == 404 and "Allow" not in answer.headers


def test_head_answers_as_get_does_and_other_405s_stay_405s(metrics_client):
    assert metrics_client.head("/metrics").status_code == 404
    assert metrics_client.head("/metrics", headers=AUTHORIZED).status_code == 200
    assert metrics_client.put("/healthz").status_code == 405


def test_the_token_opens_them_uncached_and_without_a_cookie(metrics_client):
    response = metrics_client.get("/metrics", headers=AUTHORIZED)
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {"stickerreg_http_requests", "stickerreg_http_request_duration_seconds", "stickerreg_outbox_pending",
            "stickerreg_outbox_oldest_pending_age_seconds", "stickerreg_outbox_dead", "stickerreg_export_jobs",
            "stickerreg_workers_alive", "stickerreg_queue_metrics_up"} <= names


def test_prometheus_asking_for_openmetrics_gets_it(metrics_client):
    response = metrics_client.get("/metrics", headers={**AUTHORIZED, "Accept": "application/openmetrics-text"})
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")


# --- requests -------------------------------------------------------------------------------


def test_a_sticker_page_is_counted_and_timed_under_its_endpoint(metrics_client, sticker_factory):
    code = sticker_factory(activated=True).code
    before = scrape(metrics_client)
    assert metrics_client.get(f"/s/{code}").status_code == 200
    after = scrape(metrics_client)
    counted = dict(endpoint="finder.sticker", method="GET", status="200")
    assert growth(before, after, "stickerreg_http_requests_total", **counted) == 1
    timed = dict(endpoint="finder.sticker", method="GET")
    assert growth(before, after, "stickerreg_http_request_duration_seconds_count", **timed) == 1
    assert value(after, "stickerreg_http_request_duration_seconds_bucket", le="+Inf", **timed) == \
        value(after, "stickerreg_http_request_duration_seconds_count", **timed)


def test_an_answer_the_rate_limiter_gives_is_counted_and_timed_too(database_url, tmp_path):
    """The hooks come before the extensions', so a request they refuse still has its clock."""
    with app_with(database_url, tmp_path, METRICS_TOKEN=TOKEN, RATELIMIT_FINDER_LOOKUP="1 per day") as app:
        client = phone_client(app)
        before = scrape(client)
        assert [client.get(f"/s/{codes.generate()}").status_code for _ in range(2)] == [200, 429]
        after = scrape(client)
    refused = dict(endpoint="finder.sticker", method="GET", status="429")
    assert growth(before, after, "stickerreg_http_requests_total", **refused) == 1
    timed = dict(endpoint="finder.sticker", method="GET")
    assert growth(before, after, "stickerreg_http_request_duration_seconds_count", **timed) == 2


def test_no_label_holds_a_path_a_code_a_token_or_a_customer_number(metrics_app, metrics_client, sticker_factory,
                                                                  user_factory):
    owner = user_factory()
    code = sticker_factory(owner=owner).code
    secrets_in_urls = [code, owner.customer_number, "SecretConversationToken123", "SecretResetToken456"]
    for url in (f"/s/{code}", f"/S/{code}", f"/lookup?code={code}", f"/s/{code}/message",
                "/c/SecretConversationToken123", "/auth/reset/SecretResetToken456",
                f"/admin/users/{owner.customer_number}", f"/crm/customers/{owner.customer_number}",
                f"/api/v1/fire/contacts?customer={owner.customer_number}", f"/nowhere/{code}"):
        metrics_client.get(url)
    metrics_client.open(f"/s/{code}", method="FROBNICATE")
    endpoints = {rule.endpoint for rule in metrics_app.url_map.iter_rules()} | {metrics.UNMATCHED}
    samples = scrape(metrics_client)
    labels = {(name, value) for (sample, labelled) in samples if sample.startswith("stickerreg_http_")
              for name, value in labelled}
    assert {value for name, value in labels if name == "endpoint"} <= endpoints
    assert {value for name, value in labels if name == "method"} <= metrics.KNOWN_METHODS | {"other"}
    assert ("method", "other") in labels  # the made-up method, under one label for all of them
    assert [value for name, value in labels if name == "status" and not value.isdigit()] == []
    every_value = {value for _, labelled in samples for _, value in labelled}
    assert not [value for value in every_value if "/" in value or any(secret in value for secret in secrets_in_urls)]


# --- queues ---------------------------------------------------------------------------------


def failing_transport(email: EmailMessage) -> None:
    raise ConnectionRefusedError("the mail server is away")


def test_the_queue_gauges_are_the_databases_figures(metrics_app, metrics_client, session, engine, monkeypatch):
    now = utcnow().replace(microsecond=0)
    monkeypatch.setattr(metrics, "utcnow", lambda: now)
    empty = scrape(metrics_client)
    assert (value(empty, "stickerreg_outbox_pending"), value(empty, "stickerreg_outbox_dead"),
            value(empty, "stickerreg_outbox_oldest_pending_age_seconds")) == (0, 0, 0)
    assert value(empty, "stickerreg_queue_metrics_up") == 1 and value(empty, "stickerreg_workers_alive") == 0
    assert ("stickerreg_worker_heartbeat_age_seconds", frozenset()) not in empty  # no worker ever ran

    rows = [outbox.enqueue(session, kind=OutboxKind.VERIFY_EMAIL, payload={}) for _ in range(4)]
    rows[1].created_at = now - timedelta(hours=2)  # the oldest; queued before a mail server outage
    session.commit()
    # One pass that takes the first due row and fails to send it, with one attempt allowed: dead.
    stats = outbox.run_once(engine, compose=lambda _session, _row: EmailMessage(), transport=failing_transport,
                            max_attempts=1, batch=1)
    assert stats.dead == 1
    batch = batches.create_and_mint(session, count=4, set_size=2, layout="a4-3x7", product="Nyckelbricka")
    exports.start_export(session, batch, "csv")
    exports.start_export(session, batch, "pdf", worker="cli:1:abc")  # written at once by `flask batch export`
    worker.beat(session, "host:1:abc", duties="outbox exports periodic", now=now - timedelta(seconds=20))
    session.commit()

    session.expire_all()
    counts = outbox.counts(session)
    assert (counts["pending"], counts["dead"]) == (3, 1)
    oldest_pending = min(row.created_at for row in rows if row.status == OutboxStatus.PENDING)
    assert oldest_pending == now - timedelta(hours=2)  # the dead row was another
    samples = scrape(metrics_client)
    assert value(samples, "stickerreg_outbox_pending") == counts["pending"]
    assert value(samples, "stickerreg_outbox_dead") == counts["dead"]
    assert value(samples, "stickerreg_outbox_oldest_pending_age_seconds") == 2 * 3600
    assert {status: value(samples, "stickerreg_export_jobs", status=status) for status in exports.job_counts(session)} \
        == {"queued": 1, "running": 1, "done": 0, "failed": 0}
    assert value(samples, "stickerreg_workers_alive") == 1
    assert value(samples, "stickerreg_worker_heartbeat_age_seconds") == 20


# --- several processes --------------------------------------------------------------------

# One gunicorn worker process, as far as metrics go: an app, some requests, maybe a scrape.
PROCESS = """
import json, sys
from stickerreg import create_app

app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
if sys.argv[3] == "scrape":
    answer = client.get("/metrics", headers={"Authorization": "Bearer " + app.config["METRICS_TOKEN"]})
    assert answer.status_code == 200, answer.status_code
    print(answer.get_data(as_text=True))
"""


def run_process(database_url: str, tmp_path: Path, folder: Path, requests: int, then: str = "") -> str:
    settings = {"TESTING": True, "SECRET_KEY": SECRET_KEY.decode(), "DATABASE_URL": database_url,
                "MAIL_DIR": str(tmp_path / "mail"), "METRICS_TOKEN": TOKEN, "RATELIMIT_STORAGE_URI": "memory://"}
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "STICKERREG_INSTANCE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", PROCESS, json.dumps(settings), str(requests), then], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_in_multiprocess_mode_one_scrape_adds_up_every_process(database_url, tmp_path, monkeypatch):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    run_process(database_url, tmp_path, folder, requests=3)
    first_pid = {path.stem.rsplit("_", 1)[1] for path in folder.glob("*.db")}
    assert len(first_pid) == 1
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    metrics.worker_exited(int(next(iter(first_pid))))  # gunicorn's child_exit: its counts stay counted

    exposition = run_process(database_url, tmp_path, folder, requests=2, then="scrape")
    assert len({path.stem.rsplit("_", 1)[1] for path in folder.glob("*.db")}) == 2
    samples = {(sample.name, frozenset(sample.labels.items())): sample.value
               for family in text_string_to_metric_families(exposition) for sample in family.samples}
    healthz = dict(endpoint="health.healthz", method="GET")
    assert value(samples, "stickerreg_http_requests_total", status="200", **healthz) == 5
    assert value(samples, "stickerreg_http_request_duration_seconds_count", **healthz) == 5
    # The database is read once per scrape, not once per process.
    assert [line for line in exposition.splitlines() if line.startswith("stickerreg_outbox_pending ")] == \
        ["stickerreg_outbox_pending 0.0"]


def test_without_a_multiprocess_folder_a_worker_exit_is_nothing_to_do(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics.worker_exited(12345)  # gunicorn calls it whatever the mode; it must not fail


# --- the worker's own port --------------------------------------------------------------------


def test_the_worker_serves_its_metrics_on_the_loopback_port(engine, session):
    outbox.enqueue(session, kind=OutboxKind.VERIFY_EMAIL, payload={})
    session.commit()
    port = free_port()
    server, thread = metrics.serve_on_port(engine, port)
    try:
        assert server.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    samples = {(sample.name, frozenset(sample.labels.items())): sample.value
               for family in text_string_to_metric_families(text) for sample in family.samples}
    assert value(samples, "stickerreg_outbox_pending") == 1
    assert ("process_cpu_seconds_total", frozenset()) in samples  # the worker process's own
