"""Stickers and sticker sets: minting, activation, and the owner's changes of state.

A leaf among the services: it knows no other concept. Claiming a set, which also
releases held finder messages and announces items waiting at desks, is orchestrated
by ``services.claims``."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import Session, or_, select, update

from stickerreg import codes, tokens
from stickerreg.models import OutboxKind, Sticker, StickerSet, StickerStatus, StickerUpdate, User, utcnow
from stickerreg.services import outbox

ACTIVATION_LENGTH = 10  # 50 random bits, typed once from the backing card
# 55 random bits make a sticker code collision astronomically rare, but a unique index is
# not a place to find out: drawn codes are checked against the table in chunks of this many.
_CODE_CHECK_CHUNK = 500
SCAN_ALERT_INTERVAL = timedelta(hours=1)


class StickerInactive(ValueError):
    """The sticker is not active (deactivated, unclaimed or void): the owner can't change it."""


@dataclass(frozen=True)
class MintedSet:
    """A new set; `activation_code` is the only time its plain text exists."""

    sticker_set: StickerSet
    stickers: list[Sticker]
    activation_code: str


# Built once: making the statement (and its cache key) anew was half of every lookup's time,
# and every finder's page starts with this lookup.
_BY_CODE = select(Sticker).where(Sticker.code == bindparam("code"))


def find_by_code(session: Session, code: str) -> Sticker | None:
    """The sticker with this canonical code, whatever its state, or None."""
    return session.exec(_BY_CODE, params={"code": code}).first()


def is_active(sticker: Sticker | None) -> bool:
    """True when the sticker exists, has an owner and is in use."""
    return bool(sticker and sticker.owner_id and sticker.status == StickerStatus.ACTIVE)


def mint(session: Session, *, count: int) -> list[Sticker]:
    """Create `count` unclaimed stickers with fresh unique codes."""
    stickers = [Sticker(code=code) for code in unused_codes(session, count)]
    session.add_all(stickers)
    session.flush()
    return stickers


def new_activation_code() -> str:
    """Random Crockford base32, so it survives the same forgiving input as sticker IDs."""
    return codes.random_symbols(ACTIVATION_LENGTH)


def display_activation(code: str) -> str:
    """ABCDE-FGHJK style, as printed on the backing card."""
    return codes.group(code, 5)


def mint_set(session: Session, *, size: int) -> MintedSet:
    """A set of `size` stickers sharing one activation code (stored hashed)."""
    if not 1 <= size <= 100:
        raise ValueError("a set holds 1 to 100 stickers")
    activation_code = new_activation_code()
    sticker_set = StickerSet(activation_hash=tokens.hash_token(activation_code))
    session.add(sticker_set)
    session.flush()
    stickers = mint(session, count=size)
    for sticker in stickers:
        sticker.set_id = sticker_set.id
    session.add_all(stickers)
    session.flush()
    return MintedSet(sticker_set, stickers, activation_code)


def set_opened_by(session: Session, *, sticker_code: str, activation_code: str) -> StickerSet | None:
    """The set holding `sticker_code` when `activation_code` is its code, else None. Every
    mismatch does the same work and gives the same answer."""
    sticker_set = _set_for(session, sticker_code)
    typed = codes.symbols(activation_code)
    expected = sticker_set.activation_hash if sticker_set else tokens.hash_token("")
    if not hmac.compare_digest(tokens.hash_token(typed), expected):
        return None
    return sticker_set


def _set_for(session: Session, sticker_code: str) -> StickerSet | None:
    # A void sticker (misprint) opens nothing, even with its set's right code.
    code = codes.normalize(sticker_code)
    sticker = find_by_code(session, code) if code else None
    if sticker is None or sticker.set_id is None or sticker.status == StickerStatus.VOIDED:
        return None
    return session.get(StickerSet, sticker.set_id)


