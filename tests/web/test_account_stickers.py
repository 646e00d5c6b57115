"""The account area's stickers and sets: claiming, a sticker's page, the dashboard, QR
downloads and scan alerts, through the Flask test client with CSRF and rate limits on."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

import pytest
import resvg_py
import zxingcpp
from flask_babel import force_locale, format_datetime
from helpers import BROWSER_UA, PASSWORD, body_text, browser, csrf_token, drain_outbox
from PIL import Image
from sqlmodel import select

from stickerreg import codes, qr
from stickerreg.models import OutboxKind, OutboxMessage, Sticker, StickerStatus, utcnow
from stickerreg.services import claims, stickers

MISMATCH = "The sticker ID and activation code don't match an unclaimed set."


# --- helpers -----------------------------------------------------------------------


def post(client, url: str, data: dict | None = None, *, htmx: bool = False, **environ):
    data = {**(data or {}), "csrf_token": csrf_token(client, "/account/")}
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data=data, headers=headers, environ_base={"HTTP_USER_AGENT": BROWSER_UA, **environ})


def html(response) -> str:
    return response.get_data(as_text=True)


def page_text(response) -> str:
    """What a person reads: no tags, entities decoded, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html(response))).split())


def is_fragment(response) -> bool:
    return "<html" not in html(response)


def reload(session, sticker: Sticker) -> Sticker:
    session.expire_all()
    return session.get(Sticker, sticker.id)


@pytest.fixture
def client(app, owner):
    """The owner, signed in."""
    return browser(app, owner.email)


@pytest.fixture
def sticker(sticker_factory, owner):
    return sticker_factory(owner=owner, label="Nycklar")


@pytest.fixture
def mallory_sticker(sticker_factory, user_factory):
    return sticker_factory(owner=user_factory(email="mallory@example.se", password=PASSWORD), label="Mallory")


@pytest.fixture
def minted(session):
    minted = stickers.mint_set(session, size=3)
    session.commit()
    return minted


# --- who may see what ---------------------------------------------------------------

STICKER_GETS = ["/account/stickers/{code}", "/account/stickers/{code}/deactivate",
                "/account/stickers/{code}/qr.svg", "/account/stickers/{code}/qr.png"]
STICKER_POSTS = ["/account/stickers/{code}", "/account/stickers/{code}/lost-mode",
                 "/account/stickers/{code}/lost-mode/quick", "/account/stickers/{code}/alerts",
                 "/account/stickers/{code}/deactivate"]
HOSTILE_FORM = {"label": "Stolen", "category": "pet", "lost_mode": "on", "reward_text": "x", "public_note": "x",
                "scan_alerts": "", "confirm": "y"}


@pytest.mark.parametrize("url", ["/account/claim", *STICKER_GETS])
def test_signed_out_visitors_are_sent_to_sign_in(app, sticker, url):
    response = browser(app).get(url.format(code=sticker.code))
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("url", STICKER_GETS)
def test_the_owner_opens_every_sticker_page(client, sticker, url):
    assert client.get(url.format(code=sticker.code)).status_code == 200


@pytest.mark.parametrize("url", STICKER_GETS)
def test_another_customers_sticker_is_not_found(client, mallory_sticker, url):
    assert client.get(url.format(code=mallory_sticker.code)).status_code == 404


@pytest.mark.parametrize("url", STICKER_POSTS)
def test_another_customers_sticker_cannot_be_changed(client, session, mallory_sticker, url):
    before = reload(session, mallory_sticker).model_dump()
    assert post(client, url.format(code=mallory_sticker.code), HOSTILE_FORM).status_code == 404
    assert reload(session, mallory_sticker).model_dump() == before


@pytest.mark.parametrize("url", ["/account/claim", *STICKER_POSTS])
def test_a_post_without_a_csrf_token_is_refused(client, session, sticker, url):
    before = reload(session, sticker).model_dump()
    response = client.post(url.format(code=sticker.code), data=HOSTILE_FORM)
    assert response.status_code == 400
    assert reload(session, sticker).model_dump() == before


# --- claiming a set ---------------------------------------------------------------


def claim(client, sticker_code: str, activation_code: str, **kwargs):
    return post(client, "/account/claim", {"sticker_code": sticker_code, "activation_code": activation_code}, **kwargs)


