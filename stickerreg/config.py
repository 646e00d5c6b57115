"""Configuration from the environment: one place that reads os.environ."""

from __future__ import annotations

import os
import re
from pathlib import Path

from stickerreg.passwords import PRODUCTION, HashCost

DEV_SECRET_KEY = "dev-only-secret-key-never-in-production"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("STICKERREG_INSTANCE", PROJECT_ROOT / "instance"))


class InsecureConfigError(RuntimeError):
    """Raised when the app would start outside debug and testing with a setting only fit
    for them (the development secret key, cheap password hashing)."""


class ConfigError(ValueError):
    """A setting the app cannot use; the message names the variable and what it accepts."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(name: str, default: bool) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off, any case."""
    value = _env(name)
    if value is None:
        return default
    if value.strip().lower() not in _TRUE + _FALSE:
        raise ConfigError(f"{name}={value!r}: use one of {', '.join(_TRUE + _FALSE)}.")
    return value.strip().lower() in _TRUE


def _whole_number(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: use a whole number.") from None


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
        # Always explicit: the limiter is shared by every app in a process and would
        # otherwise keep the last app's choice. Off only for a load test or an emergency.
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        **rate_limits(),
        # SQLAlchemy's connection pool, per process (each gunicorn worker has its own): kept
        # open, and how many more may open under a burst. PostgreSQL's max_connections must
        # cover (DB_POOL_SIZE + DB_MAX_OVERFLOW) × processes.
        "DB_POOL_SIZE": _whole_number("DB_POOL_SIZE", 5),
        "DB_MAX_OVERFLOW": _whole_number("DB_MAX_OVERFLOW", 10),
        # Threads a `flask worker` process runs for its duties.
        "WORKER_THREADS": _whole_number("WORKER_THREADS", 1),
        # How long a worker's claim on a batch of emails lasts: the emails of a worker that
        # died are sent by another this long after it claimed them. It starts no send in the
        # claim's second half, so a slow mail server can't make it outlive the claim.
        "OUTBOX_LEASE_SECONDS": _whole_number("OUTBOX_LEASE_SECONDS", 120),
        # Log lines as plain text, or as one JSON object each for a log collector; tokens and
        # personal values are redacted either way (stickerreg.logs).
        "LOG_FORMAT": _env("LOG_FORMAT", "text"),
        # Prometheus metrics (stickerreg.metrics): GET /metrics answers only a request with
        # "Authorization: Bearer <METRICS_TOKEN>", and without the token there is no such page.
        # METRICS_PORT (0: none) has `flask worker` serve its own on 127.0.0.1, without a token.
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        "METRICS_PORT": _whole_number("METRICS_PORT", 0),
        # prometheus_client's multiprocess mode (gunicorn's workers add up their counts there);
        # prometheus_client reads the variable itself, this is what the app checks and reports.
        "PROMETHEUS_MULTIPROC_DIR": prometheus_multiproc_dir(),
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


def prometheus_multiproc_dir() -> str | None:
    """The folder of prometheus_client's multiprocess mode, or None when it is off."""
    return _env("PROMETHEUS_MULTIPROC_DIR")


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
        # A Redis outage must not take the site down: the limits go on in this process's
        # memory (Flask-Limiter logs the switch) until Redis answers again, and /readyz says
        # so. Short timeouts, so a hung Redis costs a request half a second, not a minute.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "OUTBOX_MAX_ATTEMPTS": 6,
    }


# Every rate limit, in Flask-Limiter's notation ("5 per 10 minutes"; several joined by ";"),
# each overridable by the environment variable of the same name. Per client address unless
# the name says otherwise; most count only failed or accepted attempts (see each view).
RATE_LIMITS = {
    # Finders: every sticker page, ID lookup and private-link page (shared by them).
    "RATELIMIT_FINDER_LOOKUP": "30 per minute",
    # Messages a finder sends, per client and per sticker, and replies on a private link.
    "RATELIMIT_FINDER_MESSAGE": "5 per 10 minutes",
    "RATELIMIT_FINDER_MESSAGE_PER_STICKER": "3 per 10 minutes",
    "RATELIMIT_FINDER_REPLY": "10 per 10 minutes",
    # Accounts: sign-up, failed sign-ins (per client and per account), reset requests, the
    # mailed links (verify, reset, email change) and changing the email address.
    "RATELIMIT_SIGNUP": "10 per hour",
    "RATELIMIT_SIGNIN": "20 per 15 minutes",
    "RATELIMIT_SIGNIN_PER_ACCOUNT": "5 per 15 minutes",
    "RATELIMIT_RESET": "10 per hour",
    "RATELIMIT_MAILED_LINK": "30 per hour",
    "RATELIMIT_EMAIL_CHANGE": "10 per hour",
    # Claiming a set with its activation code (failed attempts), per client and per account.
    "RATELIMIT_CLAIM": "10 per hour",
    "RATELIMIT_CLAIM_PER_ACCOUNT": "10 per hour",
    # A customer's data export and erasure (wrong passwords).
    "RATELIMIT_PRIVACY_EXPORT": "20 per hour",
    "RATELIMIT_ERASE": "10 per hour",
    # BankID: starting an order, and polling it.
    "RATELIMIT_BANKID_START": "10 per 10 minutes",
    "RATELIMIT_BANKID_STATUS": "120 per minute",
    # Partner API: failed key checks per client; calls per key.
    "RATELIMIT_API_FAILED_AUTH": "20 per minute",
    "RATELIMIT_API_IDPROTECT": "600 per minute",
    "RATELIMIT_API_FIRE": "120 per minute",
    # Kiosks: pairing links tried (unknown ones), per screen the hand-in form and hand-ins,
    # wrong staff PINs, wrong pickup codes (per screen and per desk).
    "RATELIMIT_KIOSK_PAIR": "20 per hour",
    "RATELIMIT_KIOSK_HAND_IN_FORM": "60 per minute",
    "RATELIMIT_KIOSK_HAND_IN": "30 per hour",
    "RATELIMIT_KIOSK_STAFF_PIN": "5 per 15 minutes",
    "RATELIMIT_KIOSK_PICKUP": "5 per 15 minutes",
    "RATELIMIT_KIOSK_PICKUP_PER_DESK": "30 per day",
}
LOG_FORMATS = ("text", "json")


