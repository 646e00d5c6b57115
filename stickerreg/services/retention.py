"""Retention: what `flask retention run` deletes once it is no longer needed.

Each kind has its period in the settings (stickerreg.config.RETENTION_DEFAULTS, overridable by
the environment) and the privacy page shows them. A run is one transaction; run it daily (a
timer or cron). Scans are not stored as rows of their own: a scan that alerted the owner is a
sent scan-alert email in the outbox and the sticker's time of its last alert, and both go.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, delete, select, update

from stickerreg.models import (
    AuthToken,
    Conversation,
    ConversationStatus,
    HandedInItem,
    HandedInPhoto,
    HandedInStatus,
    IdProtectAlert,
    LoginSession,
    Message,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    RelayLink,
    Sticker,
    StickerStatus,
)
from stickerreg.services import registers

# Conversations that will never change again: returned, blocked, for a code nobody owns.
_FINISHED = (ConversationStatus.CLOSED.value, ConversationStatus.BLOCKED.value, ConversationStatus.UNDELIVERABLE.value)
# Stickers that can never be claimed again: messages held for them are never delivered.
_NEVER_CLAIMED = (StickerStatus.DEACTIVATED.value, StickerStatus.VOIDED.value)
_DONE_MAIL = (OutboxStatus.SENT.value, OutboxStatus.CANCELLED.value)


@dataclass(frozen=True)
class Periods:
    """How long each kind is kept."""

    closed_conversations: timedelta
    scans: timedelta
    sent_emails: timedelta
    unmatched_idprotect: timedelta
    handed_in_photos: timedelta
    leads: timedelta
    session_idle: timedelta
    session_longest: timedelta

    @classmethod
    def from_config(cls, config: Mapping) -> Periods:
        """The periods an app's settings (or config.from_env()) give."""
        days = {name: timedelta(days=config[key]) for name, key in (
            ("closed_conversations", "RETENTION_CLOSED_CONVERSATION_DAYS"), ("scans", "RETENTION_SCAN_DAYS"),
            ("sent_emails", "RETENTION_SENT_EMAIL_DAYS"), ("unmatched_idprotect", "RETENTION_UNMATCHED_IDPROTECT_DAYS"),
            ("handed_in_photos", "RETENTION_HANDED_IN_PHOTO_DAYS"), ("leads", "LEAD_RETENTION_DAYS"))}
        return cls(**days, session_idle=timedelta(hours=config["SESSION_IDLE_HOURS"]),
                   session_longest=timedelta(hours=config["SESSION_LONGEST_HOURS"]))


# The kinds a run reports, in the order it prints them.
KINDS = ("closed_conversations", "expired_sessions", "used_or_expired_links", "scan_alerts", "sent_emails",
         "finished_leads", "unmatched_idprotect_events", "handed_in_photos")


def run(session: Session, *, now: datetime, periods: Periods) -> dict[str, int]:
    """Delete what is past its time; returns how many of each kind went. The caller commits."""
    removed = {
        "closed_conversations": _conversations(session, now - periods.closed_conversations),
        "expired_sessions": _rowcount(session.exec(delete(LoginSession).where(or_(
            LoginSession.last_seen_at < now - periods.session_idle,
            LoginSession.created_at < now - periods.session_longest)))),
        "used_or_expired_links": _rowcount(session.exec(delete(AuthToken).where(or_(
            AuthToken.used_at.is_not(None), AuthToken.expires_at <= now)))),
        "scan_alerts": _scans(session, now - periods.scans),
        "sent_emails": _rowcount(session.exec(delete(OutboxMessage).where(
            OutboxMessage.kind != OutboxKind.SCAN_ALERT.value, OutboxMessage.status.in_(_DONE_MAIL),
            OutboxMessage.created_at < now - periods.sent_emails))),
        "finished_leads": registers.delete_expired_leads(session, now, days=periods.leads.days),
        "unmatched_idprotect_events": _rowcount(session.exec(delete(IdProtectAlert).where(
            IdProtectAlert.user_id.is_(None), IdProtectAlert.received_at < now - periods.unmatched_idprotect))),
        "handed_in_photos": _photos(session, now - periods.handed_in_photos),
    }
    session.flush()
    return removed


def _rowcount(result) -> int:
    return result.rowcount or 0


def _conversations(session: Session, before: datetime) -> int:
    """Finished conversations (and ones held for a sticker that can't be claimed any more)
    whose last message is older than `before`, with their messages, links and pending mail."""
    never_delivered = select(Sticker.id).where(Sticker.status.in_(_NEVER_CLAIMED))
    ids = list(session.exec(select(Conversation.id).where(
        Conversation.updated_at < before,
        or_(Conversation.status.in_(_FINISHED),
            and_(Conversation.status == ConversationStatus.HELD.value, Conversation.sticker_id.in_(never_delivered))))))
    if not ids:
        return 0
    session.exec(delete(OutboxMessage).where(OutboxMessage.payload["conversation_id"].as_integer().in_(ids)))
    session.exec(delete(RelayLink).where(RelayLink.conversation_id.in_(ids)))
    session.exec(delete(Message).where(Message.conversation_id.in_(ids)))
    return _rowcount(session.exec(delete(Conversation).where(Conversation.id.in_(ids))))


def _scans(session: Session, before: datetime) -> int:
    """Scan alerts sent (or cancelled) before `before`, and stickers' last alert times as old."""
    removed = _rowcount(session.exec(delete(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.SCAN_ALERT.value, OutboxMessage.status.in_(_DONE_MAIL),
        OutboxMessage.created_at < before)))
    session.exec(update(Sticker).where(Sticker.last_scan_alert_at < before).values(last_scan_alert_at=None))
    return removed


def _photos(session: Session, before: datetime) -> int:
    """Photos of items no longer waiting (collected), collected before `before`."""
    finished = select(HandedInItem.id).where(
        HandedInItem.status != HandedInStatus.WAITING.value,
        func.coalesce(HandedInItem.collected_at, HandedInItem.created_at) < before)
    return _rowcount(session.exec(delete(HandedInPhoto).where(HandedInPhoto.item_id.in_(finished))))
