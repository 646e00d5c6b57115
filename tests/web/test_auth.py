"""Sign-up, verification, sign-in and out, reset and email change, without user enumeration."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers import BROWSER_UA, csrf_token, drain_outbox, link_in
from sqlmodel import select

from stickerreg.models import AuthToken, LoginSession, User

PASSWORD = "korrekt-häst-batteri-42"


def post_form(client, page_url, data, *, post_url=None):
    data = {**data, "csrf_token": csrf_token(client, page_url)}
    return client.post(post_url or page_url, data=data, headers={"User-Agent": BROWSER_UA})


def sign_up(client, email=PASSWORD and "new@example.se", password=PASSWORD):
    return post_form(client, "/auth/signup", {"email": email, "password": password, "password_confirm": password})


def login(client, email, password=PASSWORD):
    return post_form(client, "/auth/login", {"email": email, "password": password})


def visible(response) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r'value="[^"]*"', "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_sign_up_verify_and_sign_in(app, browser_client, session):
    assert sign_up(browser_client).status_code == 200
    [email] = drain_outbox(app)
    assert email["To"] == "new@example.se"
    verify_path = link_in(email, "/auth/verify/")
    assert login(browser_client, "new@example.se").status_code == 422  # not confirmed yet
    page = browser_client.get(verify_path)
    assert page.status_code == 200
    confirmed = post_form(browser_client, verify_path, {})
    assert confirmed.status_code == 303
    assert session.exec(select(User)).one().email_verified_at is not None
    signed_in = login(browser_client, "new@example.se")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/account/"
    assert browser_client.get("/account/").status_code == 200
    used = post_form(browser_client, "/account/", {}, post_url=verify_path)
    assert used.status_code == 404  # single use


def test_sign_up_answers_the_same_for_a_known_email(app, browser_client, user_factory):
    user_factory(email="taken@example.se")
    known = sign_up(browser_client, email="taken@example.se")
    unknown = sign_up(app.test_client(), email="free@example.se")
    assert known.status_code == unknown.status_code == 200
    assert visible(known).replace("taken", "X") == visible(unknown).replace("free", "X")
    kinds = sorted(e["Subject"] for e in drain_outbox(app))
    assert len(kinds) == 2  # the known address is told someone tried


@pytest.mark.parametrize("password, problem", [("short", "12"), ("password1234", "common")])
def test_weak_passwords_are_refused(browser_client, password, problem):
    response = sign_up(browser_client, password=password)
    assert response.status_code == 422
    assert 'id="password-error"' in response.get_data(as_text=True)


def test_login_failure_looks_the_same_for_unknown_email_and_wrong_password(app, user_factory):
    user_factory(email="owner@example.se", password=PASSWORD)
    wrong = login(app.test_client(), "owner@example.se", "wrong-password-123")
    unknown = login(app.test_client(), "nobody@example.se", "wrong-password-123")
    assert wrong.status_code == unknown.status_code == 422
    assert visible(wrong).replace("owner", "X") == visible(unknown).replace("nobody", "X")


def test_login_is_throttled_per_account(app, user_factory):
    user_factory(email="owner@example.se", password=PASSWORD)
    statuses = [login(app.test_client(), "owner@example.se", f"wrong-{n}-password").status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]
    assert login(app.test_client(), "owner@example.se").status_code == 429  # even the right one, for now


def test_session_rotates_at_login_and_logout_kills_the_old_cookie(app, browser_client, user_factory, session):
    user_factory(email="owner@example.se", password=PASSWORD)
    browser_client.get("/auth/login")
    before = browser_client.get_cookie("session").value
    login(browser_client, "owner@example.se")
    stolen = browser_client.get_cookie("session").value
    assert stolen != before
    assert browser_client.get("/account/").status_code == 200
    token = csrf_token(browser_client, "/account/")
    assert browser_client.post("/auth/logout", data={"csrf_token": token}).status_code == 303
    assert session.exec(select(LoginSession)).all() == []
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/account/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_account_pages_require_login(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def test_password_reset_by_email(app, browser_client, user_factory, session):
    user_factory(email="owner@example.se", password=PASSWORD)
    other_browser = app.test_client()
    login(other_browser, "owner@example.se")
    assert post_form(browser_client, "/auth/reset", {"email": "owner@example.se"}).status_code == 200
    [email] = drain_outbox(app)
    reset_path = link_in(email, "/auth/reset/")
    new = "ett-helt-nytt-lösenord"
    changed = post_form(browser_client, reset_path, {"password": new, "password_confirm": new})
    assert changed.status_code == 303
    assert other_browser.get("/account/").status_code == 302  # signed out everywhere
    assert login(browser_client, "owner@example.se", new).status_code == 303
    assert browser_client.get(reset_path).status_code == 404  # used


def test_reset_request_answers_the_same_for_unknown_email(app, browser_client, user_factory):
    user_factory(email="owner@example.se")
    known = post_form(browser_client, "/auth/reset", {"email": "owner@example.se"})
    unknown = post_form(app.test_client(), "/auth/reset", {"email": "nobody@example.se"})
    assert known.status_code == unknown.status_code == 200
    assert visible(known).replace("owner", "X") == visible(unknown).replace("nobody", "X")
    assert len(drain_outbox(app)) == 1


def test_expired_links_do_not_work(app, browser_client, user_factory, session):
    user_factory(email="owner@example.se")
    post_form(browser_client, "/auth/reset", {"email": "owner@example.se"})
    reset_path = link_in(drain_outbox(app)[0], "/auth/reset/")
    row = session.exec(select(AuthToken)).one()
    row.expires_at = row.created_at - timedelta(seconds=1)
    session.add(row)
    session.commit()
    assert browser_client.get(reset_path).status_code == 404


def test_only_same_site_next_urls_are_followed(app, user_factory):
    user_factory(email="owner@example.se", password=PASSWORD)
    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    for target, expected in [("/account/?x=1", "/account/?x=1"), ("//evil.example", "/account/"),
                             ("https://evil.example/", "/account/")]:
        response = client.post(f"/auth/login?next={target}",
                               data={"email": "owner@example.se", "password": PASSWORD, "csrf_token": token},
                               headers={"User-Agent": BROWSER_UA})
        assert response.headers["Location"] == expected
        client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/account/")})
        token = csrf_token(client, "/auth/login")


def test_a_next_with_a_line_break_or_a_backslash_is_not_followed(app, user_factory, session):
    user_factory(email="owner@example.se", password=PASSWORD)
    for target in ("/%0D%0ASet-Cookie:x=1", "/%5Cevil.example", "/ok%09tab"):
        client = app.test_client()
        response = client.post(f"/auth/login?next={target}", data={
            "email": "owner@example.se", "password": PASSWORD, "csrf_token": csrf_token(client, "/auth/login")},
            headers={"User-Agent": BROWSER_UA})
        assert response.status_code == 303 and response.headers["Location"] == "/account/"
        assert client.get_cookie("x") is None and client.get("/account/").status_code == 200


def test_control_characters_in_the_address_do_not_open_a_fresh_sign_in_bucket(app, user_factory):
    # The form drops control characters before authentication, so all of these are the
    # same account: they must share its one bucket of five failures.
    user_factory(email="owner@example.se", password=PASSWORD)
    typed = [f"owner@example.se{chr(n)}" for n in range(1, 7)]
    statuses = [login(app.test_client(), email, "wrong-password-guess").status_code for email in typed[:5]]
    assert statuses == [422] * 5
    assert login(app.test_client(), typed[5]).status_code == 429  # even the right password


def test_a_stranger_cannot_lock_the_owner_out_of_their_own_browser(app, user_factory):
    user_factory(email="owner@example.se", password=PASSWORD)
    owners_phone = app.test_client()
    assert login(owners_phone, "owner@example.se").status_code == 303
    owners_phone.post("/auth/logout", data={"csrf_token": csrf_token(owners_phone, "/account/")})
    attempts = [login(app.test_client(), "owner@example.se", f"guess-{n}-password").status_code for n in range(6)]
    assert attempts[-1] == 429  # strangers are stopped
    assert login(owners_phone, "owner@example.se").status_code == 303  # the owner's phone is not


def test_a_browser_marked_for_another_account_is_still_limited(app, user_factory):
    user_factory(email="owner@example.se", password=PASSWORD)
    user_factory(email="mallory@example.se", password=PASSWORD)
    mallory = app.test_client()
    assert login(mallory, "mallory@example.se").status_code == 303
    mallory.post("/auth/logout", data={"csrf_token": csrf_token(mallory, "/account/")})
    statuses = [login(mallory, "owner@example.se", f"guess-{n}-password").status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]


def test_the_emailed_reset_lets_the_owner_in_from_a_new_browser_during_an_attack(app, user_factory):
    user_factory(email="owner@example.se", password=PASSWORD)
    for n in range(6):
        login(app.test_client(), "owner@example.se", f"guess-{n}-password")
    new_laptop = app.test_client()
    assert login(new_laptop, "owner@example.se").status_code == 429
    post_form(new_laptop, "/auth/reset", {"email": "owner@example.se"})
    reset_path = link_in(drain_outbox(app)[0], "/auth/reset/")
    new = "ett-helt-nytt-lösenord"
    assert post_form(new_laptop, reset_path, {"password": new, "password_confirm": new}).status_code == 303
    assert login(new_laptop, "owner@example.se", new).status_code == 303


def test_a_reset_request_does_the_same_work_for_known_and_unknown_emails(app, user_factory, session):
    from sqlalchemy import event

    from stickerreg.models import OutboxMessage

    user_factory(email="owner@example.se")
    client = app.test_client()
    token = csrf_token(client, "/auth/reset")
    statements: list[str] = []
    engine = app.extensions["db_engine"]

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    work = {}
    for email in ("owner@example.se", "nobody@example.se"):
        statements.clear()
        response = client.post("/auth/reset", data={"email": email, "csrf_token": token},
                               headers={"User-Agent": BROWSER_UA})
        assert response.status_code == 200
        work[email] = list(statements)
    event.remove(engine, "before_cursor_execute", record)
    assert work["owner@example.se"] == work["nobody@example.se"]
    assert any(statement.startswith("INSERT INTO outbox") for statement in work["nobody@example.se"])
    assert len(session.exec(select(OutboxMessage)).all()) == 2


@pytest.mark.parametrize("idle, age, signed_in", [
    (timedelta(days=6), timedelta(days=6), True),
    (timedelta(days=8), timedelta(days=8), False),  # unused for more than a week
    (timedelta(minutes=1), timedelta(days=31), False),  # in use, but older than 30 days
])
def test_a_signed_in_session_ends_when_idle_or_old(app, user_factory, session, idle, age, signed_in):
    user_factory(email="owner@example.se", password=PASSWORD)
    client = app.test_client()
    login(client, "owner@example.se")
    row = session.exec(select(LoginSession)).one()
    now = row.created_at
    row.created_at, row.last_seen_at = now - age, now - idle
    session.add(row)
    session.commit()
    assert client.get("/account/").status_code == (200 if signed_in else 302)
    session.expire_all()
    assert len(session.exec(select(LoginSession)).all()) == (1 if signed_in else 0)


def test_a_session_notes_its_use_so_an_active_browser_stays_in(app, user_factory, session):
    user_factory(email="owner@example.se", password=PASSWORD)
    client = app.test_client()
    login(client, "owner@example.se")
    row = session.exec(select(LoginSession)).one()
    row.last_seen_at = row.created_at = row.created_at - timedelta(days=6, hours=23)
    session.add(row)
    session.commit()
    assert client.get("/account/").status_code == 200
    session.refresh(row)
    assert row.last_seen_at > row.created_at + timedelta(days=6)  # the idle clock starts again


def test_a_reset_for_an_unknown_email_is_cancelled_by_the_worker_without_mailing(app, session):
    from stickerreg.models import OutboxMessage, OutboxStatus

    client = app.test_client()
    post_form(client, "/auth/reset", {"email": "nobody@example.se"})
    assert drain_outbox(app) == []
    assert session.exec(select(OutboxMessage.status)).one() == OutboxStatus.CANCELLED


@pytest.mark.parametrize("role, home", [("customer", "/account/"), ("printshop", "/printshop/"),
                                        ("customer_service", "/crm/"), ("admin", "/admin/")])
def test_each_role_lands_on_its_own_portal_after_signing_in(app, user_factory, role, home):
    from stickerreg.models import Role

    user_factory(email="someone@example.se", password=PASSWORD, role=Role(role))
    client = app.test_client()
    response = login(client, "someone@example.se")
    assert response.status_code == 303 and response.headers["Location"] == home
    assert client.get(home, headers={"User-Agent": BROWSER_UA}, follow_redirects=True).status_code == 200
    # Signed in already: the sign-in page sends them home as well; an asked-for page still wins.
    assert client.get("/auth/login").headers["Location"] == home


def test_a_private_page_sends_a_visitor_to_sign_in_with_an_information_notice_in_their_language(app, client):
    from flask_babel import force_locale, gettext

    redirected = client.get("/account/profile")
    assert redirected.status_code == 302
    page = client.get(redirected.headers["Location"]).get_data(as_text=True)
    with app.test_request_context(), force_locale("sv"):
        swedish = gettext("Sign in to see that page.")
    assert swedish != "Sign in to see that page."
    assert f'<p class="notice notice-info" role="status">{swedish}</p>' in page
    assert "Please log in to access this page." not in page
