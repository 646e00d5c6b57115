"""Stickers and sticker sets: minting, claiming, and the owner's changes of state."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sqlmodel import Session, select

from stickerreg import codes, tokens
from stickerreg.models import Sticker, StickerSet, StickerStatus, User, utcnow
from stickerreg.services import relay

ACTIVATION_LENGTH = 10  # 50 random bits, typed once from the backing card


class ClaimError(ValueError):
    """The sticker ID and activation code don't open an unclaimed set (one answer for all)."""


@dataclass(frozen=True)
class MintedSet:
    """A new set; `activation_code` is the only time its plain text exists."""

    sticker_set: StickerSet
    stickers: list[Sticker]
    activation_code: str


def find_by_code(session: Session, code: str) -> Sticker | None:
    """The sticker with this canonical code, whatever its state, or None."""
    return session.exec(select(Sticker).where(Sticker.code == code)).first()


def is_active(sticker: Sticker | None) -> bool:
    """True when the sticker exists, has an owner and is in use."""
    return bool(sticker and sticker.owner_id and sticker.status == StickerStatus.ACTIVE)


def mint(session: Session, *, count: int) -> list[Sticker]:
    """Create `count` unclaimed stickers with fresh unique codes."""
    stickers = [Sticker(code=_unused_code(session)) for _ in range(count)]
    session.add_all(stickers)
    session.flush()
    return stickers


def new_activation_code() -> str:
    """Random Crockford base32, so it survives the same forgiving input as sticker IDs."""
    return "".join(secrets.choice(codes.ALPHABET) for _ in range(ACTIVATION_LENGTH))


def display_activation(code: str) -> str:
    """XXXXX-XXXXX, as printed on the backing card."""
    return f"{code[:5]}-{code[5:]}"


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


def claim_set(session: Session, *, owner: User, sticker_code: str, activation_code: str) -> list[Sticker]:
    """Give the owner the set holding `sticker_code`; activates its stickers and delivers
    what finders wrote while they were unclaimed. Any mismatch raises the same ClaimError."""
    sticker_set = _set_for(session, sticker_code)
    typed = codes.symbols(activation_code)
    expected = sticker_set.activation_hash if sticker_set else tokens.hash_token("")
    if not hmac.compare_digest(tokens.hash_token(typed), expected) or sticker_set is None:
        raise ClaimError()
    if sticker_set.owner_id is not None:
        raise ClaimError()
    sticker_set.owner_id, sticker_set.claimed_at = owner.id, utcnow()
    session.add(sticker_set)
    claimed = [s for s in stickers_in(session, sticker_set) if s.status == StickerStatus.UNCLAIMED]
    for sticker in claimed:
        activate_for(session, sticker, owner)
        relay.release_held(session, sticker)
    return claimed


def _set_for(session: Session, sticker_code: str) -> StickerSet | None:
    code = codes.normalize(sticker_code)
    sticker = find_by_code(session, code) if code else None
    return session.get(StickerSet, sticker.set_id) if sticker and sticker.set_id else None


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


def owned_by(session: Session, owner: User) -> list[Sticker]:
    """The owner's stickers, newest first."""
    statement = select(Sticker).where(Sticker.owner_id == owner.id).order_by(Sticker.id.desc())
    return list(session.exec(statement))


def _unused_code(session: Session) -> str:
    # 55 random bits make a collision astronomically rare, but a unique index is not
    # a place to find out: check, and draw again.
    while True:
        code = codes.generate()
        if find_by_code(session, code) is None:
            return code
