"""Keep secrets out of access logs: finder and kiosk pairing links carry a capability token
in the path."""

from __future__ import annotations

import logging
import re

# Finder links (/c/<token>) and kiosk pairing links (/kiosk/pair/<token>).
_TOKEN_PATH = re.compile(r"(/c/|/kiosk/pair/)[A-Za-z0-9_\-]+")


class RedactTokens(logging.Filter):
    """Replace conversation tokens in log lines with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_PATH.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def init_logging() -> None:
    """Attach the redaction filter to the request log (idempotent)."""
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTokens) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(RedactTokens())
