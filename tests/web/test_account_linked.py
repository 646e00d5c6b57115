"""The customer's linked services in the account area: cards (never a card number), phones,
blocking cases from "I lost my wallet" to done, credit-inquiry alerts and fire-alarm contacts."""

from __future__ import annotations

import logging
import re
from html import unescape

import pytest
from helpers import SECRET_KEY, body_text, csrf_token, drain_outbox, visible
from sqlmodel import select

from stickerreg.models import (
    AuditEntry,
    BlockingCase,
    Card,
    FireContact,
    IdProtectAlert,
    IdProtectEventIn,
    MobileDevice,
    utcnow,
)
from stickerreg.services import accounts
from stickerreg.services.linked import blocking, directory, idprotect

CARD = {"holder_name": "Anna Andersson", "issuer": "handelsbanken", "card_type": "debit", "last_four": "4242"}
PHONE = {"owner_name": "Anna Andersson", "phone": "070-111 22 33", "operator": "telia", "imei": "490154203237518"}
CARD_NUMBER = "4539 1488 0343 6467"  # passes Luhn: what a customer might paste by mistake
PERSONNUMMER = "198112189876"


@pytest.fixture(autouse=True)
def the_directory(session):
    directory.load_file(session)
    session.commit()


def post(client, url: str, data: dict, *, form_url: str | None = None):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, form_url or url)})


def rows(session, table) -> list:
    session.expire_all()
    return list(session.exec(select(table)))


# --- cards ------------------------------------------------------------------------


def test_a_card_is_added_with_issuer_type_and_last_four_only(session, owner, owner_client):
    response = post(owner_client, "/account/cards", CARD)
    assert response.status_code == 303 and response.headers["Location"] == "/account/cards"
    [card] = rows(session, Card)
    assert (card.owner_id, card.holder_name, card.card_type, card.last_four) == (owner.id, "Anna Andersson", "debit",
                                                                                "4242")
    page = visible(owner_client.get("/account/cards"))
    assert "The card was added." in page and "Handelsbanken" in page and "•••• 4242" in page


@pytest.mark.parametrize("field", ["last_four", "holder_name"])
def test_a_whole_card_number_is_refused_and_kept_nowhere(session, owner_client, caplog, field):
    caplog.set_level(logging.DEBUG)
    response = post(owner_client, "/account/cards", {**CARD, field: CARD_NUMBER})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "never type the whole card number" in visible(response)
    digits = CARD_NUMBER.replace(" ", "")
    assert CARD_NUMBER not in html and digits not in html  # not echoed back into the form
    assert rows(session, Card) == [] and rows(session, AuditEntry) == []
    assert digits not in caplog.text and CARD_NUMBER not in caplog.text


@pytest.mark.parametrize("changes, message", [
    ({"last_four": "42a2"}, "Type the last four digits of the card"),
    ({"last_four": "424"}, "Type the last four digits of the card"),
    ({"last_four": "٤٢٤٢"}, "Type the last four digits of the card"),  # Arabic-Indic digits
    ({"issuer": "no-such-bank"}, "Not a valid choice"),
    ({"issuer": ""}, "Choose the card's issuer."),
    ({"card_type": "platinum"}, "Not a valid choice"),
    ({"holder_name": ""}, "Write the name on the card."),
    ({"holder_name": "x" * 101}, "at most 100"),
])
def test_bad_card_details_get_a_clear_message_and_store_nothing(session, owner_client, changes, message):
    response = post(owner_client, "/account/cards", {**CARD, **changes})
    assert response.status_code == 422
    assert message in visible(response)
    assert rows(session, Card) == []


def test_a_card_is_changed_and_removed_by_its_owner(session, owner_client):
    post(owner_client, "/account/cards", CARD)
    [card] = rows(session, Card)
    url = f"/account/cards/{card.public_id}"
    assert 'value="4242"' in owner_client.get(url).get_data(as_text=True)
    assert post(owner_client, url, {**CARD, "last_four": "1111", "issuer": "nordea"}).status_code == 303
    assert rows(session, Card)[0].last_four == "1111"
    refused = post(owner_client, url, {**CARD, "last_four": CARD_NUMBER})
    assert refused.status_code == 422 and rows(session, Card)[0].last_four == "1111"
    assert post(owner_client, f"{url}/delete", {"confirm": "y"}).status_code == 303
    assert rows(session, Card) == []


