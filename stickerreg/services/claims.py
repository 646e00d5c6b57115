"""Claiming a set: the customer's stickers start working, and whatever waited for them is
delivered (finder messages held while the stickers were unclaimed, items already handed
in at a desk). It orchestrates the concept services, so they stay leaves."""

from __future__ import annotations

from sqlmodel import Session

from stickerreg.models import Sticker, StickerStatus, User
from stickerreg.services import handed_in, relay, stickers


class ClaimError(ValueError):
    """The sticker ID and activation code don't open an unclaimed set (one answer for all)."""


def claim_set(session: Session, *, owner: User, sticker_code: str, activation_code: str) -> list[Sticker]:
    """Give the owner the set holding `sticker_code`; activates its stickers and delivers
    what waited for them. Any mismatch raises the same ClaimError."""
    sticker_set = stickers.set_opened_by(session, sticker_code=sticker_code, activation_code=activation_code)
    if sticker_set is None:
        raise ClaimError()
    claimed = [s for s in stickers.stickers_in(session, sticker_set) if s.status == StickerStatus.UNCLAIMED]
    if not claimed or not stickers.take_set(session, sticker_set, owner):
        raise ClaimError()
    for sticker in claimed:
        stickers.activate_for(session, sticker, owner)
        relay.release_held(session, sticker)
        handed_in.announce_waiting(session, sticker)
    return claimed
