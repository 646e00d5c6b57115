"""Whole-app guards, checked against the live URL map so new routes are covered too:
the IDOR matrix (two customers, every owned URL and method) and CSRF on every POST."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, SECRET_KEY, csrf_token, phone_client, sign_in
from sqlmodel import select

from stickerreg import codes
from stickerreg.models import (
    BlockingCase,
    BlockingEvent,
    BlockingItem,
    Card,
    CardCreate,
    CardType,
    Conversation,
    DeskCreate,
    FireContact,
    FireContactCreate,
    HandedInItem,
    HandedInItemCreate,
    IdProtectAlert,
    IdProtectEventIn,
    LostItems,
    Message,
    MobileDevice,
    MobileDeviceCreate,
    Role,
    Sticker,
    User,
    utcnow,
)
from stickerreg.services import accounts, desks, finder, handed_in
from stickerreg.services.linked import blocking, cards, devices, directory, fire, idprotect
from stickerreg.services.relay import FinderDetails
from stickerreg.web import sessions

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Plausible form data, so a view that forgot its owner check would act on it.
FORM = {
    "label": "Stolen", "category": "pet", "lost_mode": "y", "reward_text": "x", "public_note": "x",
    "scan_alerts": "y", "message": "hijack", "confirm": "y", "display_name": "Mallory",
    "holder_name": "Mallory", "issuer": "nordea", "card_type": "credit", "last_four": "6666",
    "owner_name": "Mallory", "phone": "0701234567", "operator": "tele2", "name": "Mallory",
    "blocked": "yes", "verdict": "not_me", "direction": "up",
}
PERSONNUMMER = "198112189876"
API_PREFIX = "/api/"  # partner routes: bearer API keys, JSON, no cookies


@pytest.fixture
def alice_and_mallory(app, session, user_factory, sticker_factory):
    alice = user_factory(email="alice@example.se", password=PASSWORD)
    user_factory(email="mallory@example.se", password=PASSWORD)
    sticker = sticker_factory(owner=alice, label="Alice keys")
    conversation, _ = finder.report_found(session, code=sticker.code, message="found", details=FinderDetails())
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
    device, _ = desks.start_pairing(session, desk=desk, name="Counter")
    item = handed_in.hand_in(session, device=device, sticker_code=sticker.code, photo=b"\xff\xd8 jpeg",
                         details=HandedInItemCreate(category="keys", description="keys", storage_place="B3"), key=b"k")
    session.commit()
    return alice, sticker, conversation, item, *linked_services(session, alice)


def linked_services(session, alice):
    """Alice's card, phone, blocking case, credit-inquiry alert and fire-alarm contact."""
    directory.load_file(session)
    card = cards.add_card(session, alice, CardCreate(holder_name="Alice", issuer="handelsbanken",
                                                     card_type=CardType.DEBIT, last_four="4242"), actor=alice)
    device = devices.add_device(session, alice, MobileDeviceCreate(owner_name="Alice", phone="0701112233",
                                                                  operator="telia"), key=SECRET_KEY, actor=alice)
    case = blocking.open_case(session, alice, lost=LostItems.BOTH)
    accounts.link_personnummer(session, alice, PERSONNUMMER, key=SECRET_KEY, verified=True)
    alert, _ = idprotect.ingest(session, IdProtectEventIn(id="e-1", bureau="UC", requester="Bank AB",
                                                          requested_at=utcnow(), personnummer=PERSONNUMMER), key=SECRET_KEY)
    contact = fire.add_contact(session, alice, FireContactCreate(name="Neighbour", phone="0702223344"), actor=alice)
    session.commit()
    assert alert.user_id == alice.id
    return card, device, case, blocking.items_of(session, case)[0], alert, contact


def owned_keys(sticker, conversation, item, card, device, case, blocking_item, alert, contact) -> dict[str, str]:
    """The public key of each of Alice's objects, by the URL argument that names it."""
    return {"code": sticker.code, "public_id": conversation.public_id, "item_id": item.public_id,
            "card_id": card.public_id, "device_id": device.public_id, "case_id": case.public_id,
            "blocking_item_id": blocking_item.public_id, "alert_id": alert.public_id,
            "contact_id": contact.public_id}