def test_claiming_a_set_activates_it_and_highlights_it_once(client, session, owner, minted):
    minted.stickers[2].status = StickerStatus.VOIDED.value  # a misprint in the pack
    session.add(minted.stickers[2])
    session.commit()
    typed_id = codes.display(minted.stickers[1].code).lower().replace("-", " ")
    typed_code = stickers.display_activation(minted.activation_code).lower()
    response = claim(client, typed_id, typed_code)
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    dashboard = client.get("/account/")
    assert "You claimed 2 stickers" in html(dashboard)
    assert html(dashboard).count('class="sticker-row is-new"') == 2
    for sticker in minted.stickers[:2]:
        assert reload(session, sticker).status == StickerStatus.ACTIVE
        assert f'id="sticker-{sticker.code}" class="sticker-row is-new"' in html(dashboard)
    voided = reload(session, minted.stickers[2])
    assert voided.status == StickerStatus.VOIDED and voided.owner_id is None
    assert minted.stickers[2].code not in html(dashboard)
    assert "is-new" not in html(client.get("/account/"))  # highlighted once


def test_a_message_left_before_the_claim_reaches_the_owner_after_it(app, client, owner, minted):
    finder = browser(app)
    sent = finder.post(f"/s/{minted.stickers[0].code}/message", data={"message": "Hittade nycklarna vid stationen."})
    assert sent.status_code == 303
    assert drain_outbox(app) == []  # held while nobody owns the sticker
    assert claim(client, minted.stickers[2].code, minted.activation_code).status_code == 303
    [email] = drain_outbox(app)
    assert email["To"] == owner.email
    assert "Hittade nycklarna vid stationen." in body_text(email)


@pytest.mark.parametrize("case", ["wrong_code", "unknown_id", "already_claimed", "voided_id"])
def test_every_failed_claim_gets_the_same_single_answer(app, client, session, user_factory, minted, case):
    sticker_code, activation = minted.stickers[0].code, minted.activation_code
    if case == "wrong_code":
        activation = stickers.new_activation_code()
    elif case == "unknown_id":
        sticker_code = codes.generate()
    elif case == "already_claimed":
        claims.claim_set(session, owner=user_factory(), sticker_code=sticker_code, activation_code=activation)
    elif case == "voided_id":
        minted.stickers[0].status = StickerStatus.VOIDED.value
        session.add(minted.stickers[0])
    session.commit()
    response = claim(client, sticker_code, activation)
    assert response.status_code == 422
    assert page_text(response).count(MISMATCH) == 1
    assert page_text(response) == page_text(claim(client, codes.generate(), "AAAAA-AAAAA"))


def test_blank_claim_fields_are_named(client):
    response = claim(client, "", "")
    assert response.status_code == 422
    assert 'id="sticker_code-error"' in html(response) and 'id="activation_code-error"' in html(response)


def test_htmx_gets_the_form_fragment_and_a_redirect_on_success(client, minted):
    refused = claim(client, minted.stickers[0].code, "00000-00000", htmx=True)
    assert refused.status_code == 422 and is_fragment(refused) and MISMATCH in page_text(refused)
    assert 'id="claim-form"' in html(refused)
    accepted = claim(client, minted.stickers[0].code, minted.activation_code, htmx=True)
    assert accepted.status_code == 200 and accepted.headers["HX-Redirect"] == "/account/"
    assert "You claimed 3 stickers" in html(client.get("/account/"))


def test_the_claim_page_is_a_full_page(client):
    response = client.get("/account/claim")
    assert response.status_code == 200 and "<html" in html(response)
    assert 'name="sticker_code"' in html(response) and 'name="activation_code"' in html(response)


def test_wrong_claims_are_throttled_per_client(app, user_factory, minted):
    wrong = [claim(browser(app, user_factory(password=PASSWORD).email), minted.stickers[0].code, "00000-00000",
                   REMOTE_ADDR="10.1.0.1").status_code for _ in range(11)]
    assert wrong == [422] * 10 + [429]


def test_wrong_claims_are_throttled_per_account_and_then_even_the_right_code_waits(client, minted):
    wrong = [claim(client, minted.stickers[0].code, "00000-00000", REMOTE_ADDR=f"10.2.0.{n}").status_code
             for n in range(11)]
    assert wrong == [422] * 10 + [429]
    right = claim(client, minted.stickers[0].code, minted.activation_code, REMOTE_ADDR="10.2.1.1")
    assert right.status_code == 429
    assert "Too many attempts" in html(right)


