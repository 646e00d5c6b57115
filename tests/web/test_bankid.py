"""Sign in with BankID and link BankID to an account, against a fake BankID server."""

from __future__ import annotations

import html
import io
import re

import pytest
import resvg_py
import sqlalchemy as sa
import zxingcpp
from fake_bankid import FakeBankId, complete, failed, pending
from flask import render_template
from flask_login import login_user
from helpers import BROWSER_UA, SECRET_KEY, app_with, csrf_token, free_port
from PIL import Image
from sqlmodel import select

from stickerreg import bankid
from stickerreg.models import LoginSession, User
from stickerreg.services import accounts
from stickerreg.web import bankid as bankid_views
from stickerreg.web.sessions import Principal

PNR = "198112289874"  # a valid test personnummer, as BankID sends it: 12 digits
OTHER_PNR = "199001011239"
KEY = SECRET_KEY
PASSWORD = "korrekt-häst-batteri-42"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def fake():
    with FakeBankId() as server:
        yield server


@pytest.fixture
def client(app):
    """An English-speaking browser: the texts checked below are the English ones."""
    client = app.test_client()
    client.set_cookie("lang", "en")
    return client


@pytest.fixture
def app(database_url, tmp_path, fake):
    """The usual test app, with BankID pointed at the fake server."""
    with app_with(database_url, tmp_path, BANKID_URL=fake.url) as app:
        yield app


@pytest.fixture
def linked_user(session, user_factory):
    """A customer whose personnummer BankID has proved (a typed one never signs in)."""

    def make(personnummer: str = PNR, **kwargs) -> User:
        user = user_factory(**kwargs)
        accounts.link_personnummer(session, user, personnummer, key=KEY, verified=True)
        session.commit()
        return user

    return make


def start(client, purpose="login", page="/auth/login"):
    token = csrf_token(client, page)
    return client.post("/auth/bankid/start", data={"purpose": purpose, "csrf_token": token},
                       headers={"User-Agent": BROWSER_UA})


def poll(client, *, htmx=True):
    return client.get("/auth/bankid/status", headers=HTMX if htmx else {})


def text(response) -> str:
    """What a reader sees: tags removed, entities decoded, spaces collapsed."""
    body = re.sub(r"<svg.*?</svg>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def sign_in_with_password(client, user):
    token = csrf_token(client, "/auth/login")
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def login_methods(session) -> list[str]:
    return list(session.exec(select(LoginSession.method)).all())


def order_in_session(client) -> dict | None:
    with client.session_transaction() as cookie_session:
        return cookie_session.get(bankid_views.ORDER_KEY)


def qr_text(response) -> str:
    """Scan the QR code on a page, as the BankID app would."""
    drawing = re.search(r"<svg.*?</svg>", response.get_data(as_text=True), flags=re.S).group(0)
    image = Image.open(io.BytesIO(resvg_py.svg_to_bytes(svg_string=drawing, width=490)))
    (barcode,) = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return barcode.text


# --- signing in -----------------------------------------------------------------------


def test_a_linked_account_signs_in_with_bankid(client, session, linked_user, fake):
    linked_user()
    fake.next_order(pending("outstandingTransaction"), pending("userSign"), complete(PNR))
    client.environ_base["REMOTE_ADDR"] = "192.0.2.10"
    page = start(client)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert fake.calls("auth")[0].body == {"endUserIp": "192.0.2.10"}
    [order] = fake.orders.values()
    body = page.get_data(as_text=True)
    assert 'hx-get="/auth/bankid/status" hx-trigger="load delay:1s" hx-swap="outerHTML"' in body
    assert f'href="bankid:///?autostarttoken={order.auto_start_token}&amp;redirect=null"' in body
    assert "Start the BankID app and scan the QR code." in text(poll(client))
    assert "Enter your security code" in text(poll(client))
    done = poll(client)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == "/account/"
    assert login_methods(session) == ["bankid"]
    assert order_in_session(client) is None
    assert client.get("/account/").status_code == 200


def test_the_status_page_works_without_javascript(client, linked_user, fake):
    linked_user()
    fake.next_order(pending("started"), complete(PNR))
    page = start(client)
    body = page.get_data(as_text=True)
    assert '<a href="/auth/bankid/status">' in body  # "Check status", a plain link
    assert "<script>" not in body and "http-equiv" not in body
    assert "Check status" in text(page)
    waiting = poll(client, htmx=False)
    assert waiting.status_code == 200 and "<html" in waiting.get_data(as_text=True)
    assert "Searching for BankID" in text(waiting)
    done = poll(client, htmx=False)
    assert done.status_code == 303 and done.headers["Location"] == "/account/"


def test_htmx_gets_the_fragment_and_plain_requests_the_page(client, fake):
    fake.next_order(pending())
    start(client)
    fragment, page = poll(client), poll(client, htmx=False)
    assert "<html" not in fragment.get_data(as_text=True) and 'id="bankid-status"' in fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True) and 'id="bankid-actions"' in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def test_the_qr_code_is_animated_and_its_secret_stays_on_the_server(app, client, fake, monkeypatch):
    now = [1_750_000_000.0]
    monkeypatch.setattr(bankid_views, "clock", lambda: now[0])
    fake.next_order(pending())
    page = start(client)
    [order] = fake.orders.values()
    assert qr_text(page) == bankid.qr_data(order.qr_start_token, order.qr_start_secret, 0)
    now[0] += 7.4
    later = poll(client)
    assert qr_text(later) == bankid.qr_data(order.qr_start_token, order.qr_start_secret, 7)
    for response in (page, later):
        assert order.qr_start_secret not in response.get_data(as_text=True)
    cookie = client.get_cookie("session").value
    stored = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert order.qr_start_secret not in cookie and order.qr_start_secret not in repr(stored)
    assert stored[bankid_views.ORDER_KEY]["ref"] == order.order_ref
    assert "orderRef" not in page.request.url and order.order_ref not in later.request.url


