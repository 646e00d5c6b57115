"""The finder's side: what a sticker page may show, and reporting a found item.

Unknown, unclaimed and deactivated codes take exactly the same path as active ones, so
nothing a finder sees (status, text, timing) tells whether a code is registered.
"""

from __future__ import annotations

from sqlmodel import Session

from stickerreg.models import Conversation, Message, Sticker, StickerPublic
from stickerreg.services import relay, stickers
from stickerreg.services.relay import FinderDetails

# ~110 m north-south, ~55 m east-west in Sweden: enough to search, too coarse to pinpoint.
LOCATION_DECIMALS = 3


def public_view(session: Session, code: str) -> StickerPublic:
    """What the owner chose to show finders; the same empty view unless the sticker is
    active and in lost mode."""
    return public_view_of(stickers.find_by_code(session, code))


def public_view_of(sticker: Sticker | None) -> StickerPublic:
    """`public_view` for a sticker the caller has looked up already (None for an unknown code)."""
    if not (stickers.is_active(sticker) and sticker.lost_mode):
        return StickerPublic()
    return StickerPublic(reward_text=sticker.reward_text or None, public_note=sticker.public_note or None)


def round_location(latitude: float | None, longitude: float | None) -> tuple[float | None, float | None]:
    """Coarsen a location to about 100 m; both parts or neither."""
    if latitude is None or longitude is None:
        return None, None
    return round(latitude, LOCATION_DECIMALS), round(longitude, LOCATION_DECIMALS)


def report_found(
    session: Session, *, code: str, message: str, details: FinderDetails
) -> tuple[Conversation, str]:
    """Store the finder's message for the sticker's owner; returns the conversation and the
    finder's private token. Unknown codes are stored too, and the finder is told nothing."""
    latitude, longitude = round_location(details.latitude, details.longitude)
    details = FinderDetails(
        email=details.email or None,
        found_where=details.found_where or None,
        latitude=latitude,
        longitude=longitude,
        locale=details.locale,
    )
    sticker = stickers.find_by_code(session, code)
    return relay.open_conversation(session, sticker=sticker, body=message, details=details)


def reply_as_finder(session: Session, conversation: Conversation, message: str) -> Message:
    """The finder writes again on their private link."""
    return relay.add_finder_message(session, conversation, message)