def test_a_removal_asks_first(session, owner_client):
    post(owner_client, "/account/cards", CARD)
    [card] = rows(session, Card)
    question = owner_client.get(f"/account/cards/{card.public_id}/delete")
    assert "Remove the card •••• 4242?" in visible(question) and len(rows(session, Card)) == 1


# --- phones -----------------------------------------------------------------------


def test_a_phone_is_added_normalised_and_its_imei_shown_masked(session, owner_client):
    assert post(owner_client, "/account/phones", {**PHONE, "imei": "49-015420-323751-8"}).status_code == 303
    [device] = rows(session, MobileDevice)
    assert (device.phone, device.imei) == ("+46701112233", "490154203237518")
    page = visible(owner_client.get("/account/phones"))
    assert "070-111 22 33" in page and "Telia" in page and "7518" in page and "490154203237518" not in page
    edit = owner_client.get(f"/account/phones/{device.public_id}").get_data(as_text=True)
    assert "490154203237518" in edit  # its owner can read it back to correct it


@pytest.mark.parametrize("changes, message", [
    ({"imei": "490154203237519"}, "That is not a valid IMEI"),  # Luhn fails
    ({"imei": "12345"}, "That is not a valid IMEI"),
    ({"phone": "12"}, "phone number"),
    ({"owner_personnummer": "198112189877"}, "personnummer"),
    ({"operator": "no-such-operator"}, "Not a valid choice"),
    ({"operator": ""}, "Choose the operator."),
    ({"owner_name": ""}, "Write the name of the phone's owner."),
])
def test_bad_phone_details_get_a_clear_message_and_store_nothing(session, owner_client, changes, message):
    response = post(owner_client, "/account/phones", {**PHONE, **changes})
    assert response.status_code == 422
    assert message in visible(response)
    assert rows(session, MobileDevice) == []


# --- blocking ---------------------------------------------------------------------


def test_a_lost_wallet_and_phone_becomes_a_blocking_case_to_the_end(app, session, owner, owner_client):
    post(owner_client, "/account/cards", CARD)
    post(owner_client, "/account/phones", PHONE)
    drain_outbox(app)
    started = post(owner_client, "/account/blocking", {"lost": "both"})
    assert started.status_code == 303
    [case] = rows(session, BlockingCase)
    case_url = f"/account/blocking/{case.public_id}"
    assert started.headers["Location"] == case_url

    page = owner_client.get(case_url)
    html, text = page.get_data(as_text=True), visible(page)
    assert 'href="tel:+4620411212"' in html  # Handelsbanken's blocking line, from the directory
    assert "Anna Andersson · •••• 4242" in text and "Anna Andersson · 070-111 22 33" in text
    assert "We don't have a blocking number for it" in text  # Telia's isn't sourced: said, not invented
    [opened] = drain_outbox(app)
    assert opened["To"] == owner.email and "020-41 12 12" in body_text(opened)

    assert post(owner_client, "/account/blocking", {"lost": "both"}).headers["Location"] == case_url  # not twice
    assert post(owner_client, f"{case_url}/help", {}, form_url=case_url).status_code == 303
    assert "You asked customer service to block for you." in visible(owner_client.get(case_url))
    assert len(drain_outbox(app)) == 1

    items = [item.public_id for item in blocking.items_of(session, rows(session, BlockingCase)[0])]
    for item in items:
        ticked = post(owner_client, f"{case_url}/items/{item}", {"blocked": "yes"}, form_url=case_url)
        assert ticked.status_code == 303
    done = owner_client.get(case_url)
    assert "Done" in visible(done) and "I have blocked it" not in visible(done)
    closed = post(owner_client, f"{case_url}/items/{items[0]}", {"blocked": "no"}, form_url=case_url)
    assert closed.status_code == 409 and "This case is closed." in visible(closed)


