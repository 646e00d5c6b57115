"""Desks as a service: their details, the staff PIN, and the kiosk screens paired with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from stickerreg import tokens
from stickerreg.models import Desk, DeskCreate, DeskUpdate
from stickerreg.services import desks
from stickerreg.services.desks import DeskError
from stickerreg.tokens import hash_token

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def new_desk(session, name: str = "Hittegods Centralen", **fields) -> Desk:
    details = {"address": "Centralplan 15, Stockholm", "opening_hours": "Mon-Fri 8-20", **fields}
    desk = desks.create_desk(session, DeskCreate(name=name, **details))
    session.commit()
    return desk


@pytest.fixture
def desk(session) -> Desk:
    return new_desk(session)


def paired(session, desk, *, name: str = "Counter", now: datetime = T0):
    """A screen paired with `desk` at `now`, and its device token."""
    _, token = desks.start_pairing(session, desk=desk, name=name, now=now)
    device, device_token = desks.complete_pairing(session, token, now=now)
    session.commit()
    return device, device_token


# --- desks ------------------------------------------------------------------------------


def test_a_new_desk_drops_surrounding_spaces_and_gets_a_random_public_id(session):
    desk = new_desk(session, "  Hittegods Centralen ", address=" Centralplan 15 ", opening_hours=" 8-20 ", hold_days=14)
    assert (desk.name, desk.address, desk.opening_hours, desk.hold_days) == (
        "Hittegods Centralen", "Centralplan 15", "8-20", 14)
    assert tokens.is_public_id(desk.public_id) and desk.public_id != str(desk.id) and desk.staff_pin_hash is None


def test_desk_names_are_unique_whatever_their_case(session, desk):
    with pytest.raises(DeskError):
        desks.create_desk(session, DeskCreate(name=" HITTEGODS centralen", address="Elsewhere", opening_hours="Never"))
    assert [d.name for d in desks.all_desks(session)] == ["Hittegods Centralen"]


@pytest.mark.parametrize(
    "fields",
    [{"name": "Hitte\x00gods"}, {"address": ""}, {"opening_hours": "   "}, {"hold_days": 0}, {"hold_days": 366},
     {"staff_pin_hash": "x"}, {"public_id": "chosen"}],
)
def test_desk_details_refuse_nul_blanks_odd_holding_times_and_unknown_fields(fields):
    details = {"name": "Desk", "address": "Street 1", "opening_hours": "8-20", **fields}
    with pytest.raises(ValidationError):
        DeskCreate(**details)


def test_updating_a_desk_changes_its_details_and_may_keep_its_own_name(session, desk):
    changes = DeskUpdate(name="HITTEGODS CENTRALEN", address="Vasagatan 1", opening_hours="Every day", hold_days=60)
    desks.update_desk(session, desk, changes)
    session.commit()
    session.refresh(desk)
    assert (desk.name, desk.address, desk.opening_hours, desk.hold_days) == (
        "HITTEGODS CENTRALEN", "Vasagatan 1", "Every day", 60)


def test_an_update_that_leaves_out_the_holding_time_keeps_it(session):
    desk = new_desk(session, hold_days=14)
    desks.update_desk(session, desk, DeskUpdate(name=desk.name, address="Vasagatan 1", opening_hours="Every day"))
    session.commit()
    session.refresh(desk)
    assert (desk.address, desk.hold_days) == ("Vasagatan 1", 14)


def test_a_desk_cannot_take_another_desks_name(session, desk):
    other = new_desk(session, "Biblioteket")
    with pytest.raises(DeskError):
        desks.update_desk(session, other, DeskUpdate(name="hittegods centralen", address="A", opening_hours="B"))
    assert other.name == "Biblioteket"


def test_a_desk_is_found_by_its_name_in_any_case_or_by_its_public_id(session, desk):
    new_desk(session, "Biblioteket")
    assert desks.find_desk(session, "  hittegods CENTRALEN ").id == desk.id
    assert desks.find_desk(session, desk.public_id).id == desk.id
    assert desks.find_desk(session, "Hittegods") is None


@pytest.mark.parametrize("key", ["", "   ", "Hittegods\x00 Centralen", "\x00"])
def test_a_blank_name_or_one_with_a_nul_finds_no_desk(session, desk, key):
    assert desks.find_desk(session, key) is None


def test_a_desk_is_found_by_its_public_id_only(session, desk):
    assert desks.desk_by_public_id(session, desk.public_id).id == desk.id
    assert desks.desk_by_public_id(session, desk.name) is None


@pytest.mark.parametrize("public_id", ["", "a\x00b", "../desks", "x" * 65, "ab cd", "åäö", None])
def test_a_hostile_public_id_never_reaches_the_database(session, desk, public_id):
    assert desks.desk_by_public_id(session, public_id) is None


def test_all_desks_are_listed_by_name(session):
    for name in ("Simhallen", "Biblioteket", "Hittegods Centralen"):
        new_desk(session, name)
    assert [desk.name for desk in desks.all_desks(session)] == ["Biblioteket", "Hittegods Centralen", "Simhallen"]


# --- staff PIN --------------------------------------------------------------------------


def test_a_desk_without_a_staff_pin_lets_staff_screens_open(desk):
    assert desks.check_staff_pin(desk, "") and desks.check_staff_pin(desk, "1234")


def test_a_staff_pin_is_stored_as_argon2_and_only_the_pin_opens(session, desk):
    desks.set_staff_pin(session, desk, "482916")
    assert desk.staff_pin_hash.startswith("$argon2id$") and "482916" not in desk.staff_pin_hash
    assert desks.check_staff_pin(desk, "482916")
    for wrong in ("482917", "", "48291", "482916 ", None):
        assert not desks.check_staff_pin(desk, wrong)


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", " 1234", "12-34", "", "１２３４", "١٢٣٤"])
def test_a_staff_pin_is_four_to_eight_digits(session, desk, pin):
    desks.set_staff_pin(session, desk, "1234")
    with pytest.raises(DeskError):
        desks.set_staff_pin(session, desk, pin)
    assert desks.check_staff_pin(desk, "1234") and not desks.check_staff_pin(desk, "0000")


@pytest.mark.parametrize("pin", ["1234", "12345678"])
def test_the_shortest_and_longest_staff_pins_are_accepted(session, desk, pin):
    desks.set_staff_pin(session, desk, pin)
    assert desks.check_staff_pin(desk, pin) and not desks.check_staff_pin(desk, "9" * len(pin))


def test_no_staff_pin_removes_the_requirement(session, desk):
    desks.set_staff_pin(session, desk, "1234")
    desks.set_staff_pin(session, desk, None)
    assert desk.staff_pin_hash is None and desks.check_staff_pin(desk, "")


# --- pairing a screen -------------------------------------------------------------------


def test_a_pairing_token_is_stored_only_as_a_hash_and_waits_fifteen_minutes(session, desk):
    device, token = desks.start_pairing(session, desk=desk, name="  Counter 1 ", now=T0)
    assert device.name == "Counter 1" and device.desk_id == desk.id and device.token_hash is None
    assert device.pairing_hash == hash_token(token) and token not in device.pairing_hash
    assert desks.pending_pairing(session, token, now=T0 + timedelta(minutes=14, seconds=59)).id == device.id
    assert desks.pending_pairing(session, token, now=T0 + timedelta(minutes=15)) is None


def test_a_screen_without_a_name_is_called_kiosk(session, desk, user_factory):
    admin = user_factory()
    device, _ = desks.start_pairing(session, desk=desk, name="   ", created_by=admin)
    assert device.name == "Kiosk" and device.created_by_id == admin.id


def test_a_pairing_token_is_traded_for_a_device_token_once(session, desk):
    device, token = desks.start_pairing(session, desk=desk, name="Counter", now=T0)
    session.commit()
    paired_device, device_token = desks.complete_pairing(session, token, now=T0 + timedelta(minutes=1))
    assert paired_device.id == device.id and device_token != token
    assert (paired_device.paired_at, paired_device.last_seen_at) == (T0 + timedelta(minutes=1),) * 2
    assert paired_device.pairing_hash is None and paired_device.token_hash == hash_token(device_token)
    assert desks.complete_pairing(session, token, now=T0 + timedelta(minutes=2)) is None
    assert desks.device_for_token(session, device_token).id == device.id


def test_an_expired_pairing_token_pairs_nothing(session, desk):
    device, token = desks.start_pairing(session, desk=desk, name="Counter", now=T0)
    assert desks.complete_pairing(session, token, now=T0 + timedelta(minutes=15)) is None
    assert device.paired_at is None and device.token_hash is None


def test_a_revoked_screen_cannot_be_paired(session, desk):
    device, token = desks.start_pairing(session, desk=desk, name="Counter", now=T0)
    desks.revoke_device(session, device, now=T0)
    assert desks.pending_pairing(session, token, now=T0) is None
    assert desks.complete_pairing(session, token, now=T0) is None


@pytest.mark.parametrize("token", ["", "x" * 65])
def test_an_empty_or_overlong_pairing_token_finds_no_screen(session, desk, token):
    desks.start_pairing(session, desk=desk, name="Counter")
    assert desks.pending_pairing(session, token) is None and desks.complete_pairing(session, token) is None


@pytest.mark.parametrize("token", [None, "", "x" * 65, "never-issued", "pairing"])
def test_only_a_paired_screens_device_token_finds_it(session, desk, token):
    paired(session, desk)
    _, pairing_token = desks.start_pairing(session, desk=desk, name="Waiting")
    assert desks.device_for_token(session, pairing_token if token == "pairing" else token) is None


def test_a_revoked_screen_is_signed_out(session, desk):
    device, device_token = paired(session, desk)
    desks.revoke_device(session, device, now=T0 + timedelta(days=1))
    session.commit()
    assert desks.device_for_token(session, device_token) is None
    assert device.token_hash is None and device.revoked_at == T0 + timedelta(days=1)


def test_revoking_twice_keeps_the_first_time(session, desk):
    device, _ = paired(session, desk)
    desks.revoke_device(session, device, now=T0 + timedelta(hours=1))
    desks.revoke_device(session, device, now=T0 + timedelta(hours=2))
    assert device.revoked_at == T0 + timedelta(hours=1)


# --- a screen in use --------------------------------------------------------------------


def test_a_screen_in_use_is_noted_at_most_once_a_minute(session, desk):
    device, _ = paired(session, desk)
    desks.touch(session, device, now=T0 + timedelta(seconds=60))
    assert device.last_seen_at == T0
    desks.touch(session, device, now=T0 + timedelta(seconds=61))
    assert device.last_seen_at == T0 + timedelta(seconds=61)
    session.commit()
    session.refresh(device)
    assert device.last_seen_at == T0 + timedelta(seconds=61)


def test_a_screen_never_seen_is_noted_at_once(session, desk):
    device, _ = desks.start_pairing(session, desk=desk, name="Counter", now=T0)
    desks.touch(session, device, now=T0)
    assert device.last_seen_at == T0


def test_a_screen_is_waiting_then_expired_paired_or_revoked(session, desk):
    waiting, _ = desks.start_pairing(session, desk=desk, name="Waiting", now=T0)
    assert desks.device_state(waiting, now=T0 + timedelta(minutes=14)) == "waiting"
    assert desks.device_state(waiting, now=T0 + timedelta(minutes=15)) == "expired"
    device, _ = paired(session, desk)
    assert desks.device_state(device, now=T0 + timedelta(days=365)) == "paired"
    desks.revoke_device(session, device, now=T0)
    assert desks.device_state(device, now=T0) == "revoked"
    desks.revoke_device(session, waiting, now=T0)
    assert desks.device_state(waiting, now=T0) == "revoked"


def test_a_screen_is_found_only_through_its_own_desk(session, desk):
    other_desk = new_desk(session, "Biblioteket")
    device, _ = paired(session, desk)
    assert desks.find_device(session, desk, device.public_id).id == device.id
    assert desks.find_device(session, other_desk, device.public_id) is None
    assert [d.id for d in desks.devices(session, desk)] == [device.id] and desks.devices(session, other_desk) == []


@pytest.mark.parametrize("public_id", ["", "a\x00b", "x" * 65, "../kiosk"])
def test_a_hostile_screen_id_finds_nothing(session, desk, public_id):
    paired(session, desk)
    assert desks.find_device(session, desk, public_id) is None


def test_renaming_a_screen_trims_the_name_and_ignores_a_blank_one(session, desk):
    device, _ = paired(session, desk)
    desks.rename_device(session, device, "  Entrance  ")
    assert device.name == "Entrance"
    desks.rename_device(session, device, "   ")
    assert device.name == "Entrance"
