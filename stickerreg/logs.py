"""Keep capability tokens, customer numbers and personal query values out of every log line.

Reset, verification and email-change links, a finder's conversation link and a kiosk's
pairing link carry a token in their path: whoever reads a log line with one can use it. The
alarm centres' API takes a customer number in its query (`?customer=`), which names a person.
One place redacts both for every logger in the process (Werkzeug's and gunicorn's request
logs, the app's own, any library's): a log-record factory rewrites each record's message
as it is created, before any handler, filter or formatter sees it.

LOG_FORMAT=json writes each record as one JSON object per line (JsonFormatter), for a log
collector; its message and any traceback are redacted the same way.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "[redacted]"
# The paths whose next segment is a token. create_app adds every route of the URL map that
# has a <token> (tests/web/test_logs.py checks both agree); these cover a process that logs
# before any app exists.
TOKEN_PATHS = ("/c/", "/kiosk/pair/", "/auth/verify/", "/auth/reset/", "/auth/email/")
# Paths whose next segment names a person (a customer number in a staff URL).
PERSONAL_PATHS = ("/crm/customers/", "/admin/customers/", "/admin/users/")
_SEGMENT = r"[^/?#\s\"']+"
# Query parameters whose value is personal data: the value is redacted wherever it is logged.
PRIVATE_QUERY = ("customer",)
_private_query = re.compile(r"([?&](?:" + "|".join(PRIVATE_QUERY) + r")=)[^&#\s\"']*")


def _pattern(prefixes: Iterable[str]) -> re.Pattern:
    longest_first = sorted(set(prefixes), key=len, reverse=True)
    return re.compile("(" + "|".join(re.escape(prefix) for prefix in longest_first) + ")" + _SEGMENT)


_token_path = _pattern(TOKEN_PATHS + PERSONAL_PATHS)


def redact(text: str) -> str:
    """`text` with every token path segment and private query value replaced by [redacted]."""
    return _private_query.sub(r"\1" + REDACTED, _token_path.sub(r"\1" + REDACTED, text))


def token_paths(rules: Iterable[str]) -> set[str]:
    """The path prefixes of URL rules that carry a token: '/auth/reset/<token>' → '/auth/reset/'."""
    return {rule.split("<token>")[0] for rule in rules if "<token>" in rule}


class RedactTokens(logging.Filter):
    """A filter for handlers outside this process's record factory (it redacts the same way)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is the logging module's to report, not ours
        return
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, ()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message and, when the
    record has one, the exception with its traceback. Every text is redacted again here, so a
    traceback quoting a link (or a record made before init_logging) leaks nothing either."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


# Loggers whose handlers are not the root's: gunicorn's error and access logs, Werkzeug's.
_OWN_HANDLERS = ("gunicorn.error", "gunicorn.access", "werkzeug")


def use_format(log_format: str) -> None:
    """LOG_FORMAT: "text" leaves every handler as it is; "json" gives every handler of the root
    logger and of gunicorn's and Werkzeug's loggers the JSON formatter (adding one to standard
    error for the root logger when it has none). Gunicorn's master process keeps its own format:
    only the workers load the app."""
    if log_format != "json":
        return
    formatter = JsonFormatter()
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        werkzeug = logging.getLogger("werkzeug")
        if werkzeug.level == logging.NOTSET:
            werkzeug.setLevel(logging.INFO)  # its request log, which it shows when root has no handler
    for logger in (root, *map(logging.getLogger, _OWN_HANDLERS)):
        for handler in logger.handlers:
            handler.setFormatter(formatter)


def init_logging(rules: Iterable[str] = (), log_format: str = "text") -> None:
    """Redact token paths in every log record of this process, including those of the
    routes in `rules` (the app's URL rules), and write records in `log_format` (see
    use_format). Idempotent."""
    global _token_path
    _token_path = _pattern({*TOKEN_PATHS, *PERSONAL_PATHS, *token_paths(rules)})
    use_format(log_format)
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts_tokens", False):
        return

    def make_redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_record(record)
        return record

    make_redacted_record.redacts_tokens = True
    logging.setLogRecordFactory(make_redacted_record)
