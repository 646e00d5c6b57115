"""Cookies: the cookie page lists every cookie by name, purpose and lifetime as the app's own
settings define them, in Swedish and English; every cookie the app sets on the way through the
site is on that list; pages load nothing from another site; the privacy page says what we hold,
why and for how long (the retention settings), and links to the cookie page and the account's
own export and erasure."""

from __future__ import annotations

import re

import pytest
from helpers import BROWSER_UA, PASSWORD, browser, csrf_token, phone_client, visible

from kiosk import DEVICE_COOKIE, DEVICE_COOKIE_AGE
from stickerreg import codes, i18n
from stickerreg.models import DeskCreate
from stickerreg.services import desks
from stickerreg.web import sessions


def listed_names(client) -> set[str]:
    html = client.get("/cookies?lang=en").get_data(as_text=True)
    return set(re.findall(r"<code>([^<]+)</code>", html))


def test_the_cookie_page_lists_each_cookie_with_its_real_name_and_lifetime(app, client):
    assert listed_names(client) == {app.config["SESSION_COOKIE_NAME"], i18n.LANG_COOKIE,
                                    sessions.KNOWN_BROWSER_COOKIE, DEVICE_COOKIE}
    english = visible(client.get("/cookies?lang=en"))
    assert f"Kept: {i18n.ONE_YEAR // 86400} days" in english and f"Kept: {DEVICE_COOKIE_AGE // 86400} days" in english
    assert "Until you close the browser" in english and "no cookie banner" in english
    swedish = visible(client.get("/cookies?lang=sv"))
    assert "Sparas: 365 dagar" in swedish and "Tills du stänger webbläsaren" in swedish


def test_every_cookie_the_site_sets_is_on_the_cookie_page(app, session, user_factory, sticker_factory):
    """A finder, a customer who signs in, works, switches language and signs out, and a kiosk
    being paired: the name of every Set-Cookie they get is listed."""
    owner = user_factory(email="owner@example.se", password=PASSWORD)
    sticker = sticker_factory(owner=owner, lost_mode=True)
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
    _, pairing = desks.start_pairing(session, desk=desk, name="Counter")
    session.commit()
    client = phone_client(app)
    responses = [client.get(path) for path in ("/", f"/s/{sticker.code}", "/?lang=en", "/about", "/privacy")]
    responses.append(client.post(f"/s/{sticker.code}/message", data={"message": "Hittade", "email": "f@example.org"}))
    token = csrf_token(client, "/auth/login")
    responses.append(client.post("/auth/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token}))
    responses += [client.get(path) for path in ("/account/", "/account/profile", "/account/privacy", "/cookies")]
    responses.append(client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/account/")}))
    kiosk = phone_client(app)
    url = f"/kiosk/pair/{pairing}"
    responses.append(kiosk.post(url, data={"csrf_token": csrf_token(kiosk, url)}))
    set_names = {header.split("=", 1)[0] for response in responses for header in response.headers.getlist("Set-Cookie")}
    assert {app.config["SESSION_COOKIE_NAME"], i18n.LANG_COOKIE, sessions.KNOWN_BROWSER_COOKIE, DEVICE_COOKIE} <= set_names
    kept = {header.split("=", 1)[0] for response in responses for header in response.headers.getlist("Set-Cookie")
            if "Expires=Thu, 01 Jan 1970" not in header}  # a deletion stores nothing
    assert kept <= listed_names(client)


@pytest.mark.parametrize("path", ["/", "/about", "/privacy", "/cookies", "/contact", "/auth/login"])
def test_pages_load_scripts_styles_and_images_only_from_this_site(client, path):
    html = client.get(path, headers={"User-Agent": BROWSER_UA}).get_data(as_text=True)
    sources = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]+)"|<link[^>]*\shref="([^"]+)"', html)
    urls = [found for pair in sources for found in pair if found]
    assert urls and [url for url in urls if not url.startswith("/") or url.startswith("//")] == []


def test_every_footer_links_the_cookie_page(client):
    for path in ("/", f"/s/{codes.generate()}", "/privacy"):
        assert 'href="/cookies"' in client.get(path, headers={"User-Agent": BROWSER_UA}).get_data(as_text=True)


def test_the_privacy_page_covers_everyone_we_hold_data_about_and_the_retention_settings(app, database_url, tmp_path):
    from helpers import app_with

    with app_with(database_url, tmp_path, RETENTION_CLOSED_CONVERSATION_DAYS=45, LEAD_RETENTION_DAYS=60) as shorter:
        page = visible(browser(shorter).get("/privacy"))
    for heading in ("If you found something", "If you are a customer", "If you work with us",
                    "If a partner gave us your number (telemarketing)", "Your rights"):
        assert heading in page
    assert "a conversation is deleted 45 days after it ended" in page and "How long: 60 days" in page
    assert "your customer number" in page and "Why:" in page
    html = browser(app).get("/privacy").get_data(as_text=True)
    assert 'href="/cookies"' in html and 'href="/account/privacy"' in html
    swedish = visible(app.test_client().get("/privacy?lang=sv", headers={"User-Agent": BROWSER_UA}))
    assert "Om du arbetar hos oss" in swedish and "Integritetsskyddsmyndigheten" in swedish
