"""The customer's profile: validated, normalised details; an allowlist that ignores extra
fields; a personnummer kept only as digest and mask; the whole email-change story."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, SECRET_KEY, browser, csrf_token, drain_outbox, link_in, visible
from sqlmodel import select

from stickerreg.models import OutboxMessage, ProfileUpdate, User
from stickerreg.services import accounts

KEY = SECRET_KEY
HTMX = {"HX-Request": "true"}
PROFILE = {"display_name": "Anna Andersson", "phone": "070-123 45 67", "street": "Storgatan 1",
           "postal_code": "123 45", "city": "Stockholm", "locale": "en", "notify_by_email": "y"}
PERSONNUMMER = "19880320-0016"  # a valid test number (checksum and date)


def save(client, changes=None, *, headers=None, url="/account/profile"):
    token = csrf_token(client, "/account/profile")
    return client.post(url, data={**PROFILE, **(changes or {}), "csrf_token": token}, headers=headers)


def fresh(session, user) -> User:
    session.expire_all()
    return session.get(User, user.id)


# --- details ----------------------------------------------------------------------


def test_the_profile_is_saved_normalised_and_shown_formatted(session, owner, owner_client):
    response = save(owner_client)
    assert response.status_code == 303 and response.headers["Location"] == "/account/profile"
    user = fresh(session, owner)
    assert (user.display_name, user.phone, user.street, user.postal_code, user.city) == (
        "Anna Andersson", "+46701234567", "Storgatan 1", "12345", "Stockholm")
    assert user.locale == "en" and user.notify_by_email is True
    page = owner_client.get("/account/profile")
    html = page.get_data(as_text=True)
    assert 'value="070-123 45 67"' in html and 'value="123 45"' in html
    assert "Your profile has been saved." in visible(page)
    assert page.headers["Cache-Control"] == "no-store"


def test_a_foreign_phone_number_is_kept_in_international_form(session, owner, owner_client):
    assert save(owner_client, {"phone": "+44 20 7946 0958", "postal_code": "12345"}).status_code == 303
    assert fresh(session, owner).phone == "+442079460958"
    html = owner_client.get("/account/profile").get_data(as_text=True)
    assert 'value="+44 20 7946 0958"' in html and 'value="123 45"' in html


def test_optional_fields_can_be_emptied_and_notifications_turned_off(session, owner, owner_client):
    save(owner_client)
    cleared = {"phone": "", "street": "", "postal_code": "", "city": ""}
    response = save(owner_client, cleared | {"notify_by_email": ""})
    assert response.status_code == 303
    user = fresh(session, owner)
    assert (user.phone, user.street, user.postal_code, user.city, user.notify_by_email) == (None,) * 4 + (False,)


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"phone": "123"}, "phone", "That phone number doesn't look right."),
        ({"phone": "ring mig"}, "phone", "That phone number doesn't look right."),
        ({"postal_code": "1234"}, "postal_code", "Enter a Swedish postal code"),
        ({"postal_code": "ABCDE"}, "postal_code", "Enter a Swedish postal code"),
        ({"postal_code": "123456"}, "postal_code", "Enter a Swedish postal code"),
        ({"display_name": "x" * 101}, "display_name", "at most 100 characters"),
        ({"city": "x" * 61}, "city", "at most 60 characters"),
        ({"street": "x" * 121}, "street", "at most 120 characters"),
        ({"display_name": "Anna\nAndersson"}, "display_name", "Use a single line"),
        ({"street": "Storgatan\t1"}, "street", "Use a single line"),
        ({"phone": "070\x00\x01"}, "phone", "That phone number doesn't look right."),
        ({"locale": "de"}, "locale", "Not a valid choice"),
        ({"personnummer": "880320-0017"}, "personnummer", "not a valid personnummer"),
        ({"personnummer": "12345"}, "personnummer", "not a valid personnummer"),
        ({"personnummer": "x" * 21}, "personnummer", "at most 20 characters"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(session, owner, owner_client, changes, field, message):
    before = fresh(session, owner).model_dump()
    response = save(owner_client, changes)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in visible(response)
    assert fresh(session, owner).model_dump() == before


def test_control_characters_are_dropped_from_names(session, owner, owner_client):
    assert save(owner_client, {"display_name": "Anna\x00 Anders\x07son\x1b"}).status_code == 303
    assert fresh(session, owner).display_name == "Anna Andersson"


def test_extra_posted_fields_change_nothing(session, owner, owner_client):
    before = fresh(session, owner).model_dump()
    extra = {"role": "admin", "email": "mallory@example.org", "owner_id": "999", "id": "999",
             "personnummer_digest": "0" * 64, "personnummer_masked": "19000101-****",
             "email_verified_at": "", "password_hash": "x", "created_at": "2000-01-01"}
    assert save(owner_client, extra).status_code == 303
    after = fresh(session, owner).model_dump()
    changed = {k for k in after if after[k] != before[k]}
    assert changed <= set(ProfileUpdate.model_fields)
    assert after["role"] == "customer" and after["email"] == "owner@example.se" and after["id"] == before["id"]
    assert after["personnummer_digest"] is None and after["email_verified_at"] == before["email_verified_at"]
    assert browser(owner_client.application, email="owner@example.se")  # the password still works


def test_htmx_gets_the_form_fragment_and_a_full_page_otherwise(session, owner, owner_client):
    saved = save(owner_client, headers=HTMX)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "<html" not in html and 'id="profile-form"' in html
    assert "Your profile has been saved." in html and "HX-Request" in saved.headers["Vary"]
    refused = save(owner_client, {"phone": "123"}, headers=HTMX)
    assert refused.status_code == 422 and "<html" not in refused.get_data(as_text=True)
    assert 'id="phone-error"' in refused.get_data(as_text=True)
    full = save(owner_client, {"phone": "123"})
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)


def test_choosing_another_language_switches_the_site_and_the_emails(session, owner, owner_client):
    response = save(owner_client, {"locale": "sv"})
    assert response.status_code == 303 and response.headers["Location"] == "/account/profile?lang=sv"
    assert fresh(session, owner).locale == "sv"
    assert '<html lang="sv">' in owner_client.get(response.headers["Location"]).get_data(as_text=True)
    by_htmx = save(owner_client, {"locale": "en"}, headers=HTMX)
    assert by_htmx.headers["HX-Redirect"] == "/account/profile?lang=en"


def test_each_customer_sees_and_changes_only_their_own_profile(app, session, owner, owner_client, user_factory):
    save(owner_client)
    mallory = user_factory(email="mallory@example.se", password=PASSWORD)
    mallory_client = browser(app, email="mallory@example.se")
    page = mallory_client.get("/account/profile").get_data(as_text=True)
    assert "Anna Andersson" not in page and 'value="070-123 45 67"' not in page and "mallory@example.se" in page
    assert save(mallory_client, {"display_name": "Mallory"}).status_code == 303
    assert fresh(session, owner).display_name == "Anna Andersson"
    assert fresh(session, mallory).display_name == "Mallory"


def test_anonymous_visitors_are_sent_to_sign_in(app):
    visitor = browser(app)
    token = csrf_token(visitor, "/auth/login")
    for method, path in [("GET", "/account/profile"), ("POST", "/account/profile"), ("POST", "/account/profile/email")]:
        response = visitor.open(path, method=method, data={**PROFILE, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login"), path


@pytest.mark.parametrize("path", ["/account/profile", "/account/profile/email"])
def test_posts_without_a_csrf_token_are_refused(session, owner, owner_client, path):
    before = fresh(session, owner).model_dump()
    data = {**PROFILE, "new_email": "ny@example.se", "password": PASSWORD}
    assert owner_client.post(path, data=data).status_code == 400
    assert fresh(session, owner).model_dump() == before
    assert session.exec(select(OutboxMessage)).all() == []


def test_the_bankid_part_may_be_missing(owner_client):
    assert owner_client.get("/account/profile").status_code == 200


# --- personnummer -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["8803200016", "880320-0016", "19880320-0016", "198803200016", " 19880320 0016 "])
def test_a_personnummer_is_kept_only_as_digest_and_mask(app, session, owner, owner_client, typed):
    response = save(owner_client, {"personnummer": typed})
    assert response.status_code == 303
    user = fresh(session, owner)
    assert user.personnummer_masked == "19880320-****"
    assert user.personnummer_digest == accounts.personnummer_digest("198803200016", key=KEY)
    with app.extensions["db_engine"].connect() as connection:
        stored = " ".join(str(value) for row in connection.execute(sa.text("SELECT * FROM users")) for value in row)
    for form in ("8803200016", "880320-0016", "0320-0016", "03200016"):
        assert form not in stored
    page = owner_client.get("/account/profile")
    html = page.get_data(as_text=True)
    assert "19880320-****" in html and "0016" not in visible(page) and "8803200016" not in html


def test_the_personnummer_is_never_echoed_when_the_form_is_refused(session, owner, owner_client):
    refused = save(owner_client, {"personnummer": PERSONNUMMER, "phone": "123"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "0320-0016" not in html and "8803200016" not in html and 'name="personnummer"' in html
    bad = save(owner_client, {"personnummer": "880320-0017"})
    assert bad.status_code == 422 and "0320-0017" not in bad.get_data(as_text=True)
    assert fresh(session, owner).personnummer_digest is None


def test_once_linked_the_personnummer_is_read_only(session, owner, owner_client):
    save(owner_client, {"personnummer": PERSONNUMMER})
    html = owner_client.get("/account/profile").get_data(as_text=True)
    assert 'name="personnummer"' not in html
    assert re.search(r'<input id="personnummer-linked" type="text" value="19880320-\*\*\*\*" readonly', html)
    digest = fresh(session, owner).personnummer_digest
    assert save(owner_client, {"personnummer": "811228-9841"}).status_code == 303  # ignored
    assert fresh(session, owner).personnummer_digest == digest


def test_a_personnummer_another_account_holds_is_saved_like_any_other(session, owner, owner_client, user_factory):
    # No oracle and no squatting: the answer is the same as for a number nobody has typed.
    accounts.link_personnummer(session, user_factory(), "198803200016", key=KEY)
    session.commit()
    response = save(owner_client, {"personnummer": "880320-0016", "display_name": "Changed"})
    assert response.status_code == 303
    user = fresh(session, owner)
    assert user.personnummer_masked == "19880320-****" and user.display_name == "Changed"
    assert user.personnummer_verified_at is None


# --- email change ---------------------------------------------------------------------


def change_email(client, new_email, password=PASSWORD):
    token = csrf_token(client, "/account/profile")
    return client.post("/account/profile/email", data={"new_email": new_email, "password": password, "csrf_token": token})


def test_the_whole_email_change(app, session, owner, owner_client):
    requested = change_email(owner_client, "Ny.Adress@example.se")
    assert requested.status_code == 303 and requested.headers["Location"] == "/account/profile"
    assert "Check your new inbox" in visible(owner_client.get("/account/profile"))
    assert fresh(session, owner).email == "owner@example.se"  # nothing changes yet

    [confirmation] = drain_outbox(app)
    assert confirmation["To"] == "ny.adress@example.se"
    path = link_in(confirmation, "/auth/email/")
    assert owner_client.get(path).status_code == 200
    token = csrf_token(owner_client, path)
    confirmed = owner_client.post(path, data={"csrf_token": token})
    assert confirmed.status_code == 303
    assert fresh(session, owner).email == "ny.adress@example.se"

    [notice] = drain_outbox(app)
    assert notice["To"] == "owner@example.se" and "changed" in notice["Subject"]
    assert browser(app, email="ny.adress@example.se")  # signs in with the new address
    old = browser(app)
    token = csrf_token(old, "/auth/login")
    refused = old.post("/auth/login", data={"email": "owner@example.se", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 422


def test_confirming_a_new_email_signs_out_every_other_browser(app, session, owner, owner_client):
    laptop = browser(app, email=owner.email)
    assert laptop.get("/account/").status_code == 200
    change_email(owner_client, "ny.adress@example.se")
    path = link_in(drain_outbox(app)[0], "/auth/email/")
    assert owner_client.post(path, data={"csrf_token": csrf_token(owner_client, path)}).status_code == 303
    assert laptop.get("/account/").status_code == 302  # whoever knew the old password is out
    assert owner_client.get("/account/").status_code == 200  # the browser that confirmed stays in


@pytest.mark.parametrize(
    "new_email, password, message",
    [("ny@example.se", "fel-lösenord-123", "Wrong password."),
     ("OWNER@example.se", PASSWORD, "That is already your email address."),
     ("inte-en-adress", PASSWORD, "doesn't look right"),
     ("ny@example.se", "", "Enter your password.")],
)
def test_a_refused_email_change_says_why(app, session, owner_client, new_email, password, message):
    response = change_email(owner_client, new_email, password)
    assert response.status_code == 422
    assert message in visible(response) and "<details open>" in response.get_data(as_text=True)
    assert PASSWORD not in response.get_data(as_text=True)
    assert drain_outbox(app) == []


def test_a_taken_address_gets_the_same_answer_and_no_mail(app, owner_client, user_factory):
    user_factory(email="taken@example.se")
    response = change_email(owner_client, "taken@example.se")
    assert response.status_code == 303
    assert "Check your new inbox" in visible(owner_client.get("/account/profile"))
    assert drain_outbox(app) == []


def test_the_profile_shows_the_customer_number_to_give_customer_service(owner, owner_client):
    number = accounts.display_customer_number(owner.customer_number)
    assert f"Your customer number is {number}." in visible(owner_client.get("/account/profile", headers={"Accept-Language": "en"}))
