"""Mobile phones: number in E.164, operator from the directory, IMEI Luhn-checked and shown
masked, and the owner's personnummer kept only as a keyed digest and a masked form."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError
from sqlmodel import select

from stickerreg.models import AuditEntry, MobileDevice, MobileDeviceCreate, MobileDeviceUpdate
from stickerreg.services import accounts, ownership
from stickerreg.services.linked import devices
from stickerreg.services.linked.devices import DeviceError

IMEI = "490154203237518"  # a valid IMEI (its Luhn check digit is 8)
PERSONNUMMER = "198112189876"  # 19811218-9876


def details(**changes) -> dict:
    return {"owner_name": "Anna Andersson", "phone": "070-123 45 67", "operator": "telco", "imei": IMEI, **changes}


# --- IMEI ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [IMEI, "49 015420 323751 8", "49-015420-323751-8", "490154/203237/518", f" {IMEI} "])
def test_an_imei_is_its_fifteen_digits_however_it_is_grouped(typed):
    assert devices.normalize_imei(typed) == IMEI


@pytest.mark.parametrize("typed", [
    "490154203237519",  # wrong check digit
    "49015420323751",  # 14 digits
    "4901542032375180",  # 16 digits
    "49015420323751X", "４９０１５４２０３２３７５１８", "", None,
])
def test_an_imei_with_a_wrong_check_digit_or_length_is_refused(typed):
    assert devices.normalize_imei(typed) is None


def test_a_masked_imei_shows_only_its_last_four_digits():
    masked = devices.mask_imei(IMEI)
    assert masked.endswith(" 7518") and re.sub(r"\D", "", masked) == "7518"
    assert devices.mask_imei(None) == ""


# --- adding and changing -------------------------------------------------------------------------


def test_a_phone_is_stored_in_e164_with_its_operator(session, user_factory, device_factory):
    owner = user_factory()
    device = device_factory(owner, phone="070-123 45 67", imei="49-015420-323751-8")
    [(stored, operator)] = devices.devices_of(session, owner)
    assert (stored.id, stored.phone, stored.imei, operator.name) == (device.id, "+46701234567", IMEI, "Teleoperatören")
    assert device.owner_personnummer_digest is None and device.owner_personnummer_masked is None


def test_the_imei_is_optional(device_factory):
    assert device_factory(imei=None).imei is None


@pytest.mark.parametrize(("changes", "reason"), [
    ({"phone": "12"}, "invalid_phone"),
    ({"phone": "ring mig"}, "invalid_phone"),
    ({"imei": "490154203237519"}, "invalid_imei"),
    ({"operator": "no-such-operator"}, "unknown_operator"),
    ({"operator": "bank"}, "unknown_operator"),  # a card issuer is no operator
    ({"owner_personnummer": "19811218-9875"}, "invalid_personnummer"),
    ({"owner_personnummer": "not a number"}, "invalid_personnummer"),
])
def test_a_phone_that_cannot_be_stored_as_given_is_refused(session, user_factory, loaded_directory, key, changes,
                                                            reason):
    owner = user_factory()
    with pytest.raises(DeviceError, match=f"^{reason}$"):
        devices.add_device(session, owner, MobileDeviceCreate(**details(**changes)), key=key, actor=owner)
    assert session.exec(select(MobileDevice)).all() == []


def test_the_owners_personnummer_is_kept_as_a_digest_and_a_masked_form(device_factory, key, database_values):
    device = device_factory(owner_personnummer="19811218-9876")
    assert device.owner_personnummer_digest == accounts.personnummer_digest(PERSONNUMMER, key=key)
    assert device.owner_personnummer_masked == "19811218-****"
    assert not [value for value in database_values() if "8112189876" in value.replace("-", "")]


def test_a_change_without_a_personnummer_keeps_the_one_stored(session, user_factory, device_factory, key):
    owner = user_factory()
    device = device_factory(owner, owner_personnummer="19811218-9876")
    digest = device.owner_personnummer_digest
    devices.update_device(session, device, MobileDeviceUpdate(**details(owner_name="Anna A", owner_personnummer=None)),
                          key=key, actor=owner)
    session.commit()
    stored = session.get(MobileDevice, device.id)
    assert (stored.owner_name, stored.owner_personnummer_digest, stored.owner_personnummer_masked) == (
        "Anna A", digest, "19811218-****")


def test_a_change_with_another_personnummer_replaces_it(session, user_factory, device_factory, key):
    owner = user_factory()
    device = device_factory(owner, owner_personnummer="19811218-9876")
    devices.update_device(session, device, MobileDeviceUpdate(**details(owner_personnummer="19121212-1212")),
                          key=key, actor=owner)
    assert device.owner_personnummer_digest == accounts.personnummer_digest("191212121212", key=key)
    assert device.owner_personnummer_masked == "19121212-****"


def test_a_refused_change_leaves_the_phone_as_it_was(session, user_factory, device_factory, key):
    owner = user_factory()
    device = device_factory(owner)
    with pytest.raises(DeviceError, match="^invalid_imei$"):
        devices.update_device(session, device, MobileDeviceUpdate(**details(phone="08-411 10 11", imei="1234")),
                              key=key, actor=owner)
    session.commit()
    assert (session.get(MobileDevice, device.id).phone, session.get(MobileDevice, device.id).imei) == (
        "+46701234567", IMEI)


@pytest.mark.parametrize("extra", [{"owner_id": 1}, {"public_id": "chosen"}, {"owner_personnummer_digest": "x"}])
def test_fields_outside_the_allowlist_are_refused(extra):
    with pytest.raises(ValidationError):
        MobileDeviceCreate(**details(**extra))


def test_changes_and_deletion_are_audited_by_field_name_only(session, user_factory, device_factory, key):
    owner = user_factory()
    device = device_factory(owner, owner_personnummer="19811218-9876")
    devices.update_device(session, device, MobileDeviceUpdate(**details(phone="08-411 10 11")), key=key, actor=owner)
    devices.delete_device(session, device, actor=owner)
    session.commit()
    entries = session.exec(select(AuditEntry).where(AuditEntry.object_type == "mobile_devices")
                           .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["device.created", "device.updated", "device.deleted"]
    assert entries[1].detail == {"fields": ["phone"]}
    assert devices.devices_of(session, owner) == []


def test_only_the_owner_reaches_a_phone(session, user_factory, device_factory):
    owner, stranger = user_factory(), user_factory()
    device = device_factory(owner)
    assert ownership.owned(session, MobileDevice, device.public_id, owner).id == device.id
    assert ownership.owned(session, MobileDevice, device.public_id, stranger) is None
