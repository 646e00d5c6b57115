"""The print shop: batches of sticker sets from draft to shipped, misprints and their
reprints, and exports (sticker sheets, backing cards, CSV manifest, SVG zip) run as jobs.

A batch moves draft → minted → exported → printed → shipped, and may be voided from any
state but shipped; every move is a BatchEvent with its actor and time. Activation codes
are kept in plain text (`StickerSet.activation_plain`) only until the batch is printed:
the backing cards are the one place they are printed, and after that only hashes remain.

Like every service this module takes a Session and never commits; the export worker
(`run_export`) is the exception, since it works through its own short transactions.
"""

from __future__ import annotations

import csv
import logging
import os
import secrets
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import ceil
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, insert, or_, select, update

from stickerreg import codes, layouts, pdf, qr, tokens
from stickerreg.db import session_scope
from stickerreg.models import (
    Batch,
    BatchEvent,
    BatchStatus,
    ExportJob,
    JobStatus,
    Sticker,
    StickerSet,
    StickerStatus,
    User,
    utcnow,
)
from stickerreg.services import stickers

log = logging.getLogger(__name__)

MAX_COUNT = 20_000
MAX_SET_SIZE = 24
PRODUCT_MAX = 80
# Export format → file extension (cards are a PDF too; the SVGs come zipped).
FORMATS: dict[str, str] = {"pdf": "pdf", "cards": "pdf", "csv": "csv", "svg": "zip"}
CSV_COLUMNS = ("batch", "product", "set", "position", "code", "display_code", "url")
# Spreadsheets run cells starting with these as formulas ("CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_INTERVAL = 0.5  # seconds between progress writes: the bar moves, the database rests

# The forward path; voiding is allowed from every state in it but the last.
NEXT_STATUS: dict[BatchStatus, BatchStatus] = {
    BatchStatus.DRAFT: BatchStatus.MINTED,
    BatchStatus.MINTED: BatchStatus.EXPORTED,
    BatchStatus.EXPORTED: BatchStatus.PRINTED,
    BatchStatus.PRINTED: BatchStatus.SHIPPED,
}
VOIDABLE = frozenset(NEXT_STATUS)
# States in which single stickers or sets can be marked as misprints.
REPRINTABLE = frozenset({BatchStatus.MINTED, BatchStatus.EXPORTED, BatchStatus.PRINTED})
EXPORTABLE = frozenset({BatchStatus.MINTED, BatchStatus.EXPORTED, BatchStatus.PRINTED, BatchStatus.SHIPPED})
PURGED = frozenset({BatchStatus.PRINTED, BatchStatus.SHIPPED, BatchStatus.VOIDED})

ProgressCallback = Callable[[int, int], None]


class PrintingError(ValueError):
    """A print-shop request that can't be carried out. `code` names the reason (the web
    translates it), the message is plain English for operators and logs."""

    code = "printing_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.details = details


class UnknownLayout(PrintingError):
    code = "unknown_layout"


class IllegalTransition(PrintingError):
    code = "illegal_transition"


class ExportRefused(PrintingError):
    code = "export_refused"


class CardsPurged(ExportRefused):
    code = "cards_purged"


class VoidRefused(PrintingError):
    code = "void_refused"


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


# --- layouts (the PDF engine's label stocks) ----------------------------------------


def layout_names() -> list[str]:
    """The names of the sticker stocks a batch can be laid out for."""
    return sorted(layouts.bundled().stickers)


def _layout(name: str) -> layouts.StickerLayout:
    found = layouts.bundled().stickers.get(name)
    if found is None:
        raise UnknownLayout(f"unknown layout {name!r}; choose one of {', '.join(layout_names())}", layout=name)
    return found


# --- batches --------------------------------------------------------------------------


def new_public_id() -> str:
    """A batch's public id: 12 Crockford symbols, easy to read out and to type in a shell."""
    return "".join(secrets.choice(codes.ALPHABET) for _ in range(12))