def test_a_lost_wallet_sticker_offers_a_blocking_case_for_it(session, owner, owner_client, sticker_factory):
    wallet = sticker_factory(owner=owner, label="Plånbok", lost_mode=True)
    wallet.category = "wallet"
    keys = sticker_factory(owner=owner, label="Nycklar", lost_mode=True)
    session.add(wallet)
    session.commit()
    post(owner_client, "/account/cards", CARD)
    assert "Start a blocking case for it" not in visible(owner_client.get(f"/account/stickers/{keys.code}"))
    page = owner_client.get(f"/account/stickers/{wallet.code}").get_data(as_text=True)
    offer = re.search(r'href="(/account/blocking\?[^"]+)">Start a blocking case for it', page)
    assert offer, "no blocking offer on a lost wallet"
    form = owner_client.get(unescape(offer.group(1))).get_data(as_text=True)
    assert re.search(r'value="wallet"[^>]*checked|checked[^>]*value="wallet"', form)
    assert f'value="{wallet.code}"' in form
    started = post(owner_client, "/account/blocking", {"lost": "wallet", "sticker": wallet.code})
    assert started.status_code == 303 and rows(session, BlockingCase)[0].sticker_id == wallet.id


def test_nothing_to_block_says_what_to_do_first(session, owner_client):
    response = post(owner_client, "/account/blocking", {"lost": "wallet"})
    assert response.status_code == 422 and "add your cards and phones first" in visible(response)
    assert rows(session, BlockingCase) == []


@pytest.mark.parametrize("data", [{"lost": "car"}, {}, {"lost": "wallet", "sticker": "<script>"}])
def test_a_bad_start_is_refused_clearly_or_ignores_the_unknown_sticker(session, owner_client, data):
    post(owner_client, "/account/cards", CARD)
    response = post(owner_client, "/account/blocking", data)
    if data.get("lost") == "wallet":
        assert response.status_code == 303 and rows(session, BlockingCase)[0].sticker_id is None
    else:
        assert response.status_code == 422 and "Choose what you have lost." in visible(response) or (
            "Not a valid choice" in visible(response))
        assert rows(session, BlockingCase) == []


def test_a_tick_with_a_bad_value_changes_nothing(session, owner_client):
    post(owner_client, "/account/cards", CARD)
    post(owner_client, "/account/blocking", {"lost": "wallet"})
    [case] = rows(session, BlockingCase)
    case_url = f"/account/blocking/{case.public_id}"
    html = owner_client.get(case_url).get_data(as_text=True)
    item = html.split(f"{case_url}/items/")[1].split('"')[0]
    assert post(owner_client, f"{case_url}/items/{item}", {"blocked": "maybe"}, form_url=case_url).status_code == 422
    assert post(owner_client, f"{case_url}/items/nope", {"blocked": "yes"}, form_url=case_url).status_code == 404
    assert rows(session, BlockingCase)[0].status == "open"


# --- ID protection ----------------------------------------------------------------


def alert_for(session, owner, event_id: str = "uc-1"):
    accounts.link_personnummer(session, owner, PERSONNUMMER, key=SECRET_KEY, verified=True)
    alert, _ = idprotect.ingest(session, IdProtectEventIn(id=event_id, bureau="UC", requester="Kreditbolaget AB",
                                                          requested_at=utcnow(), personnummer=PERSONNUMMER),
                                key=SECRET_KEY)
    session.commit()
    return alert


