"""The finder's routes through the Flask test client, cross-site checks, CSRF and rate limits on."""

from __future__ import annotations

import re

import pytest
from helpers import BROWSER_UA, csrf_token, phone_client, visible
from sqlmodel import select

from stickerreg import codes
from stickerreg.models import (
    Conversation,
    ConversationStatus,
    Message,
    OutboxKind,
    OutboxMessage,
    StickerStatus,
)
from stickerreg.services import relay


def page_text(response) -> str:
    """What a person sees: the markup without tags, tokens and whitespace differences."""
    html = response.get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def send(client, code: str, *, htmx: bool = False, **fields):
    data = {"message": "Hittade dina nycklar vid busshållplatsen.", **fields}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/s/{code}/message", data=data, headers=headers)


def test_front_page_offers_the_id_form(browser_client):
    page = browser_client.get("/")
    assert page.status_code == 200
    assert 'name="code"' in page.get_data(as_text=True)


def test_lookup_of_a_valid_id_goes_to_its_page(browser_client):
    code = codes.generate()
    response = browser_client.get("/lookup", query_string={"code": codes.display(code).lower()})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{code}"


@pytest.mark.parametrize("typed", ["", "ABC", "0123-4567-89AB-CDEF", "<script>alert(1)</script>"])
def test_lookup_of_a_broken_id_shows_the_typo_page(browser_client, typed):
    response = browser_client.get("/lookup", query_string={"code": typed})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'name="code"' in html and "<script>alert" not in html


def test_wrong_check_symbol_gets_the_typo_page_with_the_id_to_fix(browser_client):
    code = codes.generate()
    wrong = code[:-1] + next(s for s in codes.ALPHABET if s != code[-1])
    response = browser_client.get(f"/s/{wrong}")
    assert response.status_code == 404
    assert f'value="{wrong}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("form", ["lower", "display", "spaces", "confusables"])
