"""One handler per status: a friendly page for people, problem+json for the API."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from stickerreg.web.crossorigin import CrossSiteRequest
from stickerreg.web.pages import is_htmx
from stickerreg.web.sessions import hides_staff_area

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    # Built per call so each text is translated into the current request's language.
    return {
        400: (_("Something was wrong with the request"), _("Please go back and try again.")),
        403: (_("Not allowed"), _("This action is not available to you.")),
        404: (_("Page not found"), _("Check the address, or start again from the front page.")),
        405: (_("Not allowed"), _("This page can't be used that way.")),
        413: (_("Too large"), _("What you sent is too large. Shorten the text or use a smaller photo.")),
        422: (_("Please check the form"), _("Some fields need another look.")),
        429: (
            _("Slow down a little"),
            _("Too many attempts in a short time. Wait a few minutes and try again."),
        ),
        500: (_("Something went wrong on our side"), _("We've been notified about the problem. Please try again later.")),
    }


def wants_json() -> bool:
    """API clients get problem+json; browsers get a page."""
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def problem(status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **members) -> Response:
    """A problem+json answer (RFC 9457): every error the API gives, `members` adding fields."""
    response = jsonify(type="about:blank", title=title, status=status, detail=detail, **members)
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers.update(headers or {})
    return response


def handle_http_error(error: HTTPException):
    """Render any HTTP error in the client's format and language."""
    if isinstance(error, MethodNotAllowed) and hides_staff_area(request.path):
        error = NotFound()  # the router's 405 would give a hidden staff route away
    status = error.code or 500
    title, detail = _messages().get(status, (error.name, ""))
    if isinstance(error, CSRFError):
        title = _("This form has expired")
        detail = _("For your security, this form must be sent from this site within a few hours of opening it. Reload the page and try again.")
    if isinstance(error, CrossSiteRequest):
        title = _("Send it from the sticker's own page")
        detail = _("This form was sent from another website. Open the sticker's page on Stickerreg and send your message there.")
    if wants_json():
        return problem(status, title, detail)
    if request.path.startswith("/kiosk/"):  # a kiosk's own screen, with its way back to the start
        template = "kiosk/_error.html" if is_htmx() else "kiosk/page.html"
        return render_template(template, screen="error", status=status, title=title, detail=detail), status
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    return render_template(template, status=status, title=title, detail=detail), status


def handle_unexpected(error: Exception):
    """Log the failure (without request data) and answer with a friendly 500."""
    log.exception("unhandled error on %s %s", request.method, request.endpoint)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    """Install the handlers on the app."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
