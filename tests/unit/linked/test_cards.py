"""Payment cards: holder, issuer, type and the last four digits; never a card number.

What counts as a card number (`looks_like_card_number`): 12 or more digits in a row, with
at most three spaces, dots, slashes or hyphens between any two of them, anywhere in the text. So every
usual way of writing a PAN (12 to 19 digits, grouped by spaces or hyphens) is refused, and
a Swedish phone number as Swedes write it (070-123 45 67, ten digits) or 11 digits are not.
Digits parted by dots, slashes, spaced hyphens or no-break spaces count too, and digits of
any script.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from sqlmodel import select

from stickerreg import tokens
from stickerreg.models import (
    AuditEntry,
    BlockingCase,
    Card,
    CardCreate,
    CardType,
    CardUpdate,
    FireContact,
    IdProtectAlert,
    MobileDevice,
)
from stickerreg.services import ownership
from stickerreg.services.linked import cards
from stickerreg.services.linked.cards import CardError

PAN = "4111111111111111"


def details(**changes) -> dict:
    return {"holder_name": "Anna Andersson", "issuer": "bank", "card_type": "debit", "last_four": "1234", **changes}


def audit_entries(session) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.object_type == "cards").order_by(AuditEntry.id)))


# --- what a card number looks like ------------------------------------------------------


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "411111111111", "4111111111111111111",
    "3782 822463 10005", "5555-5555-5555-4444 ", "Anna 4111 1111 1111 1111", "kort4111111111111111",
])
def test_a_card_number_in_any_usual_shape_looks_like_one(text):
    assert cards.looks_like_card_number(text)


@pytest.mark.parametrize("text", [
    "41111111111", "4111 1111 111", "070-123 45 67", "+46 70 123 45 67", "Anna Andersson", "1234", "", None,
])
def test_names_phone_numbers_and_short_digit_runs_do_not(text):
    assert not cards.looks_like_card_number(text)


@pytest.mark.parametrize("text", [
    "4111.1111.1111.1111", "4111 / 1111 / 1111 / 1111", "4111 - 1111 - 1111 - 1111",
    "4111\u00a01111\u00a01111\u00a01111", "4111\u202f1111\u202f1111\u202f1111", "٤١١١٤١١١٤١١١٤١١١",
], ids=["dots", "spaced-slashes", "spaced-hyphens", "no-break-spaces", "narrow-no-break-spaces", "arabic-indic"])
def test_a_card_number_with_other_separators_looks_like_one_too(text):
    assert cards.looks_like_card_number(text)


# --- adding, changing and deleting ---------------------------------------------------------


def test_a_card_is_stored_with_its_issuer_type_and_last_four(session, user_factory, card_factory):
    owner = user_factory()
    card = card_factory(owner, holder_name="  Anna Andersson ", card_type=CardType.CREDIT, last_four="9876")
    [(stored, issuer)] = cards.cards_of(session, owner)
    assert stored.id == card.id and issuer.name == "Banken"
    assert (card.holder_name, card.card_type, card.last_four) == ("Anna Andersson", "credit", "9876")
    assert tokens.is_public_id(card.public_id) and card.public_id != str(card.id)


def test_an_owners_cards_are_listed_newest_first_and_only_theirs(session, user_factory, card_factory):
    owner = user_factory()
    first, second = card_factory(owner, last_four="1111"), card_factory(owner, last_four="2222")
    card_factory(user_factory(), last_four="3333")
    assert [card.id for card, _ in cards.cards_of(session, owner)] == [second.id, first.id]


def test_a_card_is_changed_through_its_allowlist(session, user_factory, card_factory):
    owner = user_factory()
    card = card_factory(owner)
    cards.update_card(session, card, CardUpdate(**details(issuer="kortbolaget", last_four="5678")), actor=owner)
    session.commit()
    [(stored, issuer)] = cards.cards_of(session, owner)
    assert (stored.last_four, stored.holder_name, issuer.name) == ("5678", "Anna Andersson", "Kortbolaget")


def test_a_deleted_card_is_gone(session, user_factory, card_factory):
    owner = user_factory()
    card = card_factory(owner)
    cards.delete_card(session, card, actor=owner)
    session.commit()
    assert cards.cards_of(session, owner) == []


def test_an_unknown_issuer_is_refused(session, user_factory, loaded_directory):
    owner = user_factory()
    with pytest.raises(CardError, match="^unknown_issuer$"):
        cards.add_card(session, owner, CardCreate(**details(issuer="no-such-bank")), actor=owner)
    with pytest.raises(CardError, match="^unknown_issuer$"):  # an operator is no issuer
        cards.add_card(session, owner, CardCreate(**details(issuer="telco")), actor=owner)


# --- a full card number is never stored -------------------------------------------------------


@pytest.mark.parametrize("holder_name", [PAN, "Anna 4111 1111 1111 1111", "4111-1111-1111-1111"])
def test_a_card_number_typed_as_the_holder_is_refused_and_nothing_is_stored(
        session, user_factory, loaded_directory, database_values, holder_name):
    owner = user_factory()
    with pytest.raises(CardError, match="^full_card_number$"):
        cards.add_card(session, owner, CardCreate(**details(holder_name=holder_name)), actor=owner)
    session.commit()
    assert session.exec(select(Card)).all() == []
    assert not [value for value in database_values() if PAN in value.replace(" ", "").replace("-", "")]


def test_a_card_number_typed_into_a_change_is_refused_and_the_card_kept(
        session, user_factory, card_factory, database_values):
    owner = user_factory()
    card = card_factory(owner)
    with pytest.raises(CardError, match="^full_card_number$"):
        cards.update_card(session, card, CardUpdate(**details(holder_name=f"Anna {PAN}")), actor=owner)
    session.commit()
    assert session.get(Card, card.id).holder_name == "Anna Andersson"
    assert not [value for value in database_values() if PAN in value]


@pytest.mark.parametrize("last_four", ["12345", "123", "12a4", "١٢٣٤", "１２３４", "12 4", ""])
def test_the_last_four_must_be_four_ascii_digits(last_four):
    with pytest.raises(ValidationError):
        CardCreate(**details(last_four=last_four))


@pytest.mark.parametrize("extra", [{"card_number": PAN}, {"owner_id": 1}, {"public_id": "chosen"}, {"cvc": "123"}])
def test_fields_outside_the_allowlist_are_refused(extra):
    with pytest.raises(ValidationError):
        CardCreate(**details(**extra))
    with pytest.raises(ValidationError):
        CardUpdate(**details(**extra))


def test_an_unknown_card_type_is_refused():
    with pytest.raises(ValidationError):
        CardCreate(**details(card_type="platinum"))


# --- the audit log ---------------------------------------------------------------------------


def test_every_change_to_a_card_is_audited_without_its_digits(session, user_factory, card_factory):
    owner = user_factory()
    card = card_factory(owner)
    cards.update_card(session, card, CardUpdate(**details(last_four="5678")), actor=owner)
    cards.delete_card(session, card, actor=owner)
    session.commit()
    entries = audit_entries(session)
    assert [e.action for e in entries] == ["card.created", "card.updated", "card.deleted"]
    assert all((e.actor_id, e.subject_id, e.object_id) == (owner.id, owner.id, card.public_id) for e in entries)
    assert entries[1].detail == {"fields": ["last_four"]}
    assert not any(char.isdigit() for entry in entries for char in json.dumps(entry.detail))


# --- ownership ----------------------------------------------------------------------------------


def test_only_the_owner_reaches_a_card(session, user_factory, card_factory):
    owner, stranger = user_factory(), user_factory()
    card = card_factory(owner)
    assert ownership.owned(session, Card, card.public_id, owner).id == card.id
    assert ownership.owned(session, Card, card.public_id, stranger) is None
    assert ownership.owned(session, Card, str(card.id), owner) is None


@pytest.mark.parametrize("model", [Card, MobileDevice, BlockingCase, FireContact, IdProtectAlert])
@pytest.mark.parametrize("key", ["abc\x00def", "x" * 65, "", "a b", "../x", "é"], ids=repr)
def test_a_hostile_key_reaches_nothing(session, user_factory, model, key):
    assert ownership.owned(session, model, key, user_factory()) is None