def test_any_spelling_of_an_id_redirects_to_the_canonical_url(browser_client, form):
    body = "0101ABCDEFG"  # holds 0 and 1, so the confusable spelling differs
    code = body + codes.check_symbol(body)
    spelled = {
        "lower": code.lower(),
        "display": codes.display(code),
        "spaces": " ".join([code[:4], code[4:8], code[8:]]),
        "confusables": code.replace("0", "o").replace("1", "l"),
    }[form]
    response = browser_client.get(f"/s/{spelled}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/s/{code}"


def test_the_qr_url_with_uppercase_path_is_served_directly(browser_client):
    code = codes.generate()
    assert browser_client.get(f"/S/{code}").status_code == 200
    assert browser_client.get(f"/s/{code}").status_code == 200


COMPARED_HEADERS = ("Content-Type", "Content-Security-Policy", "Referrer-Policy", "Cache-Control", "Vary",
                    "X-Robots-Tag", "X-Frame-Options", "X-Content-Type-Options")


@pytest.mark.parametrize("state", ["unknown", "unclaimed", "deactivated", "voided", "active_lost_mode_off"])
def test_finder_cannot_learn_whether_an_id_exists(app, sticker_factory, state):
    known = sticker_factory(activated=True).code
    other = {
        "unknown": lambda: codes.generate(),
        "unclaimed": lambda: sticker_factory(activated=False).code,
        "deactivated": lambda: sticker_factory(status=StickerStatus.DEACTIVATED, lost_mode=True,
                                               reward_text="100 kr").code,
        "voided": lambda: sticker_factory(activated=False, status=StickerStatus.VOIDED).code,
        "active_lost_mode_off": lambda: sticker_factory(reward_text="kept private").code,
    }[state]()
    # Each from a fresh browser, as two different finders would see them.
    a, b = (app.test_client().get(f"/s/{c}", headers={"User-Agent": BROWSER_UA}) for c in (known, other))
    assert a.status_code == b.status_code == 200
    assert page_text(a).replace(codes.display(known), "ID") == page_text(b).replace(codes.display(other), "ID")
    assert sorted(a.headers.keys()) == sorted(b.headers.keys())
    for name in COMPARED_HEADERS:
        assert a.headers.get(name) == b.headers.get(name), name


def test_lost_mode_shows_only_what_the_owner_chose(browser_client, sticker_factory):
    sticker = sticker_factory(lost_mode=True, reward_text="Hittelön 200 kr", public_note="Ring gärna!")
    html = browser_client.get(f"/s/{sticker.code}").get_data(as_text=True)
    assert "Hittelön 200 kr" in html and "Ring gärna!" in html
    assert sticker.label not in html  # the label is private


def test_a_message_is_stored_with_its_notification_in_one_go(browser_client, sticker_factory, session):
    sticker = sticker_factory()
    response = send(browser_client, sticker.code, found_where="Centralstationen", email="finder@example.org")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/c/")
    conversation = session.exec(select(Conversation)).one()
    assert conversation.sticker_id == sticker.id and conversation.status == ConversationStatus.OPEN
    assert conversation.found_where == "Centralstationen"
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [row.kind for row in rows] == [OutboxKind.FINDER_MESSAGE, OutboxKind.FINDER_RECEIPT]
    assert {row.payload["conversation_id"] for row in rows} == {conversation.id}


def test_htmx_gets_the_confirmation_fragment_with_the_private_link(browser_client, sticker_factory):
    sticker = sticker_factory()
    response = send(browser_client, sticker.code, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html
    link = re.search(r'href="(http://localhost/c/[^"]+)"', html).group(1)
    assert browser_client.get(link.removeprefix("http://localhost")).status_code == 200
    assert "HX-Request" in response.headers["Vary"]


def test_the_private_link_shows_the_conversation_and_takes_replies(browser_client, sticker_factory, session):
    sticker = sticker_factory()
    link = send(browser_client, sticker.code).headers["Location"]
    page = browser_client.get(link)
    assert "Hittade dina nycklar" in page.get_data(as_text=True)
    token = csrf_token(browser_client, link)
    reply = browser_client.post(f"{link}/reply", data={"message": "Jag lämnade dem i receptionen.", "csrf_token": token})
    assert reply.status_code == 303
    assert "lämnade dem i receptionen" in browser_client.get(link).get_data(as_text=True)
    assert len(session.exec(select(OutboxMessage)).all()) == 2  # owner told twice


def test_an_unknown_private_link_is_not_found(browser_client):
    assert browser_client.get("/c/not-a-real-token").status_code == 404
    assert browser_client.get("/c/" + "x" * 500).status_code == 404


def test_a_closed_conversation_takes_no_more_messages(browser_client, sticker_factory, session):
    sticker = sticker_factory()
    link = send(browser_client, sticker.code).headers["Location"]
    token = csrf_token(browser_client, link)  # the page is still open in the finder's browser
    conversation = session.exec(select(Conversation)).one()
    relay.mark_returned(session, conversation)
    session.commit()
    assert 'name="message"' not in browser_client.get(link).get_data(as_text=True)
    response = browser_client.post(f"{link}/reply", data={"message": "Hallå?", "csrf_token": token})
    assert response.status_code == 409
    assert session.exec(select(Message).where(Message.body == "Hallå?")).first() is None


def test_messages_to_unclaimed_stickers_are_held_and_unknown_ones_kept_quietly(browser_client, sticker_factory, session):
    unclaimed = sticker_factory(activated=False)
    held = send(browser_client, unclaimed.code)
    unknown = send(browser_client, codes.generate())
    assert held.status_code == unknown.status_code == 303
    statuses = sorted(c.status for c in session.exec(select(Conversation)))
    assert statuses == [ConversationStatus.HELD, ConversationStatus.UNDELIVERABLE]
    assert session.exec(select(OutboxMessage)).all() == []


@pytest.mark.parametrize(
    "fields, error_field",
    [
        ({"message": ""}, "message"),
        ({"message": "   \x00\x01  "}, "message"),
        ({"message": "x" * 2001}, "message"),
        ({"email": "not-an-email"}, "email"),
        ({"found_where": "y" * 201}, "found_where"),
        ({"share_location": "y", "latitude": "91", "longitude": "18"}, "location"),
        ({"share_location": "y", "latitude": "nan", "longitude": "18"}, "location"),
        ({"share_location": "y", "latitude": "59.3", "longitude": "abc"}, "location"),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(browser_client, sticker_factory, session, fields, error_field):
    sticker = sticker_factory()
    response = send(browser_client, sticker.code, htmx=True, **fields)
    assert response.status_code == 422
    assert f'id="{error_field}-error"' in response.get_data(as_text=True)
    assert session.exec(select(Conversation)).all() == []


def test_location_is_kept_only_with_consent_and_rounded(browser_client, sticker_factory, session):
    sticker = sticker_factory()
    send(browser_client, sticker.code, latitude="59.329323", longitude="18.068581")  # no consent box
    send(browser_client, sticker.code, share_location="y", latitude="59.329323", longitude="18.068581")
    first, second = session.exec(select(Conversation).order_by(Conversation.id)).all()
    assert (first.latitude, first.longitude) == (None, None)
    assert (second.latitude, second.longitude) == (59.329, 18.069)


def test_control_characters_are_removed_before_storing(browser_client, sticker_factory, session):
    sticker = sticker_factory()
    send(browser_client, sticker.code, message="Hej\x00 där\r\nrad två\x1b")
    assert session.exec(select(Message)).one().body == "Hej där\nrad två"


@pytest.mark.parametrize("agent", ["facebookexternalhit/1.1", "WhatsApp/2.23", "Slackbot-LinkExpanding 1.0", ""])
def test_link_preview_bots_never_create_messages(client, sticker_factory, session, agent):
    sticker = sticker_factory()
    response = client.post(
        f"/s/{sticker.code}/message",
        data={"message": "preview"},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 403
    assert session.exec(select(Conversation)).all() == []


# What browsers send with a form another site's page submitted (or a subdomain's), and an old
# browser's Origin naming another host: each refused, with the headers the browser writes itself.
CROSS_SITE = [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
              {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}, {"Origin": "https://evil.example"},
              {"Origin": "null"}]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_message_another_site_makes_the_browser_send_is_refused_kindly(browser_client, sticker_factory, session,
                                                                        headers):
    sticker = sticker_factory()
    for htmx in ({}, {"HX-Request": "true"}):
        response = browser_client.post(f"/s/{sticker.code}/message", data={"message": "hej"}, headers={**headers, **htmx})
        assert response.status_code == 403
        assert "Skicka från dekalens egen sida" in visible(response)
    assert session.exec(select(Conversation)).all() == []


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
                                     {"Origin": "http://localhost"}, {}])
def test_a_message_from_our_own_page_or_from_no_browser_at_all_is_taken(browser_client, sticker_factory, session,
                                                                        headers):
    """Our form (same-origin), the visitor's own action (none), an old browser's Origin naming
    this host, and a client that is no browser (nobody to forge it for; rate limits apply)."""
    sticker = sticker_factory()
    response = browser_client.post(f"/s/{sticker.code}/message", data={"message": "hej"}, headers=headers)
    assert response.status_code == 303
    assert len(session.exec(select(Conversation)).all()) == 1


def test_a_finder_who_sends_with_javascript_never_gets_a_cookie(app, sticker_factory):
    """The sticker page needs no session: no token rides on it. Only a notice for the next
    page (a finder without JavaScript, sent on by a 303) needs one."""
    client = phone_client(app)
    code = sticker_factory().code
    page = client.get(f"/s/{code}")
    sent = client.post(f"/s/{code}/message", data={"message": "Hittade dem"},
                       headers={"HX-Request": "true", "Sec-Fetch-Site": "same-origin"})
    assert (page.status_code, sent.status_code) == (200, 200)
    assert "Set-Cookie" not in page.headers and "Set-Cookie" not in sent.headers
    assert client.get_cookie("session") is None


def test_finder_pages_never_leak_the_owner_email(browser_client, sticker_factory, user_factory):
    owner = user_factory(email="secret.owner@example.se")
    sticker = sticker_factory(owner=owner, lost_mode=True, reward_text="50 kr")
    link = send(browser_client, sticker.code).headers["Location"]
    for url in (f"/s/{sticker.code}", link):
        assert "secret.owner" not in browser_client.get(url).get_data(as_text=True)


def statements_for(app, client, url):
    """The SQL statements one request runs: the same work means the same time."""
    from sqlalchemy import event

    seen: list[str] = []
    engine = app.extensions["db_engine"]
    listener = lambda conn, cursor, statement, *rest: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(url, headers={"User-Agent": BROWSER_UA}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return seen


@pytest.mark.parametrize("state", ["active", "lost_mode_alerts_off", "deactivated_in_lost_mode", "unclaimed"])
def test_known_and_unknown_ids_cost_the_same_database_work(app, session, sticker_factory, state):
    sticker = {
        "active": lambda: sticker_factory(reward_text="50 kr"),
        "lost_mode_alerts_off": lambda: sticker_factory(lost_mode=True, reward_text="50 kr"),
        "deactivated_in_lost_mode": lambda: sticker_factory(lost_mode=True, status=StickerStatus.DEACTIVATED),
        "unclaimed": lambda: sticker_factory(activated=False),
    }[state]()
    if state == "lost_mode_alerts_off":
        sticker.scan_alerts = False
        session.add(sticker)
        session.commit()
    unknown = codes.generate()
    client = app.test_client()
    assert statements_for(app, client, f"/s/{sticker.code}") == statements_for(app, client, f"/s/{unknown}")


def test_only_lost_mode_with_scan_alerts_does_more_work_and_only_once_an_hour(app, sticker_factory):
    """Lost mode is the owner's explicit choice to be findable (its page shows their note
    anyway), so its scan alert may cost a write; within the hour it costs nothing extra."""
    known = sticker_factory(lost_mode=True, reward_text="50 kr").code
    unknown = codes.generate()
    client = app.test_client()
    first = statements_for(app, client, f"/s/{known}")
    assert any(statement.startswith("INSERT INTO outbox") for statement in first)
    assert statements_for(app, client, f"/s/{known}") == statements_for(app, client, f"/s/{unknown}")


@pytest.mark.parametrize("state", ["active", "unclaimed", "unknown"])
def test_a_finder_who_leaves_an_address_gets_the_private_link_mailed_whatever_the_code(
    state, browser_client, sticker_factory, session
):
    """The receipt goes out for every code alike, so it tells nobody whether a sticker has an owner."""
    code = {"active": lambda: sticker_factory().code, "unclaimed": lambda: sticker_factory(activated=False).code,
            "unknown": codes.generate}[state]()
    assert send(browser_client, code, email="finder@example.org").status_code == 303
    receipts = session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.FINDER_RECEIPT)).all()
    conversation = session.exec(select(Conversation)).one()
    assert [row.payload for row in receipts] == [{"conversation_id": conversation.id}]


def test_no_receipt_without_an_address(browser_client, sticker_factory, session):
    assert send(browser_client, sticker_factory().code).status_code == 303
    kinds = session.exec(select(OutboxMessage.kind)).all()
    assert kinds == [OutboxKind.FINDER_MESSAGE]


def test_the_confirmation_offers_the_link_as_text_a_copy_button_and_says_where_it_was_mailed(
    browser_client, sticker_factory
):
    browser_client.set_cookie("lang", "en")
    code = sticker_factory().code
    with_address = send(browser_client, code, htmx=True, email="finder@example.org").get_data(as_text=True)
    link = re.search(r'<code id="private-link">(http://localhost/c/[^<]+)</code>', with_address).group(1)
    assert f'href="{link}"' in with_address  # and a plain link to open it
    assert re.search(r'<button type="button"[^>]*data-copy="private-link"[^>]*hidden', with_address)
    assert "We are also emailing the link to finder@example.org." in with_address
    without = send(browser_client, sticker_factory().code, htmx=True).get_data(as_text=True)
    assert "emailing the link" not in without and "it is the only way to read the reply" in without


def test_the_sticker_page_says_what_this_is_and_names_the_action_in_both_languages(app, browser_client, sticker_factory):
    from flask_babel import force_locale, gettext

    code = sticker_factory().code
    texts = ["Contact the owner", "About Stickerreg",
             "Stickerreg is a lost-and-found service. We never ask for payment, a login or an app."]
    english = browser_client.get(f"/s/{code}?lang=en").get_data(as_text=True)
    swedish = browser_client.get(f"/s/{code}?lang=sv").get_data(as_text=True)
    with app.test_request_context(), force_locale("sv"):
        translated = [gettext(text) for text in texts]
    for text, sv in zip(texts, translated, strict=True):
        assert text in english and sv in swedish and sv != text
    assert "If this sticker is registered" not in english  # no hedging


@pytest.mark.parametrize("path", ["/about", "/privacy", "/contact"])
def test_every_footer_leads_to_the_about_privacy_and_contact_pages(browser_client, path):
    front = browser_client.get("/").get_data(as_text=True)
    assert f'href="{path}"' in front
    page = browser_client.get(path)
    assert page.status_code == 200 and "kundservice@stickerreg.se" in page.get_data(as_text=True)


def test_a_sticker_page_looks_its_sticker_up_once(app, sticker_factory):
    """The scan alert and the page share one lookup, for every kind of code alike."""
    known = sticker_factory(reward_text="50 kr").code
    client = app.test_client()
    for code in (known, codes.generate()):
        selects = [s for s in statements_for(app, client, f"/s/{code}") if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "FROM stickers" in selects[0]


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("state", ["unknown", "active", "lost_mode", "lost_mode_with_markup"])
def test_the_page_joined_from_its_once_rendered_copy_is_the_page_the_template_renders(
    app, sticker_factory, monkeypatch, state, lang
):
    code = {
        "unknown": codes.generate,
        "active": lambda: sticker_factory().code,
        "lost_mode": lambda: sticker_factory(lost_mode=True, reward_text="Hittelön 200 kr", public_note="Ring!").code,
        "lost_mode_with_markup": lambda: sticker_factory(lost_mode=True, public_note='<b>"fett"</b> & {{ x }}').code,
    }[state]()
    client = phone_client(app)
    url = f"/s/{code}?lang={lang}&utm_source=<qr>"
    joined = [client.get(url).get_data(as_text=True) for _ in range(2)]  # the first renders the copy
    assert any(key[0] == "finder/sticker.html" for key in app.extensions["prerendered"])
    import stickerreg.web.finder as views

    monkeypatch.setattr(views, "can_prerender", lambda: False)
    rendered = client.get(url).get_data(as_text=True)
    assert joined[0] == joined[1] == rendered  # the form carries no per-visitor token
    assert "\x00" not in joined[1] and f'lang="{lang}"' in joined[1]
    assert "utm_source=%3Cqr%3E" in joined[1] and "<qr>" not in joined[1]


def test_a_signed_in_owner_sees_their_own_header_on_a_sticker_page(app, user_factory, sticker_factory):
    from helpers import PASSWORD, browser

    code = sticker_factory().code
    assert "Sign out" not in browser(app).get(f"/s/{code}").get_data(as_text=True)  # renders the shared copy
    owner = user_factory(email="signed.in@example.se", password=PASSWORD, locale="en")
    page = browser(app, email=owner.email).get(f"/s/{code}").get_data(as_text=True)
    assert "Sign out" in page and "My account" in page


def test_a_notice_waiting_in_the_session_is_shown_on_the_sticker_page(browser_client):
    code = codes.generate()
    browser_client.get(f"/s/{code}")
    with browser_client.session_transaction() as session:
        session["_flashes"] = [("info", "Ett meddelande som väntar")]
    assert "Ett meddelande som väntar" in browser_client.get(f"/s/{code}").get_data(as_text=True)
    assert "Ett meddelande som väntar" not in browser_client.get(f"/s/{code}").get_data(as_text=True)


def test_the_page_from_the_shared_copy_takes_a_message_with_its_token(browser_client, sticker_factory, session):
    sticker = sticker_factory()
    browser_client.get(f"/s/{sticker.code}")  # the copy exists; this request and the next are joined from it
    assert send(browser_client, sticker.code).status_code == 303
    assert session.exec(select(Message)).one().body.startswith("Hittade dina nycklar")


def test_wtforms_own_messages_are_swedish_and_their_catalog_is_read_once(browser_client, sticker_factory, monkeypatch):
    from babel import support

    from stickerreg import i18n

    reads = []
    load = support.Translations.load
    monkeypatch.setattr(support.Translations, "load",
                        lambda *args, **kwargs: reads.append(kwargs.get("domain")) or load(*args, **kwargs))
    i18n.wtforms_catalog.cache_clear()
    code = sticker_factory().code
    long_email = "a" * 250 + "@example.se"
    pages = [send(browser_client, code, htmx=True, email=long_email).get_data(as_text=True) for _ in range(3)]
    english = "Field cannot be longer than 254 characters."
    swedish = i18n.wtforms_catalog("sv").ungettext("Field cannot be longer than %(max)d character.",
                                                    "Field cannot be longer than %(max)d characters.", 254) % {"max": 254}
    assert swedish != english and all(swedish in page for page in pages)
    assert reads.count("wtforms") == 1


def test_values_go_into_the_copy_escaped_and_never_as_slots(app):
    from stickerreg.web.pages import Slot, fill

    parts = tuple(re.split("\x00([A-Za-z_]+)\x00", f"<p>{Slot('a')}</p><i>{Slot('b')}</i>"))
    with app.test_request_context():
        assert fill(parts, a="\x00b\x00 & <x>", b=lambda: "B") == "<p>\x00b\x00 &amp; &lt;x&gt;</p><i>B</i>"
