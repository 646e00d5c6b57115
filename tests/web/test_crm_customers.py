"""Customer service finds a customer by anything they can say, opens the record with a reason
(kept in the audit log), keeps notes, and reads a finder conversation only once the customer
shared it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from helpers import PASSWORD, browser, csrf_token, visible
from sqlmodel import select

from stickerreg import codes
from stickerreg.models import AuditEntry, CustomerNote, ProfileUpdate, Role, utcnow
from stickerreg.services import accounts, finder
from stickerreg.services.relay import FinderDetails

SECRET_WORDS = "Hittade plånboken under bänken vid fontänen"


@pytest.fixture
def customer(session, user_factory, sticker_factory):
    user = user_factory(email="karin.kund@example.se", password=PASSWORD, locale="en")
    accounts.update_profile(session, user, ProfileUpdate(display_name="Karin Kund", phone="070-123 45 67",
                                                         locale="en", notify_by_email=True))
    session.commit()
    return user


@pytest.fixture
def agent(user_factory):
    return user_factory(email="service@example.se", password=PASSWORD, role=Role.CUSTOMER_SERVICE)


@pytest.fixture
def service_client(app, agent):
    return browser(app, email=agent.email)


def search(client, query: str):
    return client.post("/crm/customers", data={"query": query, "csrf_token": csrf_token(client, "/crm/customers")})


def record_url(customer) -> str:
    return f"/crm/customers/{customer.customer_number}"


def open_record(client, customer, reason="customer_called"):
    return client.post(record_url(customer) + "/open",
                       data={"reason": reason, "csrf_token": csrf_token(client, record_url(customer))})


def test_a_customer_is_found_by_anything_they_can_tell_us(service_client, customer, sticker_factory, user_factory):
    user_factory(email="someone.else@example.se")
    sticker = sticker_factory(owner=customer)
    number = customer.customer_number
    for query in ["Karin", "kund", "karin.kund@example.se", "070-123 45 67", "+46 70 123 45 67", "0701234567",
                  f"{number[:3]} {number[3:6]} {number[6:]}", number, codes.display(sticker.code).lower()]:
        response = search(service_client, query)
        assert response.status_code == 200, query
        assert f'href="{record_url(customer)}"' in response.get_data(as_text=True), query
        assert "someone.else@example.se" not in response.get_data(as_text=True), query


def test_a_search_for_nobody_or_too_little_says_so(service_client, customer):
    assert "Nobody matches" in visible(search(service_client, "Zyxwvut"))
    too_short = search(service_client, "k")
    assert too_short.status_code == 422 and "Type 2 to 200 characters." in visible(too_short)
    assert "karin.kund" not in too_short.get_data(as_text=True)


def test_a_search_by_a_percent_sign_is_a_literal_not_a_wildcard(service_client, customer):
    assert "Nobody matches" in visible(search(service_client, "%%"))


def test_the_record_opens_only_with_a_reason_and_the_opening_is_audited(session, service_client, customer, agent):
    first = visible(service_client.get(record_url(customer)))
    assert "Say why you open it" in first
    assert "karin.kund@example.se" not in first  # nothing personal before the reason
    for wrong in ("", "Kunden Karin Kund, 070-123 45 67"):  # no choice, or free text: refused
        refused = open_record(service_client, customer, reason=wrong)
        assert refused.status_code == 422 and "Say why: it is kept in the audit log." in visible(refused)
    assert open_record(service_client, customer).status_code == 303
    page = visible(service_client.get(record_url(customer)))
    assert "karin.kund@example.se" in page and "070-123 45 67" in page
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "customer.viewed")).all()
    assert (entry.actor_id, entry.subject_id) == (agent.id, customer.id)
    assert entry.reason == "customer_called"  # a fixed key: the log outlives an erasure, so no free text


def test_search_results_are_looks_on_the_audit_log(session, service_client, customer, user_factory, agent):
    missed = user_factory(email="someone.else@example.se")
    search(service_client, "Karin")
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "customer.viewed")).all()
    assert (entry.actor_id, entry.subject_id, entry.reason) == (agent.id, customer.id, "customer_search")
    assert missed.id != entry.subject_id
    search(service_client, "kund")  # the same customer again, within the half hour: still one look
    assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "customer.viewed")).all()) == 1


def test_an_open_record_closes_after_half_an_hour_and_leaves_the_cookie(service_client, customer, user_factory):
    other = user_factory(email="annan@example.se")
    open_record(service_client, customer)
    with service_client.session_transaction() as cookie:
        cookie["crm_open_records"] = {customer.customer_number: (utcnow() - timedelta(minutes=31)).isoformat()}
    assert "Say why you open it" in visible(service_client.get(record_url(customer)))  # a reason again
    open_record(service_client, other)
    with service_client.session_transaction() as cookie:
        assert list(cookie["crm_open_records"]) == [other.customer_number]


def test_an_unknown_customer_number_is_a_404(service_client):
    assert service_client.get("/crm/customers/000000000").status_code == 404
    assert service_client.get("/crm/customers/not-a-number").status_code == 404


def test_notes_are_kept_with_their_author_and_time(session, service_client, customer):
    open_record(service_client, customer)
    token = csrf_token(service_client, record_url(customer))
    empty = service_client.post(record_url(customer) + "/notes", data={"body": " ", "csrf_token": token})
    assert empty.status_code == 422 and "Write the note first." in visible(empty)
    saved = service_client.post(record_url(customer) + "/notes",
                                data={"body": "Ringde om spärr.\nÅterkommer i morgon.", "csrf_token": token})
    assert saved.status_code == 303
    page = service_client.get(record_url(customer)).get_data(as_text=True)
    assert "Ringde om spärr.\nÅterkommer i morgon." in page and "service@example.se" in page
    assert session.exec(select(CustomerNote)).one().customer_id == customer.id


def test_a_note_needs_an_open_record(session, service_client, customer):
    token = csrf_token(service_client, record_url(customer))
    response = service_client.post(record_url(customer) + "/notes", data={"body": "x", "csrf_token": token})
    assert response.status_code == 303 and session.exec(select(CustomerNote)).first() is None


def test_a_conversation_is_read_by_customer_service_only_once_the_customer_shares_it(
        app, session, service_client, customer, sticker_factory):
    sticker = sticker_factory(owner=customer, label="Plånbok")
    conversation, _ = finder.report_found(session, code=sticker.code, message=SECRET_WORDS,
                                          details=FinderDetails(email="finder@example.org"))
    session.commit()
    open_record(service_client, customer)
    hidden = service_client.get(record_url(customer)).get_data(as_text=True)
    assert SECRET_WORDS not in hidden and "has not shared this conversation" in hidden

    owner = browser(app, email=customer.email)
    page = f"/account/conversations/{conversation.public_id}"
    shared = owner.post(page + "/help", data={"share": "on", "csrf_token": csrf_token(owner, page)})
    assert shared.status_code == 303
    assert "Customer service can now read this conversation." in visible(owner.get(page))
    shown = service_client.get(record_url(customer)).get_data(as_text=True)
    assert SECRET_WORDS in shown and "finder@example.org" not in shown  # never the finder's address

    owner.post(page + "/help", data={"share": "off", "csrf_token": csrf_token(owner, page)})
    assert SECRET_WORDS not in service_client.get(record_url(customer)).get_data(as_text=True)
    actions = session.exec(select(AuditEntry.action).where(AuditEntry.subject_id == customer.id)).all()
    assert {"conversation.help_requested", "conversation.help_withdrawn"} <= set(actions)


def test_another_customers_conversation_cannot_be_shared(app, session, customer, sticker_factory, user_factory):
    mallory = user_factory(email="mallory@example.se", password=PASSWORD)
    conversation, _ = finder.report_found(session, code=sticker_factory(owner=customer).code, message="x",
                                          details=FinderDetails())
    session.commit()
    client = browser(app, email=mallory.email)
    response = client.post(f"/account/conversations/{conversation.public_id}/help",
                           data={"share": "on", "csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 404
    session.refresh(conversation)
    assert conversation.help_requested_at is None


def test_the_customer_number_in_a_staff_url_never_reaches_a_log(service_client, customer, caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("werkzeug").info('"GET %s HTTP/1.1" 200 -', record_url(customer))
    assert customer.customer_number not in caplog.text and "/crm/customers/[redacted]" in caplog.text
