"""The Flask binding of ``stickerreg.db``: one engine per app, one session per request on
``g.db``. Views own the transaction: they commit once; whatever they leave is rolled back."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlmodel import Session

from stickerreg.db import make_engine


def open_request_session() -> None:
    """g.db for this request. Sessions are lazy: no connection until the first query."""
    g.db = Session(current_app.extensions["db_engine"], expire_on_commit=False)


def close_request_session(_error: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()  # rolls back anything the view did not commit


def init_app(app: Flask) -> None:
    """Engine per app and a session per request. Registered before any extension's hooks,
    so even a request refused early (CSRF) can render its error page."""
    app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"], pool_size=app.config["DB_POOL_SIZE"],
                                              max_overflow=app.config["DB_MAX_OVERFLOW"])
    app.before_request(open_request_session)
    app.teardown_appcontext(close_request_session)