@pytest.mark.parametrize(
    "hint, explanation",
    [
        ("userCancel", "You cancelled the identification in the BankID app."),
        ("expiredTransaction", "The BankID app did not answer in time."),
        ("certificateErr", "blocked or too old"),
        ("startFailed", "could not be started or could not read the QR code"),
        ("cancelled", "a new one was started"),
        ("someFutureHint", "The identification could not be completed. Please try again."),
    ],
)
def test_a_failed_order_explains_itself_and_signs_no_one_in(client, session, linked_user, fake, hint, explanation):
    linked_user()
    fake.next_order(pending(), failed(hint))
    start(client)
    poll(client)
    ended = poll(client)
    assert ended.status_code == 200 and "HX-Redirect" not in ended.headers
    assert explanation in text(ended) and "Try again" in text(ended)
    assert '<div id="bankid-actions" hx-swap-oob="true"></div>' in ended.get_data(as_text=True)
    assert 'hx-trigger' not in ended.get_data(as_text=True)  # polling stops
    assert login_methods(session) == [] and order_in_session(client) is None
    assert client.get("/account/").status_code == 302
    assert "no BankID identification in progress" in text(poll(client))


def test_unknown_pending_hints_just_wait(client, fake):
    fake.next_order(pending("userMrtd"), pending("somethingNewFromBankId"), pending("userSign"))
    start(client)
    for _ in range(2):
        waiting = poll(client)
        assert waiting.status_code == 200 and "Identification in progress" in text(waiting)


def test_try_again_starts_a_new_order(client, fake):
    fake.next_order(failed("expiredTransaction"))
    start(client)
    ended = poll(client)
    token = re.search(r'name="csrf_token" value="([^"]+)"', ended.get_data(as_text=True)).group(1)
    again = client.post("/auth/bankid/start", data={"purpose": "login", "csrf_token": token})
    assert again.status_code == 200 and len(fake.orders) == 2


def test_an_unlinked_personnummer_signs_no_one_in(client, session, user_factory, linked_user, fake):
    user_factory(email="someone@example.se")
    linked_user(OTHER_PNR)
    fake.next_order(complete(PNR))
    start(client)
    ended = poll(client)
    assert ended.status_code == 200 and "HX-Redirect" not in ended.headers
    assert "No account is linked to this BankID yet" in text(ended)
    assert "link BankID on your profile page" in text(ended)
    assert login_methods(session) == []


# --- BankID errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, answer, page_status, explanation",
    [
        (400, {"errorCode": "alreadyInProgress", "details": "Order already in progress"}, 409, "already in progress"),
        (503, {"errorCode": "maintenance", "details": "Down"}, 503, "can't be reached right now"),
        (500, "<html><body>Internal error</body></html>", 503, "can't be reached right now"),
        (400, {"errorCode": "invalidParameters", "details": "endUserIp"}, 503, "Something went wrong with BankID"),
    ],
)
def test_bankid_refusing_to_start_gives_a_friendly_page(client, session, fake, status, answer, page_status, explanation):
    fake.fail_next("auth", status, answer)
    page = start(client)
    assert page.status_code == page_status and "<html" in page.get_data(as_text=True)
    assert explanation in text(page) and "Try again" in text(page)
    assert "Order already in progress" not in text(page)  # BankID's details are not for users
    assert order_in_session(client) is None and login_methods(session) == []


