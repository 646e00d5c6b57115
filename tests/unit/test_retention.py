"""Retention: each kind is deleted once it is past its period and kept until then, a second
either side of each boundary; nothing else is touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from stickerreg import config, tokens
from stickerreg.models import (
    AuthToken,
    Conversation,
    ConversationStatus,
    DeskCreate,
    HandedInItemCreate,
    HandedInPhoto,
    HandedInStatus,
    IdProtectAlert,
    Lead,
    LeadImport,
    LoginSession,
    Message,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    RelayLink,
    StickerStatus,
    TokenPurpose,
)
from stickerreg.services import accounts, desks, finder, handed_in, outbox, retention
from stickerreg.services.relay import FinderDetails

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
# Distinct periods, so a kind that used another's period would be caught.
PERIODS = retention.Periods(
    closed_conversations=timedelta(days=90), scans=timedelta(days=30), sent_emails=timedelta(days=20),
    unmatched_idprotect=timedelta(days=60), handed_in_photos=timedelta(days=14), leads=timedelta(days=45),
    session_idle=timedelta(days=7), session_longest=timedelta(days=30),
)


def run(session) -> dict[str, int]:
    removed = retention.run(session, now=NOW, periods=PERIODS)
    session.commit()
    session.expire_all()
    return removed


def only(removed: dict[str, int], **expected: int) -> None:
    assert removed == {kind: expected.get(kind, 0) for kind in retention.KINDS}


def test_the_periods_come_from_the_settings_and_the_environment(monkeypatch):
    monkeypatch.setenv("RETENTION_SCAN_DAYS", "7")
    periods = retention.Periods.from_config(config.from_env())
    assert periods.scans == timedelta(days=7)
    assert periods.closed_conversations == timedelta(days=config.RETENTION_DEFAULTS["RETENTION_CLOSED_CONVERSATION_DAYS"])
    assert periods.session_idle == timedelta(hours=7 * 24)


def conversation(session, sticker, *, status: ConversationStatus, last_activity: datetime) -> Conversation:
    found, _ = finder.report_found(session, code=sticker.code, message="Hittade nycklarna",
                                   details=FinderDetails(email="finn@example.org"))
    found.status, found.updated_at = status.value, last_activity
    session.add(found)
    session.commit()
    return found


def test_finished_conversations_go_after_their_period_with_messages_links_and_mail(session, sticker_factory):
    boundary = NOW - PERIODS.closed_conversations
    active, deactivated = sticker_factory(), sticker_factory(status=StickerStatus.DEACTIVATED)
    unclaimed = sticker_factory(activated=False)
    gone = [conversation(session, active, status=status, last_activity=boundary - SECOND)
            for status in (ConversationStatus.CLOSED, ConversationStatus.BLOCKED, ConversationStatus.UNDELIVERABLE)]
    gone.append(conversation(session, deactivated, status=ConversationStatus.HELD, last_activity=boundary - SECOND))
    kept = [conversation(session, active, status=ConversationStatus.CLOSED, last_activity=boundary + SECOND),
            conversation(session, active, status=ConversationStatus.OPEN, last_activity=boundary - timedelta(days=400)),
            conversation(session, unclaimed, status=ConversationStatus.HELD, last_activity=boundary - SECOND)]
    gone_ids = [c.id for c in gone]
    only(run(session), closed_conversations=4)
    assert sorted(c.id for c in session.exec(select(Conversation))) == sorted(c.id for c in kept)
    for model, column in ((Message, Message.conversation_id), (RelayLink, RelayLink.conversation_id)):
        assert session.exec(select(model).where(column.in_(gone_ids))).all() == []
    receipts = [row.payload["conversation_id"] for row in session.exec(select(OutboxMessage))]
    assert not set(receipts) & set(gone_ids) and set(receipts) >= {c.id for c in kept}


def test_sessions_end_after_their_idle_or_longest_time(session, user_factory):
    user = user_factory()
    rows = {
        "idle too long": (NOW - timedelta(days=2), NOW - PERIODS.session_idle - SECOND),
        "too old": (NOW - PERIODS.session_longest - SECOND, NOW - timedelta(hours=1)),
        "idle, not too long": (NOW - timedelta(days=2), NOW - PERIODS.session_idle + SECOND),
        "old, not too old": (NOW - PERIODS.session_longest + SECOND, NOW - timedelta(hours=1)),
    }
    for name, (created, seen) in rows.items():
        session.add(LoginSession(user_id=user.id, token_hash=tokens.hash_token(name), created_at=created,
                                 last_seen_at=seen))
    session.commit()
    only(run(session), expired_sessions=2)
    left = {row.token_hash for row in session.exec(select(LoginSession))}
    assert left == {tokens.hash_token("idle, not too long"), tokens.hash_token("old, not too old")}


def test_used_and_expired_links_go_and_live_ones_stay(session, user_factory):
    user = user_factory()
    for name, expires, used in (("used", NOW + timedelta(hours=1), NOW - timedelta(minutes=5)),
                                ("expired", NOW - SECOND, None), ("live", NOW + SECOND, None)):
        session.add(AuthToken(user_id=user.id, purpose=TokenPurpose.RESET_PASSWORD.value,
                              token_hash=tokens.hash_token(name), expires_at=expires, used_at=used))
    session.commit()
    only(run(session), used_or_expired_links=2)
    assert [row.token_hash for row in session.exec(select(AuthToken))] == [tokens.hash_token("live")]


def mail(session, kind: OutboxKind, *, status: OutboxStatus, created: datetime) -> OutboxMessage:
    row = outbox.enqueue(session, kind=kind, payload={"sticker_id": 1, "scanned_at": created.isoformat()})
    row.status, row.created_at = status.value, created
    session.add(row)
    session.commit()
    return row


def test_scan_records_go_after_their_period(session, sticker_factory):
    boundary = NOW - PERIODS.scans
    old = mail(session, OutboxKind.SCAN_ALERT, status=OutboxStatus.SENT, created=boundary - SECOND)
    recent = mail(session, OutboxKind.SCAN_ALERT, status=OutboxStatus.SENT, created=boundary + SECOND)
    unsent = mail(session, OutboxKind.SCAN_ALERT, status=OutboxStatus.PENDING, created=boundary - SECOND)
    long_ago, lately = sticker_factory(lost_mode=True), sticker_factory(lost_mode=True)
    long_ago.last_scan_alert_at, lately.last_scan_alert_at = boundary - SECOND, boundary + SECOND
    session.add_all([long_ago, lately])
    session.commit()
    only(run(session), scan_alerts=1)
    assert {row.id for row in session.exec(select(OutboxMessage))} == {recent.id, unsent.id}
    assert old.id not in {row.id for row in session.exec(select(OutboxMessage))}
    assert session.get(type(long_ago), long_ago.id).last_scan_alert_at is None
    assert session.get(type(lately), lately.id).last_scan_alert_at == boundary + SECOND


def test_sent_emails_go_after_their_period_and_undelivered_ones_stay(session):
    boundary = NOW - PERIODS.sent_emails
    kept = [mail(session, OutboxKind.VERIFY_EMAIL, status=OutboxStatus.SENT, created=boundary + SECOND),
            mail(session, OutboxKind.VERIFY_EMAIL, status=OutboxStatus.PENDING, created=boundary - SECOND),
            mail(session, OutboxKind.VERIFY_EMAIL, status=OutboxStatus.DEAD, created=boundary - SECOND),
            mail(session, OutboxKind.SCAN_ALERT, status=OutboxStatus.SENT, created=boundary - SECOND)]  # its own period
    for status in (OutboxStatus.SENT, OutboxStatus.CANCELLED):
        mail(session, OutboxKind.FINDER_MESSAGE, status=status, created=boundary - SECOND)
    only(run(session), sent_emails=2)
    assert {row.id for row in session.exec(select(OutboxMessage))} == {row.id for row in kept}


def test_leads_go_after_the_lead_retention_period(session):
    days = PERIODS.leads  # the run's own period, not the environment's
    lead_import = LeadImport(public_id=tokens.new_public_id(), partner="Adressbolaget")
    session.add(lead_import)
    session.flush()
    for name, created in (("Old Olsson", NOW - days - SECOND), ("New Nilsson", NOW - days + SECOND)):
        session.add(Lead(import_id=lead_import.id, name=name, phone="+46701234567", source_partner="Adressbolaget",
                         created_at=created))
    session.commit()
    only(run(session), finished_leads=1)
    assert [lead.name for lead in session.exec(select(Lead))] == ["New Nilsson"]
    assert session.get(LeadImport, lead_import.id) is not None  # the import's report stays


def alert(session, name: str, *, received: datetime, user_id: int | None) -> IdProtectAlert:
    row = IdProtectAlert(public_id=tokens.new_public_id(), external_id=name, bureau="UC", requester="Bank AB",
                         requested_at=received, personnummer_digest="d" * 64, personnummer_masked="19811218-****",
                         user_id=user_id, received_at=received)
    session.add(row)
    session.commit()
    return row


def test_unmatched_credit_inquiries_go_after_their_period(session, user_factory):
    boundary = NOW - PERIODS.unmatched_idprotect
    customer = user_factory()
    alert(session, "old", received=boundary - SECOND, user_id=None)
    kept = [alert(session, "recent", received=boundary + SECOND, user_id=None),
            alert(session, "a customer's", received=boundary - timedelta(days=500), user_id=customer.id)]
    only(run(session), unmatched_idprotect_events=1)
    assert {row.id for row in session.exec(select(IdProtectAlert))} == {row.id for row in kept}


@pytest.fixture
def kiosk(session):
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
    device, _ = desks.start_pairing(session, desk=desk, name="Counter")
    session.commit()
    return device


def test_photos_of_collected_items_go_after_their_period(session, kiosk):
    boundary = NOW - PERIODS.handed_in_photos
    items = {}
    for name, status, collected in (("collected long ago", HandedInStatus.COLLECTED, boundary - SECOND),
                                    ("collected lately", HandedInStatus.COLLECTED, boundary + SECOND),
                                    ("waiting", HandedInStatus.WAITING, None)):
        item = handed_in.hand_in(session, device=kiosk, sticker_code=None, photo=b"\xff\xd8 jpeg", key=b"k",
                                 details=HandedInItemCreate(category="keys", description=name, storage_place="B3"))
        item.status, item.collected_at, item.created_at = status.value, collected, boundary - timedelta(days=100)
        session.add(item)
        items[name] = item
    session.commit()
    only(run(session), handed_in_photos=1)
    assert session.get(HandedInPhoto, items["collected long ago"].id) is None
    assert session.get(HandedInPhoto, items["collected lately"].id) is not None
    assert session.get(HandedInPhoto, items["waiting"].id) is not None


def test_a_run_on_fresh_data_removes_nothing(session, sticker_factory, user_factory):
    user = user_factory()
    accounts.start_session(session, user)
    accounts.issue_token(session, user, TokenPurpose.VERIFY_EMAIL)
    conversation(session, sticker_factory(), status=ConversationStatus.CLOSED, last_activity=NOW)
    session.commit()
    only(run(session))
