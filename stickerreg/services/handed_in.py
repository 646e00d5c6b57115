"""Items handed in at a lost-and-found desk: hand-in, the owner's notice and list, pickup.

A handed-in item notifies its sticker's owner through the outbox; the owner collects it
with a pickup code derived from the item and the app's key, so the code is never stored.
"""

from __future__ import annotations

import hmac
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session, func, select, update

from stickerreg import codes, tokens
from stickerreg.models import (
    Desk,
    HandedInItem,
    HandedInItemCreate,
    HandedInPhoto,
    HandedInStatus,
    KioskDevice,
    OutboxKind,
    Sticker,
    StickerStatus,
    User,
    utcnow,
)
from stickerreg.services import outbox, ownership, stickers

PICKUP_DIGITS = 8
REFERENCE_LENGTH = 8
# Stickers whose owner hears about a hand-in: a deactivated sticker was reported lost by
# its owner, who will want to know most of all.
_NOTIFIABLE = (StickerStatus.ACTIVE.value, StickerStatus.DEACTIVATED.value)
PHOTO_MAX_SIDE = 1280
PHOTO_MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
# The most pixels decoded at full size: formats whose decoder can't scale down while decoding
# (PNG, WebP, GIF, TIFF...) are refused above it. Cameras write JPEG, which can; the rest are
# screenshots and edited pictures. 16 MP still takes a 5K screenshot (14.7 MP) or a 12 MP phone
# picture as PNG or WebP, and costs up to about 0.45 s of CPU and 48 MB of pixels, against up
# to 1 s and 120 MB at 40 MP (bench/bench_photo.py measures the JPEG side: about 0.2 s).
PHOTO_MAX_DECODED_PIXELS = 16_000_000


class PhotoError(ValueError):
    """The upload is not an image we can read."""


# --- at the desk ---


def hand_in(session: Session, *, device: KioskDevice, sticker_code: str | None, details: HandedInItemCreate,
            photo: bytes | None = None, key: bytes) -> HandedInItem:
    """Register an item at the device's desk and tell the sticker's owner, if there is one.

    Unknown, unclaimed and void sticker IDs are recorded the same way (the desk is never
    told which), so the item can be matched later.
    """
    sticker = stickers.find_by_code(session, sticker_code) if sticker_code else None
    fields = details.model_dump(mode="json")
    fields["finder_shares_contact"] = bool(
        details.finder_shares_contact and (details.finder_name or details.finder_contact))
    item = HandedInItem(
        public_id=_unique_public_id(session, device.desk_id, key),
        reference=_unique_reference(session),
        desk_id=device.desk_id, sticker_id=sticker.id if sticker else None,
        handed_in_device_id=device.id, **fields,
    )
    session.add(item)
    session.flush()
    if photo is not None:
        session.add(HandedInPhoto(item_id=item.id, data=photo))
    if sticker is not None and sticker.owner_id and sticker.status in _NOTIFIABLE:
        notify_owner(session, item)
    return item


def notify_owner(session: Session, item: HandedInItem) -> None:
    outbox.enqueue(session, kind=OutboxKind.HANDED_IN, payload={"item_id": item.id})


def announce_waiting(session: Session, sticker: Sticker) -> int:
    """A sticker just claimed may already have items waiting at a desk: tell its new owner."""
    waiting = session.exec(
        select(HandedInItem).where(HandedInItem.sticker_id == sticker.id,
                                   HandedInItem.status == HandedInStatus.WAITING)
    ).all()
    for item in waiting:
        notify_owner(session, item)
    return len(waiting)


def _unique_reference(session: Session) -> str:
    while True:
        reference = codes.random_symbols(REFERENCE_LENGTH)
        if session.exec(select(HandedInItem.id).where(HandedInItem.reference == reference)).first() is None:
            return reference


def _unique_public_id(session: Session, desk_id: int, key: bytes) -> str:
    # The desk finds an item by its pickup code alone, so codes of waiting items at one desk
    # must differ; a clash (about 1 in a million per pair) just draws another id.
    taken = {pickup_code(item.public_id, key=key) for item in _waiting_at(session, desk_id)}
    while True:
        public_id = tokens.new_public_id()
        if pickup_code(public_id, key=key) not in taken:
            return public_id


def display_reference(reference: str) -> str:
    """The receipt reference as printed: 9ZYJ-D1JF."""
    return codes.group(reference)


def normalize_reference(raw: str) -> str:
    return codes.symbols(raw)[:REFERENCE_LENGTH + 4]


def item_at(session: Session, desk: Desk, public_id: str) -> HandedInItem | None:
    """An item of this desk (another desk's item looks missing)."""
    return ownership.by_public_id(session, HandedInItem, public_id, HandedInItem.desk_id == desk.id)


def _waiting_at(session: Session, desk_id: int) -> list[HandedInItem]:
    return list(session.exec(
        select(HandedInItem)
        .where(HandedInItem.desk_id == desk_id, HandedInItem.status == HandedInStatus.WAITING)
        .order_by(HandedInItem.created_at, HandedInItem.id)
    ))


def waiting_at(session: Session, desk: Desk) -> list[HandedInItem]:
    """Items waiting at this desk, oldest first."""
    return _waiting_at(session, desk.id)


def search_waiting(session: Session, desk: Desk, query: str) -> list[HandedInItem]:
    """Waiting items whose reference (typed however) or description matches `query`."""
    waiting = _waiting_at(session, desk.id)
    words = query.casefold().split()
    if not words:
        return waiting
    reference = normalize_reference(query)
    return [item for item in waiting
            if (len(reference) >= 4 and reference in item.reference)
            or all(word in item.description.casefold() for word in words)]


