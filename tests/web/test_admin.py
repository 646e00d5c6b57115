"""The admin area: desks and the pairing, renaming and revoking of their kiosk screens,
from the web and from the CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from helpers import PASSWORD, browser, csrf_token, visible
from sqlmodel import select

from stickerreg.models import Desk, DeskCreate, DirectoryKind, IdProtectEventIn, KioskDevice, Role
from stickerreg.services import accounts, api_keys, desks
from stickerreg.services.linked import directory, idprotect


@pytest.fixture
def admin_client(app, user_factory):
    admin = user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
    return browser(app, email=admin.email)


def admin_urls(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            url = re.sub(r"<[^>]+>", "x" * 16, rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.PRINTSHOP, Role.CUSTOMER_SERVICE])
def test_the_admin_area_is_a_plain_404_to_everyone_but_admins(app, user_factory, role):
    client = browser(app, email=user_factory(password=PASSWORD, role=role).email) if role else browser(app)
    token = csrf_token(client, "/auth/login" if role is None else "/account/")
    answers = {(method, url): client.open(url, method=method, data={"csrf_token": token}).status_code
               for method, url in admin_urls(app)}
    assert answers and set(answers.values()) == {404}, answers


def test_an_admin_adds_a_desk_pairs_a_screen_renames_and_revokes_it(app, session, admin_client):
    page = admin_client.post("/admin/desks", data={
        "name": "Skolans expedition", "address": "Skolvägen 1", "opening_hours": "Mon-Fri 8-16", "hold_days": "60",
        "csrf_token": csrf_token(admin_client, "/admin/desks")})
    assert page.status_code == 303
    desk = session.exec(select(Desk)).one()
    assert (desk.name, desk.hold_days) == ("Skolans expedition", 60)
    desk_url = page.headers["Location"]
    assert desk_url == f"/admin/desks/{desk.public_id}"

    pairing = admin_client.post(f"{desk_url}/pair", data={"name": "Entrance tablet",
                                                          "csrf_token": csrf_token(admin_client, desk_url)})
    assert pairing.status_code == 200 and "no-store" in pairing.headers["Cache-Control"]
    link = re.search(r"http://localhost(/kiosk/pair/[A-Za-z0-9_-]+)", visible(pairing)).group(1)
    assert "<svg" in pairing.get_data(as_text=True)  # a QR the tablet's camera can open
    assert "Waiting for its pairing link" in visible(admin_client.get(desk_url))

    tablet = browser(app)
    tablet.post(link, data={"csrf_token": csrf_token(tablet, link)})
    assert tablet.get("/kiosk/").status_code == 200
    device = session.exec(select(KioskDevice)).one()
    assert "Paired" in visible(admin_client.get(desk_url))

    renamed = admin_client.post(f"{desk_url}/devices/{device.public_id}/rename",
                                data={"name": "Counter 2", "csrf_token": csrf_token(admin_client, desk_url)})
    assert renamed.status_code == 303
    revoked = admin_client.post(f"{desk_url}/devices/{device.public_id}/revoke",
                                data={"csrf_token": csrf_token(admin_client, desk_url)})
    assert revoked.status_code == 303 and "Revoked" in visible(admin_client.get(desk_url))
    session.expire_all()
    assert session.get(KioskDevice, device.id).name == "Counter 2"
    assert tablet.get("/kiosk/").status_code == 403


def test_an_admin_sets_and_removes_the_desks_staff_pin(session, admin_client):
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
    session.commit()
    url = f"/admin/desks/{desk.public_id}"
    form = {"name": "Desk", "address": "Street 1", "opening_hours": "9-17", "hold_days": "30"}

    too_short = admin_client.post(url, data={**form, "staff_pin": "12", "csrf_token": csrf_token(admin_client, url)})
    assert too_short.status_code == 422 and "A staff PIN is 4 to 8 digits." in visible(too_short)
    admin_client.post(url, data={**form, "staff_pin": "8642", "csrf_token": csrf_token(admin_client, url)})
    session.refresh(desk)
    assert desk.staff_pin_hash.startswith("$argon2") and "8642" not in desk.staff_pin_hash
    assert desks.check_staff_pin(desk, "8642") and not desks.check_staff_pin(desk, "8641")
    assert "Staff PIN: set" in visible(admin_client.get(url))

    admin_client.post(url, data={**form, "csrf_token": csrf_token(admin_client, url)})  # empty keeps it
    session.refresh(desk)
    assert desk.staff_pin_hash
    admin_client.post(url, data={**form, "remove_staff_pin": "y", "csrf_token": csrf_token(admin_client, url)})
    session.refresh(desk)
    assert desk.staff_pin_hash is None


KEEP_PIN = {"en": "empty keeps the current one", "sv": "lämna tomt för att behålla den nuvarande"}


@pytest.mark.parametrize("lang", ["en", "sv"])
def test_only_a_desk_with_a_pin_is_told_that_an_empty_field_keeps_it(session, admin_client, lang):
    bare = desks.create_desk(session, DeskCreate(name="Bare", address="Street 1", opening_hours="9-17"))
    locked = desks.create_desk(session, DeskCreate(name="Locked", address="Street 2", opening_hours="9-17"))
    desks.set_staff_pin(session, locked, "2468")
    session.commit()
    optional = {"en": "Staff PIN (4 to 8 digits, optional)", "sv": "Personalkod (4 till 8 siffror, valfri)"}[lang]
    for url in ("/admin/desks", f"/admin/desks/{bare.public_id}"):  # a new desk, and one without a PIN
        page = admin_client.get(f"{url}?lang={lang}").get_data(as_text=True)
        assert optional in page and KEEP_PIN[lang] not in page and 'name="remove_staff_pin"' not in page, url
    page = admin_client.get(f"/admin/desks/{locked.public_id}?lang={lang}").get_data(as_text=True)
    assert KEEP_PIN[lang] in page and 'name="remove_staff_pin"' in page and optional not in page


def test_a_screen_paired_without_a_name_is_numbered_among_the_desks_screens(session, admin_client):
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
    session.commit()
    url = f"/admin/desks/{desk.public_id}"

    def pair(name: str, lang: str = "en") -> str:
        page = admin_client.get(f"{url}?lang={lang}")
        assert page.status_code == 200
        response = admin_client.post(f"{url}/pair", data={"name": name, "csrf_token": csrf_token(admin_client, url)})
        assert response.status_code == 200, visible(response)
        return session.exec(select(KioskDevice).order_by(KioskDevice.id.desc())).first().name

    assert "Left empty, it is called “Screen 1”." in visible(admin_client.get(url))
    assert 'value="Kiosk"' not in admin_client.get(url).get_data(as_text=True)
    assert pair("") == "Screen 1"
    assert pair("   ") == "Screen 2"
    assert pair("Counter") == "Counter"
    first = session.exec(select(KioskDevice).order_by(KioskDevice.id)).first()
    desks.rename_device(session, first, "Screen 5")  # a name taken by hand is skipped
    session.commit()
    assert pair("") == "Screen 4"
    assert "Lämnar du det tomt heter skärmen ”Skärm 5”." in visible(admin_client.get(f"{url}?lang=sv"))
    assert pair("", lang="sv") == "Skärm 5"  # "Screen 5" is another name
    too_long = admin_client.post(f"{url}/pair", data={"name": "x" * 61, "csrf_token": csrf_token(admin_client, url)})
    assert too_long.status_code == 422 and len(desks.devices(session, desk)) == 5


def test_desk_forms_explain_their_errors(session, admin_client):
    desks.create_desk(session, DeskCreate(name="Taken", address="x", opening_hours="y"))
    session.commit()
    response = admin_client.post("/admin/desks", data={
        "name": "taken", "address": "", "opening_hours": "9-17", "hold_days": "0",
        "csrf_token": csrf_token(admin_client, "/admin/desks")})
    assert response.status_code == 422
    text = visible(response)
    assert "Write the desk's address." in text and "Choose 1 to 365 days." in text
    response = admin_client.post("/admin/desks", data={
        "name": "TAKEN", "address": "Street 1", "opening_hours": "9-17", "hold_days": "30",
        "csrf_token": csrf_token(admin_client, "/admin/desks")})
    assert response.status_code == 422 and "Another desk has this name." in visible(response)
    assert len(session.exec(select(Desk)).all()) == 1


def test_unknown_desks_and_screens_are_404(session, admin_client):
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="x", opening_hours="y"))
    session.commit()
    token = csrf_token(admin_client, "/admin/desks")
    assert admin_client.get("/admin/desks/Desk").status_code == 404  # public ids only, never names
    assert admin_client.post(f"/admin/desks/{desk.public_id}/devices/nope/revoke",
                             data={"csrf_token": token}).status_code == 404


def test_the_cli_manages_desks_and_screens(app, session):
    cli = app.test_cli_runner()
    added = cli.invoke(args=["desk", "add", "--name", "Centralen", "--address", "Centralplan 15",
                             "--hours", "8-20", "--hold-days", "14"])
    assert added.exit_code == 0, added.output
    assert cli.invoke(args=["desk", "add", "--name", "centralen", "--address", "x",
                            "--hours", "y"]).exit_code == 2
    assert "Centralen  (Centralplan 15; 0 waiting)" in cli.invoke(args=["desk", "list"]).output

    paired = cli.invoke(args=["kiosk", "pair", "--desk", "Centralen"])
    assert paired.exit_code == 0 and "/kiosk/pair/" in paired.output
    device = session.exec(select(KioskDevice)).one()
    listing = cli.invoke(args=["kiosk", "devices", "--desk", "Centralen"]).output
    assert device.public_id in listing and "waiting" in listing

    revoked = cli.invoke(args=["kiosk", "revoke", "--desk", "Centralen", "--device", device.public_id])
    assert revoked.exit_code == 0
    assert "revoked" in cli.invoke(args=["kiosk", "devices", "--desk", "Centralen"]).output
    assert cli.invoke(args=["kiosk", "pair", "--desk", "Nowhere"]).exit_code == 2
    assert cli.invoke(args=["desk", "add", "--name", "Other", "--address", "x", "--hours", "y",
                            "--staff-pin", "12ab"]).exit_code == 2
    assert cli.invoke(args=["desk", "add", "--name", "Other", "--address", "x", "--hours", "y",
                            "--staff-pin", "1357"]).exit_code == 0
    assert cli.invoke(args=["kiosk", "revoke", "--desk", "Centralen", "--device", "nope"]).exit_code == 2


# --- the directory of card issuers and mobile operators ---

BANK = {"key": "bank", "name": "Bank", "blocking_phone": "+4684111011", "web": "https://bank.example"}
OPERATOR = {"key": "mobil", "name": "Mobil", "blocking_phone": None, "web": None}


def test_the_directory_lists_issuers_and_operators_with_their_blocking_lines(session, admin_client):
    directory.load(session, {"card_issuers": [BANK], "mobile_operators": [OPERATOR]})
    session.commit()
    text = visible(admin_client.get("/admin/directory"))
    assert "Card issuers" in text and "Mobile operators" in text
    assert "Bank 08-411 10 11 https://bank.example" in text
    assert "Mobil unknown – contact the issuer" in text
    page = admin_client.get("/admin/directory").get_data(as_text=True)
    assert 'href="/admin/directory/card_issuer/bank"' in page and 'href="/admin/directory/mobile_operator/mobil"' in page


def test_an_admin_corrects_a_directory_entry_and_is_told_what_is_wrong(session, admin_client):
    directory.load(session, {"card_issuers": [BANK]})
    session.commit()
    url = "/admin/directory/card_issuer/bank"
    form = {"name": "Banken", "blocking_phone": "020-41 12 12", "web": "https://bank.example/block"}

    wrong_phone = admin_client.post(url, data={**form, "blocking_phone": "12", "csrf_token": csrf_token(admin_client, url)})
    assert wrong_phone.status_code == 422 and "That is not a phone number we can call." in visible(wrong_phone)
    plain_http = admin_client.post(url, data={**form, "web": "http://bank.example",
                                              "csrf_token": csrf_token(admin_client, url)})
    assert plain_http.status_code == 422 and "Use an address that starts with https://." in visible(plain_http)
    no_name = admin_client.post(url, data={**form, "name": " ", "csrf_token": csrf_token(admin_client, url)})
    assert no_name.status_code == 422 and "Write the name customers know it by." in visible(no_name)
    session.expire_all()
    assert directory.find(session, DirectoryKind.CARD_ISSUER, "bank").name == "Bank"

    saved = admin_client.post(url, data={**form, "csrf_token": csrf_token(admin_client, url)})
    assert saved.status_code == 303 and saved.headers["Location"] == "/admin/directory"
    assert "Banken was saved." in visible(admin_client.get("/admin/directory"))
    session.expire_all()
    entry = directory.find(session, DirectoryKind.CARD_ISSUER, "bank")
    assert (entry.name, entry.blocking_phone, entry.web) == ("Banken", "+4620411212", "https://bank.example/block")

    cleared = admin_client.post(url, data={"name": "Banken", "blocking_phone": "", "web": "",
                                           "csrf_token": csrf_token(admin_client, url)})
    assert cleared.status_code == 303
    session.expire_all()
    entry = directory.find(session, DirectoryKind.CARD_ISSUER, "bank")
    assert (entry.blocking_phone, entry.web) == (None, None)


def test_unknown_directory_kinds_and_keys_are_404(session, admin_client):
    directory.load(session, {"card_issuers": [BANK]})
    session.commit()
    for url in ("/admin/directory/bank_issuer/bank", "/admin/directory/mobile_operator/bank",
                "/admin/directory/card_issuer/nope", "/admin/directory/card_issuer/b%00nk"):
        assert admin_client.get(url).status_code == 404, url


def test_an_admin_reloads_the_directory_from_the_shipped_data_file(session, admin_client):
    shipped = json.loads(directory.DATA_FILE.read_text(encoding="utf-8"))
    total = len(shipped["card_issuers"]) + len(shipped["mobile_operators"])
    unconfirmed = admin_client.post("/admin/directory/reload",
                                    data={"csrf_token": csrf_token(admin_client, "/admin/directory")})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in visible(unconfirmed)
    assert directory.entries(session, DirectoryKind.CARD_ISSUER) == []

    reloaded = admin_client.post("/admin/directory/reload", data={
        "confirm": "y", "csrf_token": csrf_token(admin_client, "/admin/directory")})
    assert reloaded.status_code == 303
    assert f"{total} added, 0 updated" in visible(admin_client.get("/admin/directory"))
    admin_client.post("/admin/directory/reload", data={
        "confirm": "y", "csrf_token": csrf_token(admin_client, "/admin/directory")})
    assert f"0 added, {total} updated" in visible(admin_client.get("/admin/directory"))


# --- partner API keys ---


def test_a_new_api_key_is_shown_once_and_works_until_revoked(session, admin_client):
    created = admin_client.post("/admin/api-keys", data={
        "name": "Kreditbyrån", "scope": "idprotect", "csrf_token": csrf_token(admin_client, "/admin/api-keys")})
    assert created.status_code == 200 and "no-store" in created.headers["Cache-Control"]
    plain = re.search(r"sr_[A-Za-z0-9_-]+", visible(created)).group(0)
    assert "It is shown only this once" in visible(created)
    key = api_keys.authenticate(session, "Bearer " + plain)
    assert key is not None and (key.name, key.scope) == ("Kreditbyrån", "idprotect")
    assert key.created_by_id == accounts.find_by_email(session, "admin@example.se").id
    session.commit()

    listing = visible(admin_client.get("/admin/api-keys"))
    assert plain not in listing and key.prefix in listing and "Kreditbyrån" in listing
    assert "ID protection: a credit bureau reports credit inquiries" in listing

    revoked = admin_client.post(f"/admin/api-keys/{key.public_id}/revoke",
                                data={"csrf_token": csrf_token(admin_client, "/admin/api-keys")})
    assert revoked.status_code == 303 and "The key “Kreditbyrån” is revoked." in visible(
        admin_client.get("/admin/api-keys"))
    session.expire_all()
    assert api_keys.authenticate(session, "Bearer " + plain) is None


def test_api_key_forms_explain_their_errors(admin_client):
    token = csrf_token(admin_client, "/admin/api-keys")
    refused = admin_client.post("/admin/api-keys", data={"name": "", "scope": "everything", "csrf_token": token})
    assert refused.status_code == 422
    assert "Name the partner, e.g. the credit bureau." in visible(refused) and "sr_" not in visible(refused)
    assert admin_client.post("/admin/api-keys/nope/revoke", data={"csrf_token": token}).status_code == 404


# --- ID-protection events no customer matched ---


def test_unmatched_idprotect_events_show_only_the_masked_personnummer(session, admin_client, user_factory):
    user_factory(email="someone@example.se")  # a customer, but not this person
    idprotect.ingest(session, IdProtectEventIn(id="uc-1", bureau="UC", requester="Lånebolaget AB",
                                               requested_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
                                               personnummer="19121212-1212"), key=b"test-key")
    session.commit()
    page = admin_client.get("/admin/idprotect")
    text = visible(page)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert "UC Lånebolaget AB 1 Mar 2026 10:30 19121212-****" in text
    body = page.get_data(as_text=True)
    assert "191212121212" not in body and "19121212-1212" not in body and "121212-1212" not in body
