"""Blocking cases: "I have lost my wallet / phone / both". A case lists every matching card
and phone with its issuer's or operator's blocking line; the customer ticks off what they
blocked, or asks customer service to do it. open → in progress → done; every step is an
event with who and when, and the customer is emailed about each change someone else makes."""

from __future__ import annotations

from sqlmodel import Session, func, select

from stickerreg import tokens
from stickerreg.models import (
    BlockingCase,
    BlockingEvent,
    BlockingItem,
    BlockingStatus,
    Card,
    DirectoryEntry,
    LostItems,
    MobileDevice,
    OutboxKind,
    Sticker,
    User,
    utcnow,
)
from stickerreg.services import accounts, audit, outbox, ownership
from stickerreg.services.linked import cards, devices

CUSTOMER, CUSTOMER_SERVICE = "customer", "customer_service"


class BlockingError(ValueError):
    """A step that can't be taken: nothing_to_block, closed."""


def open_case(session: Session, owner: User, *, lost: LostItems, sticker: Sticker | None = None) -> BlockingCase:
    """Start a case for what `owner` lost, listing every matching card and phone as they are
    now. An open case for the same loss is returned instead of a second one."""
    lost = LostItems(lost)
    existing = session.exec(
        select(BlockingCase).where(BlockingCase.owner_id == owner.id, BlockingCase.lost == lost,
                                   BlockingCase.status != BlockingStatus.DONE)
    ).first()
    if existing is not None:
        return existing
    listed = _items_for(session, owner, lost)
    if not listed:
        raise BlockingError("nothing_to_block")
    case = BlockingCase(public_id=tokens.new_public_id(), owner_id=owner.id, lost=lost.value,
                        sticker_id=sticker.id if sticker else None)
    session.add(case)
    session.flush()
    for item in listed:
        item.case_id = case.id
        session.add(item)
    _step(session, case, "opened", actor=owner, role=CUSTOMER, notify=True)
    return case


def _items_for(session: Session, owner: User, lost: LostItems) -> list[BlockingItem]:
    listed = []
    if lost in (LostItems.WALLET, LostItems.BOTH):
        listed += [_card_item(card, issuer) for card, issuer in cards.cards_of(session, owner)]
    if lost in (LostItems.PHONE, LostItems.BOTH):
        listed += [_device_item(device, operator) for device, operator in devices.devices_of(session, owner)]
    return listed


def _card_item(card: Card, issuer: DirectoryEntry | None) -> BlockingItem:
    return BlockingItem(public_id=tokens.new_public_id(), case_id=0, card_id=card.id,
                        label=f"{card.holder_name} · •••• {card.last_four}", **_provider(issuer))


def _device_item(device: MobileDevice, operator: DirectoryEntry | None) -> BlockingItem:
    return BlockingItem(public_id=tokens.new_public_id(), case_id=0, device_id=device.id,
                        label=f"{device.owner_name} · {accounts.display_phone(device.phone)}", **_provider(operator))


def _provider(entry: DirectoryEntry | None) -> dict:
    if entry is None:  # the issuer left the directory since
        return {"provider": "", "blocking_phone": None, "web": None}
    return {"provider": entry.name, "blocking_phone": entry.blocking_phone, "web": entry.web}


def cases_of(session: Session, owner: User) -> list[BlockingCase]:
    """The owner's cases, newest first."""
    return list(session.exec(select(BlockingCase).where(BlockingCase.owner_id == owner.id)
                             .order_by(BlockingCase.id.desc())))


def open_count(session: Session, owner: User) -> int:
    """How many of the owner's cases are not done."""
    return session.exec(select(func.count(BlockingCase.id)).where(
        BlockingCase.owner_id == owner.id, BlockingCase.status != BlockingStatus.DONE)).one()


def items_of(session: Session, case: BlockingCase) -> list[BlockingItem]:
    return list(session.exec(select(BlockingItem).where(BlockingItem.case_id == case.id).order_by(BlockingItem.id)))


