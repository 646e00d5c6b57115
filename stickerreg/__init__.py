"""Stickerreg: found-item stickers with an anonymous finder-to-owner relay."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from stickerreg import config as settings
from stickerreg import i18n, logs, passwords
from stickerreg.extensions import babel, csrf, limiter, login_manager
from stickerreg.web import database


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
    settings.check(app.config, debug=app.debug)
    passwords.configure(settings.password_hash_cost(app.config))
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    public_https = app.config["PUBLIC_BASE_URL"].startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = public_https
    app.config["PREFERRED_URL_SCHEME"] = "https" if public_https else "http"
    database.init_app(app)  # first: even a request refused by an extension gets g.db
    # Next, so requests the extensions refuse are counted too; only with METRICS_TOKEN set.
    # Imported here, not at the top: every `import stickerreg.<module>` runs this file, and
    # only an app needs Prometheus.
    from stickerreg import metrics

    metrics.init_app(app)

    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    _register_blueprints(app)
    logs.init_logging((rule.rule for rule in app.url_map.iter_rules()), log_format=app.config["LOG_FORMAT"])
    return app


def _register_blueprints(app: Flask) -> None:
    """Every audience's blueprint, the shared page helpers, error pages and commands.
    Imported here, not at the top: blueprints build forms and routes at import, and this
    is the one module that knows them all (nothing else imports a blueprint)."""
    import kiosk
    from stickerreg import cli
    from stickerreg.web import (
        about,
        account,
        admin,
        api,
        auth,
        bankid,
        crm,
        errors,
        finder,
        health,
        pages,
        printshop,
        sales,
        sessions,
    )

    pages.init_app(app)
    sessions.init_app(app)
    app.register_blueprint(finder.bp)
    app.register_blueprint(about.bp)  # about, privacy and contact: linked from every footer
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(bankid.bp)  # hidden (404) unless BANKID_URL is set
    app.register_blueprint(printshop.bp)  # 404 to everyone but print-shop staff and admins
    app.register_blueprint(admin.bp)  # 404 to everyone but admins
    app.register_blueprint(crm.bp)  # 404 to everyone but customer service and admins
    app.register_blueprint(sales.bp)  # 404 to everyone but sales and admins
    app.register_blueprint(kiosk.bp)  # paired desk screens; they are kept inside /kiosk
    # The cookie page lists the kiosk's device cookie; only this module may import the kiosk.
    app.config.update(KIOSK_DEVICE_COOKIE=kiosk.DEVICE_COOKIE, KIOSK_DEVICE_COOKIE_AGE=kiosk.DEVICE_COOKIE_AGE)
    app.register_blueprint(health.bp)  # /healthz and /readyz for load balancers
    app.register_blueprint(api.bp)  # /api/v1 for partners, bearer API keys only
    errors.init_app(app)
    cli.init_app(app)
