"""The customer's account area: stickers and sets, finder conversations, items handed in
at a desk, profile.

One blueprint, split into modules by topic; every route requires a signed-in customer
and reaches owned objects only through get_owned_or_404.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, g, session
from flask_login import current_user
from sqlmodel import Session

from stickerreg.extensions import login_manager
from stickerreg.models import User
from stickerreg.services.stickers import owned_by
from stickerreg.web.pages import private_page, render

bp = Blueprint("account", __name__, url_prefix="/account")
# Session key: codes of a set claimed just now, highlighted once on the dashboard.
JUST_CLAIMED = "account_just_claimed"


@bp.before_request
def require_login():
    """Everything here is private to a signed-in customer."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    g.user = current_user.user
    return None


bp.after_request(private_page)


def count_once(name: str, count: Callable[[Session, User], int]) -> Callable[[], int]:
    """A template function for the account navigation: `count` for the signed-in customer,
    queried only when a page asks, and once per request (kept in `g` under `name`)."""

    def counted() -> int:
        if name not in g:
            setattr(g, name, count(g.db, g.user) if g.get("user") else 0)
        return g.get(name)

    return counted


@bp.get("/")
def dashboard():
    """The customer's stickers at a glance (a set claimed just now is highlighted once)."""
    just_claimed = set(session.pop(JUST_CLAIMED, []))
    return render("account/dashboard.html", stickers=owned_by(g.db, g.user), just_claimed=just_claimed)


from stickerreg.web.account import (  # noqa: E402,F401  (routes)
    blocking,
    cards,
    conversations,
    devices,
    fire,
    handed_in,
    idprotect,
    privacy,
    profile,
    services,
    stickers,
)
