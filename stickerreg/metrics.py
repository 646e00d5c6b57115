"""Prometheus metrics: requests by endpoint and status, their latency, and the background
work's queues (the outbox's depth, the age of its oldest row and its dead letters, export jobs
by state, the worker's heartbeat).

GET /metrics answers only "Authorization: Bearer <METRICS_TOKEN>". Anyone else gets the 404 of
an unknown URL, whatever the method, and without METRICS_TOKEN the route does not exist at all
(nor do the request hooks: no cost). `flask worker` serves its own metrics on
127.0.0.1:METRICS_PORT when that is set: the queues and the worker process's CPU and memory.

Labels name endpoints ("finder.sticker"), never paths: a path holds sticker codes, tokens and
customer numbers, and a label value per code would also grow without end. Request metrics
are counted by each process in two hooks that only read a clock and bump a counter. Queue
metrics are read from the database when Prometheus scrapes (QueueCollector): every process
reports the same truth, and no request pays for them.

Under gunicorn, set PROMETHEUS_MULTIPROC_DIR to an empty folder, emptied before each start:
prometheus_client's multiprocess mode then has each worker process write its counts there,
the process that answers a scrape adds them all up, and gunicorn's child_exit hook calls
`worker_exited(pid)` (deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import hmac
import logging
import threading
from time import perf_counter
from wsgiref.simple_server import WSGIServer

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder, start_http_server
from sqlalchemy.engine import Engine
from werkzeug.exceptions import MethodNotAllowed, NotFound

from stickerreg import config
from stickerreg.db import session_scope
from stickerreg.extensions import limiter
from stickerreg.models import utcnow
from stickerreg.services import outbox, worker
from stickerreg.services.printshop import exports
from stickerreg.web import errors

log = logging.getLogger(__name__)

UNMATCHED = "unmatched"  # the endpoint label of a request no route matched (most 404s)
# Methods are labels as they come, except those no route serves: a label value per made-up
# method would let anyone grow the metrics without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From a cached page (a few ms) to the slowest request worth telling apart (the 30 s timeout
# kills the rest): upper bounds in seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# No "_created" series beside each counter and histogram: a timestamp per label set that
# doubles every scrape and tells Prometheus nothing it needs (it sees counters reset).
disable_created_metrics()
# Made once per process and registered on no registry of prometheus_client's: each app's
# scrape registry takes them (or, in multiprocess mode, reads what every process wrote).
REQUESTS = Counter("stickerreg_http_requests", "HTTP requests answered, by endpoint, method and status.",
                   ("endpoint", "method", "status"), registry=None)
LATENCY = Histogram("stickerreg_http_request_duration_seconds",
                    "Seconds from a request's first hook to its response, by endpoint and method.",
                    ("endpoint", "method"), buckets=LATENCY_BUCKETS, registry=None)

SCRAPE_PATH = "/metrics"
bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """Metrics for this app when METRICS_TOKEN is set: the request hooks and GET /metrics.
    Called before the extensions, so the clock starts before the rate limiter or CSRF check
    may refuse a request (their answers are counted and timed too)."""
    if not app.config["METRICS_TOKEN"]:
        return
    app.extensions["metrics_registry"] = scrape_registry(
        app.extensions["db_engine"], multiprocess_dir=app.config["PROMETHEUS_MULTIPROC_DIR"])
    app.before_request(_start_clock)
    app.after_request(_count)
    app.register_blueprint(bp)
    app.register_error_handler(MethodNotAllowed, _method_not_allowed)


# --- per request ------------------------------------------------------------------------


def _start_clock() -> None:
    g.metrics_started = perf_counter()


def _count(response: Response) -> Response:
    """Count the answer under its endpoint, method and status, and time it."""
    rule = request.url_rule
    method = request.method
    key = (rule.endpoint if rule is not None else UNMATCHED, method if method in KNOWN_METHODS else "other",
           response.status_code)
    counter, timer = _series.get(key) or _new_series(key)
    counter.inc()
    started = g.get("metrics_started")
    if started is not None:  # None only when a hook before ours answered (none does today)
        timer.observe(perf_counter() - started)
    return response


# The counter and histogram series of each (endpoint, method, status) this process answered:
# looked up once, then a dict hit per request instead of labels()' checks and lock. Bounded:
# the endpoints are the URL map's, the methods KNOWN_METHODS' and "other", statuses a few.
_series: dict[tuple[str, str, int], tuple] = {}


def _new_series(key: tuple[str, str, int]) -> tuple:
    endpoint, method, status = key
    # setdefault: two threads meeting a new key at once keep one pair (labels() returns the same series anyway)
    return _series.setdefault(key, (REQUESTS.labels(endpoint, method, str(status)), LATENCY.labels(endpoint, method)))


# --- the scrape ---------------------------------------------------------------------------


# No automatic OPTIONS answer: its Allow header would tell that the page exists.
@bp.get(SCRAPE_PATH, provide_automatic_options=False)
@limiter.exempt
def scrape():
    """The metrics, to the bearer of METRICS_TOKEN; to anyone else the 404 of an unknown URL
    (a 401 would tell that the page exists)."""
    if not _bearer_of(current_app.config["METRICS_TOKEN"]):
        abort(404)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = Response(encode(current_app.extensions["metrics_registry"]), content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


def _bearer_of(token: str) -> bool:
    """Whether the request's Authorization header is "Bearer <token>" (compared in constant time)."""
    scheme, _, presented = request.headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode("utf-8", "replace"),
                                                               token.encode())


