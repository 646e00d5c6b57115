"""A customer's personal data: the copy they may take with them (`export`) and its erasure
(`erase`), for the customer themselves, an admin or an operator's command.

The export is everything held about the customer as plain data (`collect`), audited without
any of its values. What finders told the owner is in it as the owner reads it in their account,
less what was never theirs to see: no finder's email address and no coordinates of where a
thing was found; the name and contact a finder left at a desk only when the finder agreed to
share them.

What an erasure removes, what it keeps, and why:

- The account (``users``), its signed-in browsers and mailed links: deleted.
- Cards, phones, blocking cases with their items and events, fire-alarm contacts and customer
  service's notes about the customer: deleted; they exist only for this customer. So are their
  credit-inquiry alerts, and the unmatched inquiries for the personnummer they proved with
  BankID (a number only typed proves nothing, so other people's inquiries are never touched).
- Stickers are physical things still out there: each is deactivated and detached (no owner,
  name, lost-mode texts or scan times), so a finder's later scan sees what an unknown code
  shows, and their set can't be claimed again (none of its stickers is unclaimed any more).
- Finder conversations on their stickers: deleted with every message and the finder's links.
  A conversation is two people's words about one item; without the owner it has no purpose,
  and the finder's address, place and words are the finder's personal data we no longer need.
  The finder's private link then opens nothing, like any unknown link.
- Items handed in with their stickers: a collected item is deleted (its photo too). An item
  still waiting is a thing on a desk's shelf that the desk must still hand back or dispose
  of: it keeps its reference, category, storage place and times, and loses its sticker, its
  description and photo (either may show the owner's name or things), the finder's details
  and any staff name.
- Outbox rows about them (account emails, finder notices, scan alerts, blocking and
  ID-protection notices) are deleted whether sent or not: a payload may hold an address, and
  pending mail must not go out. Copies the file transport wrote to MAIL_DIR go too
  (`purge_mail_spool`, after the commit). Mail already delivered by SMTP is beyond our reach.
- The audit log stays. It is append-only and holds user ids, random public ids, action names
  and the names of changed fields, never values (audit.record's contract, which the erasure
  test checks for every service that writes it); the ids point at nothing once the account is
  gone. One entry records the erasure itself, with counts only.
- Staff records (batches, kiosk screens, API keys, register entries, notes they wrote) keep
  their rows and lose the link to an erased staff account (ON DELETE SET NULL).
- The do-not-call register keeps a number that asked not to be called even after its owner's
  account is erased: forgetting it would mean calling them again.

`TABLES` says this for every table, and which text columns hold nothing personal; the erasure
test walks the live schema with it, so a new table or column must be placed here first.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import Session, delete, select, update

from stickerreg.models import (
    AuditEntry,
    AuthToken,
    BlockingCase,
    BlockingEvent,
    BlockingItem,
    Card,
    Conversation,
    ConversationStatus,
    CustomerNote,
    Desk,
    DirectoryEntry,
    FireContact,
    HandedInItem,
    HandedInPhoto,
    HandedInStatus,
    IdProtectAlert,
    ItemCategory,
    LoginSession,
    Message,
    MobileDevice,
    OutboxMessage,
    RelayLink,
    Sticker,
    StickerSet,
    StickerStatus,
    User,
    utcnow,
)
from stickerreg.services import audit

EXPORT_FORMAT = "stickerreg-export/1"
# Conversations the owner sees in their account (held and undeliverable ones never reach them).
_OWNER_VISIBLE = (ConversationStatus.OPEN.value, ConversationStatus.CLOSED.value, ConversationStatus.BLOCKED.value)


@dataclass(frozen=True)
class TablePolicy:
    """What an erasure does with a table's rows about the customer (`erasure`), and the text
    columns that hold nothing personal (`kept`: random ids, states, codes, staff's own records),
    which may outlive an erasure. Every other text column is personal data that must not."""

    erasure: str
    kept: frozenset[str] = frozenset()


def _policy(erasure: str, *kept: str) -> TablePolicy:
    return TablePolicy(erasure, frozenset(kept))


TABLES: dict[str, TablePolicy] = {
    # The customer's own records.
    "users": _policy("deleted", "locale", "role"),
    "login_sessions": _policy("deleted", "token_hash", "method"),
    "auth_tokens": _policy("deleted", "purpose", "token_hash"),
    "stickers": _policy("deactivated and detached", "code", "status", "category"),
    "sticker_sets": _policy("detached", "activation_hash", "activation_plain"),
    "conversations": _policy("deleted", "public_id", "status", "finder_locale"),
    "messages": _policy("deleted with their conversation", "sender"),
    "relay_links": _policy("deleted with their conversation", "token_hash"),
    "handed_in_items": _policy("collected: deleted; waiting: detached and anonymised",
                               "public_id", "reference", "status", "category", "storage_place"),
    "handed_in_photos": _policy("deleted", "content_type"),
    "cards": _policy("deleted", "public_id", "card_type"),
    "mobile_devices": _policy("deleted", "public_id"),
    "blocking_cases": _policy("deleted", "public_id", "lost", "status"),
    # provider, blocking_phone and web are copies of a directory entry (a bank's line).
    "blocking_items": _policy("deleted with their case", "public_id", "provider", "blocking_phone", "web",
                              "blocked_by"),
    "blocking_events": _policy("deleted with their case", "actor_role", "action"),
    "idprotect_alerts": _policy("deleted (also unmatched ones for their proved personnummer)",
                                "public_id", "external_id", "bureau", "verdict"),
    "fire_contacts": _policy("deleted", "public_id"),
    "customer_notes": _policy("deleted", "public_id"),
    "outbox": _policy("rows about them deleted, sent or not", "kind", "status", "email_message_id", "claimed_by"),
    # Kept by design: append-only; ids, public ids, action and field names, never values.
    "audit_log": _policy("kept; one entry records the erasure", "actor_role", "action", "object_type",
                         "object_id", "detail", "reason"),
    # Not about customers: the service's own things and staff's records (a link to an erased
    # staff account is set to NULL by the database).
    "desks": _policy("not about customers", "name", "address", "opening_hours", "public_id", "staff_pin_hash"),
    "kiosk_devices": _policy("not about customers", "public_id", "name", "pairing_hash", "token_hash"),
    "directory_entries": _policy("not about customers", "name", "blocking_phone", "web", "kind", "key"),
    "api_keys": _policy("not about customers", "public_id", "name", "scope", "prefix", "key_hash"),
    "batches": _policy("not about customers", "public_id", "product", "layout", "language", "status"),
    "batch_events": _policy("not about customers", "from_status", "to_status", "note"),
    "export_jobs": _policy("not about customers", "public_id", "format", "status", "path", "error", "claimed_by"),
    "worker_heartbeats": _policy("not about anyone: the background workers", "worker_id", "duties"),
    "periodic_jobs": _policy("not about anyone: the background workers", "name", "claimed_by", "last_error"),
    "dnc_register": _policy("kept: a number that asked not to be called stays so", "public_id", "phone", "source"),
    "nix_register": _policy("not ours: Sweden's national opt-out register", "phone"),
    "lead_imports": _policy("not about customers", "public_id", "partner"),
    "leads": _policy("not about customers (imports leave customers out; retention deletes leads)",
                     "name", "address", "phone", "source_partner"),
}

# Every foreign key to users, by what it means: the row is about the user (erased with them),
# or it records what a member of staff did (the row stays; the database sets the link to NULL).
ABOUT_THE_USER = frozenset({
    ("login_sessions", "user_id"), ("auth_tokens", "user_id"), ("stickers", "owner_id"),
    ("sticker_sets", "owner_id"), ("cards", "owner_id"), ("mobile_devices", "owner_id"),
    ("blocking_cases", "owner_id"), ("idprotect_alerts", "user_id"), ("fire_contacts", "owner_id"),
    ("customer_notes", "customer_id"),
})
DONE_BY_STAFF = frozenset({
    ("api_keys", "created_by_id"), ("batches", "created_by_id"), ("batch_events", "actor_id"),
    ("export_jobs", "created_by_id"), ("kiosk_devices", "created_by_id"), ("dnc_register", "created_by_id"),
    ("lead_imports", "created_by_id"), ("customer_notes", "author_id"), ("blocking_events", "actor_id"),
})
# Personal data the export leaves out on purpose: the finder's (their address; a desk's
# finder details unless shared, see `_handed_in`) and secrets that are no one's to read.
NOT_EXPORTED = frozenset({
    ("conversations", "finder_email"), ("handed_in_items", "finder_name"), ("handed_in_items", "finder_contact"),
    ("users", "password_hash"), ("users", "personnummer_digest"), ("mobile_devices", "owner_personnummer_digest"),
    ("idprotect_alerts", "personnummer_digest"), ("handed_in_items", "collected_by"), ("outbox", "payload"),
    ("outbox", "last_error"), ("handed_in_photos", "data"),
})


# --- export ---------------------------------------------------------------------------------


def export(session: Session, user: User, *, actor: User | None = None, role: str | None = None) -> dict:
    """Everything held about `user`, as JSON-ready data; the export is audited (who, never what)."""
    data = collect(session, user)
    audit.record(session, action="account.exported", target=user, subject_id=user.id, actor=actor, role=role,
                 detail={"sections": sorted(key for key, value in data.items() if isinstance(value, list))})
    return data


def collect(session: Session, user: User) -> dict:
    """The customer's personal data by section, every time in ISO 8601 UTC."""
    owned = list(session.exec(select(Sticker).where(Sticker.owner_id == user.id).order_by(Sticker.id)))
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _when(utcnow()),
        "profile": _profile(user),
        "stickers": [_sticker(sticker) for sticker in owned],
        "sticker_sets": _sticker_sets(session, user, owned),
        "conversations": _conversations(session, owned),
        "handed_in_items": _handed_in(session, owned),
        "cards": _cards(session, user),
        "phones": _phones(session, user),
        "blocking_cases": _blocking_cases(session, user),
        "idprotect_alerts": _alerts(session, user),
        "fire_contacts": [_fire_contact(contact) for contact in _rows(session, FireContact, FireContact.owner_id == user.id,
                                                                      order=FireContact.position)],
        "login_sessions": [{"signed_in_at": _when(row.created_at), "last_used_at": _when(row.last_seen_at),
                            "method": row.method} for row in _rows(session, LoginSession, LoginSession.user_id == user.id)],
        "emailed_links": [_auth_token(row) for row in _rows(session, AuthToken, AuthToken.user_id == user.id)],
        "customer_service_notes": [{"written_at": _when(note.created_at), "note": note.body} for note in
                                   _rows(session, CustomerNote, CustomerNote.customer_id == user.id,
                                         order=CustomerNote.created_at)],
        "audit_log": [_audit_entry(entry) for entry in _audit_entries(session, user)],
    }


