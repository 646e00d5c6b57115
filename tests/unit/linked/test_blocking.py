"""Blocking cases: what was lost decides which cards and phones are listed, each with the
blocking line as it was when the case opened; open → in progress → done, every step an event
with who and in which role, and an email for every step but the customer's own ticks."""

from __future__ import annotations

import re

import pytest
from helpers import body_text
from sqlmodel import func, select

from stickerreg.emails import composer
from stickerreg.models import (
    BlockingCase,
    BlockingStatus,
    CardUpdate,
    LostItems,
    OutboxKind,
    OutboxMessage,
    Role,
    User,
)
from stickerreg.services import ownership
from stickerreg.services.linked import blocking, cards
from stickerreg.services.linked.blocking import CUSTOMER, CUSTOMER_SERVICE, BlockingError


@pytest.fixture
def owner(user_factory):
    return user_factory(email="anna@example.se", locale="en")


@pytest.fixture
def agent(user_factory):
    return user_factory(email="service@example.se", role=Role.CUSTOMER_SERVICE)


@pytest.fixture
def belongings(owner, card_factory, device_factory):
    """Two cards (one issuer with a blocking line, one without) and a phone."""
    return {"bank_card": card_factory(owner, last_four="1111"),
            "other_card": card_factory(owner, issuer="kortbolaget", last_four="2222"),
            "phone": device_factory(owner)}


def emails_queued(session) -> int:
    return session.exec(select(func.count(OutboxMessage.id)).where(OutboxMessage.kind == OutboxKind.BLOCKING_CASE)).one()


def open_case(session, owner, lost=LostItems.BOTH) -> BlockingCase:
    case = blocking.open_case(session, owner, lost=lost)
    session.commit()
    return case


def tick_all(session, case, *, actor, role) -> None:
    for item in blocking.items_of(session, case):
        blocking.mark_blocked(session, case, item, blocked=True, actor=actor, role=role)
    session.commit()


# --- what a case lists -------------------------------------------------------------------------


@pytest.mark.parametrize(("lost", "listed"), [
    (LostItems.WALLET, {"bank_card", "other_card"}),
    (LostItems.PHONE, {"phone"}),
    (LostItems.BOTH, {"bank_card", "other_card", "phone"}),
])
def test_a_case_lists_the_cards_and_phones_that_were_lost(session, owner, belongings, lost, listed):
    case = open_case(session, owner, lost)
    items = blocking.items_of(session, case)
    expected = {("card", belongings[name].id) if "card" in name else ("device", belongings[name].id)
                for name in listed}
    assert {("card", i.card_id) if i.card_id else ("device", i.device_id) for i in items} == expected
    assert (case.status, case.lost, case.closed_at) == (BlockingStatus.OPEN, lost.value, None)


def test_each_item_carries_its_providers_name_blocking_line_and_web_page(session, owner, belongings):
    items = blocking.items_of(session, open_case(session, owner))
    bank_card, other_card = (next(i for i in items if i.card_id == belongings[name].id)
                             for name in ("bank_card", "other_card"))
    phone = next(i for i in items if i.device_id == belongings["phone"].id)
    assert (bank_card.provider, bank_card.blocking_phone, bank_card.web) == (
        "Banken", "+4620411212", "https://bank.example.se/sparra")
    assert (other_card.provider, other_card.blocking_phone, other_card.web) == ("Kortbolaget", None, None)
    assert (phone.provider, phone.blocking_phone, phone.web) == ("Teleoperatören", "+4684111011",
                                                                  "https://telco.example.se/")
    assert bank_card.label == "Anna Andersson · •••• 1111"
    assert phone.label.startswith("Anna Andersson · ") and re.sub(r"\D", "", phone.label).endswith("701234567")


def test_nothing_to_block_opens_no_case(session, owner, card_factory):
    card_factory(owner)
    with pytest.raises(BlockingError, match="^nothing_to_block$"):
        blocking.open_case(session, owner, lost=LostItems.PHONE)
    assert blocking.cases_of(session, owner) == [] and emails_queued(session) == 0


def test_a_second_report_of_the_same_loss_returns_the_open_case(session, owner, belongings):
    case = open_case(session, owner, LostItems.WALLET)
    assert open_case(session, owner, LostItems.WALLET).id == case.id
    assert open_case(session, owner, LostItems.PHONE).id != case.id
    assert blocking.open_count(session, owner) == 2


def test_a_new_loss_after_a_closed_case_opens_a_new_case(session, owner, belongings, agent):
    case = open_case(session, owner, LostItems.WALLET)
    blocking.finish(session, case, actor=agent, role=CUSTOMER_SERVICE)
    assert open_case(session, owner, LostItems.WALLET).id != case.id
    assert blocking.open_count(session, owner) == 1


