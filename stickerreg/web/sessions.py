"""Signed-in browsers: the Flask-Login principal, signing in and out, the browsers an
account's owner is known to use, and the staff areas only some roles see. Shared by the auth
and BankID sign-ins, the staff blueprints and the kiosk's pairing (a kiosk is nobody's
signed-in browser)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import timedelta

from flask import Blueprint, Flask, abort, after_this_request, current_app, g, request, session, url_for
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlmodel import Session

from stickerreg.extensions import csrf, login_manager
from stickerreg.models import Role, User
from stickerreg.services import accounts, audit


class Principal(UserMixin):
    """The signed-in user together with the session token their cookie carries."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:
        return self.token


def load_principal(token: str) -> Principal | None:
    """A cookie is only as good as its server-side session row, while that lives. The check
    runs in a transaction of its own: it may end an expired session or note a use, and
    must not commit (or be rolled back with) whatever the view is doing."""
    with Session(current_app.extensions["db_engine"], expire_on_commit=False) as db:
        user = accounts.user_for_session(db, token, lifetime=_session_lifetime())
        db.commit()
    return Principal(g.db.get(User, user.id), token) if user else None


def _session_lifetime() -> accounts.SessionLifetime:
    config = current_app.config
    return accounts.SessionLifetime(idle=timedelta(hours=config["SESSION_IDLE_HOURS"]),
                                    longest=timedelta(hours=config["SESSION_LONGEST_HOURS"]))


def init_app(app: Flask) -> None:
    """Flask-Login finds the signed-in user through the session row its cookie names, at
    the start of every request: the check may write in a transaction of its own, which on
    SQLite must never wait behind a view's unfinished one."""
    login_manager.user_loader(load_principal)
    app.before_request(_check_session)


def _check_session() -> None:
    current_user.is_authenticated  # noqa: B018  (loads the principal now, not mid-view)


# Where each role starts after signing in: staff land on their own portal, not on an empty
# customer page. Everyone else (customers) starts at their stickers.
HOME_ENDPOINTS = {Role.ADMIN: "admin.index", Role.PRINTSHOP: "printshop.index",
                  Role.CUSTOMER_SERVICE: "crm.index", Role.SALES: "sales.index"}


def home_url(user: User) -> str:
    """The page a user lands on after signing in (unless a `next` page asked for sign-in)."""
    return url_for(HOME_ENDPOINTS.get(user.role, "account.dashboard"))


def sign_in(user: User, *, method: str) -> None:
    """Start a fresh session: the old cookie's contents are dropped (no fixation). The
    browser is remembered as one the owner uses (see `remember_browser`)."""
    token = accounts.start_session(g.db, user, method=method)
    g.db.commit()
    session.clear()
    login_user(Principal(user, token))
    remember_browser(user)


# A browser the owner has signed in with (or reset the password from) keeps a mark of the
# account: the per-account sign-in limit does not apply to it, so a stranger who uses up
# that limit with wrong passwords locks out other strangers, never the owner at home. A
# mark is a keyed digest of the address: it reveals nothing and can't be made without the
# key. Strictly necessary for signing in safely, so it needs no consent.
KNOWN_BROWSER_COOKIE = "known_browser"
KNOWN_BROWSER_AGE = 365 * 24 * 3600
KNOWN_ACCOUNTS_MAX = 5  # a shared family computer


def _account_mark(typed_email: str | None) -> str:
    identity = accounts.sign_in_identity(typed_email)
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"known-browser\x00" + identity.encode(), "sha256").hexdigest()[:32]


def _known_marks() -> list[str]:
    return (request.cookies.get(KNOWN_BROWSER_COOKIE) or "").split(".")[:KNOWN_ACCOUNTS_MAX]


def is_known_browser_for(typed_email: str | None) -> bool:
    """True when this browser has signed in to (or reset) the account at this address."""
    mark = _account_mark(typed_email)
    return any(hmac.compare_digest(mark, known) for known in _known_marks())


def remember_browser(user: User) -> None:
    """Mark this browser as one the owner of `user` uses, on the response to this request."""
    mark = _account_mark(user.email)
    marks = [mark, *(known for known in _known_marks() if known and known != mark)][:KNOWN_ACCOUNTS_MAX]

    @after_this_request
    def set_mark(response):
        response.set_cookie(KNOWN_BROWSER_COOKIE, ".".join(marks), max_age=KNOWN_BROWSER_AGE, httponly=True,
                            samesite="Lax", secure=request.is_secure)
        return response


def sign_out() -> None:
    """End this browser's session on the server (a copied cookie is useless) and here."""
    if current_user.is_authenticated:
        accounts.end_session(g.db, current_user.token)
        g.db.commit()
    logout_user()
    session.clear()


# URL prefix → the roles that may see it; see staff_area.
_STAFF_AREAS: dict[str, frozenset[str]] = {}
# Staff endpoint → the largest body it takes (a file upload); see allow_upload.
_UPLOAD_LIMITS: dict[str, int] = {}


def staff_area(bp: Blueprint, *roles: Role) -> None:
    """Make `bp` a staff area: to anyone without one of `roles`, signed in or not, every URL
    in it is the plain 404 page, so not even its existence shows. That holds whatever the
    method (see `hides_staff_area` for the 405s the router raises) and before the CSRF check,
    which is moved behind the role check here (a 400 would tell as much as a 405)."""
    allowed = frozenset(role.value for role in roles)
    _STAFF_AREAS[bp.url_prefix] = allowed
    csrf.exempt(bp)

    @bp.before_request
    def staff_only() -> None:
        if not _has_role(allowed):
            abort(404)
        g.user = current_user.user
        if request.endpoint in _UPLOAD_LIMITS:
            request.max_content_length = _UPLOAD_LIMITS[request.endpoint]
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()


def looked_at(customers: Iterable[User | None], *, reason: str) -> None:
    """A staff page that shows customers' details puts the signed-in member of staff's look
    on the audit log (the page is the reason; audit.record_views); committed now, as a GET
    changes nothing else."""
    if audit.record_views(g.db, customers, staff=g.user, reason=reason):
        g.db.commit()


def allow_upload(endpoint: str, max_bytes: int) -> None:
    """Let one staff endpoint take a body of up to `max_bytes` (a file upload) instead of the
    app-wide MAX_CONTENT_LENGTH: only for those with the area's role (anyone else's body is
    never read), and chosen before the CSRF check reads the form."""
    _UPLOAD_LIMITS[endpoint] = max_bytes


def hides_staff_area(path: str) -> bool:
    """True when `path` lies in a staff area this visitor has no role for."""
    for prefix, allowed in _STAFF_AREAS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return not _has_role(allowed)
    return False


def staff_area_prefixes() -> list[str]:
    return list(_STAFF_AREAS)


def staff_areas() -> dict[str, frozenset[str]]:
    """Each staff area's URL prefix and the roles that may see it (the role matrix's source)."""
    return dict(_STAFF_AREAS)


def _has_role(allowed: frozenset[str]) -> bool:
    return current_user.is_authenticated and current_user.user.role in allowed
