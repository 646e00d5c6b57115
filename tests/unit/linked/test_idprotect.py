"""ID protection: credit inquiries from a bureau, stored once per bureau event, matched only to
the customer whose personnummer BankID proved, and never showing the personnummer again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from helpers import everything_in
from sqlmodel import func, select

from stickerreg.emails import composer
from stickerreg.models import (
    AuditEntry,
    IdProtectAlert,
    IdProtectEventIn,
    OutboxKind,
    OutboxMessage,
    Verdict,
)
from stickerreg.services import accounts, ownership
from stickerreg.services.linked import idprotect
from stickerreg.services.linked.idprotect import IdProtectError

NUMBER = "198112189876"  # 19811218-9876
OTHER_NUMBER = "191212121212"
WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
HEADER = "id,bureau,requester,requested_at,personnummer"


def event(external_id: str = "uc-1", *, personnummer: str = "19811218-9876", bureau: str = "UC",
          requested_at: datetime = WHEN) -> IdProtectEventIn:
    return IdProtectEventIn(id=external_id, bureau=bureau, requester="Lånebolaget AB", requested_at=requested_at,
                            personnummer=personnummer)


def alert_emails(session) -> list[OutboxMessage]:
    return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.IDPROTECT_ALERT)))


def alert_count(session) -> int:
    return session.exec(select(func.count(IdProtectAlert.id))).one()


@pytest.fixture
def proved(session, user_factory, key):
    """A customer who proved 19811218-9876 with BankID."""
    user = user_factory(email="anna@example.se", locale="en")
    accounts.link_personnummer(session, user, NUMBER, key=key, verified=True)
    session.commit()
    return user


def ingest(session, key, **fields) -> tuple[IdProtectAlert, bool]:
    result = idprotect.ingest(session, event(**fields), key=key)
    session.commit()
    return result


# --- matching ------------------------------------------------------------------------------------


def test_an_inquiry_about_a_proved_personnummer_alerts_its_customer(session, key, proved):
    alert, created = ingest(session, key)
    assert created and alert.user_id == proved.id
    assert (alert.bureau, alert.external_id, alert.requester, alert.requested_at) == ("UC", "uc-1", "Lånebolaget AB",
                                                                                       WHEN)
    assert [row.payload for row in alert_emails(session)] == [{"alert_id": alert.id}]
    assert idprotect.alerts_of(session, proved) == [alert]


def test_a_typed_personnummer_that_was_never_proved_matches_nobody(session, key, user_factory):
    claimer = user_factory()
    accounts.link_personnummer(session, claimer, NUMBER, key=key)  # typed in the profile: only a claim
    alert, created = ingest(session, key)
    assert created and alert.user_id is None
    assert alert_emails(session) == [] and idprotect.alerts_of(session, claimer) == []


def test_an_unmatched_inquiry_is_kept_for_admins_with_only_a_digest_and_a_masked_number(
        session, key, proved, database_values):
    alert, created = ingest(session, key, personnummer="19121212-1212")
    assert created and alert.user_id is None
    assert alert.personnummer_digest == accounts.personnummer_digest(OTHER_NUMBER, key=key)
    assert alert.personnummer_masked == "19121212-****"
    assert alert_emails(session) == [] and idprotect.unmatched(session) == [alert]
    assert not [value for value in database_values() if "1212121212" in value]


def test_the_same_bureau_event_twice_is_stored_once(session, key, proved):
    first, _ = ingest(session, key)
    again, created = ingest(session, key)
    assert (again.id, created) == (first.id, False)
    assert alert_count(session) == 1 and len(alert_emails(session)) == 1


def test_the_same_event_id_from_another_bureau_is_another_event(session, key, proved):
    ingest(session, key, bureau="UC")
    _, created = ingest(session, key, bureau="Creditsafe")
    assert created and alert_count(session) == 2


@pytest.mark.parametrize("personnummer", ["19811218-9875", "20991231-0000", "abcdefghijkl", "1981121898760"])
def test_an_invalid_personnummer_is_refused(session, key, personnummer):
    with pytest.raises(IdProtectError, match="^invalid_personnummer$"):
        idprotect.ingest(session, event(personnummer=personnummer), key=key)
    assert alert_count(session) == 0


def test_a_time_without_a_zone_is_taken_as_utc(session, key):
    alert, _ = ingest(session, key, requested_at=datetime(2026, 3, 1, 9, 30))
    session.expire_all()
    assert session.get(IdProtectAlert, alert.id).requested_at == WHEN


def test_a_time_in_another_zone_is_kept_as_the_same_instant(session, key):
    alert, _ = ingest(session, key, requested_at=datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1))))
    session.expire_all()
    assert session.get(IdProtectAlert, alert.id).requested_at == WHEN


def test_receiving_an_alert_is_audited_without_the_personnummer(session, key, proved):
    alert, _ = ingest(session, key)
    entry = session.exec(select(AuditEntry).where(AuditEntry.object_id == alert.public_id)).one()
    assert (entry.action, entry.actor_role, entry.subject_id) == ("idprotect_alert.received", "api", proved.id)
    assert entry.detail == {"bureau": "UC", "matched": True}


# --- CSV import -------------------------------------------------------------------------------------


def test_a_csv_with_other_columns_is_refused(session, key):
    for header in ("id,bureau,requester,requested_at", "ID,Bureau,Requester,Requested_at,Personnummer",
                   "personnummer,id,bureau,requester,requested_at", ""):
        with pytest.raises(IdProtectError):
            idprotect.import_csv(session, f"{header}\nuc-1,UC,Bank,2026-03-01T09:30:00Z,19811218-9876\n", key=key)
    assert alert_count(session) == 0


def test_a_csv_import_adds_good_rows_counts_repeats_and_lists_bad_rows_by_line(session, key, proved):
    text = "\n".join([
        HEADER,
        "uc-1,UC,Lånebolaget AB,2026-03-01T09:30:00Z,19811218-9876",
        "uc-2,UC,Telebolaget AB,2026-03-02T09:30:00+01:00,191212121212",
        "uc-1,UC,Lånebolaget AB,2026-03-01T09:30:00Z,19811218-9876",
        "uc-3,UC,Bank,yesterday,19811218-9876",
        "uc-4,UC,Bank,2026-03-01T09:30:00Z,19811218-9875",
        "uc-5,,,2026-03-01T09:30:00Z,19811218-9876",
    ]) + "\n"
    result = idprotect.import_csv(session, text, key=key)
    assert (result.added, result.repeated) == (2, 1)
    assert result.refused == ["line 5: requested_at", "line 6: invalid_personnummer", "line 7: bureau, requester"]
    assert alert_count(session) == 2 and len(alert_emails(session)) == 1


def test_a_refused_csv_row_never_echoes_its_personnummer(session, key):
    text = f"{HEADER}\nuc-1,UC,Bank,not a time,19811218-9876\nuc-2,UC,Bank,2026-03-01T09:30:00Z,19811218-9875\n"
    refused = " ".join(idprotect.import_csv(session, text, key=key).refused)
    assert "9876" not in refused and "9875" not in refused and "19811218" not in refused


def test_a_bad_row_after_a_blank_line_is_reported_on_its_own_line(session, key):
    text = f"{HEADER}\nuc-1,UC,Bank,2026-03-01T09:30:00Z,19811218-9876\n\nuc-2,UC,Bank,not a time,19811218-9876\n"
    assert idprotect.import_csv(session, text, key=key).refused == ["line 4: requested_at"]


# --- the customer's view ------------------------------------------------------------------------------


def test_alerts_are_unseen_until_the_customer_opens_the_list(session, key, proved):
    ingest(session, key, external_id="uc-1")
    ingest(session, key, external_id="uc-2")
    ingest(session, key, external_id="uc-3", personnummer="19121212-1212")  # someone else's
    assert idprotect.unseen_count(session, proved) == 2
    idprotect.mark_all_seen(session, proved)
    session.commit()
    assert idprotect.unseen_count(session, proved) == 0
    assert all(alert.seen_at for alert in idprotect.alerts_of(session, proved))


def test_the_latest_inquiry_is_listed_first(session, key, proved):
    older, _ = ingest(session, key, external_id="uc-1", requested_at=WHEN)
    newer, _ = ingest(session, key, external_id="uc-2", requested_at=WHEN + timedelta(days=1))
    assert idprotect.alerts_of(session, proved) == [newer, older]


def test_it_was_me_needs_no_help(session, key, proved):
    alert, _ = ingest(session, key)
    idprotect.set_verdict(session, alert, Verdict.ME, actor=proved, ask_for_help=True)
    assert (alert.verdict, alert.help_requested_at) == ("me", None) and alert.verdict_at is not None


def test_not_me_can_ask_customer_service_for_help(session, key, proved):
    alert, _ = ingest(session, key)
    idprotect.set_verdict(session, alert, Verdict.NOT_ME, actor=proved, ask_for_help=True)
    session.commit()
    assert alert.verdict == "not_me" and alert.help_requested_at is not None
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "idprotect_alert.not_me")).one()
    assert (entry.actor_id, entry.subject_id, entry.detail) == (proved.id, proved.id, {"help_requested": True})


def test_not_me_without_asking_for_help_asks_nobody(session, key, proved):
    alert, _ = ingest(session, key)
    idprotect.set_verdict(session, alert, Verdict.NOT_ME, actor=proved)
    assert alert.verdict == "not_me" and alert.help_requested_at is None


def test_only_the_matched_customer_reaches_an_alert(session, key, proved, user_factory):
    alert, _ = ingest(session, key)
    unmatched, _ = ingest(session, key, external_id="uc-2", personnummer="19121212-1212")
    assert ownership.owned(session, IdProtectAlert, alert.public_id, proved).id == alert.id
    assert ownership.owned(session, IdProtectAlert, alert.public_id, user_factory()) is None
    assert ownership.owned(session, IdProtectAlert, unmatched.public_id, proved) is None


# --- the email -------------------------------------------------------------------------------------------


def test_the_alert_email_names_the_requester_and_never_the_personnummer(app, session, key, proved):
    ingest(session, key)
    [row] = alert_emails(session)
    email = composer(app)(session, row)
    text = everything_in(email)
    assert email["To"] == "anna@example.se" and "lånebolaget ab" in text and "uc" in text
    for shape in (NUMBER, "19811218-9876", "8112189876", "811218-9876", "19811218-****"):
        assert shape.lower() not in text