def test_the_case_keeps_its_labels_when_a_card_is_changed_or_deleted(session, owner, belongings):
    case = open_case(session, owner, LostItems.WALLET)
    before = {i.id: (i.label, i.provider) for i in blocking.items_of(session, case)}
    changed = CardUpdate(holder_name="Someone Else", issuer="kortbolaget", card_type="credit", last_four="9999")
    cards.update_card(session, belongings["bank_card"], changed, actor=owner)
    cards.delete_card(session, belongings["other_card"], actor=owner)
    session.commit()
    session.expire_all()
    items = blocking.items_of(session, case)
    assert {i.id: (i.label, i.provider) for i in items} == before
    assert None in {i.card_id for i in items}  # the deleted card is no longer linked


# --- steps, events and emails --------------------------------------------------------------------


def test_the_customer_ticking_off_everything_closes_the_case(session, owner, belongings):
    case = open_case(session, owner)
    tick_all(session, case, actor=owner, role=CUSTOMER)
    assert case.status == BlockingStatus.DONE and case.closed_at is not None
    assert all(i.blocked_at and i.blocked_by == CUSTOMER for i in blocking.items_of(session, case))
    assert blocking.open_count(session, owner) == 0


def test_a_tick_can_be_undone_and_the_case_stays_open(session, owner, belongings):
    case = open_case(session, owner)
    item = blocking.items_of(session, case)[0]
    blocking.mark_blocked(session, case, item, blocked=True, actor=owner, role=CUSTOMER)
    blocking.mark_blocked(session, case, item, blocked=False, actor=owner, role=CUSTOMER)
    assert (item.blocked_at, item.blocked_by, case.status) == (None, None, BlockingStatus.OPEN)
    assert [e.action for e in blocking.events_of(session, case)] == ["opened", "item_blocked", "item_unblocked"]


def test_the_customers_own_ticks_send_no_email(session, owner, belongings):
    case = open_case(session, owner)
    assert emails_queued(session) == 1  # the opening, with the lines to call
    items = blocking.items_of(session, case)
    for item in items[:-1]:
        blocking.mark_blocked(session, case, item, blocked=True, actor=owner, role=CUSTOMER)
    assert emails_queued(session) == 1
    blocking.mark_blocked(session, case, items[-1], blocked=True, actor=owner, role=CUSTOMER)
    assert emails_queued(session) == 2  # no email for the tick, one for the case being closed


def test_every_other_step_emails_the_customer_once(session, owner, agent, belongings):
    case = open_case(session, owner)
    steps = [
        lambda: blocking.request_help(session, case, actor=owner),
        lambda: blocking.take(session, case, actor=agent),
        lambda: blocking.mark_blocked(session, case, blocking.items_of(session, case)[0], blocked=True, actor=agent,
                                      role=CUSTOMER_SERVICE),
        lambda: blocking.finish(session, case, actor=agent, role=CUSTOMER_SERVICE),
    ]
    for expected, step in enumerate(steps, start=2):
        step()
        assert emails_queued(session) == expected


def test_events_record_who_did_what_in_which_role_in_order(session, owner, agent, belongings):
    case = open_case(session, owner)
    blocking.request_help(session, case, actor=owner)
    blocking.take(session, case, actor=agent)
    item = blocking.items_of(session, case)[0]
    blocking.mark_blocked(session, case, item, blocked=True, actor=agent, role=CUSTOMER_SERVICE)
    blocking.finish(session, case, actor=agent, role=CUSTOMER_SERVICE)
    session.commit()
    events = [(e.action, e.actor_id, e.actor_role, e.item_label) for e in blocking.events_of(session, case)]
    assert events == [
        ("opened", owner.id, CUSTOMER, None),
        ("help_requested", owner.id, CUSTOMER, None),
        ("in_progress", agent.id, CUSTOMER_SERVICE, None),
        ("item_blocked", agent.id, CUSTOMER_SERVICE, item.label),
        ("done", agent.id, CUSTOMER_SERVICE, None),
    ]
    assert item.blocked_by == CUSTOMER_SERVICE and case.status == BlockingStatus.DONE and case.closed_at


def test_asking_for_help_twice_is_one_step(session, owner, belongings):
    case = open_case(session, owner)
    blocking.request_help(session, case, actor=owner)
    asked = case.help_requested_at
    blocking.request_help(session, case, actor=owner)
    assert case.help_requested_at == asked and emails_queued(session) == 2


def test_customer_services_ticks_leave_closing_to_them(session, owner, agent, belongings):
    case = open_case(session, owner)
    tick_all(session, case, actor=agent, role=CUSTOMER_SERVICE)
    assert case.status == BlockingStatus.OPEN
    blocking.finish(session, case, actor=agent, role=CUSTOMER_SERVICE)
    assert case.status == BlockingStatus.DONE