def take_set(session: Session, sticker_set: StickerSet, owner: User) -> bool:
    """Make `owner` the set's owner unless someone is already: a conditional UPDATE, so of
    two customers claiming at once exactly one gets the set."""
    taken = session.exec(
        update(StickerSet)
        .where(StickerSet.id == sticker_set.id, StickerSet.owner_id.is_(None))
        .values(owner_id=owner.id, claimed_at=utcnow())
    )
    return taken.rowcount == 1


def stickers_in(session: Session, sticker_set: StickerSet) -> list[Sticker]:
    """The set's stickers in minting order."""
    return list(session.exec(select(Sticker).where(Sticker.set_id == sticker_set.id).order_by(Sticker.id)))


def activate_for(session: Session, sticker: Sticker, owner: User, *, label: str = "") -> Sticker:
    """Give an unclaimed sticker to its owner and start using it."""
    if sticker.status != StickerStatus.UNCLAIMED:
        raise ValueError(f"sticker is {sticker.status}, not unclaimed")
    sticker.owner_id = owner.id
    sticker.label = label
    sticker.status = StickerStatus.ACTIVE.value
    sticker.activated_at = utcnow()
    session.add(sticker)
    session.flush()
    return sticker


def update_sticker(session: Session, sticker: Sticker, changes: StickerUpdate) -> Sticker:
    """Apply the owner's changes; only an active sticker can be changed."""
    if not is_active(sticker):
        raise StickerInactive(sticker.status)
    for name, value in changes.model_dump(exclude_unset=True, mode="json").items():
        setattr(sticker, name, value)  # names come from the StickerUpdate allowlist only
    session.add(sticker)
    session.flush()
    return sticker


def deactivate(session: Session, sticker: Sticker) -> Sticker:
    """The owner lost or destroyed the sticker: its page goes quiet for good (no way back
    in this version; a finder then sees what an unknown code shows)."""
    if not is_active(sticker):
        raise StickerInactive(sticker.status)
    sticker.status = StickerStatus.DEACTIVATED.value
    sticker.lost_mode = False
    session.add(sticker)
    session.flush()
    return sticker


def record_scan(session: Session, sticker: Sticker, *, now: datetime) -> bool:
    """A person (not a bot) opened the sticker's finder page. When it is in lost mode with
    scan alerts on, queue an alert for the owner, at most once per SCAN_ALERT_INTERVAL.
    Returns True when an alert was queued; otherwise nothing touches the database."""
    last = sticker.last_scan_alert_at
    due = last is None or last <= now - SCAN_ALERT_INTERVAL
    if not (is_active(sticker) and sticker.lost_mode and sticker.scan_alerts and due):
        return False
    # One conditional UPDATE claims the hour, so two scans at the same moment can't both.
    claimed = session.exec(
        update(Sticker)
        .where(
            Sticker.id == sticker.id,
            or_(Sticker.last_scan_alert_at.is_(None), Sticker.last_scan_alert_at <= now - SCAN_ALERT_INTERVAL),
        )
        .values(last_scan_alert_at=now)
    )
    if claimed.rowcount != 1:
        return False
    outbox.enqueue(session, kind=OutboxKind.SCAN_ALERT, payload={"sticker_id": sticker.id, "scanned_at": now.isoformat()})
    return True


def owned_by(session: Session, owner: User) -> list[Sticker]:
    """The owner's stickers, newest first."""
    statement = select(Sticker).where(Sticker.owner_id == owner.id).order_by(Sticker.id.desc())
    return list(session.exec(statement))


def unused_codes(session: Session, count: int) -> list[str]:
    """`count` new codes, distinct from each other and from every code in the database."""
    fresh: set[str] = set()
    while len(fresh) < count:
        drawn = {codes.generate() for _ in range(count - len(fresh))} - fresh
        drawn_list = list(drawn)
        for start in range(0, len(drawn_list), _CODE_CHECK_CHUNK):
            chunk = drawn_list[start : start + _CODE_CHECK_CHUNK]
            drawn -= set(session.exec(select(Sticker.code).where(Sticker.code.in_(chunk))))
        fresh |= drawn
    return list(fresh)
