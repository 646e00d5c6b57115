"""Lost-and-found desks: locations, paired kiosk devices, and the cases of items handed in.

A device is paired with a one-time token (15 minutes) that an admin hands to the desk; the
kiosk's browser trades it for a long-lived device token kept in a cookie. Both are stored
only as hashes. A case notifies the sticker's owner through the outbox; the owner collects
the item with a pickup code derived from the case and the app's key, so it is never stored.
"""

from __future__ import annotations

import hmac
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlmodel import Session, func, select, update

from stickerreg import codes, tokens
from stickerreg.models import (
    FoundCase,
    FoundCasePhoto,
    FoundCaseStatus,
    KioskDevice,
    KioskLocation,
    Sticker,
    StickerStatus,
    User,
    utcnow,
)
from stickerreg.services import accounts, outbox, stickers

PAIRING_LIFETIME = timedelta(minutes=15)
PICKUP_DIGITS = 8
REFERENCE_LENGTH = 8
# Outbox kind: "your item was handed in at a desk" (composed by stickerreg.emails).
MAIL_FOUND_CASE = "found_case"
# Stickers whose owner hears about a hand-in: a deactivated sticker was reported lost by
# its owner, who will want to know most of all.
_NOTIFIABLE = (StickerStatus.ACTIVE.value, StickerStatus.DEACTIVATED.value)
STAFF_PIN = re.compile(r"\d{4,8}")
PHOTO_MAX_SIDE = 1280
PHOTO_MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding


class KioskError(ValueError):
    """A request the desk cannot carry out; the message is safe to show."""


class PhotoError(KioskError):
    """The upload is not an image we can read."""


@dataclass(frozen=True)
class HandIn:
    """What the desk records about an item; finder details only with the finder's consent."""

    category: str
    description: str
    storage_place: str
    finder_name: str | None = None
    finder_contact: str | None = None
    finder_shares_contact: bool = False


# --- locations and devices ---


def create_location(session: Session, *, name: str, address: str, opening_hours: str, hold_days: int = 30) -> KioskLocation:
    """A new desk; names are unique so the CLI can find a desk by name."""
    if find_location(session, name) is not None:
        raise KioskError(f"a desk named {name!r} exists already")
    location = KioskLocation(public_id=tokens.new_public_id(), name=name.strip(), address=address.strip(),
                             opening_hours=opening_hours.strip(), hold_days=hold_days)
    session.add(location)
    session.flush()
    return location


def update_location(session: Session, location: KioskLocation, *, name: str, address: str, opening_hours: str,
                    hold_days: int) -> KioskLocation:
    """Change a desk's details; its name must stay unique."""
    other = find_location(session, name)
    if other is not None and other.id != location.id:
        raise KioskError(f"a desk named {name!r} exists already")
    location.name, location.address = name.strip(), address.strip()
    location.opening_hours, location.hold_days = opening_hours.strip(), hold_days
    session.add(location)
    return location


def find_location(session: Session, name_or_id: str) -> KioskLocation | None:
    """A desk by its exact name (case-insensitive) or its public id."""
    key = name_or_id.strip()
    if not key or "\x00" in key:
        return None
    return session.exec(
        select(KioskLocation).where(
            (func.lower(KioskLocation.name) == key.lower()) | (KioskLocation.public_id == key)
        )
    ).first()


def location_by_public_id(session: Session, public_id: str) -> KioskLocation | None:
    if not tokens.is_public_id(public_id):
        return None
    return session.exec(select(KioskLocation).where(KioskLocation.public_id == public_id)).first()


def locations(session: Session) -> list[KioskLocation]:
    return list(session.exec(select(KioskLocation).order_by(KioskLocation.name)))


