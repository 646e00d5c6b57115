"""The audit log: every change to a customer's sensitive records, and who made it. Append-only:
rows are written, never changed or deleted (an admin search comes with customer service)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from stickerreg.models.base import created_at_field


class AuditEntry(SQLModel, table=True):
    """Who did what to whose record, and when. `detail` names what changed, never a value
    that is itself personal data (no card digits, numbers or IMEIs)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, index=True)  # a user id; None for the system or an API client
    actor_role: str = Field(max_length=20)  # customer, customer_service, admin, api, system
    subject_id: int | None = Field(default=None, index=True)  # the customer whose record it is
    action: str = Field(max_length=40)  # e.g. card.created, blocking_case.item_blocked
    object_type: str = Field(max_length=30)
    object_id: str | None = Field(default=None, max_length=24)  # a public id
    detail: dict = Field(default_factory=dict, sa_type=sa.JSON)
    # Why a member of staff opened a customer's personal data (asked for on sensitive views).
    reason: str | None = Field(default=None, max_length=200)