@pytest.mark.parametrize("step", ["tick", "help", "take", "finish"])
def test_a_closed_case_takes_no_more_steps(session, owner, agent, belongings, step):
    case = open_case(session, owner, LostItems.PHONE)
    blocking.finish(session, case, actor=owner, role=CUSTOMER)
    item = blocking.items_of(session, case)[0]
    steps = {
        "tick": lambda: blocking.mark_blocked(session, case, item, blocked=True, actor=owner, role=CUSTOMER),
        "help": lambda: blocking.request_help(session, case, actor=owner),
        "take": lambda: blocking.take(session, case, actor=agent),
        "finish": lambda: blocking.finish(session, case, actor=agent, role=CUSTOMER_SERVICE),
    }
    with pytest.raises(BlockingError, match="^closed$"):
        steps[step]()
    assert item.blocked_at is None and case.status == BlockingStatus.DONE


# --- customer service's queue ---------------------------------------------------------------------


def test_customer_service_waits_for_help_requested_and_taken_cases_only(session, user_factory, agent, card_factory):
    cases = {}
    for name in ("untouched", "helped", "taken", "done"):
        owner = user_factory()
        card_factory(owner)
        cases[name] = open_case(session, owner, LostItems.WALLET)
    blocking.request_help(session, cases["helped"], actor=session.get(User, cases["helped"].owner_id))
    blocking.take(session, cases["taken"], actor=agent)
    blocking.finish(session, cases["done"], actor=agent, role=CUSTOMER_SERVICE)
    session.commit()
    assert {c.id for c in blocking.waiting_for_service(session)} == {cases["helped"].id, cases["taken"].id}


def test_customer_service_waits_longest_for_the_earliest_help_request(session, user_factory, card_factory):
    owners = [user_factory(), user_factory()]
    cases = []
    for owner in owners:
        card_factory(owner)
        cases.append(open_case(session, owner, LostItems.WALLET))
    blocking.request_help(session, cases[1], actor=owners[1])
    blocking.request_help(session, cases[0], actor=owners[0])
    assert [c.id for c in blocking.waiting_for_service(session)] == [cases[1].id, cases[0].id]


def test_a_case_taken_without_a_help_request_has_its_place_by_opening_on_both_databases(
        session, user_factory, agent, card_factory):
    owners = [user_factory(), user_factory()]
    for owner in owners:
        card_factory(owner)
    taken = open_case(session, owners[0], LostItems.WALLET)
    helped = open_case(session, owners[1], LostItems.WALLET)
    blocking.take(session, taken, actor=agent)
    blocking.request_help(session, helped, actor=owners[1])
    assert [c.id for c in blocking.waiting_for_service(session)] == [taken.id, helped.id]


def test_customer_service_finds_any_case_by_its_public_id_only(session, owner, belongings):
    case = open_case(session, owner)
    assert blocking.find_case(session, case.public_id).id == case.id
    assert blocking.find_case(session, str(case.id)) is None and blocking.find_case(session, "x\x00") is None


def test_an_item_is_found_only_on_its_own_case(session, owner, user_factory, card_factory, belongings):
    case = open_case(session, owner, LostItems.WALLET)
    other_owner = user_factory()
    card_factory(other_owner)
    other_item = blocking.items_of(session, open_case(session, other_owner, LostItems.WALLET))[0]
    item = blocking.items_of(session, case)[0]
    assert blocking.item_of(session, case, item.public_id).id == item.id
    assert blocking.item_of(session, case, other_item.public_id) is None


def test_only_the_owner_reaches_a_case(session, owner, user_factory, belongings):
    case = open_case(session, owner)
    assert ownership.owned(session, BlockingCase, case.public_id, owner).id == case.id
    assert ownership.owned(session, BlockingCase, case.public_id, user_factory()) is None


# --- the email -------------------------------------------------------------------------------------


def composed(app, session, index: int = -1):
    rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.BLOCKING_CASE)
                        .order_by(OutboxMessage.id)).all()
    return composer(app)(session, rows[index])


def test_the_opening_email_lists_the_blocking_lines_to_call(app, session, owner, belongings):
    open_case(session, owner)
    email = composed(app, session)
    text = body_text(email)
    assert email["To"] == "anna@example.se" and "the case is open" in email["Subject"]
    assert "020-41 12 12" in text and "08-411 10 11" in text  # as Swedes dial them
    assert "Anna Andersson · •••• 1111" in text and "Contact your issuer or operator" in text


def test_a_step_by_customer_service_is_named_in_the_email(app, session, owner, agent, belongings):
    case = open_case(session, owner)
    blocking.take(session, case, actor=agent)
    item = blocking.items_of(session, case)[0]
    blocking.mark_blocked(session, case, item, blocked=True, actor=agent, role=CUSTOMER_SERVICE)
    session.commit()
    assert "customer service is blocking for you" in composed(app, session, -2)["Subject"]
    text = body_text(composed(app, session, -1))
    assert f"blocked: {item.label}" in text and "(blocked)" in text


def test_an_email_about_a_case_that_is_gone_is_not_sent(app, session, owner, belongings):
    case = open_case(session, owner)
    row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.BLOCKING_CASE)).one()
    row.payload = {"case_id": case.id + 1000, "event_id": row.payload["event_id"]}
    assert composer(app)(session, row) is None

