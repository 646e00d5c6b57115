"""Helpers the tests share (importable from any test folder as `helpers`)."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape

from stickerreg import create_app, passwords
from stickerreg.models import utcnow

SECRET_KEY = b"test-secret-key"  # the test app's, which keys digests, pickup codes and IMEI sealing


def make_test_app(database_url: str, tmp_path, **overrides):
    """An app as production runs it (CSRF and rate limits on), on the test database."""
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY.decode(),
        "DATABASE_URL": database_url,
        "MAIL_DIR": str(tmp_path / "mail"),
        "SMTP_URL": None,
        "PUBLIC_BASE_URL": "http://localhost",
        "RATELIMIT_STORAGE_URI": "memory://",
        # argon2 at its cheapest: no real password is typed in a test, and config refuses
        # these numbers anywhere but under TESTING.
        "PASSWORD_HASH_TIME_COST": passwords.TESTING.time_cost,
        "PASSWORD_HASH_MEMORY_KIB": passwords.TESTING.memory_kib,
        "PASSWORD_HASH_PARALLELISM": passwords.TESTING.parallelism,
    }
    config.update(overrides)
    return create_app(config)


@contextmanager
def app_with(database_url: str, tmp_path, **overrides):
    """make_test_app for a with-block (or a fixture's yield): its database connections are
    closed afterwards, also when the block fails."""
    app = make_test_app(database_url, tmp_path, **overrides)
    try:
        yield app
    finally:
        app.extensions["db_engine"].dispose()


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """Fetch a page and read its CSRF token, as a browser would."""
    page = client.get(url, headers={"User-Agent": BROWSER_UA})
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


BROWSER_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpInbox:
    """Collects what the real SMTP server receives."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"smtp://127.0.0.1:{port}"
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"expected {count} emails, got {len(self.messages)}"
        return self.messages


@contextmanager
def running_smtp_inbox() -> Iterator[SmtpInbox]:
    """A real SMTP server (aiosmtpd) on a free local port, collecting what it is sent, while
    the block runs."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


class Clock:
    """A clock that stands still until told to move: pass it as `now` and nothing waits for time."""

    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def body_text(email: EmailMessage) -> str:
    """The plain-text part of an email."""
    return email.get_body(preferencelist=("plain",)).get_content()


def drain_outbox(app) -> list[EmailMessage]:
    """Run the outbox worker once, as `flask outbox run --once` does; returns what it sent."""
    from stickerreg.emails import composer
    from stickerreg.services import outbox

    sent: list[EmailMessage] = []
    outbox.run_once(app.extensions["db_engine"], compose=composer(app), transport=sent.append,
                    max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"])
    return sent


def link_in(email: EmailMessage, path_prefix: str) -> str:
    """The path of the first link in an email's text that starts with `path_prefix`."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", body_text(email))
    assert match, f"no {path_prefix} link in: {body_text(email)}"
    return match.group(1)


PASSWORD = "ett-långt-lösenord-för-test"


def sign_in(client, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    token = csrf_token(client, "/auth/login")
    response = client.post("/auth/login", data={"email": email, "password": password, "csrf_token": token},
                           headers={"User-Agent": BROWSER_UA})
    assert response.status_code == 303, response.status_code


def phone_client(app):
    """A test client that presents itself as a phone's browser (the app treats clients
    without a browser's User-Agent as bots on the finder's pages)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    return client


def browser(app, email: str | None = None, *, password: str = PASSWORD):
    """A phone's browser in English, signed in as `email` when given."""
    client = phone_client(app)
    client.set_cookie("lang", "en")
    if email:
        sign_in(client, email, password)
    return client


def visible(response) -> str:
    """The page's text as a reader gets it (inline tags joined, block tags spaced)."""
    return visible_text(response.get_data(as_text=True))


def visible_text(html: str) -> str:
    """Text of a piece of HTML as a reader gets it (inline tags joined, block tags spaced)."""
    html = re.sub(r"</?(span|strong|time|a)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def everything_in(email: EmailMessage) -> str:
    """Headers, raw source and every decoded part: what a leak check must search."""
    parts = [str(email), *(str(value) for value in email.values())]
    parts += [part.get_content() for part in email.walk() if not part.is_multipart()]
    return "\n".join(parts).lower()


def choose_english(page) -> None:
    """Pick English with the site's own language link (a Playwright page)."""
    from playwright.sync_api import expect

    page.get_by_role("navigation").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The new document's lang is set before its deferred scripts run: wait for them (htmx), or a
    # quick click afterwards posts the plain form instead of the htmx one.
    page.wait_for_load_state("load")
