"""The customer-service area: blocking cases where the customer asked for help, taken,
ticked off and closed, with the customer emailed about each step; credit inquiries a customer
did not make and asked for help with; the do-not-call register, which sales never reach."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from helpers import PASSWORD, browser, csrf_token, drain_outbox, visible
from sqlmodel import select

from stickerreg.models import (
    AuditEntry,
    BlockingStatus,
    CardCreate,
    DncEntry,
    IdProtectEventIn,
    LostItems,
    Role,
    User,
    Verdict,
    utcnow,
)
from stickerreg.services import accounts, registers
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


@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.PRINTSHOP, Role.SALES])
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


# --- the do-not-call register -------------------------------------------------------------

DNC_URL = "/crm/do-not-call"


def add_number(client, phone: str, source: str = "phone_call"):
    token = csrf_token(client, DNC_URL)
    return client.post(DNC_URL, data={"csrf_token": token, "dnc-phone": phone, "dnc-source": source})


def search_numbers(client, query: str):
    token = csrf_token(client, DNC_URL)
    return client.post(f"{DNC_URL}/search", data={"csrf_token": token, "search-number": query})


def test_customer_service_adds_a_number_in_any_format_once(session, service_client):
    added = add_number(service_client, "+46 (0)70-174 06 05", "email")
    assert added.status_code == 303 and added.headers["Location"] == DNC_URL
    page = visible(service_client.get(DNC_URL))
    assert "The number is on the do-not-call register." in page
    assert "070-174 06 05" in page and "Email message" in page and "The register holds 1 number." in page
    entry = session.exec(select(DncEntry)).one()
    assert (entry.phone, entry.source) == ("+46701740605", "email")
    again = add_number(service_client, "0701740605")
    assert again.status_code == 422 and "That number has been on the register since" in visible(again)
    assert len(session.exec(select(DncEntry)).all()) == 1


@pytest.mark.parametrize(("phone", "source", "message"), [
    ("070-174", "phone_call", "That is not a phone number we can read."),
    ("070-CALL-ME", "phone_call", "That is not a phone number we can read."),
    ("", "phone_call", "Type the number."),
    ("0701740605", "carrier pigeon", "Not a valid choice"),
])
def test_a_number_we_cant_read_is_a_clear_422(session, service_client, phone, source, message):
    refused = add_number(service_client, phone, source)
    assert refused.status_code == 422 and message in unescape(visible(refused))
    assert session.exec(select(DncEntry)).all() == []


def test_a_number_is_found_in_any_format_by_a_post(session, service_client):
    for phone in ("0701740605", "0701740606", "+47 412 34 567"):
        registers.add_dnc(session, phone=phone, source="letter", actor=None)
    session.commit()
    found = search_numbers(service_client, "+46 70 174 06 05")
    assert found.status_code == 200 and "1 number found" in visible(found)
    assert "070-174 06 05" in visible(found).split("1 number found", 1)[1].split("Newest entries", 1)[0]
    assert "2 numbers found" in visible(search_numbers(service_client, "070-174"))
    assert "No number on the register matches." in visible(search_numbers(service_client, "070-999"))
    assert search_numbers(service_client, "").status_code == 422


def test_removing_a_number_asks_first_and_is_audited_without_the_number(session, service_client):
    agent = session.exec(select(User).where(User.email == "service@example.se")).one()
    entry = registers.add_dnc(session, phone="0701740605", source="phone_call", actor=agent)
    session.commit()
    url = f"{DNC_URL}/{entry.public_id}/remove"
    assert f'href="{url}"' in service_client.get(DNC_URL).get_data(as_text=True)
    confirm = service_client.get(url)
    assert confirm.status_code == 200
    assert "Remove 070-174 06 05 from the do-not-call register?" in visible(confirm)
    assert service_client.post(url, data={}).status_code == 400  # no CSRF token
    removed = service_client.post(url, data={"csrf_token": csrf_token(service_client, url)})
    assert removed.status_code == 303 and removed.headers["Location"] == DNC_URL
    assert "The number was removed from the do-not-call register." in visible(service_client.get(DNC_URL))
    assert session.exec(select(DncEntry)).all() == []
    logged = session.exec(select(AuditEntry).where(AuditEntry.action.startswith("dnc."))).all()
    assert sorted(e.action for e in logged) == ["dnc.added", "dnc.removed"]
    assert {e.actor_id for e in logged} == {agent.id} and "1740605" not in repr([e.model_dump() for e in logged])
    assert service_client.get(url).status_code == 404


def test_admins_add_and_remove_numbers_too(app, session, user_factory):
    admin = user_factory(email="admin@example.se", password=PASSWORD, role=Role.ADMIN)
    client = browser(app, email=admin.email)
    assert add_number(client, "0701740605").status_code == 303
    entry = session.exec(select(DncEntry)).one()
    assert entry.created_by_id == admin.id
    url = f"{DNC_URL}/{entry.public_id}/remove"
    assert client.post(url, data={"csrf_token": csrf_token(client, url)}).status_code == 303
    assert session.exec(select(DncEntry)).all() == []


def test_sales_get_404_on_every_do_not_call_route(app, session, user_factory):
    entry = registers.add_dnc(session, phone="0701740605", source="email", actor=None)
    session.commit()
    seller = user_factory(email="sales@example.se", password=PASSWORD, role=Role.SALES)
    client = browser(app, email=seller.email)
    token = csrf_token(client, "/sales/leads")
    form = {"csrf_token": token, "dnc-phone": "0701740606", "dnc-source": "email", "search-number": "070"}
    for method, url in [("GET", DNC_URL), ("POST", DNC_URL), ("POST", f"{DNC_URL}/search"),
                        ("GET", f"{DNC_URL}/{entry.public_id}/remove"), ("POST", f"{DNC_URL}/{entry.public_id}/remove")]:
        assert client.open(url, method=method, data=form).status_code == 404, (method, url)
    assert [e.phone for e in session.exec(select(DncEntry))] == ["+46701740605"]  # nothing changed
    assert "Do not call us" not in visible(client.get("/sales/leads"))


# --- every look at a customer's details is on the audit log ---------------------------------


def looks(session, customer) -> list[AuditEntry]:
    session.expire_all()
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == "customer.viewed",
                                                      AuditEntry.subject_id == customer.id)))


def test_looking_at_a_case_or_the_case_list_is_audited_once_per_half_hour(session, service_client, case, customer):
    assert looks(session, customer) == []  # before anyone looked
    service_client.get("/crm/blocking-cases")
    [listed] = looks(session, customer)
    assert listed.reason == "blocking_case" and listed.actor_role == "customer_service"
    service_client.get(f"/crm/blocking-cases/{case.public_id}")
    service_client.get(f"/crm/blocking-cases/{case.public_id}")
    assert len(looks(session, customer)) == 1  # the same look for the same reason, minutes apart
    listed.at = utcnow() - timedelta(minutes=31)
    session.add(listed)
    session.commit()
    service_client.get(f"/crm/blocking-cases/{case.public_id}")
    assert [entry.reason for entry in looks(session, customer)] == ["blocking_case", "blocking_case"]


def test_a_colleagues_look_is_their_own_entry(app, session, service_client, case, customer, user_factory):
    service_client.get(f"/crm/blocking-cases/{case.public_id}")
    colleague = user_factory(email="colleague@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE)
    browser(app, email=colleague.email).get(f"/crm/blocking-cases/{case.public_id}")
    assert len({entry.actor_id for entry in looks(session, customer)}) == 2


def test_the_inquiry_help_list_audits_the_customers_it_shows(app, session, service_client, customer, user_factory):
    bystander = user_factory(email="bystander@example.se")
    not_me_with_help(session, customer, app)
    service_client.get("/crm/id-protection")
    [look] = looks(session, customer)
    assert look.reason == "credit_inquiry"
    assert looks(session, bystander) == []  # not on the list, so not looked at