def is_overdue(item: HandedInItem, desk: Desk, *, now: datetime | None = None) -> bool:
    """Not collected within the desk's holding time."""
    return item.status == HandedInStatus.WAITING and (now or utcnow()) - item.created_at > timedelta(days=desk.hold_days)


def collect_by(item: HandedInItem, desk: Desk) -> datetime:
    return item.created_at + timedelta(days=desk.hold_days)


# --- pickup ---


def pickup_code(public_id: str, *, key: bytes) -> str:
    """An item's pickup code: 8 digits derived from its public id, never stored."""
    digest = hmac.new(key, f"pickup\x00{public_id}".encode(), "sha256").digest()
    return str(int.from_bytes(digest[:8], "big") % 10**PICKUP_DIGITS).zfill(PICKUP_DIGITS)


def display_pickup_code(code: str) -> str:
    """1234 5678: two groups a desk worker reads back easily."""
    return codes.group(code, separator=" ")


def collect(session: Session, *, device: KioskDevice, code: str, staff: str, key: bytes,
            now: datetime | None = None) -> HandedInItem | None:
    """Close the waiting item at this desk whose pickup code is `code`; None if none is."""
    typed = "".join(char for char in code if char.isdigit())
    if len(typed) != PICKUP_DIGITS:
        return None
    for item in _waiting_at(session, device.desk_id):
        if hmac.compare_digest(pickup_code(item.public_id, key=key), typed):
            return _close(session, item, device=device, staff=staff, now=now or utcnow())
    return None


def _close(session: Session, item: HandedInItem, *, device: KioskDevice, staff: str,
           now: datetime) -> HandedInItem | None:
    # Conditional: two desk screens confirming the same code close the item once. The
    # finder's details were kept only until collection (as the receipt says): gone now.
    closed = session.exec(
        update(HandedInItem)
        .where(HandedInItem.id == item.id, HandedInItem.status == HandedInStatus.WAITING)
        .values(status=HandedInStatus.COLLECTED.value, collected_at=now, collected_device_id=device.id,
                collected_by=staff.strip(), finder_name=None, finder_contact=None, finder_shares_contact=False)
    )
    if closed.rowcount != 1:
        return None
    session.refresh(item)
    return item


# --- the owner's side ---


@dataclass(frozen=True)
class OwnerItem:
    """One line of the owner's list: the item, its desk and the sticker's name."""

    item: HandedInItem
    desk: Desk
    label: str


def items_for_owner(session: Session, owner: User, *, unseen_only: bool = False) -> list[OwnerItem]:
    """Items handed in with the owner's stickers, newest first, in one query (only the waiting
    ones the owner has not opened yet with `unseen_only`)."""
    statement = (
        select(HandedInItem, Desk, Sticker.label)
        .join(Sticker, HandedInItem.sticker_id == Sticker.id)
        .join(Desk, HandedInItem.desk_id == Desk.id)
        .where(Sticker.owner_id == owner.id)
        .order_by(HandedInItem.created_at.desc(), HandedInItem.id.desc())
    )
    if unseen_only:
        statement = statement.where(*_UNSEEN)
    return [OwnerItem(item, desk, label) for item, desk, label in session.exec(statement)]


# A waiting item the owner has not opened yet: the navigation counts these, the dashboard lists them.
_UNSEEN = (HandedInItem.status == HandedInStatus.WAITING, HandedInItem.owner_seen_at.is_(None))


def unseen_count(session: Session, owner: User) -> int:
    """Waiting items the owner has not opened yet."""
    return session.exec(
        select(func.count(HandedInItem.id))
        .join(Sticker, HandedInItem.sticker_id == Sticker.id)
        .where(Sticker.owner_id == owner.id, *_UNSEEN)
    ).one()


def mark_seen(session: Session, item: HandedInItem) -> None:
    if item.owner_seen_at is None:
        item.owner_seen_at = utcnow()
        session.add(item)


def photo_of(session: Session, item: HandedInItem) -> HandedInPhoto | None:
    return session.get(HandedInPhoto, item.id)


def prepare_photo(data: bytes) -> bytes:
    """Re-encode an uploaded photo as a JPEG of at most 1280 px, upright, with no metadata
    (phones put GPS positions in EXIF)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise PhotoError("image too large")
            _decode_small(image)
            if image.width * image.height > PHOTO_MAX_DECODED_PIXELS:
                raise PhotoError("image too large to decode")
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            image.info.clear()  # Pillow would carry a JPEG comment (or any text chunk) over
            out = io.BytesIO()
            image.save(out, "JPEG", quality=82, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoError(str(error)) from error


def _decode_small(image: Image.Image) -> None:
    """Before anything decodes `image`, let a JPEG decoder scale it down by 1/2 to 1/8 while
    decoding: a 40 MP photo then fills 2.5 MP instead of 40 and costs a third of the CPU (the
    decoder still reads every coefficient). Other formats ignore this.

    The target is the size the photo ends up at, not a 1280 px square: against a square the
    short side decides, so a panorama would still be decoded at full size. The decoder never
    goes below the target, so the photo still comes out at a full 1280 px.
    """
    width, height = image.size
    longest = max(width, height)
    if longest > PHOTO_MAX_SIDE:
        image.draft("RGB", (max(1, width * PHOTO_MAX_SIDE // longest), max(1, height * PHOTO_MAX_SIDE // longest)))
