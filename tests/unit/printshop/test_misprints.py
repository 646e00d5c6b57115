"""Misprints: voiding stickers and sets, and the reprint batch minted for them."""

from __future__ import annotations

import pytest
from batch_helpers import sets_of, stickers_of
from sqlmodel import select

from stickerreg import codes
from stickerreg.models import (
    Batch,
    BatchStatus,
    Sticker,
    StickerStatus,
)
from stickerreg.services import claims, stickers
from stickerreg.services.claims import ClaimError
from stickerreg.services.printshop import (
    VoidRefused,
    batches,
    misprints,
)

# --- misprints and reprints ---------------------------------------------------------------


def test_voiding_single_stickers_makes_a_reprint_of_just_those(session, make_batch, staff):
    batch = make_batch(count=9, set_size=3)
    first, second, third = (stickers.stickers_in(session, s) for s in sets_of(session, batch))
    misprinted = [first[0], first[2], third[1]]
    reprint = misprints.void(session, batch, sticker_codes=[codes.display(s.code).lower() for s in misprinted],
                             actor=staff)
    session.commit()
    session.expire_all()
    assert [session.get(Sticker, s.id).status for s in first + second + third] == [
        "voided", "unclaimed", "voided", "unclaimed", "unclaimed", "unclaimed", "unclaimed", "voided", "unclaimed"]
    assert reprint.reprint_of_id == batch.id and reprint.status == BatchStatus.MINTED
    assert (reprint.count, reprint.layout, reprint.product) == (3, batch.layout, batch.product)
    new_sets = sets_of(session, reprint)
    assert [len(stickers.stickers_in(session, s)) for s in new_sets] == [2, 1]  # one new set per set touched
    new_codes = {s.code for s in stickers_of(session, reprint)}
    assert not new_codes & {s.code for s in stickers_of(session, batch)}
    old_plains = {s.activation_plain for s in sets_of(session, batch)}
    assert all(s.activation_plain and s.activation_plain not in old_plains for s in new_sets)
    assert "reprint " + reprint.public_id in batches.events(session, batch)[-1][0].note
    assert batches.events(session, reprint)[0][0].note == f"reprint of {batch.public_id}"


def test_voiding_whole_sets_reprints_sets_of_the_same_size(session, make_batch):
    batch = make_batch(count=8, set_size=3)
    reprint = misprints.void(session, batch, set_numbers=[1, 3])
    session.commit()
    assert [len(stickers.stickers_in(session, s)) for s in sets_of(session, reprint)] == [3, 2]
    first, _, third = sets_of(session, batch)
    assert {s.status for s in stickers.stickers_in(session, first) + stickers.stickers_in(session, third)} == {"voided"}
    session.refresh(first)
    assert first.activation_plain is None  # nothing left in it to claim: no code to print


def test_a_voided_sticker_is_never_claimable(session, make_batch, user_factory):
    batch = make_batch(count=3, set_size=3)
    [sticker_set] = sets_of(session, batch)
    good, bad, other = stickers.stickers_in(session, sticker_set)
    activation = sticker_set.activation_plain
    misprints.void(session, batch, sticker_codes=[bad.code])
    session.commit()
    owner = user_factory()
    with pytest.raises(ClaimError):
        claims.claim_set(session, owner=owner, sticker_code=bad.code, activation_code=activation)
    claimed = claims.claim_set(session, owner=owner, sticker_code=good.code, activation_code=activation)
    assert {s.code for s in claimed} == {good.code, other.code}
    session.refresh(bad)
    assert bad.status == StickerStatus.VOIDED and bad.owner_id is None


def test_a_wholly_voided_set_cannot_be_claimed_at_all(session, make_batch, user_factory):
    batch = make_batch(count=2, set_size=2)
    [sticker_set] = sets_of(session, batch)
    activation, members = sticker_set.activation_plain, stickers.stickers_in(session, sticker_set)
    misprints.void(session, batch, set_numbers=[1])
    session.commit()
    for sticker in members:
        with pytest.raises(ClaimError):
            claims.claim_set(session, owner=user_factory(), sticker_code=sticker.code, activation_code=activation)


def test_void_refuses_what_it_cannot_void(session, make_batch, user_factory):
    batch = make_batch(count=4, set_size=2)
    elsewhere = make_batch(count=1, set_size=1)
    [claimed_set, _] = sets_of(session, batch)
    claimed = stickers.stickers_in(session, claimed_set)[0]
    claims.claim_set(session, owner=user_factory(), sticker_code=claimed.code,
                       activation_code=claimed_set.activation_plain)
    session.commit()
    cases = [
        (dict(), "nothing_named"),
        (dict(sticker_codes=["not-a-code"]), "unknown_codes"),
        (dict(sticker_codes=[stickers_of(session, elsewhere)[0].code]), "unknown_codes"),
        (dict(set_numbers=[3]), "set_number"),
        (dict(set_numbers=[0]), "set_number"),
        (dict(sticker_codes=[claimed.code]), "taken"),
    ]
    for arguments, reason in cases:
        with pytest.raises(VoidRefused) as refused:
            misprints.void(session, batch, **arguments)
        assert refused.value.details["reason"] == reason, arguments
    shipped = make_batch(count=1, set_size=1)
    for status in (BatchStatus.EXPORTED, BatchStatus.PRINTED, BatchStatus.SHIPPED):
        batches.mark(session, shipped, status)
    with pytest.raises(VoidRefused):
        misprints.void(session, shipped, set_numbers=[1])
    assert session.exec(select(Batch).where(Batch.reprint_of_id.is_not(None))).first() is None
