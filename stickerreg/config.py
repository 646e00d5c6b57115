"""Configuration from the environment: one place that reads os.environ."""

from __future__ import annotations

import os
from pathlib import Path

from stickerreg.passwords import PRODUCTION, HashCost

DEV_SECRET_KEY = "dev-only-secret-key-never-in-production"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("STICKERREG_INSTANCE", PROJECT_ROOT / "instance"))


class InsecureConfigError(RuntimeError):
    """Raised when the app would start outside debug and testing with a setting only fit
    for them (the development secret key, cheap password hashing)."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def secret_key_file() -> Path:
    """Where `make run` keeps the generated key (mode 600)."""
    return INSTANCE_DIR / "secret_key"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else the instance's key file (so every `flask`
    command finds the key `make run` made), else the development key."""
    from_environment = _env("SECRET_KEY")
    if from_environment:
        return from_environment
    try:
        return secret_key_file().read_text(encoding="utf-8").strip() or DEV_SECRET_KEY
    except OSError:
        return DEV_SECRET_KEY


def from_env() -> dict:
    """Read every setting the app knows from environment variables."""
    return {
        "SECRET_KEY": _secret_key(),
        "DATABASE_URL": _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'stickerreg.sqlite3'}"),
        "SMTP_URL": _env("SMTP_URL"),
        "MAIL_FROM": _env("MAIL_FROM", "Stickerreg <no-reply@stickerreg.se>"),
        "MAIL_DIR": _env("MAIL_DIR", str(INSTANCE_DIR / "mail")),
        # Where customers and finders reach a person (the contact and privacy pages show it).
        "SUPPORT_EMAIL": _env("SUPPORT_EMAIL", "kundservice@stickerreg.se"),
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Set explicitly so Flask-Limiter never silently falls back (it warns if unset).
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        # Number of reverse proxies in front of the app whose X-Forwarded-For we trust.
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", "0")),
        # BankID (RP API v6): unset URL = BankID hidden everywhere. The base URL without
        # /rp/v6.0, e.g. https://appapi2.test.bankid.com; PEM files for mutual TLS.
        "BANKID_URL": _env("BANKID_URL"),
        "BANKID_CERT": _env("BANKID_CERT"),
        "BANKID_KEY": _env("BANKID_KEY"),
        "BANKID_CA": _env("BANKID_CA"),
        # Seconds without a touch or key press before a kiosk clears itself for the next person.
        "KIOSK_IDLE_SECONDS": int(_env("KIOSK_IDLE_SECONDS", "60")),
        # A signed-in browser is signed out after this long without a request, and after
        # the longest lifetime whatever it does (the server-side session row is deleted).
        "SESSION_IDLE_HOURS": float(_env("SESSION_IDLE_HOURS", str(7 * 24))),
        "SESSION_LONGEST_HOURS": float(_env("SESSION_LONGEST_HOURS", str(30 * 24))),
        # argon2id cost for passwords and desk PINs; below OWASP's minimum only when TESTING.
        "PASSWORD_HASH_TIME_COST": int(_env("PASSWORD_HASH_TIME_COST", str(PRODUCTION.time_cost))),
        "PASSWORD_HASH_MEMORY_KIB": int(_env("PASSWORD_HASH_MEMORY_KIB", str(PRODUCTION.memory_kib))),
        "PASSWORD_HASH_PARALLELISM": int(_env("PASSWORD_HASH_PARALLELISM", str(PRODUCTION.parallelism))),
        **retention_periods(),
    }


# How long `flask retention run` keeps each kind of record, in days (the privacy page shows
# them). Each is overridable by the environment variable of the same name.
RETENTION_DEFAULTS = {
    # A finder's conversation that ended (item returned, blocked, or for a code nobody owns),
    # counted from its last message: long enough for a late "thanks" or a dispute.
    "RETENTION_CLOSED_CONVERSATION_DAYS": 90,
    # Sent scan alerts (the time a lost sticker was scanned) and when its last alert went out.
    "RETENTION_SCAN_DAYS": 30,
    # Emails already sent or cancelled: the outbox row (ids, sometimes an address) is only a
    # record that the mail went.
    "RETENTION_SENT_EMAIL_DAYS": 30,
    # Credit inquiries for a personnummer no customer has proved: kept for admins this long.
    "RETENTION_UNMATCHED_IDPROTECT_DAYS": 90,
    # The photo of a handed-in item, once the item is collected.
    "RETENTION_HANDED_IN_PHOTO_DAYS": 30,
    # Imported marketing leads (services.registers decides what "finished" means).
    "LEAD_RETENTION_DAYS": 90,
}


def retention_periods() -> dict[str, int]:
    """The retention periods in days, from the environment or RETENTION_DEFAULTS."""
    return {name: int(_env(name, str(default))) for name, default in RETENTION_DEFAULTS.items()}


def lead_retention_days() -> int:
    """Days an imported lead is kept (LEAD_RETENTION_DAYS); services.registers reads it."""
    return retention_periods()["LEAD_RETENTION_DAYS"]


def defaults() -> dict:
    """Settings that are not read from the environment."""
    return {
        "MAX_CONTENT_LENGTH": 64 * 1024,  # finder forms are small; anything bigger is refused
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "LANGUAGES": ("sv", "en"),
        "WTF_CSRF_TIME_LIMIT": 4 * 3600,
        # Finder pages send no Referer at all (privacy), so Flask-WTF's strict Referer
        # check on HTTPS would reject honest forms; the token and SameSite cookie remain.
        "WTF_CSRF_SSL_STRICT": False,
        "RATELIMIT_HEADERS_ENABLED": False,
        # Always explicit: the limiter is shared by every app in a process and would
        # otherwise keep the last app's choice.
        "RATELIMIT_ENABLED": True,
        # A Redis outage must not take the site down: the limits go on in this process's
        # memory (Flask-Limiter logs the switch) until Redis answers again, and /readyz says
        # so. Short timeouts, so a hung Redis costs a request half a second, not a minute.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "OUTBOX_MAX_ATTEMPTS": 6,
    }


def password_hash_cost(config: dict) -> HashCost:
    """The argon2id parameters the settings ask for."""
    return HashCost(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_kib=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=config["PASSWORD_HASH_PARALLELISM"],
    )


def check(config: dict, *, debug: bool) -> None:
    """Refuse to run outside debug and testing with the development secret key, and
    outside testing with password hashing below the minimum."""
    if config.get("SECRET_KEY") == DEV_SECRET_KEY and not (debug or config.get("TESTING")):
        raise InsecureConfigError(
            "SECRET_KEY is the development default: set SECRET_KEY in the environment, "
            f"or run `make run` once, which writes {secret_key_file()}."
        )
    if not password_hash_cost(config).is_strong() and not config.get("TESTING"):
        raise InsecureConfigError(
            "PASSWORD_HASH_* is below argon2id's minimum (2 passes, 19 MiB); cheap hashing is for tests only."
        )