def test_an_inquiry_is_shown_marked_new_once_and_answered(app, session, owner, owner_client):
    alert = alert_for(session, owner)
    [email] = drain_outbox(app)
    assert "Kreditbolaget AB" in body_text(email) and PERSONNUMMER not in body_text(email)
    assert "1" in visible(owner_client.get("/account/")).split("ID protection")[1][:40]
    first = visible(owner_client.get("/account/id-protection"))
    assert "Kreditbolaget AB" in first and "New" in first
    assert "New" not in visible(owner_client.get("/account/id-protection")).split("Kreditbolaget AB")[1][:20]

    url = f"/account/id-protection/{alert.public_id}"
    answered = post(owner_client, url, {"verdict": "not_me"}, form_url="/account/id-protection")
    assert answered.status_code == 303
    page = visible(owner_client.get("/account/id-protection"))
    assert "What to do now" in page and "Report the attempted fraud to the police." in page
    post(owner_client, url, {"verdict": "not_me", "ask_for_help": "y"}, form_url="/account/id-protection")
    stored = rows(session, IdProtectAlert)[0]
    assert stored.verdict == "not_me" and stored.help_requested_at is not None


def test_a_bad_verdict_is_refused_without_a_change(session, owner, owner_client):
    alert = alert_for(session, owner)
    response = post(owner_client, f"/account/id-protection/{alert.public_id}", {"verdict": "whatever"},
                    form_url="/account/id-protection")
    assert response.status_code == 303
    assert "That didn't work." in visible(owner_client.get(response.headers["Location"]))
    assert rows(session, IdProtectAlert)[0].verdict is None


# --- fire-alarm contacts ----------------------------------------------------------


def add_contacts(client, *names: str):
    for number, name in enumerate(names):
        response = post(client, "/account/fire", {"name": name, "phone": f"070-000 00 0{number}"})
        assert response.status_code == 303, visible(response)


def contact_names(session) -> list[str]:
    return [contact.name for contact in sorted(rows(session, FireContact), key=lambda contact: contact.position)]


def test_fire_contacts_are_kept_in_calling_order_and_reordered(session, owner_client):
    add_contacts(owner_client, "Anna", "Bertil", "Cecilia")
    assert contact_names(session) == ["Anna", "Bertil", "Cecilia"]
    cecilia = rows(session, FireContact)[2]
    moved = post(owner_client, f"/account/fire/{cecilia.public_id}/move", {"direction": "up"}, form_url="/account/fire")
    assert moved.status_code == 303
    assert contact_names(session) == ["Anna", "Cecilia", "Bertil"]
    page = visible(owner_client.get("/account/fire"))
    assert page.index("Anna") < page.index("Cecilia") < page.index("Bertil")
    anna = next(contact for contact in rows(session, FireContact) if contact.name == "Anna")
    post(owner_client, f"/account/fire/{anna.public_id}/move", {"direction": "up"}, form_url="/account/fire")
    assert contact_names(session) == ["Anna", "Cecilia", "Bertil"]  # the first stays first
    post(owner_client, f"/account/fire/{anna.public_id}/delete", {"confirm": "y"})
    assert contact_names(session) == ["Cecilia", "Bertil"]
    assert [contact.position for contact in sorted(rows(session, FireContact), key=lambda c: c.position)] == [1, 2]


def test_at_most_five_fire_contacts(session, owner_client):
    add_contacts(owner_client, "A", "B", "C", "D", "E")
    response = post(owner_client, "/account/fire", {"name": "F", "phone": "070-000 00 09"})
    assert response.status_code == 422 and "the most there can be" in visible(response)
    assert len(rows(session, FireContact)) == 5


@pytest.mark.parametrize("changes, message", [
    ({"phone": "not a number"}, "phone number"),
    ({"name": ""}, "Write the contact's name."),
    ({"note": "x" * 201}, "at most 200"),
])
def test_a_bad_fire_contact_is_refused_clearly(session, owner_client, changes, message):
    response = post(owner_client, "/account/fire", {"name": "Anna", "phone": "070-123 45 67", **changes})
    assert response.status_code == 422 and message in visible(response)
    assert rows(session, FireContact) == []


# --- the overview -----------------------------------------------------------------


def test_the_services_page_sums_up_what_is_linked(session, owner, owner_client):
    post(owner_client, "/account/cards", CARD)
    add_contacts(owner_client, "Anna")
    page = visible(owner_client.get("/account/services"))
    assert "1 card" in page and "1 contact" in page
    assert "Services" in visible(owner_client.get("/account/"))