def test_successful_claims_do_not_use_up_the_limit(app, client, session):
    for _ in range(11):
        minted = stickers.mint_set(session, size=1)
        session.commit()
        assert claim(client, minted.stickers[0].code, minted.activation_code).status_code == 303


# --- the sticker page ----------------------------------------------------------------


def test_the_sticker_page_shows_each_section(client, sticker):
    page = client.get(f"/account/stickers/{sticker.code}")
    assert page.status_code == 200 and "<html" in html(page)
    assert page.headers["Cache-Control"] == "no-store"
    for section in ("sticker-details", "sticker-lost-mode", "sticker-alerts", "sticker-qr", "sticker-deactivate"):
        assert f'id="{section}"' in html(page)
    assert "can't be turned on again" in page_text(page)


def test_renaming_without_javascript_saves_and_redirects(client, session, sticker):
    response = post(client, f"/account/stickers/{sticker.code}", {"label": "  Bilnycklar ", "category": "keys"})
    assert response.status_code == 303 and response.headers["Location"] == f"/account/stickers/{sticker.code}"
    saved = reload(session, sticker)
    assert (saved.label, saved.category) == ("Bilnycklar", "keys")
    assert "Saved." in html(client.get(response.headers["Location"]))


def test_renaming_with_htmx_swaps_the_section_and_the_heading(client, session, sticker):
    response = post(client, f"/account/stickers/{sticker.code}", {"label": "Laptop", "category": "laptop"}, htmx=True)
    assert response.status_code == 200 and is_fragment(response)
    assert 'id="sticker-details"' in html(response) and "Saved." in html(response)
    assert 'id="sticker-head" class="sticker-head" hx-swap-oob="true"' in html(response)
    assert "<h1>Laptop</h1>" in html(response)
    assert reload(session, sticker).category == "laptop"