def start_pairing(session: Session, *, location: KioskLocation, name: str, created_by: User | None = None,
                  now: datetime | None = None) -> tuple[KioskDevice, str]:
    """A device waiting to be paired, and the one-time token for its pairing URL."""
    token = tokens.new_token()
    device = KioskDevice(
        public_id=tokens.new_public_id(), location_id=location.id, name=name.strip() or "Kiosk",
        pairing_hash=tokens.hash_token(token),
        pairing_expires_at=(now or utcnow()) + PAIRING_LIFETIME,
        created_by_id=created_by.id if created_by else None,
    )
    session.add(device)
    session.flush()
    return device, token


def pending_pairing(session: Session, token: str, *, now: datetime | None = None) -> KioskDevice | None:
    """The device a pairing token belongs to, while the token is unused and fresh."""
    if not token or len(token) > 64:
        return None
    device = session.exec(select(KioskDevice).where(KioskDevice.pairing_hash == tokens.hash_token(token))).first()
    if device is None or device.revoked_at or device.pairing_expires_at <= (now or utcnow()):
        return None
    return device


def complete_pairing(session: Session, token: str, *, now: datetime | None = None) -> tuple[KioskDevice, str] | None:
    """Trade a pairing token for a device token, once: of two browsers racing, one wins."""
    now = now or utcnow()
    device = pending_pairing(session, token, now=now)
    if device is None:
        return None
    device_token = tokens.new_token()
    taken = session.exec(
        update(KioskDevice)
        .where(KioskDevice.id == device.id, KioskDevice.pairing_hash == tokens.hash_token(token))
        .values(pairing_hash=None, pairing_expires_at=None, token_hash=tokens.hash_token(device_token),
                paired_at=now, last_seen_at=now)
    )
    if taken.rowcount != 1:
        return None
    session.refresh(device)
    return device, device_token


def device_for_token(session: Session, token: str | None) -> KioskDevice | None:
    """The paired, unrevoked device whose cookie carries `token`."""
    if not token or len(token) > 64:
        return None
    device = session.exec(select(KioskDevice).where(KioskDevice.token_hash == tokens.hash_token(token))).first()
    return device if device is not None and device.revoked_at is None else None


def touch(session: Session, device: KioskDevice, *, now: datetime | None = None) -> None:
    """Note that the device is in use; written at most once a minute."""
    now = now or utcnow()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        device.last_seen_at = now
        session.add(device)


def device_state(device: KioskDevice, *, now: datetime | None = None) -> str:
    """revoked, paired, waiting (for its pairing link) or expired (link unused)."""
    if device.revoked_at:
        return "revoked"
    if device.paired_at:
        return "paired"
    return "waiting" if device.pairing_expires_at and device.pairing_expires_at > (now or utcnow()) else "expired"


def devices(session: Session, location: KioskLocation) -> list[KioskDevice]:
    return list(session.exec(
        select(KioskDevice).where(KioskDevice.location_id == location.id).order_by(KioskDevice.created_at)
    ))


def find_device(session: Session, location: KioskLocation, public_id: str) -> KioskDevice | None:
    if not tokens.is_public_id(public_id):
        return None
    return session.exec(
        select(KioskDevice).where(KioskDevice.location_id == location.id, KioskDevice.public_id == public_id)
    ).first()


def rename_device(session: Session, device: KioskDevice, name: str) -> None:
    device.name = name.strip() or device.name
    session.add(device)


def revoke_device(session: Session, device: KioskDevice, *, now: datetime | None = None) -> None:
    """The device is logged out on its next request; an unused pairing link dies too."""
    device.revoked_at = device.revoked_at or now or utcnow()
    device.token_hash = None
    device.pairing_hash = None
    session.add(device)


def set_staff_pin(session: Session, location: KioskLocation, pin: str | None) -> None:
    """Require `pin` on the desk's staff screens; None removes the requirement."""
    if pin is not None and not STAFF_PIN.fullmatch(pin):
        raise KioskError("a staff PIN is 4 to 8 digits")
    location.staff_pin_hash = accounts.hash_password(pin) if pin else None
    session.add(location)


def check_staff_pin(location: KioskLocation, pin: str) -> bool:
    """True if the desk has no PIN or `pin` is its PIN."""
    if not location.staff_pin_hash:
        return True
    return bool(STAFF_PIN.fullmatch(pin or "")) and accounts.verify_password(location.staff_pin_hash, pin)