def zip_export(data: dict, summary_html: str) -> bytes:
    """The export as one ZIP: data.json (machine-readable) and summary.html (the same, readable)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("summary.html", summary_html)
    return out.getvalue()


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _rows(session: Session, model: type, *conditions, order=None) -> list:
    statement = select(model).where(*conditions).order_by(order if order is not None else model.id)
    return list(session.exec(statement))


def _profile(user: User) -> dict:
    return {
        "customer_number": user.customer_number, "email": user.email, "email_verified_at": _when(user.email_verified_at),
        "display_name": user.display_name, "phone": user.phone, "street": user.street,
        "postal_code": user.postal_code, "city": user.city, "language": user.locale,
        "notify_by_email": user.notify_by_email, "role": user.role, "has_password": bool(user.password_hash),
        # Only the masked number is held readable; the rest is a keyed digest nobody can read back.
        "personnummer": user.personnummer_masked, "personnummer_proved_at": _when(user.personnummer_verified_at),
        "created_at": _when(user.created_at),
    }


def _sticker(sticker: Sticker) -> dict:
    return {"code": sticker.code, "label": sticker.label, "category": sticker.category, "status": sticker.status,
            "lost_mode": sticker.lost_mode, "scan_alerts": sticker.scan_alerts, "reward_text": sticker.reward_text,
            "public_note": sticker.public_note, "activated_at": _when(sticker.activated_at),
            "last_scan_alert_at": _when(sticker.last_scan_alert_at)}


def _sticker_sets(session: Session, user: User, owned: list[Sticker]) -> list[dict]:
    sets = _rows(session, StickerSet, StickerSet.owner_id == user.id)
    return [{"claimed_at": _when(sticker_set.claimed_at),
             "stickers": [sticker.code for sticker in owned if sticker.set_id == sticker_set.id]} for sticker_set in sets]


def _conversations(session: Session, owned: list[Sticker]) -> list[dict]:
    codes = {sticker.id: sticker.code for sticker in owned}
    found = _rows(session, Conversation, Conversation.sticker_id.in_(list(codes)), Conversation.status.in_(_OWNER_VISIBLE),
                  order=Conversation.created_at)
    messages: dict[int, list[Message]] = {}
    for message in _rows(session, Message, Message.conversation_id.in_([c.id for c in found]),
                         order=Message.created_at):
        messages.setdefault(message.conversation_id, []).append(message)
    return [{
        "sticker": codes[conversation.sticker_id], "status": conversation.status,
        "started_at": _when(conversation.created_at), "last_activity_at": _when(conversation.updated_at),
        # The finder's own words about the place; never their address or coordinates.
        "found_where": conversation.found_where,
        "finder_shared_an_approximate_location": conversation.latitude is not None,
        "finder_left_an_email_address": bool(conversation.finder_email),
        "help_requested_at": _when(conversation.help_requested_at),
        "messages": [{"from": message.sender, "written_at": _when(message.created_at), "read_at": _when(message.read_at),
                      "text": message.body} for message in messages.get(conversation.id, [])],
    } for conversation in found]


def _handed_in(session: Session, owned: list[Sticker]) -> list[dict]:
    codes = {sticker.id: sticker.code for sticker in owned}
    rows = session.exec(select(HandedInItem, Desk).join(Desk, HandedInItem.desk_id == Desk.id)
                        .where(HandedInItem.sticker_id.in_(list(codes))).order_by(HandedInItem.created_at))
    return [{
        "sticker": codes[item.sticker_id], "reference": item.reference, "desk": desk.name, "desk_address": desk.address,
        "category": item.category, "description": item.description, "storage_place": item.storage_place,
        "status": item.status, "handed_in_at": _when(item.created_at), "seen_at": _when(item.owner_seen_at),
        "collected_at": _when(item.collected_at),
        # The finder's details only as the owner may see them: when the finder agreed.
        "finder_name": item.finder_name if item.finder_shares_contact else None,
        "finder_contact": item.finder_contact if item.finder_shares_contact else None,
        "has_photo": session.get(HandedInPhoto, item.id) is not None,
    } for item, desk in rows]


def _directory_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {entry_id for entry_id in ids if entry_id is not None}
    if not wanted:
        return {}
    return dict(session.exec(select(DirectoryEntry.id, DirectoryEntry.name).where(DirectoryEntry.id.in_(wanted))).all())


def _cards(session: Session, user: User) -> list[dict]:
    cards = _rows(session, Card, Card.owner_id == user.id)
    issuers = _directory_names(session, {card.issuer_id for card in cards})
    return [{"holder_name": card.holder_name, "issuer": issuers.get(card.issuer_id), "card_type": card.card_type,
             "last_four": card.last_four, "added_at": _when(card.created_at), "changed_at": _when(card.updated_at)}
            for card in cards]


def _phones(session: Session, user: User) -> list[dict]:
    phones = _rows(session, MobileDevice, MobileDevice.owner_id == user.id)
    operators = _directory_names(session, {phone.operator_id for phone in phones})
    return [{"owner_name": phone.owner_name, "phone": phone.phone, "operator": operators.get(phone.operator_id),
             "imei": phone.imei, "owner_personnummer": phone.owner_personnummer_masked,
             "added_at": _when(phone.created_at), "changed_at": _when(phone.updated_at)} for phone in phones]


def _blocking_cases(session: Session, user: User) -> list[dict]:
    cases = _rows(session, BlockingCase, BlockingCase.owner_id == user.id)
    case_ids = [case.id for case in cases]
    items = _rows(session, BlockingItem, BlockingItem.case_id.in_(case_ids))
    events = _rows(session, BlockingEvent, BlockingEvent.case_id.in_(case_ids), order=BlockingEvent.at)
    return [{
        "lost": case.lost, "status": case.status, "opened_at": _when(case.created_at),
        "help_requested_at": _when(case.help_requested_at), "closed_at": _when(case.closed_at),
        "items": [{"item": item.label, "provider": item.provider, "blocking_phone": item.blocking_phone,
                   "web": item.web, "blocked_at": _when(item.blocked_at), "blocked_by": item.blocked_by}
                  for item in items if item.case_id == case.id],
        "events": [{"at": _when(event.at), "by": event.actor_role, "action": event.action, "item": event.item_label}
                   for event in events if event.case_id == case.id],
    } for case in cases]


def _alerts_of(user: User):
    """Alerts about the customer: theirs, and unmatched ones for the personnummer they proved."""
    if user.personnummer_digest and user.personnummer_verified_at:
        return or_(IdProtectAlert.user_id == user.id, IdProtectAlert.personnummer_digest == user.personnummer_digest)
    return IdProtectAlert.user_id == user.id


def _alerts(session: Session, user: User) -> list[dict]:
    return [{"bureau": alert.bureau, "requester": alert.requester, "requested_at": _when(alert.requested_at),
             "personnummer": alert.personnummer_masked, "received_at": _when(alert.received_at),
             "seen_at": _when(alert.seen_at), "your_answer": alert.verdict, "answered_at": _when(alert.verdict_at),
             "help_requested_at": _when(alert.help_requested_at), "helped_at": _when(alert.help_done_at)}
            for alert in _rows(session, IdProtectAlert, _alerts_of(user), order=IdProtectAlert.requested_at)]


def _fire_contact(contact: FireContact) -> dict:
    return {"position": contact.position, "name": contact.name, "phone": contact.phone,
            "relation": contact.relation, "note": contact.note, "added_at": _when(contact.created_at)}


def _auth_token(row: AuthToken) -> dict:
    return {"purpose": row.purpose, "sent_at": _when(row.created_at), "expires_at": _when(row.expires_at),
            "used_at": _when(row.used_at), "new_email": row.new_email}


def _audit_entries(session: Session, user: User) -> list[AuditEntry]:
    # An id the database handed out again (SQLite reuses the highest id once its row is gone)
    # must not bring an erased customer's history into a newer account's: only entries since
    # this account was made are about it.
    return _rows(session, AuditEntry, AuditEntry.subject_id == user.id, AuditEntry.at >= user.created_at,
                 order=AuditEntry.at)


def _audit_entry(entry: AuditEntry) -> dict:
    return {"at": _when(entry.at), "action": entry.action, "by": entry.actor_role, "record": entry.object_type,
            "record_id": entry.object_id, "detail": entry.detail, "reason": entry.reason}


# --- erasure --------------------------------------------------------------------------------


@dataclass
class Erasure:
    """What an erasure removed (counts only), and what the mail spool must lose after the commit."""

    counts: dict[str, int] = field(default_factory=dict)
    email_message_ids: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Owned:
    """Ids of the rows that are the customer's, gathered once before anything is deleted."""

    stickers: list[int]
    conversations: list[int]
    messages: list[int]
    items: list[int]
    cases: list[int]
    alerts: list[int]