@pytest.mark.parametrize(
    "form, message",
    [({"label": "x" * 81, "category": "keys"}, "at most 80 characters"),
     ({"label": "ok", "category": "car"}, "Not a valid choice")],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_details_get_422_with_the_reason(client, session, sticker, form, message, htmx):
    response = post(client, f"/account/stickers/{sticker.code}", form, htmx=htmx)
    assert response.status_code == 422 and message in html(response)
    assert is_fragment(response) is htmx
    assert reload(session, sticker).label == "Nycklar"


def test_posted_extra_fields_change_nothing_but_name_and_item(client, session, sticker, user_factory):
    other = user_factory()
    before = reload(session, sticker).model_dump()
    hostile = {"label": "Ny", "category": "bag", "owner_id": str(other.id), "status": "voided",
               "code": codes.generate(), "set_id": "1", "id": "999", "lost_mode": "y", "reward_text": "1000 kr",
               "public_note": "hacked", "scan_alerts": "", "last_scan_alert_at": "2020-01-01", "activated_at": ""}
    for url in (f"/account/stickers/{sticker.code}", f"/account/stickers/{sticker.code}/alerts"):
        post(client, url, hostile)
    after = reload(session, sticker).model_dump()
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {"label", "category", "scan_alerts"}
    assert (after["label"], after["category"], after["scan_alerts"]) == ("Ny", "bag", False)


OWNER_NOTE = re.compile(r'<aside class="owner-note".*?</aside>', re.DOTALL)


def owner_notes(page_html: str) -> list[str]:
    """The owner-note boxes, heading level aside (the preview nests it one level deeper)."""
    return [re.sub(r"<(/?)h\d>", r"<\1h>", note) for note in OWNER_NOTE.findall(page_html)]


def test_the_preview_is_exactly_what_the_finder_sees_and_saves_nothing(app, client, session, sticker):
    note = {"lost_mode": "y", "reward_text": "500 kr <b>tack</b>", "public_note": "Ring gärna!\nTack.", "preview": "y"}
    preview = post(client, f"/account/stickers/{sticker.code}/lost-mode", note, htmx=True)
    assert preview.status_code == 200 and is_fragment(preview)
    assert "not saved yet" in html(preview)
    assert reload(session, sticker).lost_mode is False and reload(session, sticker).reward_text is None
    del note["preview"]
    saved = post(client, f"/account/stickers/{sticker.code}/lost-mode", note)
    assert saved.status_code == 303
    finder_page = browser(app).get(f"/s/{sticker.code}", headers={"Accept-Language": "en"})
    [shown] = owner_notes(html(finder_page))
    assert owner_notes(html(preview)) == [shown]
    assert owner_notes(html(client.get(f"/account/stickers/{sticker.code}"))) == [shown]
    assert "&lt;b&gt;tack&lt;/b&gt;" in shown


def test_lost_mode_is_opt_in(app, client, session, sticker):
    response = post(client, f"/account/stickers/{sticker.code}/lost-mode", {"reward_text": "100 kr"})
    assert response.status_code == 303
    assert reload(session, sticker).lost_mode is False and reload(session, sticker).reward_text == "100 kr"
    assert "100 kr" not in html(browser(app).get(f"/s/{sticker.code}"))
    assert "Lost mode is off, so finders see no note" in html(client.get(f"/account/stickers/{sticker.code}"))


def test_lost_mode_on_and_off_with_htmx_updates_the_badge(client, session, sticker):
    on = post(client, f"/account/stickers/{sticker.code}/lost-mode", {"lost_mode": "y"}, htmx=True)
    assert on.status_code == 200 and is_fragment(on)
    assert "Lost mode is on. Finders now see your note." in html(on)
    assert 'hx-swap-oob="true"' in html(on) and "badge-lost" in html(on)
    assert reload(session, sticker).lost_mode is True
    off = post(client, f"/account/stickers/{sticker.code}/lost-mode", {}, htmx=True)
    assert "Lost mode is off." in html(off) and "badge-active" in html(off)
    assert reload(session, sticker).lost_mode is False


@pytest.mark.parametrize("field, length, limit", [("reward_text", 201, 200), ("public_note", 501, 500)])
@pytest.mark.parametrize("htmx", [False, True])
def test_too_long_lost_mode_texts_get_422(client, session, sticker, field, length, limit, htmx):
    response = post(client, f"/account/stickers/{sticker.code}/lost-mode", {"lost_mode": "y", field: "x" * length},
                    htmx=htmx)
    assert response.status_code == 422 and f"at most {limit} characters" in html(response)
    assert is_fragment(response) is htmx
    assert reload(session, sticker).lost_mode is False


def test_scan_alerts_off_and_on(client, session, sticker):
    off = post(client, f"/account/stickers/{sticker.code}/alerts", {})
    assert off.status_code == 303 and reload(session, sticker).scan_alerts is False
    on = post(client, f"/account/stickers/{sticker.code}/alerts", {"scan_alerts": "y"}, htmx=True)
    assert on.status_code == 200 and is_fragment(on) and "Scan alerts are on." in html(on)
    assert reload(session, sticker).scan_alerts is True


# --- deactivation -------------------------------------------------------------------


def test_deactivation_asks_first(client, session, sticker):
    confirm = client.get(f"/account/stickers/{sticker.code}/deactivate")
    assert confirm.status_code == 200 and "<html" in html(confirm)
    assert "can't be turned on again" in page_text(confirm)
    fragment = client.get(f"/account/stickers/{sticker.code}/deactivate", headers={"HX-Request": "true"})
    assert is_fragment(fragment) and 'id="sticker-deactivate"' in html(fragment)
    for htmx in (False, True):
        refused = post(client, f"/account/stickers/{sticker.code}/deactivate", {}, htmx=htmx)
        assert refused.status_code == 422 and "Tick the box to confirm." in html(refused)
        assert is_fragment(refused) is htmx
    assert reload(session, sticker).status == StickerStatus.ACTIVE


def test_a_deactivated_sticker_looks_unknown_and_stays_off(app, client, session, sticker_factory, owner):
    sticker = sticker_factory(owner=owner, lost_mode=True, reward_text="200 kr")
    done = post(client, f"/account/stickers/{sticker.code}/deactivate", {"confirm": "y"})
    assert done.status_code == 303 and done.headers["Location"] == f"/account/stickers/{sticker.code}"
    assert reload(session, sticker).status == StickerStatus.DEACTIVATED
    unknown = codes.generate()
    pages = [browser(app).get(f"/s/{code}") for code in (sticker.code, unknown)]
    assert page_text(pages[0]).replace(codes.display(sticker.code), "ID") == page_text(pages[1]).replace(
        codes.display(unknown), "ID")
    page = client.get(f"/account/stickers/{sticker.code}")
    assert "This sticker is deactivated" in html(page) and 'id="sticker-lost-mode"' not in html(page)
    assert "can't be turned on again" in page_text(page)
    again = post(client, f"/account/stickers/{sticker.code}/lost-mode", {"lost_mode": "y"})
    assert again.status_code == 409 and reload(session, sticker).lost_mode is False
    assert post(client, f"/account/stickers/{sticker.code}/deactivate", {"confirm": "y"}).status_code == 409
    assert client.get(f"/account/stickers/{sticker.code}/qr.png").status_code == 404
    htmx = post(client, f"/account/stickers/{sticker.code}", {"label": "x", "category": "keys"}, htmx=True)
    assert htmx.status_code == 409 and htmx.headers["HX-Refresh"] == "true"


def test_htmx_deactivation_redirects_to_the_sticker_page(client, session, sticker):
    done = post(client, f"/account/stickers/{sticker.code}/deactivate", {"confirm": "y"}, htmx=True)
    assert done.headers["HX-Redirect"] == f"/account/stickers/{sticker.code}"
    assert reload(session, sticker).status == StickerStatus.DEACTIVATED


# --- QR downloads -------------------------------------------------------------------


def decoded(image: Image.Image) -> str:
    (barcode,) = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert barcode.valid
    return barcode.text


@pytest.mark.parametrize("extension", ["svg", "png"])
def test_the_qr_downloads_decode_to_the_sticker_url(app, client, sticker, extension):
    response = client.get(f"/account/stickers/{sticker.code}/qr.{extension}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f"stickerreg-{codes.display(sticker.code)}.{extension}" in disposition
    if extension == "svg":
        assert response.mimetype == "image/svg+xml"
        image = Image.open(io.BytesIO(resvg_py.svg_to_bytes(svg_string=html(response), width=330, height=330)))
    else:
        assert response.mimetype == "image/png"
        image = Image.open(io.BytesIO(response.data))
    assert decoded(image) == qr.sticker_url(app.config["PUBLIC_BASE_URL"], sticker.code)


# --- the dashboard ------------------------------------------------------------------


def test_the_dashboard_lists_stickers_with_their_state(client, sticker_factory, owner, mallory_sticker):
    sticker_factory(owner=owner, label="Plånbok")
    sticker_factory(owner=owner, label="Nycklar", lost_mode=True)
    sticker_factory(owner=owner, label="Gamla väskan", status=StickerStatus.DEACTIVATED)
    page = client.get("/account/")
    text = page_text(page)
    for label, badge in [("Plånbok", "Active"), ("Nycklar", "Lost mode"), ("Gamla väskan", "Deactivated")]:
        assert f"{label} {badge}" in text
    assert "Other" in text  # the category
    assert 'href="/account/claim"' in html(page)
    assert "Mallory" not in text
    assert html(page).count("Turn on lost mode") == 1 and html(page).count("Turn off lost mode") == 1


def test_the_dashboard_offers_claiming_when_empty(client):
    page = client.get("/account/")
    assert "You have no stickers yet" in html(page) and html(page).count('href="/account/claim"') >= 2


def test_quick_lost_mode_without_javascript(client, session, sticker):
    response = post(client, f"/account/stickers/{sticker.code}/lost-mode/quick", {"lost_mode": "on"})
    assert response.status_code == 303 and response.headers["Location"] == "/account/"
    assert reload(session, sticker).lost_mode is True
    assert "Lost mode is on." in html(client.get("/account/"))


def test_quick_lost_mode_with_htmx_returns_the_row(client, session, sticker):
    sticker.reward_text = "kept"
    session.add(sticker)
    session.commit()
    response = post(client, f"/account/stickers/{sticker.code}/lost-mode/quick", {"lost_mode": "on"}, htmx=True)
    assert response.status_code == 200 and is_fragment(response)
    assert html(response).lstrip().startswith(f'<li id="sticker-{sticker.code}"')
    assert "Turn off lost mode" in html(response) and "badge-lost" in html(response)
    saved = reload(session, sticker)
    assert saved.lost_mode is True and saved.reward_text == "kept"
    off = post(client, f"/account/stickers/{sticker.code}/lost-mode/quick", {"lost_mode": "off"}, htmx=True)
    assert "Turn on lost mode" in html(off) and reload(session, sticker).lost_mode is False


@pytest.mark.parametrize("htmx", [False, True])
def test_quick_lost_mode_refuses_bad_input(client, session, sticker, htmx):
    response = post(client, f"/account/stickers/{sticker.code}/lost-mode/quick", {"lost_mode": "maybe"}, htmx=htmx)
    assert response.status_code == 422 and "Reload the page and try again." in html(response)
    assert is_fragment(response) is htmx
    assert reload(session, sticker).lost_mode is False


def test_quick_lost_mode_refuses_a_deactivated_sticker(client, session, sticker_factory, owner):
    sticker = sticker_factory(owner=owner, status=StickerStatus.DEACTIVATED)
    response = post(client, f"/account/stickers/{sticker.code}/lost-mode/quick", {"lost_mode": "on"}, htmx=True)
    assert response.status_code == 409 and reload(session, sticker).lost_mode is False


# --- scan alerts --------------------------------------------------------------------


def scan(app, code: str, agent: str = BROWSER_UA):
    return app.test_client().get(f"/s/{code}", headers={"User-Agent": agent}, environ_base={"REMOTE_ADDR": "10.9.9.9"})


def alerts(session) -> list[OutboxMessage]:
    session.expire_all()
    return session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SCAN_ALERT)).all()


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_a_scan_in_lost_mode_mails_the_owner_once_an_hour(app, session, sticker_factory, user_factory, locale):
    owner = user_factory(locale=locale)
    sticker = sticker_factory(owner=owner, label="Nycklar", lost_mode=True)
    assert scan(app, sticker.code).status_code == 200
    assert scan(app, sticker.code).status_code == 200
    [row] = alerts(session)
    [email] = drain_outbox(app)
    assert email["To"] == owner.email
    scanned_at = reload(session, sticker).last_scan_alert_at
    with app.test_request_context(), force_locale(locale):
        local_time = format_datetime(scanned_at, "short")  # Europe/Stockholm
    text = body_text(email)
    assert local_time in text and codes.display(sticker.code) in text and "Nycklar" in email["Subject"]
    assert f"/account/stickers/{sticker.code}" in text
    assert f'<html lang="{locale}">' in email.get_body(preferencelist=("html",)).get_content()
    for finder_trace in ("10.9.9.9", "iPhone", "Safari"):
        assert finder_trace not in email.as_string()
    sticker = reload(session, sticker)
    sticker.last_scan_alert_at = utcnow() - timedelta(minutes=61)
    session.add(sticker)
    session.commit()
    scan(app, sticker.code)
    assert len(alerts(session)) == 2


