"""Stickers: lookup by code and the owner-side changes of state."""

from __future__ import annotations

from sqlmodel import Session, select

from stickerreg import codes
from stickerreg.models import Sticker, StickerStatus, User, utcnow


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


def _unused_code(session: Session) -> str:
    # 55 random bits make a collision astronomically rare, but a unique index is not
    # a place to find out: check, and draw again.
    while True:
        code = codes.generate()
        if find_by_code(session, code) is None:
            return code
