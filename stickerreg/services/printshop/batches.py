"""Print-shop batches: creating and minting them, their state machine and history."""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil
from pathlib import Path

from sqlmodel import Session, func, insert, select, update

from stickerreg import codes, tokens
from stickerreg.models import (
    Batch,
    BatchEvent,
    BatchStatus,
    ExportJob,
    Sticker,
    StickerSet,
    StickerStatus,
    User,
)
from stickerreg.printing import layouts, messages
from stickerreg.services import stickers
from stickerreg.services.printshop import IllegalTransition, PrintshopError, UnknownLanguage, UnknownLayout

MAX_COUNT = 20_000
MAX_SET_SIZE = 24
PRODUCT_MAX = 80
PUBLIC_ID_LENGTH = 12
# What the stickers and backing cards of a batch can be printed in; Swedish unless asked.
LANGUAGES = messages.LANGUAGES
DEFAULT_LANGUAGE = messages.DEFAULT_LANGUAGE

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


# --- layouts (the print engine's label stocks) ----------------------------------------


def layout_names() -> list[str]:
    """The names of the sticker stocks a batch can be laid out for."""
    return sorted(layouts.bundled().stickers)


def sticker_layout(name: str) -> layouts.StickerLayout:
    """The label stock called `name`; UnknownLayout names the ones there are."""
    found = layouts.bundled().stickers.get(name)
    if found is None:
        raise UnknownLayout(f"unknown layout {name!r}; choose one of {', '.join(layout_names())}", layout=name)
    return found


def stock_name(name: str, language: str) -> str:
    """The stock as people name it, with its size, in `language` ("A4 sheet, 3×7 labels,
    63.5×38.1 mm"); a stock no longer bundled keeps its id."""
    found = layouts.bundled().stickers.get(name)
    if found is None:
        return name
    return layouts.stock_name(found, messages.for_language(language if language in LANGUAGES else DEFAULT_LANGUAGE))


def layout_choices(language: str) -> list[tuple[str, str]]:
    """(id, name in `language`) of every stock a batch can be laid out for."""
    return [(name, stock_name(name, language)) for name in layout_names()]


# --- batches --------------------------------------------------------------------------


def new_public_id() -> str:
    """A batch's public id: 12 Crockford symbols, easy to read out and to type in a shell."""
    return codes.random_symbols(PUBLIC_ID_LENGTH)


def create_batch(
    session: Session, *, count: int, set_size: int, layout: str, product: str,
    language: str = DEFAULT_LANGUAGE, actor: User | None = None, reprint_of: Batch | None = None,
) -> Batch:
    """A new batch in draft: `count` stickers in sets of `set_size` on the `layout` stock,
    printed in `language`."""
    if not 1 <= count <= MAX_COUNT:
        raise PrintshopError(f"a batch holds 1 to {MAX_COUNT} stickers", field="count")
    if not 1 <= set_size <= MAX_SET_SIZE:
        raise PrintshopError(f"a set holds 1 to {MAX_SET_SIZE} stickers", field="set_size")
    product = product.strip()
    if not product or len(product) > PRODUCT_MAX:
        raise PrintshopError(f"the product text is 1 to {PRODUCT_MAX} characters", field="product")
    sticker_layout(layout)
    if language not in LANGUAGES:
        raise UnknownLanguage(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}", language=language)
    batch = Batch(
        public_id=new_public_id(), product=product, count=count, set_size=set_size, layout=layout, language=language,
        reprint_of_id=reprint_of.id if reprint_of else None, created_by_id=actor.id if actor else None,
    )
    session.add(batch)
    session.flush()
    record(session, batch, None, BatchStatus.DRAFT, actor, note=f"reprint of {reprint_of.public_id}" if reprint_of else None)
    return batch


def mint_batch(session: Session, batch: Batch, *, actor: User | None = None) -> Batch:
    """Mint a draft batch: ceil(count / set_size) sets, each with its activation code."""
    _require_move(batch, BatchStatus.MINTED)
    full, rest = divmod(batch.count, batch.set_size)
    sizes = [batch.set_size] * full + ([rest] if rest else [])
    mint_sets(session, batch, sizes)
    return move(session, batch, BatchStatus.MINTED, actor)


def create_and_mint(
    session: Session, *, count: int, set_size: int, layout: str, product: str, language: str = DEFAULT_LANGUAGE,
    actor: User | None = None,
) -> Batch:
    """What an operator means by "a new batch": created and minted at once."""
    batch = create_batch(session, count=count, set_size=set_size, layout=layout, product=product, language=language,
                         actor=actor)
    return mint_batch(session, batch, actor=actor)


def mint_sets(session: Session, batch: Batch, sizes: Sequence[int]) -> None:
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
    # One model builds the defaults; building 10,000 would take most of the minting time.
    defaults = Sticker(code="", set_id=None).model_dump(exclude={"id"})
    sticker_rows = [
        {**defaults, "code": next(fresh), "set_id": set_id}
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
    return move(session, batch, to, actor)


def move(session: Session, batch: Batch, to: BatchStatus, actor: User | None, note: str | None = None) -> Batch:
    """Take one allowed step and record it."""
    _require_move(batch, to)
    record(session, batch, batch.status, to, actor, note)
    batch.status = to.value
    session.add(batch)
    session.flush()
    return batch


def record(session: Session, batch: Batch, from_status: str | None, to: str, actor: User | None, note: str | None) -> None:
    """Write one line of the batch's history: who, from what to what, and why."""
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


def set_ids(session: Session, batch: Batch) -> list[int]:
    """The batch's set ids in minting order: set number n is the n-th of these."""
    return list(session.exec(select(StickerSet.id).where(StickerSet.batch_id == batch.id).order_by(StickerSet.id)))


def total_sets(count: int, set_size: int) -> int:
    """How many sets `count` stickers make in sets of `set_size`."""
    return ceil(count / set_size)
