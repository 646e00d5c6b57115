"""Health checks for load balancers and operators (/healthz, /readyz): JSON, no sign-in,
no personal data, no rate limit (they are polled every few seconds)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import text

from stickerreg.extensions import limiter

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
    this process's memory, so finders are served while Redis is away."""
    checks = {"database": _database(), "rate_limit_storage": _rate_limit_storage()}
    status = "ok" if set(checks.values()) <= {"ok", "memory"} else "degraded"
    if checks["database"] != "ok":
        status = "down"
    response = jsonify(status=status, checks=checks)
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


def _rate_limit_storage() -> str:
    if current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return "memory"
    try:
        return "ok" if limiter.storage.check() else "down"
    except Exception:
        return "down"
