"""Keep capability tokens, customer numbers and personal query values out of every log line.

Reset, verification and email-change links, a finder's conversation link and a kiosk's
pairing link carry a token in their path: whoever reads a log line with one can use it. The
alarm centres' API takes a customer number in its query (`?customer=`), which names a person.
One place redacts both for every logger in the process (Werkzeug's and gunicorn's request
logs, the app's own, any library's): a log-record factory rewrites each record's message
as it is created, before any handler, filter or formatter sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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


def init_logging(rules: Iterable[str] = ()) -> None:
    """Redact token paths in every log record of this process, including those of the
    routes in `rules` (the app's URL rules). Idempotent."""
    global _token_path
    _token_path = _pattern({*TOKEN_PATHS, *PERSONAL_PATHS, *token_paths(rules)})
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "redacts_tokens", False):
        return

    def make_redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_record(record)
        return record

    make_redacted_record.redacts_tokens = True
    logging.setLogRecordFactory(make_redacted_record)