def events_of(session: Session, case: BlockingCase) -> list[BlockingEvent]:
    return list(session.exec(select(BlockingEvent).where(BlockingEvent.case_id == case.id)
                             .order_by(BlockingEvent.at, BlockingEvent.id)))


def item_of(session: Session, case: BlockingCase, public_id: str) -> BlockingItem | None:
    """An item of this case (another case's item looks missing)."""
    return ownership.by_public_id(session, BlockingItem, public_id, BlockingItem.case_id == case.id)


def mark_blocked(session: Session, case: BlockingCase, item: BlockingItem, *, blocked: bool, actor: User,
                 role: str) -> None:
    """Tick an item off as blocked (or undo the tick). When the customer has ticked off
    everything, the case is done; customer service closes its cases itself."""
    _require_open(case)
    if blocked == (item.blocked_at is not None):
        return
    item.blocked_at, item.blocked_by = (utcnow(), role) if blocked else (None, None)
    session.add(item)
    _step(session, case, "item_blocked" if blocked else "item_unblocked", actor=actor, role=role,
          item=item, notify=role != CUSTOMER)
    if role == CUSTOMER and all(other.blocked_at for other in items_of(session, case)):
        _move(session, case, BlockingStatus.DONE, actor=actor, role=role)


def request_help(session: Session, case: BlockingCase, *, actor: User) -> None:
    """The customer asks customer service to do the blocking."""
    _require_open(case)
    if case.help_requested_at is None:
        case.help_requested_at = utcnow()
        _step(session, case, "help_requested", actor=actor, role=CUSTOMER, notify=True)


def take(session: Session, case: BlockingCase, *, actor: User) -> None:
    """Customer service starts working the case."""
    _require_open(case)
    if case.status == BlockingStatus.OPEN:
        _move(session, case, BlockingStatus.IN_PROGRESS, actor=actor, role=CUSTOMER_SERVICE)


def finish(session: Session, case: BlockingCase, *, actor: User, role: str) -> None:
    """The case is done: everything that could be blocked is."""
    _require_open(case)
    _move(session, case, BlockingStatus.DONE, actor=actor, role=role)


def waiting_for_service(session: Session) -> list[BlockingCase]:
    """Cases customer service should work: help asked for or already taken, not done; the
    longest waiting first (since the help request, or since opening for a case taken unasked)."""
    return list(session.exec(
        select(BlockingCase).where(BlockingCase.status != BlockingStatus.DONE,
                                   (BlockingCase.help_requested_at.is_not(None))
                                   | (BlockingCase.status == BlockingStatus.IN_PROGRESS))
        .order_by(func.coalesce(BlockingCase.help_requested_at, BlockingCase.created_at), BlockingCase.id)
    ))


def find_case(session: Session, public_id: str) -> BlockingCase | None:
    """Any customer's case, for customer service (customers reach theirs through ownership)."""
    return ownership.by_public_id(session, BlockingCase, public_id)


def _require_open(case: BlockingCase) -> None:
    if case.status == BlockingStatus.DONE:
        raise BlockingError("closed")


def _move(session: Session, case: BlockingCase, to: BlockingStatus, *, actor: User, role: str) -> None:
    case.status = to.value
    case.closed_at = utcnow() if to == BlockingStatus.DONE else None
    _step(session, case, to.value, actor=actor, role=role, notify=True)


def _step(session: Session, case: BlockingCase, action: str, *, actor: User, role: str,
          item: BlockingItem | None = None, notify: bool) -> BlockingEvent:
    """Record a step (the case's history and the audit log) and, when `notify`, email the
    customer about it in the same transaction."""
    case.updated_at = utcnow()
    session.add(case)
    event = BlockingEvent(case_id=case.id, actor_id=actor.id, actor_role=role, action=action,
                          item_label=item.label if item else None)
    session.add(event)
    session.flush()
    audit.record(session, action=f"blocking_case.{action}", target=case, subject_id=case.owner_id, actor=actor,
                 role=role)
    if notify:
        outbox.enqueue(session, kind=OutboxKind.BLOCKING_CASE, payload={"case_id": case.id, "event_id": event.id})
    return event
