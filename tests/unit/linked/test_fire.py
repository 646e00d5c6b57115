"""Fire protection: up to five people to call, in the customer's order, read by the
alarm-receiving centre with the customer number however it is typed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlmodel import select

from stickerreg.models import ApiScope, AuditEntry, FireContact, FireContactCreate, FireContactPublic, FireContactUpdate
from stickerreg.services import accounts, api_keys, ownership
from stickerreg.services.linked import fire
from stickerreg.services.linked.fire import FireError


@pytest.fixture
def owner(user_factory):
    return user_factory()


@pytest.fixture
def add(session, owner):
    def add(name: str, phone: str = "070-123 45 67", **fields) -> FireContact:
        contact = fire.add_contact(session, owner, FireContactCreate(name=name, phone=phone, **fields), actor=owner)
        session.commit()
        return contact

    return add


@pytest.fixture
def centre(session):
    """An alarm-receiving centre's API key."""
    key, _ = api_keys.create_key(session, name="Larmcentralen", scope=ApiScope.FIRE)
    return key


def names(session, owner) -> list[str]:
    return [contact.name for contact in fire.contacts_of(session, owner)]


def test_a_contact_is_added_last_with_the_phone_in_e164(session, owner, add):
    first = add("Anna", "070-123 45 67", relation="Granne", note="Har nyckel")
    second = add("Bo", "+46 8 411 10 11", relation="", note="")
    assert [(c.position, c.phone) for c in (first, second)] == [(1, "+46701234567"), (2, "+4684111011")]
    assert (first.relation, first.note, second.relation, second.note) == ("Granne", "Har nyckel", None, None)
    assert names(session, owner) == ["Anna", "Bo"]


def test_a_sixth_contact_is_refused(session, owner, add):
    for number in range(1, 6):
        add(f"Kontakt {number}")
    with pytest.raises(FireError, match="^too_many$"):
        add("Kontakt 6")
    assert len(fire.contacts_of(session, owner)) == 5


@pytest.mark.parametrize("phone", ["12", "ring mig", "070-123"])
def test_a_phone_that_is_no_number_is_refused(session, owner, add, phone):
    with pytest.raises(FireError, match="^invalid_phone$"):
        add("Anna", phone)
    assert fire.contacts_of(session, owner) == []


@pytest.mark.parametrize("extra", [{"owner_id": 1}, {"position": 1}, {"public_id": "chosen"}])
def test_fields_outside_the_allowlist_are_refused(extra):
    with pytest.raises(ValidationError):
        FireContactCreate(name="Anna", phone="070-123 45 67", **extra)


def test_a_contact_is_changed_and_the_change_audited_by_field_name(session, owner, add):
    contact = add("Anna")
    fire.update_contact(session, contact, FireContactUpdate(name="Anna", phone="08-411 10 11"), actor=owner)
    session.commit()
    assert session.get(FireContact, contact.id).phone == "+4684111011"
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "fire_contact.updated")).one()
    assert entry.detail == {"fields": ["phone"]} and entry.object_id == contact.public_id


def test_moving_swaps_a_contact_with_its_neighbour(session, owner, add):
    anna, bo, cecilia = add("Anna"), add("Bo"), add("Cecilia")
    fire.move(session, cecilia, up=True, actor=owner)
    assert names(session, owner) == ["Anna", "Cecilia", "Bo"]
    fire.move(session, anna, up=False, actor=owner)
    assert names(session, owner) == ["Cecilia", "Anna", "Bo"]
    assert [c.position for c in fire.contacts_of(session, owner)] == [1, 2, 3] and bo.position == 3


def test_moving_past_either_end_changes_nothing(session, owner, add):
    anna, _, cecilia = add("Anna"), add("Bo"), add("Cecilia")
    fire.move(session, anna, up=True, actor=owner)
    fire.move(session, cecilia, up=False, actor=owner)
    assert names(session, owner) == ["Anna", "Bo", "Cecilia"]
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "fire_contact.moved")).all() == []


def test_deleting_a_contact_moves_the_later_ones_up(session, owner, add):
    _, bo, _ = add("Anna"), add("Bo"), add("Cecilia")
    fire.delete_contact(session, bo, actor=owner)
    session.commit()
    assert [(c.position, c.name) for c in fire.contacts_of(session, owner)] == [(1, "Anna"), (2, "Cecilia")]
    assert add("David").position == 3


def test_contacts_are_kept_apart_per_customer(session, owner, add, user_factory):
    add("Anna")
    other = user_factory()
    fire.add_contact(session, other, FireContactCreate(name="Bo", phone="070-123 45 67"), actor=other)
    assert names(session, owner) == ["Anna"] and names(session, other) == ["Bo"]
    assert fire.contacts_of(session, other)[0].position == 1


@pytest.mark.parametrize("typed", ["{n}", "{n3} {n6} {n9}", "{n3}-{n6}-{n9}", " {n3} {n6}-{n9} "])
def test_the_centre_reads_the_contacts_by_customer_number_however_it_is_typed(session, owner, add, centre, typed):
    add("Anna", relation="Granne")
    add("Bo", "08-411 10 11")
    number = owner.customer_number
    typed = typed.format(n=number, n3=number[:3], n6=number[3:6], n9=number[6:])
    assert fire.for_customer(session, typed, reader=centre) == [
        FireContactPublic(position=1, name="Anna", phone="+46701234567", relation="Granne", note=None),
        FireContactPublic(position=2, name="Bo", phone="+4684111011", relation=None, note=None),
    ]


def test_a_customer_without_contacts_has_an_empty_list(session, owner, centre):
    assert fire.for_customer(session, owner.customer_number, reader=centre) == []


def test_an_unknown_or_invalid_customer_number_has_no_list(session, owner, add, centre):
    add("Anna")
    number = owner.customer_number
    wrong_check = number[:-1] + str((int(number[-1]) + 1) % 10)
    unassigned = accounts.new_customer_number(session)  # valid, but nobody's
    for typed in (wrong_check, unassigned, number[:-1], number + "0", "", "abc", "\x00" * 9):
        assert fire.for_customer(session, typed, reader=centre) is None, typed


def test_each_read_is_audited_under_the_reading_key_and_a_miss_is_not(session, owner, add, centre):
    add("Anna")
    fire.for_customer(session, owner.customer_number, reader=centre)
    fire.for_customer(session, "000000000", reader=centre)
    [read] = session.exec(select(AuditEntry).where(AuditEntry.action == "fire_contacts.read")).all()
    assert (read.subject_id, read.actor_role, read.detail) == (owner.id, "api", {"key": centre.public_id,
                                                                                "key_name": "Larmcentralen"})


def test_only_the_owner_reaches_a_contact(session, owner, add, user_factory):
    contact = add("Anna")
    assert ownership.owned(session, FireContact, contact.public_id, owner).id == contact.id
    assert ownership.owned(session, FireContact, contact.public_id, user_factory()) is None
