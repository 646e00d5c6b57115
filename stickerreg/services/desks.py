"""Lost-and-found desks: their details, the kiosk screens paired with them, the staff PIN.

A screen is paired with a one-time token (15 minutes) that an admin hands to the desk; the
kiosk's browser trades it for a long-lived device token kept in a cookie. Both are stored
only as hashes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, func, select, update

from stickerreg import passwords, tokens
from stickerreg.models import Desk, DeskCreate, DeskUpdate, KioskDevice, User, utcnow
from stickerreg.services import ownership

PAIRING_LIFETIME = timedelta(minutes=15)
STAFF_PIN = re.compile(r"[0-9]{4,8}")  # ASCII digits: what a kiosk keypad types


class DeskError(ValueError):
    """A request about a desk that can't be carried out; the message is safe to show."""


# --- desks ---


def create_desk(session: Session, details: DeskCreate) -> Desk:
    """A new desk; names are unique so the CLI can find a desk by name."""
    if find_desk(session, details.name) is not None:
        raise DeskError(f"a desk named {details.name!r} exists already")
    desk = Desk(public_id=tokens.new_public_id(), **details.model_dump())
    session.add(desk)
    session.flush()
    return desk


def update_desk(session: Session, desk: Desk, changes: DeskUpdate) -> Desk:
    """Change a desk's details; its name must stay unique."""
    other = find_desk(session, changes.name)
    if other is not None and other.id != desk.id:
        raise DeskError(f"a desk named {changes.name!r} exists already")
    for name, value in changes.model_dump(exclude_unset=True).items():
        setattr(desk, name, value)  # names come from the DeskUpdate allowlist only
    session.add(desk)
    return desk


def find_desk(session: Session, name_or_id: str) -> Desk | None:
    """A desk by its exact name (case-insensitive) or its public id."""
    key = name_or_id.strip()
    if not key or "\x00" in key:
        return None
    return session.exec(
        select(Desk).where((func.lower(Desk.name) == key.lower()) | (Desk.public_id == key))
    ).first()


def desk_by_public_id(session: Session, public_id: str) -> Desk | None:
    return ownership.by_public_id(session, Desk, public_id)


def all_desks(session: Session) -> list[Desk]:
    return list(session.exec(select(Desk).order_by(Desk.name)))


def set_staff_pin(session: Session, desk: Desk, pin: str | None) -> None:
    """Require `pin` on the desk's staff screens; None removes the requirement."""
    if pin is not None and not STAFF_PIN.fullmatch(pin):
        raise DeskError("a staff PIN is 4 to 8 digits")
    desk.staff_pin_hash = passwords.hash_secret(pin) if pin else None
    session.add(desk)


def check_staff_pin(desk: Desk, pin: str) -> bool:
    """True if the desk has no PIN or `pin` is its PIN."""
    if not desk.staff_pin_hash:
        return True
    return bool(STAFF_PIN.fullmatch(pin or "")) and passwords.verify(desk.staff_pin_hash, pin)


# --- kiosk screens ---


def start_pairing(session: Session, *, desk: Desk, name: str, created_by: User | None = None,
                  now: datetime | None = None) -> tuple[KioskDevice, str]:
    """A screen waiting to be paired, and the one-time token for its pairing link."""
    token = tokens.new_token()
    device = KioskDevice(
        public_id=tokens.new_public_id(), desk_id=desk.id, name=name.strip() or "Kiosk",
        pairing_hash=tokens.hash_token(token),
        pairing_expires_at=(now or utcnow()) + PAIRING_LIFETIME,
        created_by_id=created_by.id if created_by else None,
    )
    session.add(device)
    session.flush()
    return device, token


def default_screen_name(session: Session, desk: Desk, label: Callable[[int], str]) -> str:
    """A name for the desk's next screen when none is given: `label(n)` ("Screen 2"), n
    counting the desk's screens so far (revoked ones too), past any name already taken."""
    names = list(session.exec(select(KioskDevice.name).where(KioskDevice.desk_id == desk.id)))
    number, taken = len(names) + 1, set(names)
    while label(number) in taken:
        number += 1
    return label(number)


def pending_pairing(session: Session, token: str, *, now: datetime | None = None) -> KioskDevice | None:
    """The screen a pairing token belongs to, while the token is unused and fresh."""
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
    """The paired, unrevoked screen whose cookie carries `token`."""
    if not token or len(token) > 64:
        return None
    device = session.exec(select(KioskDevice).where(KioskDevice.token_hash == tokens.hash_token(token))).first()
    return device if device is not None and device.revoked_at is None else None


def touch(session: Session, device: KioskDevice, *, now: datetime | None = None) -> None:
    """Note that the screen is in use; written at most once a minute."""
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


def devices(session: Session, desk: Desk) -> list[KioskDevice]:
    return list(session.exec(
        select(KioskDevice).where(KioskDevice.desk_id == desk.id).order_by(KioskDevice.created_at)
    ))


def find_device(session: Session, desk: Desk, public_id: str) -> KioskDevice | None:
    return ownership.by_public_id(session, KioskDevice, public_id, KioskDevice.desk_id == desk.id)


def rename_device(session: Session, device: KioskDevice, name: str) -> None:
    device.name = name.strip() or device.name
    session.add(device)


def revoke_device(session: Session, device: KioskDevice, *, now: datetime | None = None) -> None:
    """The screen is logged out on its next request; an unused pairing link dies too."""
    device.revoked_at = device.revoked_at or now or utcnow()
    device.token_hash = None
    device.pairing_hash = None
    session.add(device)
