"""Print files of a batch, made by export jobs: sticker sheets (PDF), backing cards (PDF),
the CSV manifest and a zip of SVG QR codes. The web queues a job; the worker (`flask
worker`) claims it with a lease and writes it, committing its progress as it goes and
renewing the lease with each progress write. A job whose lease ran out (its worker died, the
server restarted) is taken up again from the start, at most MAX_EXPORT_ATTEMPTS times.
`flask batch export` creates its job already claimed and writes it in the foreground."""

from __future__ import annotations

import csv
import logging
import os
import secrets
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, select, update

from stickerreg import codes, qr, tokens
from stickerreg.db import count_by, session_scope
from stickerreg.models import Batch, BatchStatus, ExportJob, JobStatus, Sticker, StickerSet, StickerStatus, User, utcnow
from stickerreg.printing import images, layouts, pdf
from stickerreg.services import stickers
from stickerreg.services.printshop import CardsPurged, ExportRefused, PrintshopError, batches
from stickerreg.services.worker import new_worker_id
from stickerreg.text import csv_cell

log = logging.getLogger(__name__)

# Export format → file extension (cards are a PDF too; the SVGs come zipped).
FORMATS: dict[str, str] = {"pdf": "pdf", "cards": "pdf", "csv": "csv", "svg": "zip"}
CSV_COLUMNS = ("batch", "product", "set", "position", "code", "display_code", "url")
PROGRESS_INTERVAL = 0.5  # seconds between progress writes: the bar moves, the database rests
# A worker's claim on a job, renewed with every progress write: one whose worker is gone is
# taken up again this long after its last sign of life.
EXPORT_LEASE = timedelta(minutes=2)
MAX_EXPORT_ATTEMPTS = 3  # starts before a job that keeps getting cut off is marked failed

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Label:
    """One sticker to print: where it sits in the batch and what its QR code says."""

    set_number: int
    position: int
    code: str
    url: str


@dataclass(frozen=True)
class Card:
    """One set's backing card: its number, the activation code and the stickers' codes."""

    set_number: int
    activation_code: str  # as printed, e.g. ABCDE-FGHJK
    codes: tuple[str, ...]



# --- what an export contains ------------------------------------------------------------


def _batch_stickers(session: Session, batch: Batch) -> Iterable[tuple[int, int, str, str]]:
    """(set number, position in set, code, status) of every sticker, in minting order."""
    statement = (
        select(StickerSet.id, Sticker.code, Sticker.status)
        .join(Sticker, Sticker.set_id == StickerSet.id)
        .where(StickerSet.batch_id == batch.id)
        .order_by(StickerSet.id, Sticker.id)
    )
    numbers = {set_id: n for n, set_id in enumerate(batches.set_ids(session, batch), start=1)}
    positions: dict[int, int] = {}
    for set_id, code, status in session.exec(statement):
        positions[set_id] = positions.get(set_id, 0) + 1
        yield numbers[set_id], positions[set_id], code, status


def labels(session: Session, batch: Batch, *, base_url: str) -> list[Label]:
    """Every sticker to print, in set order; voided ones are left out (never print them
    again) but keep their positions, so the numbering matches the first print."""
    return [
        Label(number, position, code, qr.sticker_url(base_url, code))
        for number, position, code, status in _batch_stickers(session, batch)
        if status != StickerStatus.VOIDED
    ]


def cards(session: Session, batch: Batch) -> list[Card]:
    """The backing cards: one per set with a sticker left to claim. Refused once the
    plain activation codes are gone (the batch was printed)."""
    if BatchStatus(batch.status) in batches.PURGED:
        raise CardsPurged(f"batch {batch.public_id} is {batch.status}: its activation codes were deleted")
    by_set: dict[int, list[str]] = {}
    for number, _position, code, status in _batch_stickers(session, batch):
        if status != StickerStatus.VOIDED:
            by_set.setdefault(number, []).append(code)
    plains = session.exec(select(StickerSet.activation_plain).where(StickerSet.batch_id == batch.id).order_by(StickerSet.id))
    result = []
    for number, plain in enumerate(plains, start=1):
        if number not in by_set:
            continue
        if plain is None:
            raise CardsPurged(f"batch {batch.public_id}: activation codes were deleted")
        result.append(Card(number, stickers.display_activation(plain), tuple(by_set[number])))
    return result


def write_csv(path: Path, batch: Batch, items: Sequence[Label], progress: Callable[[int], None]) -> None:
    """The manifest: one row per sticker, no activation codes (UTF-8 with BOM for Excel)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for done, item in enumerate(items, start=1):
            row = (batch.public_id, batch.product, item.set_number, item.position, item.code,
                   codes.display(item.code), item.url)
            writer.writerow([csv_cell(value) for value in row])
            progress(done)


def write_svg_zip(path: Path, items: Sequence[Label], size: str, progress: Callable[[int], None]) -> None:
    """One `<display code>.svg` per sticker, written into the zip one at a time."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, item in enumerate(items, start=1):
            archive.writestr(f"{codes.display(item.code)}.svg", images.qr_svg(item.url, size=size))
            progress(done)