def erase(session: Session, user: User, *, actor: User | None = None, role: str | None = None) -> Erasure:
    """Erase `user` as the module docstring says; the caller commits, then calls
    `purge_mail_spool`. One audit entry (counts only) records that it happened."""
    owned = _owned(session, user)
    result = Erasure(addresses=[user.email, *_pending_addresses(session, user)])
    result.email_message_ids = _delete_mail(session, user, owned, result)
    _delete_conversations(session, owned, result)
    _handle_handed_in(session, owned, result)
    _detach_stickers(session, user, owned, result)
    _delete_linked(session, user, owned, result)
    audit.record(session, action="account.erased", target=user, subject_id=user.id, actor=actor, role=role,
                 detail={"removed": dict(sorted(result.counts.items()))})
    session.delete(user)
    session.flush()
    return result


def _owned(session: Session, user: User) -> _Owned:
    stickers = list(session.exec(select(Sticker.id).where(Sticker.owner_id == user.id)))
    conversations = list(session.exec(select(Conversation.id).where(Conversation.sticker_id.in_(stickers))))
    return _Owned(
        stickers=stickers, conversations=conversations,
        messages=list(session.exec(select(Message.id).where(Message.conversation_id.in_(conversations)))),
        items=list(session.exec(select(HandedInItem.id).where(HandedInItem.sticker_id.in_(stickers)))),
        cases=list(session.exec(select(BlockingCase.id).where(BlockingCase.owner_id == user.id))),
        alerts=list(session.exec(select(IdProtectAlert.id).where(_alerts_of(user)))),
    )