# --- cases ---


def pickup_code(public_id: str, *, key: bytes) -> str:
    """A case's pickup code: 8 digits derived from its public id, never stored."""
    digest = hmac.new(key, f"pickup\x00{public_id}".encode(), "sha256").digest()
    return str(int.from_bytes(digest[:8], "big") % 10**PICKUP_DIGITS).zfill(PICKUP_DIGITS)


def display_pickup_code(code: str) -> str:
    return f"{code[:4]} {code[4:]}"


def display_reference(reference: str) -> str:
    return f"{reference[:4]}-{reference[4:]}"


def normalize_reference(raw: str) -> str:
    return codes.symbols(raw)[:REFERENCE_LENGTH + 4]


def hand_in(session: Session, *, device: KioskDevice, sticker_code: str | None, details: HandIn,
            photo: bytes | None = None, key: bytes) -> FoundCase:
    """Register an item at the device's desk and tell the sticker's owner, if there is one.

    Unknown, unclaimed and void sticker IDs are recorded the same way (the desk is never
    told which), so the case can be matched later.
    """
    sticker = stickers.find_by_code(session, sticker_code) if sticker_code else None
    case = FoundCase(
        public_id=_unique_public_id(session, device.location_id, key),
        reference=_unique_reference(session),
        location_id=device.location_id, sticker_id=sticker.id if sticker else None,
        handed_in_device_id=device.id, category=details.category, description=details.description,
        storage_place=details.storage_place,
        finder_name=details.finder_name or None, finder_contact=details.finder_contact or None,
        finder_shares_contact=bool(details.finder_shares_contact and (details.finder_name or details.finder_contact)),
    )
    session.add(case)
    session.flush()
    if photo is not None:
        session.add(FoundCasePhoto(case_id=case.id, data=photo))
    if sticker is not None and sticker.owner_id and sticker.status in _NOTIFIABLE:
        notify_owner(session, case)
    return case


def notify_owner(session: Session, case: FoundCase) -> None:
    outbox.enqueue(session, kind=MAIL_FOUND_CASE, payload={"case_id": case.id})


def notify_waiting(session: Session, sticker: Sticker) -> int:
    """A sticker just claimed may already have items waiting at a desk: tell its new owner."""
    waiting = session.exec(
        select(FoundCase).where(FoundCase.sticker_id == sticker.id, FoundCase.status == FoundCaseStatus.WAITING)
    ).all()
    for case in waiting:
        notify_owner(session, case)
    return len(waiting)


def _unique_reference(session: Session) -> str:
    while True:
        reference = "".join(secrets.choice(codes.ALPHABET) for _ in range(REFERENCE_LENGTH))
        if session.exec(select(FoundCase.id).where(FoundCase.reference == reference)).first() is None:
            return reference


def _unique_public_id(session: Session, location_id: int, key: bytes) -> str:
    # The desk finds a case by its pickup code alone, so codes of waiting cases at one desk
    # must differ; a clash (about 1 in a million per pair) just draws another id.
    taken = {pickup_code(case.public_id, key=key) for case in _waiting_at(session, location_id)}
    while True:
        public_id = tokens.new_public_id()
        if pickup_code(public_id, key=key) not in taken:
            return public_id


def _waiting_at(session: Session, location_id: int) -> list[FoundCase]:
    return list(session.exec(
        select(FoundCase)
        .where(FoundCase.location_id == location_id, FoundCase.status == FoundCaseStatus.WAITING)
        .order_by(FoundCase.created_at, FoundCase.id)
    ))


def waiting_cases(session: Session, location: KioskLocation) -> list[FoundCase]:
    """Items waiting at this desk, oldest first."""
    return _waiting_at(session, location.id)


