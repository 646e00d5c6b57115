"""The audit log: a line for every change to a customer's sensitive records, written in the
same transaction as the change, so the log and the records never disagree."""

from __future__ import annotations

from sqlmodel import Session, SQLModel

from stickerreg.models import AuditEntry, User


def record(session: Session, *, action: str, target: SQLModel, subject_id: int | None, actor: User | None = None,
           role: str | None = None, detail: dict | None = None) -> AuditEntry:
    """Write who (`actor`, in `role`; the system or an API client when None) did `action` to
    `target`, a record of customer `subject_id`. `detail` names what changed, never values
    that are personal data."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_role=role or (actor.role if actor else "system"),
        subject_id=subject_id,
        action=action,
        object_type=type(target).__tablename__,
        object_id=getattr(target, "public_id", None),
        detail=detail or {},
    )
    session.add(entry)
    return entry


def changed_fields(before: dict, after: dict) -> list[str]:
    """The names of the fields whose values differ: what an update entry records."""
    return sorted(name for name in after if before.get(name) != after[name])
