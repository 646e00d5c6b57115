"""The customer's account area: stickers and sets, finder conversations, profile.

One blueprint, split into modules by topic; every route requires a signed-in customer
and reaches owned objects only through get_owned_or_404.
"""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user

from stickerreg.extensions import login_manager
from stickerreg.services import stickers
from stickerreg.web import render

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
def require_login():
    """Everything here is private to a signed-in customer."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    g.user = current_user.user
    return None


@bp.after_request
def private(response):
    """Account pages hold personal data: never cached, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/")
def dashboard():
    """The customer's stickers at a glance."""
    return render("account/dashboard.html", stickers=stickers.owned_by(g.db, g.user))


from stickerreg.web.account import conversations, profile, sticker_pages  # noqa: E402,F401  (routes)
