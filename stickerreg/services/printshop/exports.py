"""Print files of a batch, made by export jobs: sticker sheets (PDF), backing cards (PDF),
the CSV manifest and a zip of SVG QR codes. A job is queued by the web or the CLI and
written by a worker that commits its progress as it goes."""

from __future__ import annotations

import csv
import logging
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select, update

from stickerreg import codes, qr, tokens
from stickerreg.db import session_scope
from stickerreg.models import Batch, BatchStatus, ExportJob, JobStatus, Sticker, StickerSet, StickerStatus, User, utcnow
from stickerreg.printing import images, layouts, pdf
from stickerreg.services import stickers
from stickerreg.services.printshop import CardsPurged, ExportRefused, PrintshopError, batches

log = logging.getLogger(__name__)

# Export format → file extension (cards are a PDF too; the SVGs come zipped).
FORMATS: dict[str, str] = {"pdf": "pdf", "cards": "pdf", "csv": "csv", "svg": "zip"}
CSV_COLUMNS = ("batch", "product", "set", "position", "code", "display_code", "url")
# Spreadsheets run cells starting with these as formulas ("CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_INTERVAL = 0.5  # seconds between progress writes: the bar moves, the database rests

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


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula starters get a leading apostrophe."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


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


def start_export(session: Session, batch: Batch, fmt: str, actor: User | None = None) -> ExportJob:
    """Queue an export of the batch; a worker (`run_export`) writes the file."""
    check_exportable(session, batch, fmt)
    total = batches.set_count(session, batch) if fmt == "cards" else sum(
        n for status, n in batches.sticker_counts(session, batch).items() if status != StickerStatus.VOIDED
    )  # an estimate for the first look at the job; the worker sets the exact count
    job = ExportJob(public_id=tokens.new_public_id(), batch_id=batch.id, format=fmt, total=total,
                    created_by_id=actor.id if actor else None)
    session.add(job)
    session.flush()
    return job


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
    workers: int = 1, crop_marks: bool = False,
) -> ExportJob | None:
    """The worker: write a queued job's file to `out_dir/<public id>.<ext>`, committing its
    progress as it goes, and finish it DONE or FAILED (with the reason). Never raises, so
    it can run in a thread; returns the job as it ended (None if it can't be read).
    `workers` > 1 lets the PDF engine fork processes: only from a CLI process, never a
    threaded web server. `crop_marks` adds cutting marks to the sticker PDF."""
    try:
        batch, job = _begin(engine, job_id)
        if job is not None:
            options = {"workers": workers, "crop_marks": crop_marks}
            path = _write_export(engine, batch, job, Path(out_dir), base_url, on_progress, options)
            _finish(engine, job_id, path)
    except PrintshopError as error:
        _fail(engine, job_id, str(error))
    except Exception as error:  # a worker records every failure instead of dying with it
        log.exception("export job %s failed", job_id)
        _fail(engine, job_id, f"export failed: {type(error).__name__}")
    try:
        with session_scope(engine) as session:
            return session.get(ExportJob, job_id)
    except Exception:  # the database went away (shutdown): nothing left to report
        log.exception("export job %s: could not read the final state", job_id)
        return None


def _begin(engine: Engine, job_id: int) -> tuple[Batch | None, ExportJob | None]:
    """Take a queued job (once: a second worker gets None) and mark it running."""
    with session_scope(engine) as session:
        taken = session.exec(
            update(ExportJob).where(ExportJob.id == job_id, ExportJob.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING.value)
        )
        session.commit()
        if taken.rowcount != 1:
            return None, None
        job = session.get(ExportJob, job_id)
        return session.get(Batch, job.batch_id), job


def _write_export(engine, batch: Batch, job: ExportJob, out_dir: Path, base_url: str, on_progress, options) -> Path:
    """Write the file beside its final name, then move it there: never a half file to download."""
    with session_scope(engine) as session:
        batch = session.get(Batch, batch.id)  # fresh: it may have moved since the job was queued
        check_exportable(session, batch, job.format)
        items = cards(session, batch) if job.format == "cards" else labels(session, batch, base_url=base_url)
    progress = _Progress(engine, job.id, len(items), on_progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{job.public_id}.{FORMATS[job.format]}"
    partial = out_dir / f".{job.public_id}.part"
    try:
        _WRITERS[job.format](partial, batch, items, progress, base_url, options)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    progress.flush()
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
    each in its own short transaction, so a reader sees the bar move."""

    def __init__(self, engine: Engine, job_id: int, total: int, on_progress: ProgressCallback | None):
        self.engine, self.job_id, self.total, self.on_progress = engine, job_id, total, on_progress
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
            session.exec(update(ExportJob).where(ExportJob.id == self.job_id).values(done=done, total=self.total))
            session.commit()
        self._saved, self._saved_at = done, time.monotonic()


def _finish(engine: Engine, job_id: int, path: Path) -> None:
    """Mark the job done, unless its batch was printed meanwhile and the file is cards."""
    with session_scope(engine) as session:
        job = session.get(ExportJob, job_id)
        batch = session.get(Batch, job.batch_id)
        if job.format == "cards" and BatchStatus(batch.status) in batches.PURGED:
            path.unlink(missing_ok=True)
            raise CardsPurged(f"batch {batch.public_id} was {batch.status} during the export; cards deleted")
        job.status, job.path, job.done, job.finished_at = JobStatus.DONE.value, str(path), job.total, utcnow()
        session.add(job)
        session.commit()


def _fail(engine: Engine, job_id: int, message: str) -> None:
    """Record the failure; if even that fails (database gone), log it and give up."""
    try:
        with session_scope(engine) as session:
            job = session.get(ExportJob, job_id)
            if job is None:
                return
            job.status, job.error, job.finished_at = JobStatus.FAILED.value, message[:500], utcnow()
            session.add(job)
            session.commit()
    except Exception:
        log.exception("export job %s failed and could not be marked failed", job_id)

