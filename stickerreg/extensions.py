"""Flask extensions, created once and bound to each app in create_app."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect


class AppLimiter(Limiter):
    """Flask-Limiter's limiter, where each app bound to it starts with its storage taken as
    working. The limiter is one object for every app in the process (a test run makes an app
    per test): without this, an app that saw Redis go away (the limits then count in memory)
    left the next apps counting in memory too, until a back-off check found a storage again."""

    def init_app(self, app) -> None:
        super().init_app(app)
        self._storage_dead = False


csrf = CSRFProtect()
babel = Babel()
# Per-client limits key on the remote address (ProxyFix makes it the real one behind a proxy).
limiter = AppLimiter(key_func=get_remote_address)
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