def rate_limits() -> dict[str, str]:
    """Each rate limit from the environment, or its default in RATE_LIMITS."""
    return {name: _env(name, default) for name, default in RATE_LIMITS.items()}


def validate(config: dict) -> None:
    """Refuse settings the app can't use (from the environment or create_app's overrides),
    naming the variable and what it accepts."""
    from limits import parse_many  # Flask-Limiter's own parser: what it accepts, we accept

    for name in RATE_LIMITS:
        try:
            parse_many(config[name])
        except (ValueError, TypeError):
            raise ConfigError(f"{name}={config[name]!r}: use a rate limit such as \"5 per 10 minutes\" "
                              "or \"30/minute\" (several joined by \";\").") from None
    if not isinstance(config["RATELIMIT_ENABLED"], bool):
        raise ConfigError(f"RATELIMIT_ENABLED={config['RATELIMIT_ENABLED']!r}: use true or false.")
    for name, least in (("DB_POOL_SIZE", 1), ("DB_MAX_OVERFLOW", 0), ("WORKER_THREADS", 1),
                        ("OUTBOX_LEASE_SECONDS", 10)):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(f"{name}={value!r}: use a whole number of at least {least}.")
    if config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT={config['LOG_FORMAT']!r}: use one of {', '.join(LOG_FORMATS)}.")
    _validate_metrics(config)


METRICS_TOKEN_MIN = 32  # characters: about 190 bits from secrets.token_urlsafe(32)
_TOKEN_CHARACTERS = re.compile(r"[!-~]+")  # printable ASCII, no spaces: it travels in a header


def _validate_metrics(config: dict) -> None:
    token, port, folder = config["METRICS_TOKEN"], config["METRICS_PORT"], config["PROMETHEUS_MULTIPROC_DIR"]
    if token and not (isinstance(token, str) and _TOKEN_CHARACTERS.fullmatch(token)):  # "" or None: no metrics
        raise ConfigError("METRICS_TOKEN: use printable ASCII without spaces, e.g. the output of "
                          "python -c 'import secrets; print(secrets.token_urlsafe(32))'.")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"METRICS_PORT={port!r}: use a port number from 1 to 65535, or 0 for none.")
    if folder is not None and not Path(folder).is_dir():
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR={folder!r}: no such folder; create it (empty) before the "
                          "processes start.")


def password_hash_cost(config: dict) -> HashCost:
    """The argon2id parameters the settings ask for."""
    return HashCost(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_kib=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=config["PASSWORD_HASH_PARALLELISM"],
    )


def check(config: dict, *, debug: bool) -> None:
    """Refuse settings the app can't use (see `validate`); refuse to run outside debug and
    testing with the development secret key, and outside testing with password hashing
    below the minimum."""
    validate(config)
    if config.get("SECRET_KEY") == DEV_SECRET_KEY and not (debug or config.get("TESTING")):
        raise InsecureConfigError(
            "SECRET_KEY is the development default: set SECRET_KEY in the environment, "
            f"or run `make run` once, which writes {secret_key_file()}."
        )
    token = config.get("METRICS_TOKEN")
    if token and len(token) < METRICS_TOKEN_MIN and not (debug or config.get("TESTING")):
        raise InsecureConfigError(
            f"METRICS_TOKEN has {len(token)} characters: use at least {METRICS_TOKEN_MIN} random ones, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )
    if not password_hash_cost(config).is_strong() and not config.get("TESTING"):
        raise InsecureConfigError(
            "PASSWORD_HASH_* is below argon2id's minimum (2 passes, 19 MiB); cheap hashing is for tests only."
        )
