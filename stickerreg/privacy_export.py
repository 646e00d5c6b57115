"""A customer's data export as the file they download: data.json and summary.html (in their
language) in one ZIP. Shared by the account page, the admin area and `flask privacy export`, so
all three give the same file; the data itself comes from services.privacy."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale, format_datetime
from sqlmodel import Session

from stickerreg.models import User
from stickerreg.services import privacy

SUMMARY_TEMPLATE = "account/privacy_summary.html"
# The download's name: nothing personal (it ends up in download lists and shell histories).
FILENAME = "stickerreg-data.zip"


def export_zip(session: Session, user: User, *, actor: User | None = None, role: str | None = None) -> bytes:
    """The ZIP for `user`, audited as an export by `actor` (the system when None)."""
    data = privacy.export(session, user, actor=actor, role=role)
    return privacy.zip_export(data, summary_html(data, locale=user.locale))


def summary_html(data: dict, *, locale: str) -> str:
    """The readable summary of `data` in `locale`, in a request or outside one (the CLI)."""
    if has_request_context():
        return _render(data, locale)
    with current_app.test_request_context("/", base_url=current_app.config["PUBLIC_BASE_URL"]):
        return _render(data, locale)


def _render(data: dict, locale: str) -> str:
    with force_locale(locale):
        return render_template(SUMMARY_TEMPLATE, data=data, locale=locale, when=_when)


def _when(text: str | None) -> str:
    """An export's ISO time as the reader writes it, in Stockholm time."""
    return format_datetime(datetime.fromisoformat(text), "medium") if text else ""
