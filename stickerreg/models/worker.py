"""The background worker's own records: who is alive, and when each periodic job runs next."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from stickerreg.models.base import UTCDateTime, created_at_field


class WorkerHeartbeat(SQLModel, table=True):
    """One row per running worker (a `flask worker` process, or the thread in `flask serve`),
    touched every few seconds; /readyz tells from the newest whether a worker is alive."""

    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(primary_key=True, max_length=64)  # host:pid:random
    duties: str = Field(default="", max_length=100)  # what it runs: "outbox exports periodic"
    started_at: datetime = created_at_field()
    last_seen: datetime = created_at_field()


class PeriodicJob(SQLModel, table=True):
    """A job that runs every so often (retention, daily) on whichever worker claims it first:
    the claim is a lease, so it runs once however many workers there are."""

    __tablename__ = "periodic_jobs"

    name: str = Field(primary_key=True, max_length=40)
    next_run_at: datetime = created_at_field()
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
