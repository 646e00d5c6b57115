"""No input a stranger can send to a public route ends in a 500."""

from __future__ import annotations

import pytest
from helpers import app_with, csrf_token, phone_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stickerreg import codes
from stickerreg.models import DeskCreate

NASTY = [
    "",
    " ",
    "%00",
    "%FF%FE",
    "..%2F..%2Fetc%2Fpasswd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202e\u200b",
    "😀" * 50,
    "A" * 5000,
    "https://evil.example/S/0123",
]


@pytest.fixture
def fuzz_app(database_url, tmp_path):
    # Limits off here: the point is what the routes do with input, not how often.
    with app_with(database_url, tmp_path, RATELIMIT_ENABLED=False) as app:
        yield app


@pytest.fixture
def fuzz_client(fuzz_app):
    return phone_client(fuzz_app)


def assert_handled(response):
    assert response.status_code < 500, response.status_code
    response.close()


@pytest.mark.parametrize("value", NASTY)
def test_nasty_path_and_query_values(fuzz_client, value):
    for url in (f"/s/{value}", f"/S/{value}", f"/c/{value}", f"/c/{value}/reply", f"/s/{value}/message"):
        assert_handled(fuzz_client.get(url))
    assert_handled(fuzz_client.get("/lookup", query_string={"code": value}))
    assert_handled(fuzz_client.get("/", query_string={"lang": value}))


@pytest.mark.parametrize("value", NASTY + ["\x00\x01\x02binary\xff", "x" * 60_000])
def test_nasty_form_values(fuzz_client, value):
    code = codes.generate()
    form = {"message": value, "email": value, "found_where": value,
            "share_location": value, "latitude": value, "longitude": value}
    response = fuzz_client.post(f"/s/{code}/message", data=form)
    assert response.status_code in (303, 413, 422), response.status_code


def test_bodies_that_are_not_forms(fuzz_client):
    code = codes.generate()
    url = f"/s/{code}/message"
    cases = [
        dict(data=b"\xff\xfe\x00garbage", content_type="application/x-www-form-urlencoded"),
        dict(data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"),
        dict(json={"message": "hi"}),
        dict(data=b"a" * 200_000, content_type="application/x-www-form-urlencoded"),
        dict(data="message=" + "%" * 1000, content_type="application/x-www-form-urlencoded"),
    ]
    for case in cases:
        assert_handled(fuzz_client.post(url, **case))
    assert fuzz_client.post(url, data=b"a" * 200_000, content_type="text/plain").status_code == 413


def test_wrong_methods_get_a_friendly_405(fuzz_client):
    response = fuzz_client.put(f"/s/{codes.generate()}")
    assert response.status_code == 405
    assert "<h1>" in response.get_data(as_text=True)


def test_api_style_clients_get_problem_json(fuzz_client):
    response = fuzz_client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=st.text(min_size=0, max_size=80))
def test_any_text_as_a_sticker_id_is_handled(fuzz_client, segment):
    from urllib.parse import quote

    assert_handled(fuzz_client.get("/s/" + quote(segment, safe="")))
    assert_handled(fuzz_client.get("/lookup", query_string={"code": segment}))


@pytest.fixture
def kiosk_fuzz_client(fuzz_app, fuzz_client):
    """A paired kiosk on the fuzz app: a stranger at a desk can type anything."""
    from sqlmodel import Session

    from stickerreg.services import desks

    with Session(fuzz_app.extensions["db_engine"]) as session:
        desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
        _, token = desks.start_pairing(session, desk=desk, name="Tablet")
        session.commit()
    url = f"/kiosk/pair/{token}"
    assert fuzz_client.post(url, data={"csrf_token": csrf_token(fuzz_client, url)}).status_code == 303
    return fuzz_client


@pytest.mark.parametrize("value", NASTY)
def test_nasty_values_at_the_kiosk(kiosk_fuzz_client, value):
    client = kiosk_fuzz_client
    assert_handled(client.get("/kiosk/hand-in", query_string={"sticker": value}))
    assert_handled(client.get("/kiosk/items", query_string={"q": value}))
    assert_handled(client.get(f"/kiosk/receipt/{value}"))
    assert_handled(client.get(f"/kiosk/pair/{value}"))
    token = csrf_token(client, "/kiosk/hand-in")
    form = {"csrf_token": token, "sticker": "", "category": value, "description": value, "storage_place": value,
            "finder_name": value, "finder_contact": value, "finder_consent": value}
    assert_handled(client.post("/kiosk/hand-in", data=form))
    assert_handled(client.post("/kiosk/hand-in", data={**form, "sticker": value}))
    assert_handled(client.post("/kiosk/pickup", data={"csrf_token": token, "code": value, "staff": value}))
    assert_handled(client.post("/kiosk/staff", data={"csrf_token": token, "pin": value, "next": value}))


@pytest.mark.parametrize("value", ["%00", "a%00b", "..%2F", "😀", "A" * 300, "' OR 1=1 --"])
def test_nasty_values_in_every_url_with_an_object_key(fuzz_app, value):
    """Every route that names an object, for a signed-in admin (who reaches the most),
    with each key replaced by hostile text: a clear 4xx page, never a 500."""
    from helpers import PASSWORD, browser
    from sqlmodel import Session

    from stickerreg.models import Role
    from stickerreg.services import accounts

    with Session(fuzz_app.extensions["db_engine"]) as session:
        accounts.create_user(session, email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
        session.commit()
    client = browser(fuzz_app, email="admin@example.se")
    checked = 0
    for rule in fuzz_app.url_map.iter_rules():
        if not rule.arguments or rule.rule.startswith("/static") or "GET" not in rule.methods:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{name}>", value).replace(f"<string:{name}>", value)
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        response.close()
        checked += 1
    assert checked >= 10
