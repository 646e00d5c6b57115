"""The admin area: desks and the pairing, renaming and revoking of their kiosk screens,
from the web and from the CLI."""

from __future__ import annotations

import re

import pytest
from helpers import PASSWORD, browser, csrf_token, visible
from sqlmodel import select

from stickerreg.models import Desk, DeskCreate, KioskDevice, Role
from stickerreg.services import desks


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


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.PRINTSHOP])
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