def svg_size(layout: layouts.StickerLayout, sample_url: str | None) -> str:
    """The SVG's side as printed on this stock: the layout's symbol plus its quiet zone
    (the SVG includes the quiet zone; the layout measures the symbol alone)."""
    if sample_url is None:
        return f"{layout.qr.width:g}mm"
    modules = len(qr.matrix_rows(sample_url))
    return f"{layout.qr.width * (modules + 2 * qr.QUIET_ZONE) / modules:.2f}mm"



# --- export jobs ----------------------------------------------------------------------


def check_exportable(session: Session, batch: Batch, fmt: str) -> None:
    """Raise ExportRefused unless `fmt` can be exported from the batch as it is now."""
    if fmt not in FORMATS:
        raise ExportRefused(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}", format=fmt)
    if BatchStatus(batch.status) not in batches.EXPORTABLE:
        raise ExportRefused(f"batch {batch.public_id} is {batch.status}: there is nothing to print", status=batch.status)
    if fmt == "cards" and BatchStatus(batch.status) in batches.PURGED:
        raise CardsPurged(f"batch {batch.public_id} is {batch.status}: its activation codes were deleted, "
                          "so the cards can't be exported again")


def start_export(session: Session, batch: Batch, fmt: str, actor: User | None = None, *, worker: str | None = None,
                 now: datetime | None = None) -> ExportJob:
    """Queue an export of the batch for the worker. With `worker` (the CLI, which writes it
    at once with `run_export(..., worker=...)`), the job starts claimed by it, so no
    background worker takes it meanwhile."""
    check_exportable(session, batch, fmt)
    total = batches.set_count(session, batch) if fmt == "cards" else sum(
        n for status, n in batches.sticker_counts(session, batch).items() if status != StickerStatus.VOIDED
    )  # an estimate for the first look at the job; the worker sets the exact count
    job = ExportJob(public_id=tokens.new_public_id(), batch_id=batch.id, format=fmt, total=total,
                    created_by_id=actor.id if actor else None)
    if worker is not None:
        job.status, job.claimed_by, job.lease_until = JobStatus.RUNNING.value, worker, (now or utcnow()) + EXPORT_LEASE
    session.add(job)
    session.flush()
    return job


def _waiting(now: datetime):
    """Jobs a worker may take: queued, or running under a lease that ran out (a job left by a
    web thread before leases existed has none)."""
    expired = or_(ExportJob.lease_until.is_(None), ExportJob.lease_until < now)
    return or_(ExportJob.status == JobStatus.QUEUED, and_(ExportJob.status == JobStatus.RUNNING, expired))


