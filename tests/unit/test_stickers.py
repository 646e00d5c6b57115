"""Sticker sets and the owner's changes: claiming, the edit allowlist, deactivation, scan alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from stickerreg import codes
from stickerreg.models import (
    Conversation,
    ConversationStatus,
    OutboxKind,
    OutboxMessage,
    Sticker,
    StickerPublic,
    StickerSet,
    StickerStatus,
    StickerUpdate,
    utcnow,
)
from stickerreg.services import claims, finder, stickers
from stickerreg.services.claims import ClaimError
from stickerreg.services.relay import FinderDetails
from stickerreg.services.stickers import StickerInactive


def messy(code: str) -> str:
    """A code as people type it: lower case, spaces and a stray dash."""
    return " " + "-".join(code[i : i + 3] for i in range(0, len(code), 3)).lower().replace("-", " - ", 1) + " "


def outbox_rows(session, kind=None) -> list[OutboxMessage]:
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [row for row in rows if kind is None or row.kind == kind]


@pytest.fixture
def minted(session):
    minted = stickers.mint_set(session, size=3)
    session.commit()
    return minted


# --- claiming -------------------------------------------------------------------


def test_claiming_activates_every_sticker_of_the_set_and_forgives_typing(session, user_factory, minted):
    owner = user_factory()
    claimed = claims.claim_set(session, owner=owner, sticker_code=messy(minted.stickers[1].code),
                                 activation_code=messy(stickers.display_activation(minted.activation_code)))
    session.commit()
    assert [s.code for s in claimed] == [s.code for s in minted.stickers]
    for sticker in claimed:
        session.refresh(sticker)
        assert sticker.status == StickerStatus.ACTIVE and sticker.owner_id == owner.id
        assert sticker.activated_at is not None
    sticker_set = session.get(StickerSet, minted.sticker_set.id)
    assert sticker_set.owner_id == owner.id and sticker_set.claimed_at is not None


def test_only_the_hash_of_the_activation_code_is_stored(session, minted):
    stored = session.get(StickerSet, minted.sticker_set.id).activation_hash
    assert minted.activation_code not in stored and len(stored) == 64


def voided_sticker_id(session, minted) -> str:
    minted.stickers[0].status = StickerStatus.VOIDED.value
    session.add(minted.stickers[0])
    session.commit()
    return minted.stickers[0].code


@pytest.mark.parametrize(
    "case",
    ["wrong_code", "code_of_another_set", "unknown_sticker", "not_an_id", "sticker_without_set",
     "already_claimed", "voided_sticker_id", "every_sticker_voided"],
)
def test_every_mismatch_raises_the_same_claim_error(session, user_factory, minted, case):
    owner = user_factory()
    sticker_code, activation = minted.stickers[0].code, minted.activation_code
    if case == "wrong_code":
        activation = stickers.new_activation_code()
    elif case == "code_of_another_set":
        activation = stickers.mint_set(session, size=1).activation_code
    elif case == "unknown_sticker":
        sticker_code = codes.generate()
    elif case == "not_an_id":
        sticker_code = "hello"
    elif case == "sticker_without_set":
        [loose] = stickers.mint(session, count=1)
        sticker_code = loose.code
    elif case == "already_claimed":
        claims.claim_set(session, owner=user_factory(), sticker_code=sticker_code, activation_code=activation)
    elif case == "voided_sticker_id":
        sticker_code = voided_sticker_id(session, minted)
    elif case == "every_sticker_voided":
        for sticker in minted.stickers:
            sticker.status = StickerStatus.VOIDED.value
            session.add(sticker)
        sticker_code = minted.stickers[1].code
    session.commit()
    with pytest.raises(ClaimError) as raised:
        claims.claim_set(session, owner=owner, sticker_code=sticker_code, activation_code=activation)
    assert type(raised.value) is ClaimError and str(raised.value) == ""
    session.rollback()
    assert session.exec(select(Sticker).where(Sticker.owner_id == owner.id)).all() == []


def test_voided_stickers_stay_void_when_their_set_is_claimed(session, user_factory, minted):
    voided = voided_sticker_id(session, minted)
    owner = user_factory()
    claimed = claims.claim_set(session, owner=owner, sticker_code=minted.stickers[2].code,
                                 activation_code=minted.activation_code)
    session.commit()
    assert voided not in [s.code for s in claimed] and len(claimed) == 2
    sticker = stickers.find_by_code(session, voided)
    session.refresh(sticker)
    assert sticker.status == StickerStatus.VOIDED and sticker.owner_id is None
    with pytest.raises(ClaimError):  # not even by claiming the set again
        claims.claim_set(session, owner=owner, sticker_code=minted.stickers[2].code,
                           activation_code=minted.activation_code)


def test_of_two_customers_claiming_at_once_exactly_one_gets_the_set(app, session, user_factory, minted):
    first, second = user_factory(), user_factory()
    with Session(app.extensions["db_engine"], expire_on_commit=False) as other:
        # The second request read the set and its stickers before the first one committed.
        stale = other.get(StickerSet, minted.sticker_set.id)
        stickers.stickers_in(other, stale)
        claims.claim_set(session, owner=first, sticker_code=minted.stickers[0].code,
                           activation_code=minted.activation_code)
        session.commit()
        with pytest.raises(ClaimError):
            claims.claim_set(other, owner=second, sticker_code=minted.stickers[0].code,
                               activation_code=minted.activation_code)
        other.rollback()
    session.expire_all()
    assert session.get(StickerSet, minted.sticker_set.id).owner_id == first.id


def test_claiming_delivers_what_finders_wrote_while_unclaimed(session, user_factory, minted):
    finder.report_found(session, code=minted.stickers[0].code, message="Hittad!", details=FinderDetails())
    session.commit()
    assert outbox_rows(session) == []  # held: nobody to tell yet
    claims.claim_set(session, owner=user_factory(), sticker_code=minted.stickers[0].code,
                       activation_code=minted.activation_code)
    session.commit()
    [row] = outbox_rows(session)
    assert row.kind == OutboxKind.FINDER_MESSAGE
    conversation = session.exec(select(Conversation)).one()
    assert conversation.status == ConversationStatus.OPEN


# --- the owner's changes ----------------------------------------------------------


def test_an_update_changes_only_the_fields_it_sets(session, sticker_factory):
    sticker = sticker_factory(label="Nycklar", reward_text="100 kr")
    stickers.update_sticker(session, sticker, StickerUpdate(category="pet"))
    session.commit()
    session.refresh(sticker)
    assert (sticker.label, sticker.category, sticker.reward_text) == ("Nycklar", "pet", "100 kr")
    stickers.update_sticker(session, sticker, StickerUpdate(label="Katten Måns", lost_mode=True, public_note="Ring!"))
    session.commit()
    session.refresh(sticker)
    assert (sticker.label, sticker.lost_mode, sticker.public_note, sticker.scan_alerts) == (
        "Katten Måns", True, "Ring!", True)
    assert isinstance(sticker.category, str) and sticker.category == "pet"


@pytest.mark.parametrize(
    "field, value",
    [("owner_id", 2), ("status", "active"), ("code", "0123456789AM"), ("set_id", 1), ("id", 5),
     ("last_scan_alert_at", None), ("activated_at", None)],
)
def test_the_allowlist_refuses_every_other_field(field, value):
    with pytest.raises(ValidationError):
        StickerUpdate(**{field: value})
    with pytest.raises(ValidationError):
        StickerUpdate.model_validate({"label": "ok", field: value})


@pytest.mark.parametrize(
    "changes",
    [{"label": "x" * 81}, {"reward_text": "x" * 201}, {"public_note": "x" * 501}, {"category": "car"}],
)
def test_the_allowlist_checks_lengths_and_categories(changes):
    with pytest.raises(ValidationError):
        StickerUpdate(**changes)


def test_a_deactivated_sticker_cannot_be_changed_or_deactivated_again(session, sticker_factory):
    sticker = sticker_factory(lost_mode=True)
    stickers.deactivate(session, sticker)
    session.commit()
    session.refresh(sticker)
    assert sticker.status == StickerStatus.DEACTIVATED and sticker.lost_mode is False
    with pytest.raises(StickerInactive):
        stickers.update_sticker(session, sticker, StickerUpdate(lost_mode=True))
    with pytest.raises(StickerInactive):
        stickers.deactivate(session, sticker)
    assert finder.public_view(session, sticker.code) == StickerPublic()


# --- scan alerts -----------------------------------------------------------------


def test_a_scan_alert_is_queued_at_most_once_an_hour(session, sticker_factory):
    sticker = sticker_factory(lost_mode=True)
    start = utcnow()
    results = [
        stickers.record_scan(session, sticker, now=start + timedelta(minutes=minutes))
        for minutes in (0, 1, 59, 60, 61, 119)
    ]
    session.commit()
    assert results == [True, False, False, True, False, False]
    rows = outbox_rows(session, OutboxKind.SCAN_ALERT)
    assert [row.payload["sticker_id"] for row in rows] == [sticker.id, sticker.id]
    session.refresh(sticker)
    assert sticker.last_scan_alert_at == start + timedelta(minutes=60)


@pytest.mark.parametrize("state", ["lost_mode_off", "alerts_off", "deactivated", "unclaimed", "voided"])
def test_no_scan_alert_unless_lost_mode_with_alerts_on(session, sticker_factory, state):
    sticker = {
        "lost_mode_off": lambda: sticker_factory(),
        "alerts_off": lambda: sticker_factory(lost_mode=True),
        "deactivated": lambda: sticker_factory(lost_mode=True, status=StickerStatus.DEACTIVATED),
        "unclaimed": lambda: sticker_factory(activated=False, lost_mode=True),
        "voided": lambda: sticker_factory(activated=False, lost_mode=True, status=StickerStatus.VOIDED),
    }[state]()
    if state == "alerts_off":
        sticker.scan_alerts = False
    assert stickers.record_scan(session, sticker, now=utcnow()) is False
    session.commit()
    session.refresh(sticker)
    assert sticker.last_scan_alert_at is None and outbox_rows(session) == []


def test_two_scans_at_the_same_moment_queue_one_alert(app, session, sticker_factory):
    sticker = sticker_factory(lost_mode=True)
    now = utcnow()
    with Session(app.extensions["db_engine"], expire_on_commit=False) as other:
        stale = other.get(Sticker, sticker.id)  # both requests loaded the sticker before either wrote
        assert stickers.record_scan(session, sticker, now=now) is True
        session.commit()
        assert stickers.record_scan(other, stale, now=now) is False
        other.commit()
    assert len(outbox_rows(session, OutboxKind.SCAN_ALERT)) == 1
