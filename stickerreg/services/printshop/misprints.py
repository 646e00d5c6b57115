"""Misprints: stickers or whole sets marked void, and the reprint batch that replaces them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, or_, select, update

from stickerreg import codes
from stickerreg.models import Batch, BatchStatus, Sticker, StickerSet, StickerStatus, User
from stickerreg.services.printshop import VoidRefused, batches


def void(
    session: Session, batch: Batch, *, sticker_codes: Iterable[str] = (), set_numbers: Iterable[int] = (),
    actor: User | None = None,
) -> Batch:
    """Mark misprinted stickers (by code) and whole sets (by number in the batch) void, and
    mint a reprint batch of just those: for each set touched, one new set holding as many
    stickers as were voided from it, with a fresh activation code. Returns the reprint."""
    if BatchStatus(batch.status) not in batches.REPRINTABLE:
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
    reprint = batches.create_batch(session, count=len(targets), set_size=batch.set_size, layout=batch.layout,
                                   product=batch.product, language=batch.language, actor=actor, reprint_of=batch)
    batches.mint_sets(session, reprint, [sizes[set_id] for set_id in sorted(sizes)])
    batches.move(session, reprint, BatchStatus.MINTED, actor)
    _forget_dead_sets(session, batch)
    note = f"voided {len(targets)} misprinted stickers; reprint {reprint.public_id}"
    batches.record(session, batch, batch.status, batch.status, actor, note)
    return reprint


def _void_targets(session: Session, batch: Batch, typed_codes: list[str], set_numbers: list[int]) -> list[Sticker]:
    """The unclaimed stickers named by code or by set number, each once, in minting order."""
    if not typed_codes and not set_numbers:
        raise VoidRefused("name the misprinted stickers by code or by set number", reason="nothing_named")
    set_ids = batches.set_ids(session, batch)
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


def _forget_dead_sets(session: Session, batch: Batch) -> None:
    """A set with no sticker left to claim needs no activation code, plain or printed."""
    alive = select(Sticker.set_id).where(Sticker.status != StickerStatus.VOIDED, Sticker.set_id.is_not(None))
    session.exec(
        update(StickerSet)
        .where(StickerSet.batch_id == batch.id, StickerSet.id.not_in(alive))
        .values(activation_plain=None)
    )

