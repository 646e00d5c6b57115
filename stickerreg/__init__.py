"""Stickerreg: found-item stickers with an anonymous finder-to-owner relay."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from stickerreg import config as settings
from stickerreg import db, i18n, logs
from stickerreg.extensions import babel, csrf, limiter, login_manager


def create_app(config: dict | None = None) -> Flask:
    """The only app factory: settings from the environment, overridden by `config`."""
    app = Flask(
        __name__,
        template_folder=str(settings.PROJECT_ROOT / "templates"),
        static_folder=str(settings.PROJECT_ROOT / "static"),
        instance_path=str(settings.INSTANCE_DIR),
    )
    app.config.update(settings.defaults())
    app.config.update(settings.from_env())
    app.config.update(config or {})
    settings.check_secret(app.config, debug=app.debug)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    public_https = app.config["PUBLIC_BASE_URL"].startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = public_https
    app.config["PREFERRED_URL_SCHEME"] = "https" if public_https else "http"
    db.init_app(app)

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    logs.init_logging()

    from stickerreg import cli, web

    web.register(app)
    cli.register(app)
    return app