def _pending_addresses(session: Session, user: User) -> list[str]:
    """Addresses the customer asked to move to: mail may have gone there."""
    return [address for address in session.exec(select(AuthToken.new_email).where(
        AuthToken.user_id == user.id, AuthToken.new_email.is_not(None)))]


def _count(result: Erasure, kind: str, outcome) -> None:
    rows = outcome if isinstance(outcome, int) else (outcome.rowcount or 0)
    if rows:
        result.counts[kind] = result.counts.get(kind, 0) + rows


def _delete_mail(session: Session, user: User, owned: _Owned, result: Erasure) -> list[str]:
    """Delete every outbox row whose payload names the customer or one of their records."""
    payload = OutboxMessage.payload
    references = [payload["user_id"].as_integer() == user.id]
    for key, ids in (("conversation_id", owned.conversations), ("message_id", owned.messages),
                     ("sticker_id", owned.stickers), ("item_id", owned.items), ("case_id", owned.cases),
                     ("alert_id", owned.alerts)):
        if ids:
            references.append(payload[key].as_integer().in_(ids))
    rows = list(session.exec(select(OutboxMessage.id, OutboxMessage.email_message_id).where(or_(*references))))
    if rows:
        _count(result, "emails", session.exec(delete(OutboxMessage).where(OutboxMessage.id.in_([r[0] for r in rows]))))
    return [message_id for _, message_id in rows]


