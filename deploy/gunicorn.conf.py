"""Gunicorn settings for one Stickerreg web instance (production shape).

Run from the checkout: ``gunicorn -c deploy/gunicorn.conf.py`` (the systemd unit does; so does
tests/scale, which proves these settings behind nginx). The app's own settings come from the
environment (/etc/stickerreg/env, see deploy/env.example); these few from it too:

- ``GUNICORN_BIND``: where this instance listens, default ``127.0.0.1:8000`` (nginx in front);
- ``GUNICORN_WORKERS``: worker processes, default 2 × cores + 1, at most 8;
- ``GUNICORN_TIMEOUT``: seconds a request may take before its worker is killed, default 30;
- ``GUNICORN_ACCESS_LOG``: unset (no access log) or a file (``-`` for standard error).
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "stickerreg:create_app()"

bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]

# Sync workers, one request at a time each: the app is plain blocking code (SQLAlchemy,
# argon2, PDF drawing) and nginx in front buffers slow clients' requests and responses, so a
# worker never waits on a phone's network. gthread would only pay off without a buffering
# proxy or for long-polling, neither of which we have; sync also keeps each process at one
# database connection in use at a time. More capacity is more workers or more instances.
worker_class = "sync"
# Gunicorn's rule of thumb, capped: each worker holds its own connection pool (DB_POOL_SIZE +
# DB_MAX_OVERFLOW), and PostgreSQL's max_connections must cover every instance's workers.
_CAP = 8
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * multiprocessing.cpu_count() + 1, _CAP))

# A stuck request (a hung database, a runaway PDF) frees its worker after this long; the
# biggest legitimate request, a print-shop export, is queued for the worker, not drawn here.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# SIGTERM (systemctl stop/restart) lets requests in flight finish for this long first.
graceful_timeout = 30

# Each worker is replaced after about a thousand requests, at staggered moments so the
# instance never restarts all its workers at once: a slow leak in a library stays bounded.
max_requests = 1000
max_requests_jitter = 200

# Not preloaded: each worker builds its own app after the fork, so no database or Redis
# connection is ever shared between processes, and `systemctl reload` (SIGHUP) starts new
# workers on the new code while the old ones finish. Preloading would save a second of start-up
# and some memory per worker, which a handful of workers does not need.
preload_app = False

# No access log by default: each line would hold the client's address and the path, and a
# path holds a sticker code (pseudonymous) or, on some routes, a token. stickerreg.logs
# redacts tokens and customer numbers in every record the app's processes write, but an
# access log adds nothing the app needs; nginx logs status and timing without them (see
# deploy/nginx/stickerreg.conf). Turned on, the format leaves out address, path and query.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(t)s %(m)s %(s)s %(B)s %(M)sms'
errorlog = "-"  # standard error: the journal under systemd
loglevel = "info"
proc_name = "stickerreg-web"


def child_exit(server, worker) -> None:
    """A worker process ended (replaced after max_requests, or crashed): let the metrics drop
    its per-process figures. Imported here, in the master, only when needed, and optional
    until stickerreg.metrics exists in the deployed code."""
    try:
        from stickerreg.metrics import worker_exited
    except ImportError:
        return
    worker_exited(worker.pid)
