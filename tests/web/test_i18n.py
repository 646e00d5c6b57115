"""Swedish by default, English on request; the choice is remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

HEADING = "Found something with a Stickerreg sticker?"
CATALOGS = Path(__file__).resolve().parents[2] / "stickerreg" / "translations"


def swedish(app, text: str) -> str:
    with app.test_request_context(), force_locale("sv"):
        return gettext(text)


def test_swedish_is_the_default(app, browser_client):
    page = browser_client.get("/").get_data(as_text=True)
    assert '<html lang="sv">' in page
    assert swedish(app, HEADING) != HEADING and swedish(app, HEADING) in page


def test_lang_parameter_switches_and_is_remembered(browser_client):
    english = browser_client.get("/?lang=en")
    assert HEADING in english.get_data(as_text=True)
    assert "lang=en" in english.headers["Set-Cookie"]
    assert HEADING in browser_client.get("/").get_data(as_text=True)  # remembered
    assert HEADING not in browser_client.get("/?lang=sv").get_data(as_text=True)


def test_accept_language_is_the_last_resort(client):
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert HEADING in english.get_data(as_text=True)
    other = client.get("/", headers={"Accept-Language": "de-DE"})
    assert '<html lang="sv">' in other.get_data(as_text=True)


def test_an_unknown_lang_value_is_ignored(browser_client):
    response = browser_client.get("/?lang=xx")
    assert response.status_code == 200 and "Set-Cookie" not in response.headers or "lang=" not in response.headers.get("Set-Cookie", "")


def test_error_pages_speak_the_visitors_language(app, browser_client):
    sv = browser_client.get("/nowhere").get_data(as_text=True)
    assert swedish(app, "Page not found") in sv
    en = browser_client.get("/nowhere?lang=en").get_data(as_text=True)
    assert "Page not found" in en


@pytest.mark.parametrize("locale", ["sv"])
def test_the_swedish_catalog_is_complete(locale):
    with open(CATALOGS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    with open(CATALOGS / "messages.pot", "rb") as handle:
        template = read_po(handle)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []
    assert {m.id for m in template if m.id} <= {m.id for m in catalog if m.id}, "run make extract"


def test_the_language_link_after_a_rejected_form_leads_to_a_real_page(browser_client):

    from stickerreg import codes

    code = codes.generate()
    rejected = browser_client.post(f"/s/{code}/message", data={"message": ""})
    assert rejected.status_code == 422
    assert f'href="/s/{code}?lang=en"' in rejected.get_data(as_text=True)
    assert browser_client.get(f"/s/{code}?lang=en").status_code == 200
