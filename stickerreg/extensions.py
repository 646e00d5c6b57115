"""Flask extensions, created once and bound to each app in create_app."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import current_app
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage

csrf = CSRFProtect()
babel = Babel()
# Per-client limits key on the remote address (ProxyFix makes it the real one behind a proxy).
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
# Shown on the sign-in page a private page sent someone to: information, in their language.
login_manager.login_message = _l("Sign in to see that page.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


def configured(setting: str) -> Callable[[], str]:
    """A rate limit read from the app's settings when a request is checked, so an operator
    sets it in the environment (config.RATE_LIMITS names each, with its default):
    `@limiter.limit(configured("RATELIMIT_SIGNUP"))`."""

    def limit() -> str:
        return current_app.config[setting]

    limit.__name__ = setting
    return limit


class SweepingMemoryStorage(MemoryStorage):
    """The limits library's in-process storage (RATELIMIT_STORAGE_URI=memory://, the default)
    without its expiry thread. The library's own starts a new thread 10 ms after any counter
    changed whose previous one has ended, and each sweeps every key: under load, a thread start
    every few requests, and a sync worker waits until the new thread has run. Here the request
    that finds a sweep due does it itself, at most every SWEEP_SECONDS; a counter is dropped
    when it is read after its window ended either way (the library does that on reading), so
    limits count exactly as before and only the memory of long-gone keys is freed later.

    Registered for the "memory" scheme, so Flask-Limiter builds it from the setting as it built
    the library's. Should the library rename the two methods used here, the subclass falls back
    to the library's behaviour (its thread), which is correct, only slower."""

    STORAGE_SCHEME = ["memory"]
    SWEEP_SECONDS = 10.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one the library starts at once
        self.next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self.next_sweep:
            self.next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()