def _method_not_allowed(error: MethodNotAllowed):
    """Any other method on /metrics is answered as at an unknown URL: the router's 405 would
    tell that the page exists. Every other 405 is the error pages' as before. (Only GET is a
    route, so the CSRF guard of tests/web/test_access_matrix.py has no POST here to check.)"""
    return errors.handle_http_error(NotFound() if request.path == SCRAPE_PATH else error)


def scrape_registry(engine: Engine, *, multiprocess_dir: str | None) -> CollectorRegistry:
    """What a scrape of the web app reports: this process's request metrics or, in
    multiprocess mode, those every process wrote into `multiprocess_dir`; and the queues,
    read once per scrape whichever process answers it."""
    registry = CollectorRegistry()
    if multiprocess_dir:
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(QueueCollector(engine))
    return registry


def worker_exited(pid: int) -> None:
    """Gunicorn's child_exit hook: a worker process is gone. Its counters stay in the totals
    (they were counted); only its live gauges, if any, are dropped. A no-op outside
    multiprocess mode."""
    folder = config.prometheus_multiproc_dir()
    if folder:
        multiprocess.mark_process_dead(pid, folder)


def serve_on_port(engine: Engine, port: int) -> tuple[WSGIServer, threading.Thread]:
    """The worker's own metrics on 127.0.0.1:`port`, from a thread of this process (`flask
    worker` with METRICS_PORT): the queues and this process's CPU, memory and open files.
    Bound to the loopback address only, so it needs no token: a Prometheus on the host, or a
    tunnel to it, reads it. The server and its thread (a daemon: it ends with the process)."""
    registry = CollectorRegistry()
    registry.register(QueueCollector(engine))
    ProcessCollector(registry=registry)
    return start_http_server(port, addr="127.0.0.1", registry=registry)


# --- the queues, from the database ----------------------------------------------------------


class QueueCollector:
    """The background work's queues, read from the database at each scrape: three small
    queries on indexed columns. A database that does not answer is reported as
    stickerreg_queue_metrics_up 0 (and logged), never as a failed scrape."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def describe(self):
        """The families without values: registering the collector asks the database nothing."""
        return list(_families().values())

    def collect(self):
        families = _families()
        try:
            now = utcnow()
            with session_scope(self.engine) as session:
                backlog = outbox.backlog(session)
                jobs = exports.job_counts(session)
                beat = worker.freshness(session, now=now)
        except Exception:  # the scrape still reports that it could not look
            log.exception("metrics: could not read the queues from the database")
            families["up"].add_metric([], 0)
            yield families["up"]
            return
        families["up"].add_metric([], 1)
        families["pending"].add_metric([], backlog.pending)
        oldest = backlog.oldest_pending_at
        families["oldest"].add_metric([], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        families["dead"].add_metric([], backlog.dead)
        for status, count in jobs.items():
            families["exports"].add_metric([status], count)
        families["workers"].add_metric([], beat.fresh)
        if beat.last_seen is not None:  # no sample at all while no worker ever ran
            families["heartbeat"].add_metric([], max((now - beat.last_seen).total_seconds(), 0.0))
        yield from families.values()


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "up": GaugeMetricFamily("stickerreg_queue_metrics_up",
                                "1 when this scrape could read the queues from the database, else 0."),
        "pending": GaugeMetricFamily("stickerreg_outbox_pending",
                                     "Emails in the outbox waiting to be sent (its depth)."),
        "oldest": GaugeMetricFamily("stickerreg_outbox_oldest_pending_age_seconds",
                                    "Seconds since the oldest email still waiting was queued; 0 when none waits."),
        "dead": GaugeMetricFamily("stickerreg_outbox_dead",
                                  "Emails given up on after repeated failures (flask outbox retry sends them again)."),
        "exports": GaugeMetricFamily("stickerreg_export_jobs", "Print-shop export jobs by status.",
                                     labels=("status",)),
        "workers": GaugeMetricFamily("stickerreg_workers_alive",
                                     "Background workers whose heartbeat is fresh (within a minute)."),
        "heartbeat": GaugeMetricFamily("stickerreg_worker_heartbeat_age_seconds",
                                       "Seconds since the newest worker heartbeat; absent while no worker ever ran."),
    }
