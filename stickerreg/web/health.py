"""Health checks for load balancers and operators (/healthz, /readyz): JSON, no sign-in,
no personal data, no rate limit (they are polled every few seconds)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import text

from stickerreg.extensions import limiter
from stickerreg.models import utcnow
from stickerreg.services import worker

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Whether this instance can serve: the database must answer (else 503). The rate-limit
    storage (Redis) being down is reported but keeps the instance in: limits then run in
    this process's memory, so finders are served while Redis is away.

    The background worker's heartbeat is reported as "ok", "stale" (workers ran here, none
    beat lately: "degraded") or "none" (none ever ran, as with no separate worker set up),
    and never takes the instance out: pages serve without a worker, the outbox keeps every
    email until one comes back, and taking every web instance out of the load balancer
    because the worker died would turn late email into a site that is down."""
    checks = {"database": _database(), "rate_limit_storage": _rate_limit_storage()}
    beat = _worker() if checks["database"] == "ok" else None
    checks["worker"] = beat.state if beat else "unknown"
    status = "ok" if set(checks.values()) <= {"ok", "memory", "none"} else "degraded"
    if checks["database"] != "ok":
        status = "down"
    response = jsonify(status=status, checks=checks,
                       worker_last_seen=beat.last_seen.isoformat(timespec="seconds") if beat and beat.last_seen else None)
    response.status_code = 503 if status == "down" else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _database() -> str:
    try:
        g.db.exec(text("SELECT 1"))
    except Exception:  # any failure to answer is "down"; the details belong in the server log
        current_app.logger.exception("readiness: the database does not answer")
        return "down"
    return "ok"


def _worker() -> worker.Freshness | None:
    try:
        return worker.freshness(g.db, now=utcnow())
    except Exception:  # e.g. a database not migrated yet: say so, keep serving
        current_app.logger.exception("readiness: could not read the worker heartbeat")
        g.db.rollback()
        return None


def _rate_limit_storage() -> str:
    if current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return "memory"
    try:
        return "ok" if limiter.storage.check() else "down"
    except Exception:
        return "down"