def create_batch(
    session: Session, *, count: int, set_size: int, layout: str, product: str,
    actor: User | None = None, reprint_of: Batch | None = None,
) -> Batch:
    """A new batch in draft: `count` stickers in sets of `set_size` on the `layout` stock."""
    if not 1 <= count <= MAX_COUNT:
        raise PrintingError(f"a batch holds 1 to {MAX_COUNT} stickers", field="count")
    if not 1 <= set_size <= MAX_SET_SIZE:
        raise PrintingError(f"a set holds 1 to {MAX_SET_SIZE} stickers", field="set_size")
    product = product.strip()
    if not product or len(product) > PRODUCT_MAX:
        raise PrintingError(f"the product text is 1 to {PRODUCT_MAX} characters", field="product")
    _layout(layout)
    batch = Batch(
        public_id=new_public_id(), product=product, count=count, set_size=set_size, layout=layout,
        reprint_of_id=reprint_of.id if reprint_of else None, created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    _record(session, batch, None, BatchStatus.DRAFT, actor, note=f"reprint of {reprint_of.public_id}" if reprint_of else None)
    return batch


def mint_batch(session: Session, batch: Batch, *, actor: User | None = None) -> Batch:
    """Mint a draft batch: ceil(count / set_size) sets, each with its activation code."""
    _require_move(batch, BatchStatus.MINTED)
    full, rest = divmod(batch.count, batch.set_size)
    sizes = [batch.set_size] * full + ([rest] if rest else [])
    _mint_sets(session, batch, sizes)
    return _move(session, batch, BatchStatus.MINTED, actor)


def create_and_mint(
    session: Session, *, count: int, set_size: int, layout: str, product: str, actor: User | None = None
) -> Batch:
    """What an operator means by "a new batch": created and minted at once."""
    batch = create_batch(session, count=count, set_size=set_size, layout=layout, product=product, actor=actor)
    return mint_batch(session, batch, actor=actor)


def _mint_sets(session: Session, batch: Batch, sizes: Sequence[int]) -> None:
    """Bulk-insert one set per size and its stickers (a few statements, not one per row)."""
    plains = [stickers.new_activation_code() for _ in sizes]
    set_rows = [
        StickerSet(batch_id=batch.id, activation_hash=tokens.hash_token(plain), activation_plain=plain)
        .model_dump(exclude={"id"})
        for plain in plains
    ]
    statement = insert(StickerSet).returning(StickerSet.id, sort_by_parameter_order=True)
    set_ids = list(session.exec(statement, params=set_rows).scalars())
    fresh = iter(stickers.unused_codes(session, sum(sizes)))
    sticker_rows = [
        Sticker(code=next(fresh), set_id=set_id).model_dump(exclude={"id"})
        for set_id, size in zip(set_ids, sizes, strict=True)
        for _ in range(size)
    ]
    session.exec(insert(Sticker), params=sticker_rows)


def find_batch(session: Session, public_id: str) -> Batch | None:
    """The batch with this public id (typed in any case, with stray spaces), or None."""
    cleaned = (public_id or "").strip().upper()[:24]
    if not tokens.is_public_id(cleaned):
        return None
    return session.exec(select(Batch).where(Batch.public_id == cleaned)).first()


def list_batches(session: Session, *, limit: int = 200) -> list[Batch]:
    """The newest batches first."""
    return list(session.exec(select(Batch).order_by(Batch.id.desc()).limit(limit)))


def reprints_of(session: Session, batch: Batch) -> list[Batch]:
    """Batches made to replace this batch's misprints."""
    return list(session.exec(select(Batch).where(Batch.reprint_of_id == batch.id).order_by(Batch.id)))


# --- the state machine ----------------------------------------------------------------


def next_status(batch: Batch) -> BatchStatus | None:
    """Where the batch goes next on the forward path (None when shipped or voided)."""
    return NEXT_STATUS.get(BatchStatus(batch.status))


def can_move(batch: Batch, to: BatchStatus) -> bool:
    """True when `to` is the next step, or a void of a batch not yet shipped."""
    current = BatchStatus(batch.status)
    return NEXT_STATUS.get(current) == to or (to == BatchStatus.VOIDED and current in VOIDABLE)


def _require_move(batch: Batch, to: BatchStatus) -> None:
    if not can_move(batch, to):
        raise IllegalTransition(
            f"batch {batch.public_id} is {batch.status} and can't become {to.value}",
            from_status=batch.status, to_status=to.value,
        )


def mark(session: Session, batch: Batch, to: BatchStatus | str, *, actor: User | None = None) -> Batch:
    """Move the batch one step (exported, printed, shipped) or void it. Printing purges the
    plain activation codes; voiding also voids every unclaimed sticker of the batch."""
    to = BatchStatus(to)
    if to == BatchStatus.MINTED:
        return mint_batch(session, batch, actor=actor)
    _require_move(batch, to)
    if to in PURGED:
        _purge_activation_codes(session, batch)
    if to == BatchStatus.VOIDED:
        session.exec(
            update(Sticker)
            .where(Sticker.set_id.in_(select(StickerSet.id).where(StickerSet.batch_id == batch.id)))
            .where(Sticker.status == StickerStatus.UNCLAIMED)
            .values(status=StickerStatus.VOIDED.value)
        )
    return _move(session, batch, to, actor)


def _move(session: Session, batch: Batch, to: BatchStatus, actor: User | None, note: str | None = None) -> Batch:
    _require_move(batch, to)
    _record(session, batch, batch.status, to, actor, note)
    batch.status = to.value
    session.add(batch)
    session.flush()
    return batch


def _record(session: Session, batch: Batch, from_status: str | None, to: str, actor: User | None, note: str | None) -> None:
    session.add(BatchEvent(batch_id=batch.id, from_status=from_status, to_status=str(to),
                           actor_id=actor.id if actor else None, note=note[:200] if note else None))


def _purge_activation_codes(session: Session, batch: Batch) -> None:
    """Forget the plain activation codes, and delete card exports that printed them."""
    session.exec(update(StickerSet).where(StickerSet.batch_id == batch.id).values(activation_plain=None))
    card_jobs = session.exec(select(ExportJob).where(ExportJob.batch_id == batch.id, ExportJob.format == "cards"))
    for job in card_jobs:
        _delete_file(job.path)
        job.path = None
        session.add(job)


def _delete_file(path: str | None) -> None:
    if path:
        Path(path).unlink(missing_ok=True)


def events(session: Session, batch: Batch) -> list[tuple[BatchEvent, str | None]]:
    """The batch's history, oldest first, with each actor's email (None for the CLI)."""
    statement = (
        select(BatchEvent, User.email)
        .join(User, User.id == BatchEvent.actor_id, isouter=True)
        .where(BatchEvent.batch_id == batch.id)
        .order_by(BatchEvent.id)
    )
    return [(event, email) for event, email in session.exec(statement)]


def set_count(session: Session, batch: Batch) -> int:
    """How many sets the batch was minted as."""
    return session.exec(select(func.count()).select_from(StickerSet).where(StickerSet.batch_id == batch.id)).one()


def sticker_counts(session: Session, batch: Batch) -> dict[str, int]:
    """The batch's stickers by status (only statuses that occur)."""
    statement = (
        select(Sticker.status, func.count())
        .join(StickerSet, StickerSet.id == Sticker.set_id)
        .where(StickerSet.batch_id == batch.id)
        .group_by(Sticker.status)
    )
    return {status: count for status, count in session.exec(statement)}


# --- misprints and reprints ---------------------------------------------------------


def void(
    session: Session, batch: Batch, *, sticker_codes: Iterable[str] = (), set_numbers: Iterable[int] = (),
    actor: User | None = None,
) -> Batch:
    """Mark misprinted stickers (by code) and whole sets (by number in the batch) void, and
    mint a reprint batch of just those: for each set touched, one new set holding as many
    stickers as were voided from it, with a fresh activation code. Returns the reprint."""
    if BatchStatus(batch.status) not in REPRINTABLE:
        raise VoidRefused(f"batch {batch.public_id} is {batch.status}: nothing in it can be voided",
                          reason="state", status=batch.status)
    targets = _void_targets(session, batch, list(sticker_codes), list(set_numbers))
    voided = session.exec(
        update(Sticker)
        .where(Sticker.id.in_([s.id for s in targets]), Sticker.status == StickerStatus.UNCLAIMED)
        .values(status=StickerStatus.VOIDED.value)
    )
    if voided.rowcount != len(targets):  # claimed meanwhile: the caller rolls back
        raise VoidRefused("some of these stickers were claimed meanwhile; nothing was voided", reason="taken", codes=[])
    sizes: dict[int, int] = {}
    for sticker in targets:
        sizes[sticker.set_id] = sizes.get(sticker.set_id, 0) + 1
    reprint = create_batch(session, count=len(targets), set_size=batch.set_size, layout=batch.layout,
                           product=batch.product, actor=actor, reprint_of=batch)
    _mint_sets(session, reprint, [sizes[set_id] for set_id in sorted(sizes)])
    _move(session, reprint, BatchStatus.MINTED, actor)
    _forget_dead_sets(session, batch)
    note = f"voided {len(targets)} misprinted stickers; reprint {reprint.public_id}"
    _record(session, batch, batch.status, batch.status, actor, note)
    return reprint


def _void_targets(session: Session, batch: Batch, typed_codes: list[str], set_numbers: list[int]) -> list[Sticker]:
    """The unclaimed stickers named by code or by set number, each once, in minting order."""
    if not typed_codes and not set_numbers:
        raise VoidRefused("name the misprinted stickers by code or by set number", reason="nothing_named")
    set_ids = _set_ids(session, batch)
    bad_numbers = [n for n in set_numbers if not 1 <= n <= len(set_ids)]
    if bad_numbers:
        raise VoidRefused(f"batch {batch.public_id} has sets 1 to {len(set_ids)}, not {bad_numbers[0]}",
                          reason="set_number", sets=len(set_ids))
    wanted_sets = [set_ids[n - 1] for n in set_numbers]
    wanted_codes = {raw: codes.normalize(raw) for raw in typed_codes}
    statement = (
        select(Sticker).join(StickerSet, StickerSet.id == Sticker.set_id)
        .where(StickerSet.batch_id == batch.id)
        .where(or_(Sticker.set_id.in_(wanted_sets), Sticker.code.in_([c for c in wanted_codes.values() if c])))
        .order_by(Sticker.id)
    )
    named = list(session.exec(statement))
    found = {s.code for s in named}
    missing = [raw for raw, code in wanted_codes.items() if code not in found]
    if missing:
        raise VoidRefused(f"not stickers of batch {batch.public_id}: {', '.join(m[:20] for m in missing[:10])}",
                          reason="unknown_codes", codes=missing)
    taken = [s for s in named if s.status != StickerStatus.UNCLAIMED]
    if taken:
        raise VoidRefused(f"already void or claimed: {', '.join(codes.display(s.code) for s in taken[:10])}",
                          reason="taken", codes=[codes.display(s.code) for s in taken])
    return named


def _set_ids(session: Session, batch: Batch) -> list[int]:
    """The batch's set ids in minting order: set number n is the n-th of these."""
    return list(session.exec(select(StickerSet.id).where(StickerSet.batch_id == batch.id).order_by(StickerSet.id)))


def _forget_dead_sets(session: Session, batch: Batch) -> None:
    """A set with no sticker left to claim needs no activation code, plain or printed."""
    alive = select(Sticker.set_id).where(Sticker.status != StickerStatus.VOIDED, Sticker.set_id.is_not(None))
    session.exec(
        update(StickerSet)
        .where(StickerSet.batch_id == batch.id, StickerSet.id.not_in(alive))
        .values(activation_plain=None)
    )


# --- what an export contains ------------------------------------------------------------


def _batch_stickers(session: Session, batch: Batch) -> Iterable[tuple[int, int, str, str]]:
    """(set number, position in set, code, status) of every sticker, in minting order."""
    statement = (
        select(StickerSet.id, Sticker.code, Sticker.status)
        .join(Sticker, Sticker.set_id == StickerSet.id)
        .where(StickerSet.batch_id == batch.id)
        .order_by(StickerSet.id, Sticker.id)
    )
    numbers = {set_id: n for n, set_id in enumerate(_set_ids(session, batch), start=1)}
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
    if BatchStatus(batch.status) in PURGED:
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
            archive.writestr(f"{codes.display(item.code)}.svg", qr.svg(item.url, size=size))
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
    if BatchStatus(batch.status) not in EXPORTABLE:
        raise ExportRefused(f"batch {batch.public_id} is {batch.status}: there is nothing to print", status=batch.status)
    if fmt == "cards" and BatchStatus(batch.status) in PURGED:
        raise CardsPurged(f"batch {batch.public_id} is {batch.status}: its activation codes were deleted, "
                          "so the cards can't be exported again")


def start_export(session: Session, batch: Batch, fmt: str, actor: User | None = None) -> ExportJob:
    """Queue an export of the batch; a worker (`run_export`) writes the file."""
    check_exportable(session, batch, fmt)
    total = set_count(session, batch) if fmt == "cards" else sum(
        n for status, n in sticker_counts(session, batch).items() if status != StickerStatus.VOIDED
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


def total_sets(count: int, set_size: int) -> int:
    """How many sets `count` stickers make in sets of `set_size`."""
    return ceil(count / set_size)


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
    except PrintingError as error:
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
        pdf.render_stickers(out, [(item.code, item.url) for item in items], _layout(batch.layout),
                            progress=progress, **options)


def _write_cards(path: Path, batch: Batch, items: Sequence[Card], progress, base_url: str, options: dict) -> None:
    printable = [pdf.Card(codes=card.codes, activation_code=card.activation_code, base_url=base_url) for card in items]
    with path.open("wb") as out:
        pdf.render_cards(out, printable, progress=progress)


def _write_csv(path: Path, batch: Batch, items: Sequence[Label], progress, base_url: str, options: dict) -> None:
    write_csv(path, batch, items, progress)


def _write_svg(path: Path, batch: Batch, items: Sequence[Label], progress, base_url: str, options: dict) -> None:
    write_svg_zip(path, items, svg_size(_layout(batch.layout), items[0].url if items else None), progress)


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
        if job.format == "cards" and BatchStatus(batch.status) in PURGED:
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