def _delete_conversations(session: Session, owned: _Owned, result: Erasure) -> None:
    if not owned.conversations:
        return
    session.exec(delete(RelayLink).where(RelayLink.conversation_id.in_(owned.conversations)))
    _count(result, "messages", session.exec(delete(Message).where(Message.conversation_id.in_(owned.conversations))))
    _count(result, "conversations", session.exec(delete(Conversation).where(Conversation.id.in_(owned.conversations))))


def _handle_handed_in(session: Session, owned: _Owned, result: Erasure) -> None:
    """Collected items go; waiting ones stay on the desk's list, anonymised."""
    if not owned.items:
        return
    _count(result, "photos", session.exec(delete(HandedInPhoto).where(HandedInPhoto.item_id.in_(owned.items))))
    mine = HandedInItem.id.in_(owned.items)
    _count(result, "handed_in_items", session.exec(
        delete(HandedInItem).where(mine, HandedInItem.status != HandedInStatus.WAITING.value)))
    _count(result, "handed_in_items_anonymised", session.exec(
        update(HandedInItem).where(mine).values(sticker_id=None, description="", finder_name=None, finder_contact=None,
                                                finder_shares_contact=False, owner_seen_at=None, collected_by=None)))


def _detach_stickers(session: Session, user: User, owned: _Owned, result: Erasure) -> None:
    if owned.stickers:
        _count(result, "stickers", session.exec(
            update(Sticker).where(Sticker.id.in_(owned.stickers)).values(
                owner_id=None, status=StickerStatus.DEACTIVATED.value, label="", category=ItemCategory.OTHER.value,
                lost_mode=False,
                scan_alerts=True, reward_text=None, public_note=None, last_scan_alert_at=None, activated_at=None)))
    session.exec(update(StickerSet).where(StickerSet.owner_id == user.id).values(owner_id=None, claimed_at=None))


