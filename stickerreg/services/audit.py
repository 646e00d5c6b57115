"""The audit log: a line for every change to a customer's sensitive records, written in the
same transaction as the change, so the log and the records never disagree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import Session, SQLModel, select

from stickerreg.models import AuditEntry, User, utcnow

# Staff looking at the same customer for the same reason again within this long (a page
# reloaded, a case worked step by step) is one look on the log, not one per page view.
VIEW_WINDOW = timedelta(minutes=30)


def record(session: Session, *, action: str, target: SQLModel | type[SQLModel], subject_id: int | None,
           actor: User | None = None, role: str | None = None, detail: dict | None = None,
           reason: str | None = None) -> AuditEntry:
    """Write who (`actor`, in `role`; the system or an API client when None) did `action` to
    `target` (a row, or a table as a whole), a record of customer `subject_id`, and why
    (`reason`, a fixed key). `detail` names what changed, never values that are personal data."""
    whole_table = isinstance(target, type)
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_role=role or (actor.role if actor else "system"),
        subject_id=subject_id,
        action=action,
        object_type=target.__tablename__,
        object_id=None if whole_table else getattr(target, "public_id", None),
        detail=detail or {},
        reason=reason,
    )
    session.add(entry)
    return entry


def record_views(session: Session, customers: Iterable[User], *, staff: User, reason: str) -> list[AuditEntry]:
    """Put a member of staff's look at these customers' personal data on the log: a
    "customer.viewed" entry per customer with `reason` (a fixed key, never free text), unless
    the same look is already there from the last VIEW_WINDOW. Returns the entries written."""
    shown = {customer.id: customer for customer in customers if customer is not None and customer.id is not None}
    if not shown:
        return []
    logged = set(session.exec(
        select(AuditEntry.subject_id).where(
            AuditEntry.actor_id == staff.id, AuditEntry.action == "customer.viewed", AuditEntry.reason == reason,
            AuditEntry.subject_id.in_(shown), AuditEntry.at >= utcnow() - VIEW_WINDOW)
    ))
    written = []
    for customer_id in sorted(shown.keys() - logged):
        written.append(record(session, action="customer.viewed", target=shown[customer_id], subject_id=customer_id,
                              actor=staff, reason=reason))
    return written


def apply_changes(session: Session, target: SQLModel, columns: dict, *, action: str, subject_id: int,
                  actor: User) -> None:
    """Set `columns` on `target` and record `action` naming the fields that changed (never their
    values). The column names must come from an allowlist model, never from raw input."""
    before = {name: getattr(target, name) for name in columns}
    for name, value in columns.items():
        setattr(target, name, value)
    if hasattr(target, "updated_at"):
        target.updated_at = utcnow()
    session.add(target)
    record(session, action=action, target=target, subject_id=subject_id, actor=actor,
           detail={"fields": changed_fields(before, columns)})


def changed_fields(before: dict, after: dict) -> list[str]:
    """The names of the fields whose values differ: what an update entry records."""
    return sorted(name for name in after if before.get(name) != after[name])


def search(session: Session, *, subject_id: int | None = None, action: str | None = None,
           limit: int = 200) -> list[AuditEntry]:
    """The newest entries first, about one customer and/or of one kind of action."""
    statement = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if subject_id is not None:
        statement = statement.where(AuditEntry.subject_id == subject_id)
    if action:
        statement = statement.where(AuditEntry.action.startswith(action, autoescape=True))
    return list(session.exec(statement))
