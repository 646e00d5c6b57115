"""ID protection: credit-inquiry alerts. A credit bureau reports who asked for a credit report
on a person and when (never the report itself), through the API or a CSV import. Each event is
stored once (idempotent on the bureau's own event id), matched to the customer whose
personnummer BankID proved, and that customer is emailed; an unmatched event is kept for
admins, and the caller is told nothing about whether anyone matched."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from stickerreg import tokens
from stickerreg.models import IdProtectAlert, IdProtectEventIn, OutboxKind, User, Verdict, utcnow
from stickerreg.services import accounts, audit, outbox, ownership

CSV_COLUMNS = ("id", "bureau", "requester", "requested_at", "personnummer")


class IdProtectError(ValueError):
    """An event that can't be taken: invalid_personnummer (the message is safe to show)."""


def ingest(session: Session, event: IdProtectEventIn, *, key: bytes) -> tuple[IdProtectAlert, bool]:
    """Store the event as an alert, once: (the alert, True) when new, (the stored one, False)
    for an event id already seen. `key` keys the personnummer digest."""
    try:
        number = accounts.normalize_personnummer(event.personnummer)
    except accounts.AccountError:
        raise IdProtectError("invalid_personnummer") from None
    existing = _stored(session, event)
    if existing is not None:
        return existing, False
    customer = accounts.find_by_personnummer(session, number, key=key)
    alert = IdProtectAlert(
        public_id=tokens.new_public_id(), external_id=event.id, bureau=event.bureau, requester=event.requester,
        requested_at=event.requested_at,
        personnummer_digest=accounts.personnummer_digest(number, key=key),
        personnummer_masked=accounts.mask_personnummer(number), user_id=customer.id if customer else None,
    )
    try:
        with session.begin_nested():  # a second delivery racing this one: the first wins
            session.add(alert)
    except IntegrityError:
        return _stored(session, event), False
    audit.record(session, action="idprotect_alert.received", target=alert,
                 subject_id=alert.user_id, role="api", detail={"bureau": event.bureau, "matched": bool(customer)})
    if customer is not None:
        outbox.enqueue(session, kind=OutboxKind.IDPROTECT_ALERT, payload={"alert_id": alert.id})
    return alert, True


def _stored(session: Session, event: IdProtectEventIn) -> IdProtectAlert | None:
    return session.exec(select(IdProtectAlert).where(IdProtectAlert.bureau == event.bureau,
                                                     IdProtectAlert.external_id == event.id)).first()


@dataclass
class ImportResult:
    added: int = 0
    repeated: int = 0
    refused: list[str] = field(default_factory=list)  # "line 4: why", never the row's personnummer


def import_csv(session: Session, text: str, *, key: bytes) -> ImportResult:
    """Ingest a bureau's CSV export (columns id, bureau, requester, requested_at in ISO 8601,
    personnummer). Bad rows are listed by line and skipped; the others are stored."""
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise IdProtectError(f"the columns must be {','.join(CSV_COLUMNS)}")
    for row in reader:
        line = reader.line_num  # the file's line, past blank lines and quoted line breaks
        try:
            alert, created = ingest(session, IdProtectEventIn.model_validate(row), key=key)
        except ValidationError as error:
            result.refused.append(f"line {line}: " + ", ".join(str(problem["loc"][0]) for problem in error.errors()))
            continue
        except IdProtectError as error:
            result.refused.append(f"line {line}: {error}")
            continue
        if created:
            result.added += 1
        else:
            result.repeated += 1
    return result


def alerts_of(session: Session, user: User) -> list[IdProtectAlert]:
    """The customer's alerts, the latest inquiry first."""
    return list(session.exec(select(IdProtectAlert).where(IdProtectAlert.user_id == user.id)
                             .order_by(IdProtectAlert.requested_at.desc(), IdProtectAlert.id.desc())))


def unseen_count(session: Session, user: User) -> int:
    return session.exec(select(func.count(IdProtectAlert.id)).where(
        IdProtectAlert.user_id == user.id, IdProtectAlert.seen_at.is_(None))).one()


def mark_all_seen(session: Session, user: User) -> None:
    """The customer opened the alert list."""
    now = utcnow()
    for alert in session.exec(select(IdProtectAlert).where(IdProtectAlert.user_id == user.id,
                                                           IdProtectAlert.seen_at.is_(None))):
        alert.seen_at = now
        session.add(alert)


def set_verdict(session: Session, alert: IdProtectAlert, verdict: Verdict, *, actor: User,
                ask_for_help: bool = False) -> None:
    """The customer says whether they asked for that report themselves; with "not me" they
    may ask customer service to help (a case for them)."""
    alert.verdict, alert.verdict_at = Verdict(verdict).value, utcnow()
    if ask_for_help and verdict == Verdict.NOT_ME and alert.help_requested_at is None:
        alert.help_requested_at = utcnow()
    session.add(alert)
    audit.record(session, action=f"idprotect_alert.{alert.verdict}", target=alert, subject_id=alert.user_id,
                 actor=actor, detail={"help_requested": alert.help_requested_at is not None})


def help_requests(session: Session) -> list[IdProtectAlert]:
    """Alerts whose customer said "not me" and asked customer service for help, not yet
    helped; the longest waiting first."""
    return list(session.exec(select(IdProtectAlert).where(IdProtectAlert.help_requested_at.is_not(None),
                                                          IdProtectAlert.help_done_at.is_(None),
                                                          IdProtectAlert.user_id.is_not(None))
                             .order_by(IdProtectAlert.help_requested_at, IdProtectAlert.id)))


def find_alert(session: Session, public_id: str) -> IdProtectAlert | None:
    """Any customer's alert, for customer service (customers reach theirs through ownership)."""
    return ownership.by_public_id(session, IdProtectAlert, public_id)


def finish_help(session: Session, alert: IdProtectAlert, *, actor: User) -> None:
    """Customer service has helped the customer with this inquiry (called them, and so on)."""
    if alert.help_requested_at is None or alert.help_done_at is not None:
        return
    alert.help_done_at = utcnow()
    session.add(alert)
    audit.record(session, action="idprotect_alert.helped", target=alert, subject_id=alert.user_id, actor=actor)


def unmatched(session: Session, *, limit: int = 200) -> list[IdProtectAlert]:
    """Events no customer matched, newest first (for admins)."""
    return list(session.exec(select(IdProtectAlert).where(IdProtectAlert.user_id.is_(None))
                             .order_by(IdProtectAlert.received_at.desc()).limit(limit)))
