"""The audit log: who did what to whose record, written in the change's own transaction."""

from __future__ import annotations

from sqlmodel import select

from stickerreg.models import AuditEntry, FireContact, Role
from stickerreg.services import audit


def contact(owner_id: int) -> FireContact:
    return FireContact(public_id="pub-id-1", owner_id=owner_id, position=1, name="Anna", phone="+46701234567")


def test_an_entry_names_actor_role_subject_action_and_object(session, user_factory):
    owner, agent = user_factory(), user_factory(role=Role.CUSTOMER_SERVICE)
    audit.record(session, action="fire_contact.updated", target=contact(owner.id), subject_id=owner.id, actor=agent,
                 detail={"fields": ["phone"]})
    session.commit()
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.actor_id, entry.actor_role, entry.subject_id) == (agent.id, "customer_service", owner.id)
    assert (entry.action, entry.object_type, entry.object_id) == ("fire_contact.updated", "fire_contacts", "pub-id-1")
    assert entry.detail == {"fields": ["phone"]} and entry.at is not None


def test_a_role_given_wins_over_the_actors_own(session, user_factory):
    owner = user_factory()
    entry = audit.record(session, action="x", target=contact(owner.id), subject_id=owner.id, actor=owner, role="api")
    assert entry.actor_role == "api"


def test_without_an_actor_the_system_did_it(session, user_factory):
    owner = user_factory()
    entry = audit.record(session, action="idprotect_alert.received", target=contact(owner.id), subject_id=None)
    session.commit()
    assert (entry.actor_id, entry.actor_role, entry.subject_id, entry.detail) == (None, "system", None, {})


def test_changed_fields_are_the_names_whose_values_differ_sorted():
    before = {"name": "Anna", "phone": "+46701234567", "note": None, "relation": "Granne"}
    after = {"name": "Anna", "phone": "+4684111011", "note": "Har nyckel", "relation": "Granne"}
    assert audit.changed_fields(before, after) == ["note", "phone"]
    assert audit.changed_fields(before, dict(before)) == []
    assert audit.changed_fields({}, {"b": 1, "a": None}) == ["b"]
