"""The partner API: bearer keys of one scope, credit-inquiry events taken once and answered alike
whether or not anyone matched, fire-alarm contacts read in order, problem+json for every refusal
(never repeating what was sent), limits on guessing keys, and the README's curl lines as written."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from helpers import PASSWORD, app_with, browser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from stickerreg.models import ApiScope, AuditEntry, FireContactCreate, IdProtectAlert, OutboxKind, OutboxMessage
from stickerreg.services import accounts, api_keys
from stickerreg.services.linked import fire

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECRET = b"test-secret-key"  # the test app's SECRET_KEY, which keys personnummer digests
PERSONNUMMER = "198112189876"
SOMEONE_ELSE = "196408233234"  # valid, but no customer's
EVENTS = "/api/v1/idprotect/events"
CONTACTS = "/api/v1/fire/contacts"
PROBLEM = "application/problem+json"


def event(**changes) -> dict:
    return {"id": "uc-1", "bureau": "UC", "requester": "Exempelbanken AB",
            "requested_at": "2025-05-02T09:30:00+02:00", "personnummer": PERSONNUMMER, **changes}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(session, scope: ApiScope) -> str:
    _, plain = api_keys.create_key(session, name=f"partner {scope.value}", scope=scope)
    session.commit()
    return plain


@pytest.fixture
def idprotect_key(session) -> str:
    return new_key(session, ApiScope.IDPROTECT)


@pytest.fixture
def fire_key(session) -> str:
    return new_key(session, ApiScope.FIRE)


@pytest.fixture
def customer(session, user_factory):
    """A customer whose personnummer BankID proved."""
    user = user_factory()
    accounts.link_personnummer(session, user, PERSONNUMMER, key=SECRET, verified=True)
    session.commit()
    return user


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def alerts(session) -> list[IdProtectAlert]:
    session.expire_all()
    return list(session.exec(select(IdProtectAlert).order_by(IdProtectAlert.id)))


def alert_emails(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.IDPROTECT_ALERT)))


# --- who gets in ------------------------------------------------------------------------------


@pytest.mark.parametrize("url,method", [(EVENTS, "POST"), (CONTACTS + "?customer=123456782", "GET")])
@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer sr_not-a-key-anyone-has", "Basic dXNlcjpwdw==",
                                           "Bearer sr_" + "x" * 5000, "Bearer \x00sr_"])
def test_a_request_without_a_live_key_is_a_401(client, idprotect_key, url, method, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.open(url, method=method, json=event(), headers=headers)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_a_401_like_an_unknown_one(client, session):
    key, plain = api_keys.create_key(session, name="UC", scope=ApiScope.IDPROTECT)
    session.commit()
    assert client.post(EVENTS, json=event(), headers=bearer(plain)).status_code == 201
    api_keys.revoke(session, key)
    session.commit()
    revoked = client.post(EVENTS, json=event(id="uc-2"), headers=bearer(plain))
    unknown = client.post(EVENTS, json=event(id="uc-2"), headers=bearer("sr_never-made"))
    assert assert_problem(revoked, 401) == assert_problem(unknown, 401)
    assert len(alerts(session)) == 1


def test_a_key_of_the_other_scope_is_a_403(client, session, customer, idprotect_key, fire_key):
    assert_problem(client.post(EVENTS, json=event(), headers=bearer(fire_key)), 403)
    assert_problem(client.get(CONTACTS, query_string={"customer": customer.customer_number},
                              headers=bearer(idprotect_key)), 403)
    assert alerts(session) == []


def test_a_signed_in_browser_gets_nothing_without_a_key(app, user_factory):
    """No cookie opens the API (which is why it needs no CSRF token)."""
    customer = user_factory(password=PASSWORD)
    signed_in = browser(app, email=customer.email)
    assert_problem(signed_in.post(EVENTS, json=event()), 401)
    assert_problem(signed_in.get(CONTACTS, query_string={"customer": customer.customer_number}), 401)


# --- ID protection events ---------------------------------------------------------------------


def test_a_matched_event_is_stored_once_and_the_customer_is_emailed(client, session, customer, idprotect_key):
    first = client.post(EVENTS, json=event(), headers=bearer(idprotect_key))
    assert first.status_code == 201
    assert first.get_json() == {"status": "accepted", "id": "uc-1"}
    assert first.headers["Cache-Control"] == "no-store"
    [alert] = alerts(session)
    assert alert.user_id == customer.id and alert.external_id == "uc-1" and alert.bureau == "UC"
    assert len(alert_emails(session)) == 1

    again = client.post(EVENTS, json=event(), headers=bearer(idprotect_key))
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(alerts(session)) == 1 and len(alert_emails(session)) == 1


def test_an_unmatched_event_is_answered_exactly_like_a_matched_one(client, session, customer, idprotect_key):
    # Two bureaus may use one event id: the answers differ in nothing, not even the id.
    matched = client.post(EVENTS, json=event(id="evt-7", bureau="UC"), headers=bearer(idprotect_key))
    unmatched = client.post(EVENTS, json=event(id="evt-7", bureau="Creditsafe", personnummer=SOMEONE_ELSE),
                            headers=bearer(idprotect_key))
    assert matched.status_code == unmatched.status_code == 201
    assert matched.get_data() == unmatched.get_data()
    assert sorted(matched.headers.keys()) == sorted(unmatched.headers.keys())
    assert [(a.bureau, a.user_id) for a in alerts(session)] == [("UC", customer.id), ("Creditsafe", None)]
    assert len(alert_emails(session)) == 1  # only the customer's
    repeated = client.post(EVENTS, json=event(id="evt-7", bureau="Creditsafe", personnummer=SOMEONE_ELSE),
                           headers=bearer(idprotect_key))
    assert repeated.status_code == 200


def test_a_typed_but_unproved_personnummer_matches_nobody(client, session, user_factory, idprotect_key):
    typed = user_factory()
    accounts.link_personnummer(session, typed, PERSONNUMMER, key=SECRET)
    session.commit()
    assert client.post(EVENTS, json=event(), headers=bearer(idprotect_key)).status_code == 201
    assert [a.user_id for a in alerts(session)] == [None]
    assert alert_emails(session) == []


@pytest.mark.parametrize("personnummer", ["198112189875", "19811218-9875", "20991231-1234", "1981121898760000"])
def test_an_invalid_personnummer_is_a_422_that_does_not_repeat_it(client, session, idprotect_key, personnummer):
    response = client.post(EVENTS, json=event(personnummer=personnummer), headers=bearer(idprotect_key))
    body = assert_problem(response, 422)
    assert body["fields"] == ["personnummer"] and "personnummer" in body["detail"]
    assert personnummer not in response.get_data(as_text=True)
    assert personnummer[:8] + "-" not in response.get_data(as_text=True)
    assert alerts(session) == []


MARKER = "MARKER-f00d"  # a value that must never come back


@pytest.mark.parametrize("fields,changes", [
    (["id"], {"id": 5}),
    (["id"], {"id": ""}),
    (["bureau"], {"bureau": None}),
    (["requester"], {"requester": ["Bank"]}),
    (["requester"], {"requester": MARKER + "x" * 60_000}),
    (["requester"], {"requester": f"Bank{MARKER}\x00AB"}),  # PostgreSQL can't store NUL
    (["bureau"], {"bureau": f"\ud800{MARKER}"}),  # a lone surrogate: no UTF-8 for it
    (["id"], {"id": f"{MARKER}\x07"}),
    (["requested_at"], {"requested_at": MARKER}),
    (["requested_at"], {"requested_at": "0001-01-01T00:00:00+14:00"}),  # overflows in UTC
    (["requested_at"], {"requested_at": "9999-12-31T23:59:59-14:00"}),
    (["requested_at"], {"requested_at": "2999-01-01T00:00:00Z"}),  # not yet happened
    (["requested_at"], {"requested_at": "1970-01-01T00:00:00Z"}),
    (["personnummer"], {"personnummer": 198112189876}),
    (["personnummer"], {"personnummer": MARKER[:5]}),
    (["bureau", "id"], {"id": {"$ne": MARKER}, "bureau": True}),
])
def test_fields_at_fault_are_named_never_repeated(client, session, idprotect_key, fields, changes):
    response = client.post(EVENTS, data=json.dumps(event(**changes)), content_type="application/json",
                           headers=bearer(idprotect_key))
    body = assert_problem(response, 422)
    assert body["fields"] == sorted(fields)
    assert MARKER not in response.get_data(as_text=True) and PERSONNUMMER not in response.get_data(as_text=True)
    assert alerts(session) == []


def test_missing_and_unexpected_fields_are_a_422(client, idprotect_key):
    missing = {key: value for key, value in event().items() if key != "bureau"}
    assert assert_problem(client.post(EVENTS, json=missing, headers=bearer(idprotect_key)), 422)["fields"] == ["bureau"]
    extra = client.post(EVENTS, json=event(report="the whole credit report", is_admin=True), headers=bearer(idprotect_key))
    body = assert_problem(extra, 422)
    assert body["fields"] == [] and body["unexpected_fields"] == ["is_admin", "report"]
    assert "credit report" not in extra.get_data(as_text=True)


@pytest.mark.parametrize("status,data,content_type", [
    (400, b"", "application/json"),
    (400, b"not json", "application/json"),
    (400, b"{", "application/json"),
    (400, b'{"id": "uc-1",}', "application/json"),
    (400, b"\xff\xfe\x00garbage", "application/json"),
    (400, b"[" * 60_000, "application/json"),  # too deep for the parser
    (400, b"[]", "application/json"),
    (400, b"[{}]", "application/json"),
    (400, b'"an event"', "application/json"),
    (400, b"null", "application/json"),
    (400, b"12", "application/json"),
    (400, b"NaN", "application/json"),
    (400, b"1" * 5000, "application/json"),  # more digits than Python turns into an int
    (422, b"{}", "application/json"),
    (422, b"{}", "application/merge-patch+json"),
    (415, b"{}", None),
    (415, b"id=uc-1&bureau=UC", "application/x-www-form-urlencoded"),
    (415, b'{"id": "uc-1"}', "text/plain"),
    (415, b"--x\r\nbroken", "multipart/form-data; boundary=x"),
    (413, b'{"id": "' + b"x" * 70_000 + b'"}', "application/json"),
])
def test_bodies_that_are_not_an_event_are_refused_clearly(client, session, idprotect_key, status, data, content_type):
    response = client.post(EVENTS, data=data, content_type=content_type, headers=bearer(idprotect_key))
    assert_problem(response, status)
    assert alerts(session) == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=8,
)
EVENT_LIKE = st.fixed_dictionaries({}, optional={name: JSON_VALUES | st.text() for name in event()})


@pytest.fixture
def unlimited_app(database_url, tmp_path):
    with app_with(database_url, tmp_path, RATELIMIT_ENABLED=False) as app:
        yield app


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON_VALUES | EVENT_LIKE)
def test_any_json_is_answered_without_a_500(unlimited_app, body):
    from sqlmodel import Session

    with Session(unlimited_app.extensions["db_engine"]) as session:
        key = new_key(session, ApiScope.IDPROTECT)
    response = unlimited_app.test_client().post(EVENTS, data=json.dumps(body), content_type="application/json",
                                                headers=bearer(key))
    assert response.status_code in (200, 201, 400, 422), response.status_code
    assert response.mimetype == (PROBLEM if response.status_code >= 400 else "application/json")


# --- fire-alarm contacts ----------------------------------------------------------------------


def add_contacts(session, customer, *people: tuple[str, str, str | None]) -> None:
    for name, phone, relation in people:
        fire.add_contact(session, customer, FireContactCreate(name=name, phone=phone, relation=relation),
                         actor=customer)
    session.commit()


def test_an_alarm_centre_reads_the_contacts_in_calling_order(client, session, customer, fire_key):
    add_contacts(session, customer, ("Anna Andersson", "070-123 45 67", "granne"), ("Bo Berg", "08-123 456 78", None),
                 ("Cia Carlsson", "+46 73 111 22 33", "dotter"))
    typed = accounts.display_customer_number(customer.customer_number)  # "123 456 782", as read aloud
    response = client.get(CONTACTS, query_string={"customer": typed}, headers=bearer(fire_key))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"customer": customer.customer_number, "contacts": [
        {"position": 1, "name": "Anna Andersson", "phone": "+46701234567", "relation": "granne", "note": None},
        {"position": 2, "name": "Bo Berg", "phone": "+46812345678", "relation": None, "note": None},
        {"position": 3, "name": "Cia Carlsson", "phone": "+46731112233", "relation": "dotter", "note": None},
    ]}
    [read] = session.exec(select(AuditEntry).where(AuditEntry.action == "fire_contacts.read")).all()
    assert (read.subject_id, read.actor_role, read.detail["key_name"]) == (customer.id, "api", "partner fire")


def test_a_customer_without_contacts_has_an_empty_list(client, customer, fire_key):
    response = client.get(CONTACTS, query_string={"customer": customer.customer_number}, headers=bearer(fire_key))
    assert response.get_json() == {"customer": customer.customer_number, "contacts": []}


@pytest.mark.parametrize("typed", ["123456782", "123456780", "12345678", "abc", "\x00", "1" * 5000, "١٢٣٤٥٦٧٨٢",
                                   "' OR 1=1 --"])
def test_an_unknown_customer_is_a_404(client, customer, fire_key, typed):
    if typed == customer.customer_number:
        pytest.skip("the random customer number happens to be this one")
    response = client.get(CONTACTS, query_string={"customer": typed}, headers=bearer(fire_key))
    assert assert_problem(response, 404)["title"] == "No such customer"


@pytest.mark.parametrize("query", ["", "?customer=", "?customer=%20", "?client=123456782"])
def test_a_missing_customer_is_a_400(client, fire_key, query):
    body = assert_problem(client.get(CONTACTS + query, headers=bearer(fire_key)), 400)
    assert body["fields"] == ["customer"]



# --- limits -----------------------------------------------------------------------------------


def test_guessing_keys_is_stopped_by_address_but_a_live_key_still_gets_in(client, customer, fire_key):
    for attempt in range(20):
        assert client.get(CONTACTS, query_string={"customer": "123456782"},
                          headers=bearer(f"sr_guess-{attempt}")).status_code == 401
    for url in (CONTACTS, EVENTS):  # one count for the whole API
        assert_problem(client.open(url, method="GET" if url == CONTACTS else "POST",
                                   headers=bearer("sr_guess-more"), json=event()), 429)
    from_elsewhere = client.get(CONTACTS, headers=bearer("sr_guess-more"), environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert from_elsewhere.status_code == 401
    # A partner behind the same address is not locked out by the guesser.
    live = client.get(CONTACTS, query_string={"customer": customer.customer_number}, headers=bearer(fire_key))
    assert live.status_code == 200


def test_each_key_has_its_own_read_limit(client, session, customer, fire_key):
    query = {"customer": customer.customer_number}
    for _ in range(120):
        assert client.get(CONTACTS, query_string=query, headers=bearer(fire_key)).status_code == 200
    assert_problem(client.get(CONTACTS, query_string=query, headers=bearer(fire_key)), 429)
    other = new_key(session, ApiScope.FIRE)
    assert client.get(CONTACTS, query_string=query, headers=bearer(other)).status_code == 200


# --- the README's examples, as written --------------------------------------------------------


def readme_lines() -> list[str]:
    section = README.split("\n## Partner API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return "\n".join(blocks).replace("\\\n", " ").splitlines()


def split_comment(line: str) -> tuple[str, str]:
    """The command and its trailing comment, as bash tells them apart (a # outside quotes)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip(), line[index + 1:].strip()
    return line.strip(), ""


def expand(word: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda found: values[found.group(1)], word)


def curl_request(words: list[str]) -> dict:
    """The request a curl command line sends: method, URL, headers and body."""
    request = {"method": None, "url": None, "headers": {}, "data": None}
    args = iter(words[1:])
    for arg in args:
        if arg in ("-X", "--request"):
            request["method"] = next(args)
        elif arg in ("-H", "--header"):
            name, value = next(args).split(":", 1)
            request["headers"][name.strip()] = value.strip()
        elif arg in ("-d", "--data", "--data-raw"):
            request["data"] = next(args)
        elif arg in ("-w", "--write-out"):
            next(args)
        elif arg in ("-s", "--silent", "-i", "--include"):
            continue
        elif arg.startswith("http://127.0.0.1:5000/"):
            request["url"] = arg
        else:
            raise AssertionError(f"teach this test curl's {arg!r}")
    request["method"] = request["method"] or ("POST" if request["data"] is not None else "GET")
    return request


def test_the_readme_curl_lines_answer_as_documented(client, session, customer):
    add_contacts(session, customer, ("Anna Andersson", "070-123 45 67", "granne"))
    test_data = {"CUSTOMER": customer.customer_number}
    values, answered = {}, []
    for line in readme_lines():
        command, comment = split_comment(line)
        if assignment := re.fullmatch(r"([A-Z_]+)=(.*)", command):
            name, value = assignment.groups()
            if scope := re.search(r"apikey create --scope (\w+)", value):
                values[name] = new_key(session, ApiScope(scope.group(1)))
            elif value.startswith("$("):  # a command's output: this test's own data stands in
                assert name in test_data, f"teach this test what {name} holds"
                values[name] = test_data[name]
            else:
                [values[name]] = shlex.split(value)
            continue
        if not command:
            continue
        words = [expand(word, values) for word in shlex.split(command)]
        assert words[0] == "curl", command
        expected = re.match(r"(\d{3})\b", comment)
        assert expected, f"say the status this answers with in a comment: {line}"
        request = curl_request(words)
        response = client.open(request["url"], method=request["method"], headers=request["headers"],
                               data=request["data"])
        assert response.status_code == int(expected.group(1)), (line, response.get_data(as_text=True))
        answered.append(response.status_code)
    assert {201, 200, 422, 401, 403} <= set(answered)
    assert [(a.bureau, a.user_id) for a in alerts(session)] == [("UC", customer.id)]