def owned_urls(app, keys: dict[str, str]):
    """Every account URL that names an object, filled with Alice's keys."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/account/") or not rule.arguments:
            continue
        unknown = rule.arguments - keys.keys()
        assert not unknown, f"{rule.rule}: teach the IDOR matrix about {unknown}"
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{name}>", keys[name]).replace(f"<string:{name}>", keys[name])
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield method, url


def snapshot(session):
    session.expire_all()
    tables = (Sticker, Conversation, Message, User, HandedInItem, Card, MobileDevice, BlockingCase, BlockingItem,
              BlockingEvent, IdProtectAlert, FireContact)
    rows = [row for table in tables for row in session.exec(select(table))]
    return [row.model_dump() for row in rows]


def test_no_customer_reaches_another_customers_objects(app, session, alice_and_mallory):
    alice, *objects = alice_and_mallory
    keys = owned_keys(*objects)
    mallory = phone_client(app)
    sign_in(mallory, "mallory@example.se")
    token = csrf_token(mallory, "/account/")
    before = snapshot(session)
    successes, checked = [], 0
    for method, url in owned_urls(app, keys):
        response = mallory.open(url, method=method, data={**FORM, "csrf_token": token})
        checked += 1
        if response.status_code != 404:
            successes.append((method, url, response.status_code))
        response.close()
    assert successes == []
    assert snapshot(session) == before
    assert checked >= 1


def test_the_owner_reaches_each_of_those_pages(app, alice_and_mallory):
    """The matrix above means something only if the same URLs work for their owner."""
    alice, *objects = alice_and_mallory
    keys = owned_keys(*objects)
    client = phone_client(app)
    sign_in(client, "alice@example.se")
    for method, url in owned_urls(app, keys):
        if method == "GET":
            with client.get(url) as response:
                assert response.status_code == 200, url


def post_routes(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/static"):
            yield rule


def test_every_post_route_requires_a_csrf_token(app, alice_and_mallory, user_factory, session):
    """Without its token every form is refused (400). A view that takes no token checks where
    the browser says the request comes from instead (web/crossorigin.py): a form another site
    made the browser send is refused (403), and nothing is stored."""
    alice, *objects = alice_and_mallory
    # CSRF is checked before any lookup, so staff-area ids need not exist.
    values = {**owned_keys(*objects), "token": "x" * 32, "raw": objects[0].code}
    # Staff areas check the role first (to others they are a plain 404), so an admin posts there.
    user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
    customer, admin = signed_in_client(app, "alice@example.se"), signed_in_client(app, "admin@example.se")
    refused, bearer_only, cross_site = [], [], []
    before = snapshot(session)
    for rule in post_routes(app):
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{name}>", values.get(name, "x" * 16))
        client = admin if url.startswith(tuple(sessions.staff_area_prefixes())) else customer
        if url.startswith(API_PREFIX):  # no cookie opens the API, so it takes no CSRF token either
            bearer_only.append((url, client.post(url, data=FORM).status_code))
            continue
        if getattr(app.view_functions[rule.endpoint], "checks_origin", False):
            forged = client.post(url, data=FORM, headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
            cross_site.append((url, forged.status_code))
            continue
        response = client.post(url, data={**FORM, "email": "alice@example.se", "password": PASSWORD})
        refused.append((url, response.status_code))
    assert refused and [(url, status) for url, status in refused if status != 400] == []
    assert cross_site and [(url, status) for url, status in cross_site if status != 403] == []
    assert snapshot(session) == before
    # A signed-in browser without a bearer key gets 401 there; tests/web/test_api.py proves the keys.
    assert bearer_only and [(url, status) for url, status in bearer_only if status != 401] == []
    assert codes.normalize(objects[0].code)  # sanity: the keys were real


def signed_in_client(app, email: str):
    client = phone_client(app)
    sign_in(client, email)
    return client


@pytest.mark.parametrize("role", [None, Role.CUSTOMER])
def test_staff_areas_are_a_plain_404_whatever_the_method_or_token(app, user_factory, role):
    """Not even a 405 (wrong method) or a 400 (no CSRF token) may show that a route exists."""
    client = app.test_client()
    if role:
        user_factory(email="someone@example.se", password=PASSWORD, role=role)
        client = signed_in_client(app, "someone@example.se")
    prefixes = tuple(sessions.staff_area_prefixes())
    assert set(prefixes) >= {"/admin", "/printshop"}
    answers = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(prefixes):
            url = rule.rule.replace("<", "").replace(">", "")
            for method in ("GET", "POST", "PUT", "DELETE"):
                answers[(method, url)] = client.open(url, method=method, data=FORM).status_code
    assert answers and set(answers.values()) == {404}, answers


@pytest.mark.parametrize("role", list(Role))
def test_every_staff_area_is_open_to_its_roles_and_a_plain_404_to_every_other_role(app, user_factory, role):
    """The role matrix, from the live URL map: every staff route × every role. A role an area
    does not name gets 404 whatever the method; a role it names reaches each page that needs
    no argument (a new staff area or role is covered without anyone adding it here)."""
    user_factory(email="member@example.se", password=PASSWORD, role=role)
    client = signed_in_client(app, "member@example.se")
    areas = sessions.staff_areas()
    assert {"/admin", "/printshop", "/crm"} <= set(areas)
    wrong = {}
    for rule in app.url_map.iter_rules():
        prefix = next((p for p in areas if rule.rule == p or rule.rule.startswith(p + "/")), None)
        if prefix is None:
            continue
        if role.value not in areas[prefix]:
            url = rule.rule.replace("<", "").replace(">", "")
            for method in ("GET", "POST"):
                if (status := client.open(url, method=method, data=FORM).status_code) != 404:
                    wrong[(method, url)] = status
        elif "GET" in rule.methods and not rule.arguments:
            if (status := client.get(rule.rule).status_code) not in (200, 302, 303):
                wrong[("GET", rule.rule)] = status
    assert wrong == {}, f"{role.value}: {wrong}"
