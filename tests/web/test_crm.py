"""The customer-service area: blocking cases where the customer asked for help, taken,
ticked off and closed, with the customer emailed about each step; credit inquiries a customer
did not make and asked for help with."""

from __future__ import annotations

import re
from html import unescape

import pytest
from helpers import PASSWORD, browser, csrf_token, drain_outbox, visible

from stickerreg.models import BlockingStatus, CardCreate, IdProtectEventIn, LostItems, Role, Verdict, utcnow
from stickerreg.services import accounts
from stickerreg.services.linked import blocking, cards, directory, idprotect

DIRECTORY = {"card_issuers": [{"key": "bank", "name": "Bank", "blocking_phone": "+4684111011",
                               "web": "https://bank.example"}], "mobile_operators": []}


@pytest.fixture
def customer(user_factory):
    return user_factory(email="kund@example.se", password=PASSWORD, locale="en")


@pytest.fixture
def case(session, customer):
    """A lost wallet with one card; the customer asked customer service to block it."""
    directory.load(session, DIRECTORY)
    cards.add_card(session, customer, CardCreate(holder_name="Kim Kund", issuer="bank", card_type="debit",
                                                 last_four="1234"), actor=customer)
    case = blocking.open_case(session, customer, lost=LostItems.WALLET)
    blocking.request_help(session, case, actor=customer)
    session.commit()
    return case


