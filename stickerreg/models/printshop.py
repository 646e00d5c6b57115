"""The print shop: batches, their history and export jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class BatchStatus(StrEnum):
    DRAFT = "draft"
    MINTED = "minted"
    EXPORTED = "exported"
    PRINTED = "printed"
    SHIPPED = "shipped"
    VOIDED = "voided"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Batch(SQLModel, table=True):
    """A print run: `count` stickers in sets of `set_size`, laid out for one label stock,
    their words and backing cards printed in `language` (sv or en)."""

    __tablename__ = "batches"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    product: str = Field(max_length=80)
    count: int
    set_size: int
    layout: str = Field(max_length=40)
    language: str = Field(default="sv", max_length=8)
    status: str = Field(default=BatchStatus.DRAFT.value, max_length=16)
    reprint_of_id: int | None = Field(default=None, foreign_key="batches.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class BatchEvent(SQLModel, table=True):
    """One change of a batch's state: who and when."""

    __tablename__ = "batch_events"

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batches.id", index=True, ondelete="CASCADE")
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    note: str | None = Field(default=None, max_length=200)
    at: datetime = created_at_field()


class ExportJob(SQLModel, table=True):
    """A background export of a batch (pdf, cards, csv, svg) with its progress, written by a
    worker (`flask worker`) that the web only queues it for."""

    __tablename__ = "export_jobs"

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(max_length=24, unique=True, index=True)
    batch_id: int = Field(foreign_key="batches.id", index=True, ondelete="CASCADE")
    format: str = Field(max_length=8)
    status: str = Field(default=JobStatus.QUEUED.value, max_length=16, index=True)
    done: int = 0
    total: int = 0
    path: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The worker writing the file holds a lease it renews with every progress write; a job
    # whose lease ran out (its worker died, the server restarted) is taken up again, from the
    # start, until it has been started MAX_EXPORT_ATTEMPTS times.
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