def _delete_linked(session: Session, user: User, owned: _Owned, result: Erasure) -> None:
    if owned.cases:
        session.exec(delete(BlockingItem).where(BlockingItem.case_id.in_(owned.cases)))
        session.exec(delete(BlockingEvent).where(BlockingEvent.case_id.in_(owned.cases)))
        _count(result, "blocking_cases", session.exec(delete(BlockingCase).where(BlockingCase.id.in_(owned.cases))))
    if owned.alerts:
        _count(result, "idprotect_alerts", session.exec(delete(IdProtectAlert).where(IdProtectAlert.id.in_(owned.alerts))))
    for kind, model, column in (("cards", Card, Card.owner_id), ("phones", MobileDevice, MobileDevice.owner_id),
                                ("fire_contacts", FireContact, FireContact.owner_id),
                                ("customer_service_notes", CustomerNote, CustomerNote.customer_id),
                                ("sessions", LoginSession, LoginSession.user_id),
                                ("emailed_links", AuthToken, AuthToken.user_id)):
        _count(result, kind, session.exec(delete(model).where(column == user.id)))


def purge_mail_spool(directory: str | Path | None, erasure: Erasure) -> int:
    """Delete the .eml copies (the file transport's) of the erased customer's mail: those of
    their outbox rows, and any other written to one of their addresses. Returns how many."""
    spool = Path(directory) if directory else None
    if spool is None or not spool.is_dir():
        return 0
    names = {message_id.strip("<>").replace("@", "_at_").replace("/", "_") + ".eml"
             for message_id in erasure.email_message_ids}
    addresses = {address.lower() for address in erasure.addresses if address}
    removed = 0
    for path in spool.glob("*.eml"):
        if path.name in names or _addressed_to(path, addresses):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _addressed_to(path: Path, addresses: set[str]) -> bool:
    try:
        email = message_from_bytes(path.read_bytes(), policy=policy.default)
    except OSError:
        return False
    recipients = " ".join(str(email.get(header, "")) for header in ("To", "Cc", "Bcc")).lower()
    return any(address in recipients for address in addresses)