@pytest.mark.parametrize("agent", ["facebookexternalhit/1.1", "WhatsApp/2.23", "Slackbot-LinkExpanding 1.0", ""])
def test_link_previews_and_crawlers_never_trigger_an_alert(app, session, sticker_factory, agent):
    sticker = sticker_factory(lost_mode=True)
    assert scan(app, sticker.code, agent).status_code == 200
    assert alerts(session) == []


def test_no_alert_without_lost_mode_or_with_alerts_off(app, session, sticker_factory):
    quiet = sticker_factory()
    muted = sticker_factory(lost_mode=True)
    muted.scan_alerts = False
    session.add(muted)
    session.commit()
    for sticker in (quiet, muted):
        assert scan(app, sticker.code).status_code == 200
    assert alerts(session) == []


def test_an_alert_queued_before_lost_mode_was_turned_off_is_not_sent(app, session, sticker_factory):
    sticker = sticker_factory(lost_mode=True)
    scan(app, sticker.code)
    sticker = reload(session, sticker)
    sticker.lost_mode = False
    session.add(sticker)
    session.commit()
    assert drain_outbox(app) == []


# --- labels reach email subjects ------------------------------------------------------


@pytest.mark.parametrize("typed", ["Bil\nnycklar", "Bil\r\n\r\n nycklar", "Bil\u2028nycklar", " Bil\tnycklar "])
def test_a_label_is_stored_on_one_line(client, session, sticker, typed):
    # The label ends up in email subjects, where a line break would break the header.
    response = post(client, f"/account/stickers/{sticker.code}", {"label": typed, "category": "keys"})
    assert response.status_code == 303
    assert reload(session, sticker).label == "Bil nycklar"