def search_waiting(session: Session, location: KioskLocation, query: str) -> list[FoundCase]:
    """Waiting cases whose reference (typed however) or description matches `query`."""
    waiting = _waiting_at(session, location.id)
    words = query.casefold().split()
    if not words:
        return waiting
    reference = normalize_reference(query)
    return [case for case in waiting
            if (len(reference) >= 4 and reference in case.reference)
            or all(word in case.description.casefold() for word in words)]


def is_overdue(case: FoundCase, location: KioskLocation, *, now: datetime | None = None) -> bool:
    """Not collected within the desk's holding time."""
    return case.status == FoundCaseStatus.WAITING and (now or utcnow()) - case.created_at > timedelta(days=location.hold_days)


def collect_by(case: FoundCase, location: KioskLocation) -> datetime:
    return case.created_at + timedelta(days=location.hold_days)


def collect(session: Session, *, device: KioskDevice, code: str, staff: str, key: bytes,
            now: datetime | None = None) -> FoundCase | None:
    """Close the waiting case at this desk whose pickup code is `code`; None if none is."""
    typed = "".join(char for char in code if char.isdigit())
    if len(typed) != PICKUP_DIGITS:
        return None
    for case in _waiting_at(session, device.location_id):
        if hmac.compare_digest(pickup_code(case.public_id, key=key), typed):
            return _close(session, case, device=device, staff=staff, now=now or utcnow())
    return None


def _close(session: Session, case: FoundCase, *, device: KioskDevice, staff: str, now: datetime) -> FoundCase | None:
    # Conditional: two desk screens confirming the same code close the case once. The
    # finder's details were kept only until collection (as the receipt says): gone now.
    closed = session.exec(
        update(FoundCase)
        .where(FoundCase.id == case.id, FoundCase.status == FoundCaseStatus.WAITING)
        .values(status=FoundCaseStatus.COLLECTED.value, collected_at=now, collected_device_id=device.id,
                collected_by=staff.strip(), finder_name=None, finder_contact=None, finder_shares_contact=False)
    )
    if closed.rowcount != 1:
        return None
    session.refresh(case)
    return case


def case_at(session: Session, location: KioskLocation, public_id: str) -> FoundCase | None:
    """A case of this desk (another desk's case looks missing)."""
    if not tokens.is_public_id(public_id):
        return None
    return session.exec(
        select(FoundCase).where(FoundCase.location_id == location.id, FoundCase.public_id == public_id)
    ).first()


# --- the owner's side ---


@dataclass(frozen=True)
class OwnerCase:
    case: FoundCase
    location: KioskLocation
    label: str


def cases_for_owner(session: Session, owner: User) -> list[OwnerCase]:
    """Items handed in with the owner's stickers, newest first, in one query."""
    rows = session.exec(
        select(FoundCase, KioskLocation, Sticker.label)
        .join(Sticker, FoundCase.sticker_id == Sticker.id)
        .join(KioskLocation, FoundCase.location_id == KioskLocation.id)
        .where(Sticker.owner_id == owner.id)
        .order_by(FoundCase.created_at.desc(), FoundCase.id.desc())
    )
    return [OwnerCase(case, location, label) for case, location, label in rows]


def unseen_count(session: Session, owner: User) -> int:
    """Waiting cases the owner has not opened yet."""
    return session.exec(
        select(func.count(FoundCase.id))
        .join(Sticker, FoundCase.sticker_id == Sticker.id)
        .where(Sticker.owner_id == owner.id, FoundCase.status == FoundCaseStatus.WAITING,
               FoundCase.owner_seen_at.is_(None))
    ).one()


def mark_seen(session: Session, case: FoundCase) -> None:
    if case.owner_seen_at is None:
        case.owner_seen_at = utcnow()
        session.add(case)


def photo_of(session: Session, case: FoundCase) -> FoundCasePhoto | None:
    return session.get(FoundCasePhoto, case.id)


def prepare_photo(data: bytes) -> bytes:
    """Re-encode an uploaded photo as a JPEG of at most 1280 px, upright, with no metadata
    (phones put GPS positions in EXIF)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise PhotoError("image too large")
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=82, optimize=True)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoError(str(error)) from error