@pytest.mark.parametrize(
    "status, answer, explanation",
    [
        (500, {"errorCode": "internalError", "details": "Internal error"}, "can't be reached right now"),
        (400, {"errorCode": "invalidParameters", "details": "No such order"}, "Something went wrong with BankID"),
    ],
)
def test_bankid_failing_while_polling_ends_the_order_kindly(client, session, fake, status, answer, explanation):
    fake.next_order(pending())
    start(client)
    fake.fail_next("collect", status, answer)
    ended = poll(client)
    assert ended.status_code == 200 and explanation in text(ended)
    assert order_in_session(client) is None and login_methods(session) == []


def test_an_unreachable_bankid_gives_a_friendly_page(database_url, tmp_path):
    with app_with(database_url, tmp_path, BANKID_URL=f"http://127.0.0.1:{free_port()}") as app:
        client = app.test_client()
        client.set_cookie("lang", "en")
        page = start(client)
        assert page.status_code == 503 and "can't be reached right now" in text(page)


# --- cancelling ---------------------------------------------------------------------------


def test_cancel_stops_the_order_at_bankid_and_returns_to_sign_in(client, fake):
    fake.next_order(pending())
    start(client)
    [order] = fake.orders.values()
    token = csrf_token(client, "/auth/login")
    cancelled = client.post("/auth/bankid/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == "/auth/login"
    assert [call.body for call in fake.calls("cancel")] == [{"orderRef": order.order_ref}]
    assert order_in_session(client) is None


def test_starting_again_cancels_the_abandoned_order(client, fake):
    start(client)
    [first] = fake.orders.values()
    start(client)
    assert [call.body["orderRef"] for call in fake.calls("cancel")] == [first.order_ref]


def test_start_and_cancel_need_the_csrf_token(client, fake):
    assert client.post("/auth/bankid/start", data={"purpose": "login"}).status_code == 400
    assert client.post("/auth/bankid/cancel").status_code == 400
    assert fake.requests == []


def test_an_unknown_purpose_is_refused(client, fake):
    token = csrf_token(client, "/auth/login")
    assert client.post("/auth/bankid/start", data={"purpose": "admin", "csrf_token": token}).status_code == 400
    assert fake.requests == []


# --- linking ---------------------------------------------------------------------------------


def test_a_signed_in_customer_links_bankid(client, session, user_factory, fake):
    user = user_factory(password=PASSWORD)
    sign_in_with_password(client, user)
    fake.next_order(pending("userSign"), complete(PNR))
    page = start(client, "link", page="/account/")
    assert page.status_code == 200 and "Link BankID to your account" in text(page)
    assert "Enter your security code" in text(poll(client))
    done = poll(client)
    assert done.headers["HX-Redirect"] == "/account/profile"
    with client.session_transaction() as cookie_session:
        assert ("info", "BankID is now linked to your account. Next time you can sign in with BankID.") in (
            cookie_session["_flashes"]
        )
    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.personnummer_digest == accounts.personnummer_digest(PNR, key=KEY)
    assert stored.personnummer_masked == "19811228-****"
    row = session.connection().execute(sa.text("SELECT * FROM users")).mappings().one()
    values = " ".join(str(value) for value in row.values())
    for form in (PNR, PNR[2:], "811228-9874", "19811228-9874"):
        assert form not in values
    profile = client.get("/account/profile?lang=en")
    assert "BankID is now linked" in text(profile) and "19811228-****" in profile.get_data(as_text=True)
    assert 'value="link"' not in profile.get_data(as_text=True)  # nothing left to link


def test_a_personnummer_bankid_should_never_send_is_not_linked(client, session, user_factory, fake):
    user = user_factory(password=PASSWORD)
    sign_in_with_password(client, user)
    fake.next_order(complete("198112289875"))  # wrong check digit
    start(client, "link", page="/account/")
    assert poll(client).headers["HX-Redirect"] == "/account/profile"
    with client.session_transaction() as cookie_session:
        assert ("error", "BankID gave a personal identity number we can't use.") in cookie_session["_flashes"]
    session.expire_all()
    assert session.get(User, user.id).personnummer_digest is None


def test_a_linked_customer_can_then_sign_in_with_bankid(client, session, user_factory, fake):
    user = user_factory(password=PASSWORD)
    sign_in_with_password(client, user)
    fake.next_order(complete(PNR))
    start(client, "link", page="/account/")
    assert poll(client, htmx=False).headers["Location"] == "/account/profile"
    other = client.application.test_client()
    fake.next_order(complete(PNR))
    start(other)
    assert poll(other, htmx=False).headers["Location"] == "/account/"
    assert sorted(login_methods(session)) == ["bankid", "password"]


def test_the_profile_page_offers_linking(client, user_factory):
    user = user_factory(password=PASSWORD)
    sign_in_with_password(client, user)
    profile = client.get("/account/profile?lang=en").get_data(as_text=True)
    assert 'action="/auth/bankid/start"' in profile and 'value="link"' in profile


def test_cancelling_a_link_returns_to_the_profile(client, user_factory, fake):
    sign_in_with_password(client, user_factory(password=PASSWORD))
    start(client, "link", page="/account/")
    cancelled = client.post("/auth/bankid/cancel", data={"csrf_token": csrf_token(client, "/account/")})
    assert cancelled.status_code == 303 and cancelled.headers["Location"] == "/account/profile"
    assert len(fake.calls("cancel")) == 1


def test_linking_needs_a_signed_in_customer(client, fake):
    response = start(client, "link")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert fake.requests == []


def test_a_personnummer_linked_to_another_account_is_refused(client, session, user_factory, linked_user, fake):
    linked_user(PNR)
    user = user_factory(password=PASSWORD)
    sign_in_with_password(client, user)
    fake.next_order(complete(PNR))
    start(client, "link", page="/account/")
    assert poll(client).headers["HX-Redirect"] == "/account/profile"
    with client.session_transaction() as cookie_session:
        assert ("error", "This BankID is already linked to another account.") in cookie_session["_flashes"]
    session.expire_all()
    assert session.get(User, user.id).personnummer_digest is None


def test_the_profile_include_offers_linking_only_without_a_personnummer(app, user_factory, linked_user):
    plain, linked = user_factory(), linked_user()
    for user, shown in ((plain, True), (linked, False)):
        with app.test_request_context():
            login_user(Principal(user, "token"))
            included = render_template("account/_bankid_link.html")
        assert ('value="link"' in included) is shown
        assert ('action="/auth/bankid/start"' in included) is shown


# --- configuration, limits ---------------------------------------------------------------------


def test_bankid_is_offered_on_the_login_page_when_configured(client):
    page = client.get("/auth/login?lang=en")
    assert 'action="/auth/bankid/start"' in page.get_data(as_text=True)
    assert "Sign in with BankID" in text(page)


def test_bankid_is_hidden_everywhere_when_not_configured(database_url, tmp_path, user_factory):
    with app_with(database_url, tmp_path, BANKID_URL=None) as app:
        client = app.test_client()
        page = client.get("/auth/login?lang=en")
        assert "bankid" not in page.get_data(as_text=True).lower()
        token = csrf_token(client, "/auth/login")
        assert client.post("/auth/bankid/start", data={"purpose": "login", "csrf_token": token}).status_code == 404
        assert client.get("/auth/bankid/status").status_code == 404
        with app.test_request_context():
            login_user(Principal(user_factory(), "token"))
            assert render_template("account/_bankid_link.html").strip() == ""


def test_starting_is_limited_per_client(client, fake):
    statuses = [start(client).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


def test_polling_is_limited_per_client(client):
    statuses = [poll(client).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429


def test_a_typed_personnummer_never_signs_anyone_in(client, session, user_factory, fake):
    """Typing someone's number in a profile must not hand their BankID sign-in to you."""
    squatter = user_factory(email="squatter@example.se")
    accounts.link_personnummer(session, squatter, PNR, key=KEY)  # typed, not proved
    session.commit()
    fake.next_order(complete(PNR))
    start(client)
    poll(client)
    assert client.get("/account/").status_code == 302  # not signed in as the squatter


def test_bankid_proof_takes_a_number_back_from_a_typed_claim(client, session, user_factory, fake):
    squatter = user_factory(email="squatter@example.se")
    accounts.link_personnummer(session, squatter, PNR, key=KEY)
    session.commit()
    owner = user_factory(password=PASSWORD)
    sign_in_with_password(client, owner)
    fake.next_order(complete(PNR))
    start(client, "link", page="/account/")
    poll(client)
    session.expire_all()
    assert session.get(User, owner.id).personnummer_verified_at is not None
    assert session.get(User, squatter.id).personnummer_digest is None


def test_status_polling_is_limited_per_order_not_per_address(app, fake):
    """Two people behind one office address each poll their own order."""
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        browser.set_cookie("lang", "en")
        fake.next_order(pending())
        start(browser)
    statuses = [poll(first).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120 and statuses[120] == 429
    assert poll(second).status_code == 200
