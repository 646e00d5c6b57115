"""No personal data in any log: representative flows (sign-up, a finder's message with an
address, a profile with phone and personnummer, the data export, erasure by the customer and
by an admin, the outbox and the retention run) over real HTTP with Werkzeug's request log on,
every logger at DEBUG; then no email address, phone number, personnummer, customer number or
token may appear in anything logged."""

from __future__ import annotations

import http.cookiejar
import logging
import re
import urllib.error
import urllib.parse
import urllib.request

from helpers import BROWSER_UA, PASSWORD, drain_outbox, link_in

from stickerreg.models import Role, utcnow
from stickerreg.services import accounts, retention

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"\+46\d{7,9}|\b0\d{2}-\d{3} \d{2} \d{2}\b")
PERSONNUMMER = re.compile(r"\b(?:19|20)?\d{6}[-+]?\d{4}\b")


class Browser:
    """A browser over real HTTP: keeps cookies, follows redirects, posts forms with their token (if any)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", BROWSER_UA)]

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict, *, token_from: str) -> tuple[int, str, str]:
        _, _, page = self.get(token_from)
        token = CSRF.search(page)  # the finder's form has none: it is checked by its origin
        data = urllib.parse.urlencode({**form, **({"csrf_token": token.group(1)} if token else {})}).encode()
        return self._open(urllib.request.Request(self.base + path, data=data))

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request) as response:
                return response.status, response.url, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode("utf-8", "replace")


def test_no_personal_data_reaches_any_log(app, session, serving, user_factory, sticker_factory, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    owner = user_factory(email="owner.person@example.se", password=PASSWORD)
    leaving = user_factory(email="leaving.person@example.se", password=PASSWORD)
    user_factory(email="admin.person@example.se", password=PASSWORD, role=Role.ADMIN)
    sticker = sticker_factory(owner=owner, label="Nycklar")
    secrets = {owner.customer_number, leaving.customer_number}

    newcomer = Browser(serving)
    newcomer.post("/auth/signup", {"email": "signup.person@example.se", "password": PASSWORD,
                                   "password_confirm": PASSWORD}, token_from="/auth/signup")
    finder = Browser(serving)
    status, url, _ = finder.post(f"/s/{sticker.code}/message", {
        "message": "Hittade nycklarna, ring 070-765 43 21", "email": "finder.person@example.org",
        "found_where": "Vid bussen"}, token_from=f"/s/{sticker.code}")
    assert status == 200 and "/c/" in url
    secrets.add(url.rsplit("/c/", 1)[1].split("/")[0])
    for email in drain_outbox(app):
        if "/auth/verify/" in email.get_body(preferencelist=("plain",)).get_content():
            secrets.add(link_in(email, "/auth/verify/").rsplit("/", 1)[1])

    customer = Browser(serving)
    customer.post("/auth/login", {"email": owner.email, "password": PASSWORD}, token_from="/auth/login")
    assert customer.post("/account/profile", {
        "display_name": "Olga Ägare", "phone": "070-123 45 67", "personnummer": "19811218-9876", "locale": "sv",
        "notify_by_email": "y"}, token_from="/account/profile")[0] == 200
    secrets |= {cookie.value for cookie in customer.jar}
    assert customer.post("/account/privacy/export", {}, token_from="/account/privacy")[0] == 200
    assert customer.post("/account/privacy/erase", {"password": PASSWORD, "understood": "y"},
                         token_from="/account/privacy")[0] == 200

    admin = Browser(serving)
    admin.post("/auth/login", {"email": "admin.person@example.se", "password": PASSWORD}, token_from="/auth/login")
    number = accounts.display_customer_number(leaving.customer_number)
    status, url, _ = admin.get("/admin/customers/erase?" + urllib.parse.urlencode({"customer": number}))
    assert status == 200 and url.endswith(f"/admin/customers/{leaving.customer_number}/erase")
    assert admin.post(f"/admin/customers/{leaving.customer_number}/erase", {"understood": "y"},
                      token_from=f"/admin/customers/{leaving.customer_number}/erase")[0] == 200
    drain_outbox(app)
    retention.run(session, now=utcnow(), periods=retention.Periods.from_config(app.config))
    session.commit()

    logged = caplog.text + "".join(capfd.readouterr())
    assert "POST /account/privacy/erase" in logged and "/admin/customers/[redacted]/erase" in logged  # it was logged
    assert EMAIL.findall(logged) == []
    assert PHONE.findall(logged) == [] and "765 43 21" not in logged
    assert PERSONNUMMER.findall(logged) == []
    assert [secret for secret in secrets if secret in logged] == []
