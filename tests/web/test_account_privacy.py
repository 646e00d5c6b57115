"""A customer's own data in the browser: the ZIP they download (only theirs, only signed in),
erasing the account (the right password, a CSRF token, then nothing of it is left and its
stickers look like unknown codes), and an admin erasing a customer (admins only)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, browser, csrf_token, phone_client, sign_in, visible, visible_text
from sqlmodel import select

from stickerreg import codes
from stickerreg.models import AuditEntry, Role, Sticker, StickerStatus, User
from stickerreg.services import accounts, finder
from stickerreg.services.relay import FinderDetails

EXPORT, ERASE = "/account/privacy/export", "/account/privacy/erase"


def fresh(session, user) -> User | None:
    """The user as the database has it now (None once erased)."""
    [user_id] = sa.inspect(user).identity  # without loading it: its row may be gone
    session.expire_all()
    return session.get(User, user_id)


def download(client) -> zipfile.ZipFile:
    response = client.post(EXPORT, data={"csrf_token": csrf_token(client, "/account/privacy")})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="stickerreg-data.zip"'
    assert response.headers["Cache-Control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(response.data))


# --- the page and the download --------------------------------------------------------------


def test_the_account_menu_leads_to_your_data_with_the_customer_number(owner, owner_client):
    dashboard = owner_client.get("/account/").get_data(as_text=True)
    assert 'href="/account/privacy"' in dashboard
    page = visible(owner_client.get("/account/privacy"))
    assert f"Your customer number is {accounts.display_customer_number(owner.customer_number)}" in page
    assert "Download my data" in page and "Erase my account" in page


def test_the_download_is_the_customers_own_data_and_is_audited(session, owner, owner_client, sticker_factory,
                                                               user_factory):
    sticker = sticker_factory(owner=owner, label="Cykelnycklar")
    finder.report_found(session, code=sticker.code, message="Hittade dem vid stationen",
                        details=FinderDetails(email="finn@example.org", found_where="Stationen",
                                              latitude=59.33, longitude=18.06))
    other = user_factory(email="other@example.se", password=PASSWORD)
    sticker_factory(owner=other, label="Someone else's bag")
    session.commit()
    archive = download(owner_client)
    assert sorted(archive.namelist()) == ["data.json", "summary.html"]
    data = json.loads(archive.read("data.json"))
    assert data["profile"]["email"] == "owner@example.se"
    assert data["profile"]["customer_number"] == owner.customer_number
    assert [s["label"] for s in data["stickers"]] == ["Cykelnycklar"]
    [conversation] = data["conversations"]
    assert conversation["found_where"] == "Stationen" and conversation["messages"][0]["text"] == "Hittade dem vid stationen"
    raw = archive.read("data.json").decode()
    assert "finn@example.org" not in raw and "59.33" not in raw and "18.06" not in raw  # the finder's, not theirs
    assert "other@example.se" not in raw and "Someone else" not in raw
    summary = visible_text(archive.read("summary.html").decode())
    assert "Your data at Stickerreg" in summary and "Cykelnycklar" in summary
    assert accounts.display_customer_number(owner.customer_number) in summary
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "account.exported")).all()
    assert [(e.subject_id, e.actor_id, e.actor_role) for e in entries] == [(owner.id, owner.id, "customer")]
    assert "owner@example.se" not in json.dumps(entries[0].detail)


def test_the_summary_is_in_the_customers_language(app, session, user_factory):
    swede = user_factory(email="svensk@example.se", password=PASSWORD, locale="sv")
    client = phone_client(app)
    sign_in(client, swede.email)
    summary = visible_text(download(client).read("summary.html").decode())
    assert "Dina uppgifter hos Stickerreg" in summary and "Kundnummer" in summary


def test_the_download_needs_a_signed_in_customer_and_a_form_token(app, owner, owner_client):
    visitor = browser(app)
    token = csrf_token(visitor, "/auth/login")
    for method, path in [("GET", "/account/privacy"), ("POST", EXPORT), ("POST", ERASE)]:
        response = visitor.open(path, method=method, data={"csrf_token": token, "password": PASSWORD,
                                                           "understood": "y"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login"), path
    assert owner_client.post(EXPORT).status_code == 400
    assert owner_client.get(EXPORT).status_code == 405


# --- erasing one's own account ----------------------------------------------------------------


def erase(client, **form):
    data = {"password": PASSWORD, "understood": "y", "csrf_token": csrf_token(client, "/account/privacy"), **form}
    return client.post(ERASE, data=data)


@pytest.mark.parametrize(("form", "message"), [
    ({"password": "not-the-password"}, "Wrong password."),
    ({"password": ""}, "Type your password to erase the account."),
    ({"understood": ""}, "Tick the box to confirm."),
])
def test_erasure_needs_the_password_and_the_tick(session, owner, owner_client, form, message):
    response = erase(owner_client, **form)
    assert response.status_code == 422 and message in visible(response)
    assert fresh(session, owner) is not None


def test_erasure_without_a_form_token_is_refused(session, owner, owner_client):
    assert owner_client.post(ERASE, data={"password": PASSWORD, "understood": "y"}).status_code == 400
    assert fresh(session, owner) is not None


def test_an_account_without_a_password_is_told_how_to_erase_it(session, user_factory, app):
    bankid_only = user_factory(email="bankid@example.se", password=PASSWORD, locale="en")
    client = browser(app, email=bankid_only.email)
    bankid_only = fresh(session, bankid_only)
    bankid_only.password_hash = None
    session.add(bankid_only)
    session.commit()
    page = visible(client.get("/account/privacy"))
    assert "Your account has no password" in page and "Erase my account" not in page
    token = csrf_token(client, "/account/privacy")
    assert client.post(ERASE, data={"password": "anything", "understood": "y", "csrf_token": token}).status_code == 422
    assert fresh(session, bankid_only) is not None


def test_erasing_ones_account_signs_out_and_leaves_the_stickers_unknown(app, session, owner, owner_client,
                                                                      sticker_factory):
    sticker = sticker_factory(owner=owner, label="Plånbok", lost_mode=True, reward_text="100 kr hittelön")
    unknown = codes.generate()
    session.commit()
    response = erase(owner_client)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "Your account and your data are erased." in visible(owner_client.get("/"))
    assert fresh(session, owner) is None
    session.expire_all()
    assert session.get(Sticker, sticker.id).status == StickerStatus.DEACTIVATED
    assert owner_client.get("/account/").status_code == 302  # signed out
    finder_page = browser(app)
    assert visible(finder_page.get(f"/s/{sticker.code}")).replace(codes.display(sticker.code), "ID") == \
        visible(finder_page.get(f"/s/{unknown}")).replace(codes.display(unknown), "ID")
    fresh_start = browser(app)
    token = csrf_token(fresh_start, "/auth/login")
    refused = fresh_start.post("/auth/login", data={"email": "owner@example.se", "password": PASSWORD,
                                                    "csrf_token": token})
    assert refused.status_code == 422


# --- an admin erases a customer ----------------------------------------------------------------


@pytest.fixture
def admin_client(app, user_factory):
    user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
    return browser(app, email="admin@example.se")


def test_an_admin_finds_the_customer_sees_what_goes_and_erases(session, owner, admin_client, sticker_factory):
    sticker_factory(owner=owner)
    owner_id, number = owner.id, accounts.display_customer_number(owner.customer_number)
    found = admin_client.get("/admin/customers/erase", query_string={"customer": number})
    assert found.status_code == 303
    url = f"/admin/customers/{owner.customer_number}/erase"
    assert found.headers["Location"] == url
    page = admin_client.get(url)
    assert page.status_code == 200 and "owner@example.se" in visible(page) and "This can't be undone." in visible(page)
    token = csrf_token(admin_client, url)
    unconfirmed = admin_client.post(url, data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and "Tick the box to confirm." in visible(unconfirmed)
    assert fresh(session, owner) is not None
    done = admin_client.post(url, data={"csrf_token": token, "understood": "y"})
    assert done.status_code == 303 and fresh(session, owner) is None
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "account.erased")).all()
    assert entry.actor_role == "admin" and entry.subject_id == owner_id
    # The page showed the customer's email and name: that look is on the log too (once).
    [look] = session.exec(select(AuditEntry).where(AuditEntry.action == "customer.viewed")).all()
    assert (look.subject_id, look.actor_role, look.reason) == (owner_id, "admin", "privacy_request")


def test_an_unknown_number_or_a_staff_account_is_no_customer_to_erase(admin_client, user_factory):
    staff = user_factory(email="cs@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE)
    for typed in ("123", staff.customer_number):
        response = admin_client.get("/admin/customers/erase", query_string={"customer": typed})
        assert response.status_code == 422 and "No customer has that number." in visible(response)
    assert admin_client.get(f"/admin/customers/{staff.customer_number}/erase").status_code == 404


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.CUSTOMER_SERVICE, Role.PRINTSHOP])
def test_only_admins_erase_customers(app, session, owner, user_factory, role):
    client = browser(app)
    if role is not None:
        user_factory(email="someone@example.se", password=PASSWORD, role=role)
        client = browser(app, email="someone@example.se")
    url = f"/admin/customers/{owner.customer_number}/erase"
    token = csrf_token(client, "/auth/login" if role is None else "/about")  # a signed-in header holds one
    assert client.get(url).status_code == 404
    assert client.post(url, data={"csrf_token": token, "understood": "y"}).status_code == 404
    assert fresh(session, owner) is not None


def test_a_staff_account_is_erased_by_an_admin_not_by_itself(app, session, user_factory):
    staff = user_factory(email="cs@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE, locale="en")
    client = browser(app, email=staff.email)
    assert "an admin erases it once your role is taken away" in visible(client.get("/account/privacy"))
    assert erase(client).status_code == 422 and fresh(session, staff) is not None