@pytest.fixture
def service_client(app, user_factory):
    agent = user_factory(email="service@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE)
    return browser(app, email=agent.email)


def test_customer_service_sees_the_cases_waiting_for_help(service_client, case, customer):
    assert service_client.get("/crm/").headers["Location"] == "/crm/blocking-cases"
    listing = service_client.get("/crm/blocking-cases")
    assert listing.status_code == 200 and "no-store" in listing.headers["Cache-Control"]
    text = visible(listing)
    number = accounts.display_customer_number(customer.customer_number)
    assert "kund@example.se" in text and f"Customer number {number}" in text
    assert "Lost: Wallet" in text and "Waiting for customer service" in text and "Asked for help" in text
    assert f'href="/crm/blocking-cases/{case.public_id}"' in listing.get_data(as_text=True)
    assert "Customer service" in visible(service_client.get("/account/"))  # the way in, in the header


def test_customer_service_takes_blocks_and_closes_a_case_and_the_customer_hears_of_each_step(
        app, session, service_client, case):
    drain_outbox(app)  # the customer's own steps (opened, asked for help)
    url = f"/crm/blocking-cases/{case.public_id}"
    page = visible(service_client.get(url))
    assert "Bank Kim Kund · •••• 1234 Blocking line: 08-411 10 11 https://bank.example Not blocked yet" in page
    assert "Asked customer service for help the customer" in page

    taken = service_client.post(f"{url}/take", data={"csrf_token": csrf_token(service_client, url)})
    assert taken.status_code == 303 and taken.headers["Location"] == url
    session.refresh(case)
    assert case.status == BlockingStatus.IN_PROGRESS
    assert "You took the case." in visible(service_client.get(url))

    item = blocking.items_of(session, case)[0]
    blocked = service_client.post(f"{url}/items/{item.public_id}/block",
                                  data={"csrf_token": csrf_token(service_client, url)})
    assert blocked.status_code == 303
    session.refresh(item)
    assert item.blocked_at is not None and item.blocked_by == blocking.CUSTOMER_SERVICE
    page = visible(service_client.get(url))
    assert "Blocked by customer service" in page and "Marked blocked: Kim Kund · •••• 1234 service@example.se" in page

    closed = service_client.post(f"{url}/close", data={"csrf_token": csrf_token(service_client, url)})
    assert closed.status_code == 303
    session.refresh(case)
    assert case.status == BlockingStatus.DONE and case.closed_at is not None
    page = visible(service_client.get(url))
    assert "The case is closed. The customer is emailed." in page and "Close the case" not in page

    subjects = [email["Subject"] for email in drain_outbox(app)]
    assert [email_to for email_to in subjects if "customer service is blocking for you" in email_to]
    assert [subject for subject in subjects if "blocked: Kim Kund" in subject]
    assert [subject for subject in subjects if "the case is closed" in subject]
    assert len(subjects) == 3


def test_customer_service_can_undo_a_tick(session, service_client, case):
    url = f"/crm/blocking-cases/{case.public_id}"
    item = blocking.items_of(session, case)[0]
    service_client.post(f"{url}/items/{item.public_id}/block", data={"csrf_token": csrf_token(service_client, url)})
    undone = service_client.post(f"{url}/items/{item.public_id}/unblock",
                                 data={"csrf_token": csrf_token(service_client, url)})
    assert undone.status_code == 303
    session.refresh(item)
    assert item.blocked_at is None
    page = visible(service_client.get(url))
    assert "is no longer marked blocked." in page and "No longer marked blocked: Kim Kund" in page


def test_a_closed_case_cant_be_changed(session, service_client, case, customer):
    url = f"/crm/blocking-cases/{case.public_id}"
    token = csrf_token(service_client, url)
    item = blocking.items_of(session, case)[0]
    blocking.finish(session, case, actor=customer, role=blocking.CUSTOMER)  # meanwhile, in another browser
    session.commit()
    for step in (f"{url}/items/{item.public_id}/block", f"{url}/close"):
        refused = service_client.post(step, data={"csrf_token": token})
        assert refused.status_code == 409, step
        assert "This case is closed, so it can't be changed any more." in unescape(visible(refused))
    session.refresh(item)
    assert item.blocked_at is None


def test_unknown_cases_and_other_cases_items_are_404(session, service_client, case, customer, user_factory):
    other_owner = user_factory(email="annan@example.se")
    cards.add_card(session, other_owner, CardCreate(holder_name="Annan", issuer="bank", card_type="credit",
                                                    last_four="9876"), actor=other_owner)
    other = blocking.open_case(session, other_owner, lost=LostItems.WALLET)
    session.commit()
    other_item = blocking.items_of(session, other)[0]
    url = f"/crm/blocking-cases/{case.public_id}"
    token = csrf_token(service_client, url)
    assert service_client.get("/crm/blocking-cases/nope").status_code == 404
    assert service_client.post(f"{url}/items/{other_item.public_id}/block", data={"csrf_token": token}).status_code == 404
    assert "annan@example.se" not in visible(service_client.get("/crm/blocking-cases"))  # no help asked for


def test_admins_work_cases_too(app, user_factory, case):
    admin = user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
    client = browser(app, email=admin.email)
    assert client.get(f"/crm/blocking-cases/{case.public_id}").status_code == 200
    assert "Customer service" in visible(client.get("/crm/blocking-cases"))


def crm_urls(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/crm"):
            url = re.sub(r"<[^>]+>", "x" * 16, rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.PRINTSHOP])
def test_the_crm_area_is_a_plain_404_to_everyone_else(app, user_factory, case, role):
    client = browser(app, email=user_factory(password=PASSWORD, role=role).email) if role else browser(app)
    token = csrf_token(client, "/auth/login" if role is None else "/account/")
    real = f"/crm/blocking-cases/{case.public_id}"
    urls = [*crm_urls(app), ("GET", real), ("POST", f"{real}/take"), ("POST", f"{real}/close")]
    answers = {(method, url): client.open(url, method=method, data={"csrf_token": token}).status_code
               for method, url in urls}
    assert answers and set(answers.values()) == {404}, answers
    assert "Customer service" not in visible(client.get("/"))


def test_taking_a_case_twice_changes_nothing(session, service_client, case):
    url = f"/crm/blocking-cases/{case.public_id}"
    for _ in range(2):
        service_client.post(f"{url}/take", data={"csrf_token": csrf_token(service_client, url)})
    assert "This case is already taken." in visible(service_client.get(url))
    assert [event.action for event in blocking.events_of(session, case)] == ["opened", "help_requested", "in_progress"]


# --- ID protection ------------------------------------------------------------------------


def not_me_with_help(session, customer, app) -> str:
    """A credit inquiry the customer says was not theirs, asking customer service for help."""
    key = app.config["SECRET_KEY"].encode()
    accounts.link_personnummer(session, customer, "198112189876", key=key, verified=True)
    alert, _ = idprotect.ingest(session, IdProtectEventIn(id="uc-9", bureau="UC", requester="Snabblån AB",
                                                          requested_at=utcnow(), personnummer="198112189876"), key=key)
    idprotect.set_verdict(session, alert, Verdict.NOT_ME, actor=customer, ask_for_help=True)
    session.commit()
    return alert.public_id


def test_customer_service_helps_with_an_inquiry_the_customer_did_not_make(app, session, service_client, customer):
    alert_id = not_me_with_help(session, customer, app)
    listing = visible(service_client.get("/crm/id-protection"))
    assert "kund@example.se" in listing and "Snabblån AB" in listing and "UC" in listing
    assert "198112189876" not in listing and "9876" not in listing  # the personnummer is not needed here
    url = f"/crm/id-protection/{alert_id}/done"
    assert service_client.post(url, data={}).status_code == 400  # no CSRF token
    done = service_client.post(url, data={"csrf_token": csrf_token(service_client, "/crm/id-protection")})
    assert done.status_code == 303
    assert "No customer is waiting for help with a credit inquiry." in visible(service_client.get(done.headers["Location"]))
    customer_page = visible(browser(app, email=customer.email).get("/account/id-protection"))
    assert "Customer service helped you with it on" in customer_page
    assert service_client.post("/crm/id-protection/nope/done", data={
        "csrf_token": csrf_token(service_client, "/crm/id-protection")}).status_code == 404


def test_customers_never_reach_the_inquiry_help_list(app, session, customer):
    alert_id = not_me_with_help(session, customer, app)
    own = browser(app, email=customer.email)
    assert own.get("/crm/id-protection").status_code == 404
    assert own.post(f"/crm/id-protection/{alert_id}/done",
                    data={"csrf_token": csrf_token(own, "/account/")}).status_code == 404
