"""Cross-site request protection without a token, for the finder's message form.

The sticker page is the site's busiest and, for most finders, the only one they ever see. A
session-bound CSRF token made every visit sign, set and read back a session cookie only to
carry it (22 % of the page's CPU, measured in process). Instead the browser's own account of
where a request comes from is checked, as Go's `net/http.CrossOriginProtection` does and as
OWASP's CSRF cheat sheet describes ("Fetch Metadata headers", "Verifying origin with standard
headers"):

- `Sec-Fetch-Site`, which every current browser sends and no page can set, must be
  `same-origin` (our own page's form or htmx) or `none` (the visitor's own action);
- a browser too old to send it sends `Origin` with every POST, which must name this host
  (the sticker page's Referrer-Policy is "same-origin" for this: under "no-referrer" a
  browser sends `Origin: null`, which another site's page can make it send too);
- a request with neither header comes from no browser (curl, a script): another site cannot
  make a visitor send it, so there is nobody to forge it for, and the rate limits meet it as
  they meet any other client.

Why it is as safe as the token for this form: a token stops another site's page from making a
visitor's browser post the form, and so do these headers, which the browser writes itself. The
form is anonymous (no account's rights are at stake) and every other protection stays: the
rate limits per client and per sticker, the same answer for every code. Forms of signed-in
people keep Flask-WTF's token: the account, staff and kiosk pages carry a session anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import request
from werkzeug.exceptions import Forbidden

from stickerreg.extensions import csrf

ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


class CrossSiteRequest(Forbidden):
    """A form another site's page made the browser send (403, with its own explanation)."""


def sent_from_this_site() -> bool:
    """Whether the browser says this request comes from one of our own pages (see above)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ALLOWED_FETCH_SITES
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # no browser sent it
    return urlsplit(origin).netloc == request.host


def same_origin_only(view: Callable) -> Callable:
    """Take a POST only from this site's own pages, in place of Flask-WTF's token check (which
    needs a session); the view's form must set `Meta.csrf = False`. The view is marked, so the
    whole-app CSRF guard (tests/web/test_access_matrix.py) checks it the way it is protected."""

    @wraps(view)
    def checked(*args, **kwargs):
        if not sent_from_this_site():
            raise CrossSiteRequest()
        return view(*args, **kwargs)

    checked.checks_origin = True
    return csrf.exempt(checked)