def claim_next(session: Session, *, worker: str, now: datetime, lease: timedelta = EXPORT_LEASE) -> int | None:
    """Claim the oldest waiting job for `worker` (see `_waiting`); its id, or None. A job cut
    off MAX_EXPORT_ATTEMPTS times is marked failed instead. The caller commits. As with the
    outbox, the UPDATE checks again that the job is free, so two workers never both get it."""
    while True:
        picked = session.exec(
            select(ExportJob.id, ExportJob.attempts).where(_waiting(now)).order_by(ExportJob.id).limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if picked is None:
            return None
        job_id, attempts = picked
        free = (ExportJob.id == job_id, _waiting(now))
        if attempts >= MAX_EXPORT_ATTEMPTS:
            session.exec(update(ExportJob).where(*free).values(
                status=JobStatus.FAILED.value, finished_at=now, claimed_by=None, lease_until=None,
                error=f"the export was cut off {attempts} times (the worker stopped); export again"))
            continue
        taken = session.exec(update(ExportJob).where(*free).values(
            status=JobStatus.RUNNING.value, claimed_by=worker, lease_until=now + lease))
        if taken.rowcount == 1:
            return job_id


def run_next(engine: Engine, out_dir: Path | str, *, worker: str, base_url: str,
             now: Callable[[], datetime] = utcnow, lease: timedelta = EXPORT_LEASE) -> ExportJob | None:
    """The worker's pass: claim the next waiting job and write it; the job as it ended, or
    None when no job was waiting."""
    with session_scope(engine) as session:
        job_id = claim_next(session, worker=worker, now=now(), lease=lease)
        session.commit()
    if job_id is None:
        return None
    return run_export(engine, job_id, out_dir, base_url=base_url, worker=worker, now=now, lease=lease)


def export_dir(config: Mapping[str, object], instance_path: str | Path) -> Path:
    """Where export files live: the EXPORT_DIR setting, else `<instance>/exports`."""
    return Path(str(config.get("EXPORT_DIR") or Path(instance_path) / "exports"))


def find_job(session: Session, public_id: str) -> ExportJob | None:
    """The export job with this public id, or None."""
    if not tokens.is_public_id(public_id) or len(public_id) > 24:
        return None
    return session.exec(select(ExportJob).where(ExportJob.public_id == public_id)).first()


def jobs_of(session: Session, batch: Batch, *, limit: int = 20) -> list[ExportJob]:
    """The batch's most recent exports first."""
    statement = select(ExportJob).where(ExportJob.batch_id == batch.id).order_by(ExportJob.id.desc()).limit(limit)
    return list(session.exec(statement))


def job_counts(session: Session) -> dict[str, int]:
    """Export jobs per status, every status named (for monitoring); one query on the status index."""
    return count_by(session, ExportJob.status, JobStatus)


def export_filename(batch: Batch, job: ExportJob) -> str:
    """The name a downloaded export is saved under."""
    return f"stickerreg-{batch.public_id}-{job.format}.{FORMATS[job.format]}"


def downloadable(job: ExportJob, out_dir: Path) -> Path | None:
    """The finished export's file, when it is still there and inside `out_dir`."""
    if job.status != JobStatus.DONE or not job.path:
        return None
    path = Path(job.path).resolve()
    if not path.is_relative_to(Path(out_dir).resolve()) or not path.is_file():
        return None
    return path


def progress_percent(job: ExportJob) -> int:
    """How far the job is, 0 to 100."""
    if job.status == JobStatus.DONE:
        return 100
    return min(100, job.done * 100 // job.total) if job.total else 0


def run_export(
    engine: Engine, job_id: int, out_dir: Path | str, *, base_url: str, on_progress: ProgressCallback | None = None,
    workers: int = 1, crop_marks: bool = False, worker: str | None = None, now: Callable[[], datetime] = utcnow,
    lease: timedelta = EXPORT_LEASE,
) -> ExportJob | None:
    """Write a job's file to `out_dir/<public id>.<ext>`: a queued job, or the one `worker`
    has claimed. Commits its progress (renewing the claim) as it goes, and finishes it DONE or
    FAILED (with the reason). Never raises, so it can run in a thread; returns the job as it
    ended (None if it can't be read). A job held by another worker is left alone.
    `workers` > 1 lets the PDF engine fork processes: only from a CLI process, never a
    threaded web server. `crop_marks` adds cutting marks to the sticker PDF."""
    claim = _Claim(worker or new_worker_id(), now, lease)
    try:
        batch, job = _begin(engine, job_id, claim)
        if job is not None:
            options = {"workers": workers, "crop_marks": crop_marks}
            path = _write_export(engine, batch, job, Path(out_dir), base_url, on_progress, options, claim)
            _finish(engine, job_id, path, claim)
    except LeaseLost:
        log.warning("export job %s: the claim ran out and another worker has it", job_id)
    except PrintshopError as error:
        _fail(engine, job_id, str(error), claim)
    except Exception as error:  # a worker records every failure instead of dying with it
        log.exception("export job %s failed", job_id)
        _fail(engine, job_id, f"export failed: {type(error).__name__}", claim)
    try:
        with session_scope(engine) as session:
            return session.get(ExportJob, job_id)
    except Exception:  # the database went away (shutdown): nothing left to report
        log.exception("export job %s: could not read the final state", job_id)
        return None


class LeaseLost(Exception):
    """The job's claim ran out and another worker took it: stop writing, leave it to them."""


@dataclass(frozen=True)
class _Claim:
    """Who writes the job, on which clock, and for how long each renewal holds."""

    worker: str
    now: Callable[[], datetime]
    lease: timedelta

    def held(self):
        return (ExportJob.claimed_by == self.worker, ExportJob.status == JobStatus.RUNNING)

    def until(self) -> datetime:
        return self.now() + self.lease


def _begin(engine: Engine, job_id: int, claim: _Claim) -> tuple[Batch | None, ExportJob | None]:
    """Start the job: take it if queued, or go on with it if this worker claimed it; count
    the start. (None, None) when it is someone else's or finished."""
    with session_scope(engine) as session:
        ours = or_(ExportJob.status == JobStatus.QUEUED, and_(*claim.held()))
        taken = session.exec(
            update(ExportJob).where(ExportJob.id == job_id, ours)
            .values(status=JobStatus.RUNNING.value, claimed_by=claim.worker, lease_until=claim.until(),
                    attempts=ExportJob.attempts + 1, done=0)
        )
        session.commit()
        if taken.rowcount != 1:
            return None, None
        job = session.get(ExportJob, job_id)
        return session.get(Batch, job.batch_id), job


def _write_export(engine, batch: Batch, job: ExportJob, out_dir: Path, base_url: str, on_progress, options,
                  claim: _Claim) -> Path:
    """Write the file beside its final name, then move it there: never a half file to download
    (and a run of its own: a worker that lost the job never writes into another's file)."""
    with session_scope(engine) as session:
        batch = session.get(Batch, batch.id)  # fresh: it may have moved since the job was queued
        check_exportable(session, batch, job.format)
        items = cards(session, batch) if job.format == "cards" else labels(session, batch, base_url=base_url)
    progress = _Progress(engine, job.id, len(items), on_progress, claim)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{job.public_id}.{FORMATS[job.format]}"
    partial = out_dir / f".{job.public_id}.{secrets.token_hex(4)}.part"
    try:
        _WRITERS[job.format](partial, batch, items, progress, base_url, options)
        progress.flush()
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return final


def _write_pdf(path: Path, batch: Batch, items: Sequence[Label], progress, base_url: str, options: dict) -> None:
    with path.open("wb") as out:
        pdf.render_stickers(out, [(item.code, item.url) for item in items], batches.sticker_layout(batch.layout),
                            progress=progress, language=batch.language, **options)


def _write_cards(path: Path, batch: Batch, items: Sequence[Card], progress, base_url: str, options: dict) -> None:
    printable = [pdf.Card(codes=card.codes, activation_code=card.activation_code, base_url=base_url) for card in items]
    with path.open("wb") as out:
        pdf.render_cards(out, printable, progress=progress, language=batch.language)


def _write_csv(path: Path, batch: Batch, items: Sequence[Label], progress, base_url: str, options: dict) -> None:
    write_csv(path, batch, items, progress)


def _write_svg(path: Path, batch: Batch, items: Sequence[Label], progress, base_url: str, options: dict) -> None:
    write_svg_zip(path, items, svg_size(batches.sticker_layout(batch.layout), items[0].url if items else None), progress)


_WRITERS = {"pdf": _write_pdf, "cards": _write_cards, "csv": _write_csv, "svg": _write_svg}


class _Progress:
    """Counts written items and commits the count at most every PROGRESS_INTERVAL seconds,
    each in its own short transaction, so a reader sees the bar move; each write renews the
    claim, and finding it gone (LeaseLost) stops the writing."""

    def __init__(self, engine: Engine, job_id: int, total: int, on_progress: ProgressCallback | None, claim: _Claim):
        self.engine, self.job_id, self.total, self.on_progress, self.claim = engine, job_id, total, on_progress, claim
        self.done = 0
        self._saved_at = time.monotonic()
        self._saved = -1
        self._save(0)

    def __call__(self, done: int) -> None:
        self.done = done
        if self.on_progress:
            self.on_progress(done, self.total)
        if time.monotonic() - self._saved_at >= PROGRESS_INTERVAL:
            self._save(done)

    def flush(self) -> None:
        self._save(self.done)

    def _save(self, done: int) -> None:
        if done == self._saved:
            return
        with session_scope(self.engine) as session:
            saved = session.exec(update(ExportJob).where(ExportJob.id == self.job_id, *self.claim.held())
                                 .values(done=done, total=self.total, lease_until=self.claim.until()))
            session.commit()
        if saved.rowcount != 1:
            raise LeaseLost(self.job_id)
        self._saved, self._saved_at = done, time.monotonic()


def _finish(engine: Engine, job_id: int, path: Path, claim: _Claim) -> None:
    """Mark the job done, unless its batch was printed meanwhile and the file is cards."""
    with session_scope(engine) as session:
        job = session.get(ExportJob, job_id)
        batch = session.get(Batch, job.batch_id)
        if job.format == "cards" and BatchStatus(batch.status) in batches.PURGED:
            path.unlink(missing_ok=True)
            raise CardsPurged(f"batch {batch.public_id} was {batch.status} during the export; cards deleted")
        done = session.exec(update(ExportJob).where(ExportJob.id == job_id, *claim.held()).values(
            status=JobStatus.DONE.value, path=str(path), done=job.total, finished_at=claim.now(),
            claimed_by=None, lease_until=None))
        session.commit()
        if done.rowcount != 1:
            raise LeaseLost(job_id)


def _fail(engine: Engine, job_id: int, message: str, claim: _Claim) -> None:
    """Record the failure (if the job is still ours); if even that fails (database gone),
    log it and give up."""
    try:
        with session_scope(engine) as session:
            session.exec(update(ExportJob).where(ExportJob.id == job_id, *claim.held()).values(
                status=JobStatus.FAILED.value, error=message[:500], finished_at=claim.now(),
                claimed_by=None, lease_until=None))
            session.commit()
    except Exception:
        log.exception("export job %s failed and could not be marked failed", job_id)
