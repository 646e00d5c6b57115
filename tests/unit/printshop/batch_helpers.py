"""Helpers the print-shop service tests share (importable as `batch_helpers`)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from stickerreg.models import ExportJob, JobStatus, Sticker, StickerSet
from stickerreg.services import stickers
from stickerreg.services.printshop import exports

BASE_URL = "http://localhost"
LAYOUT = "a4-3x7"


def sets_of(session, batch) -> list[StickerSet]:
    return list(session.exec(select(StickerSet).where(StickerSet.batch_id == batch.id).order_by(StickerSet.id)))


def stickers_of(session, batch) -> list[Sticker]:
    statement = (select(Sticker).join(StickerSet, StickerSet.id == Sticker.set_id)
                 .where(StickerSet.batch_id == batch.id).order_by(Sticker.id))
    return list(session.exec(statement))


def export(session, engine, batch, fmt, tmp_path, *, actor=None) -> tuple[ExportJob, bytes]:
    """Queue and run an export as the CLI does; the finished job and its file's bytes."""
    job = exports.start_export(session, batch, fmt, actor)
    session.commit()
    job = exports.run_export(engine, job.id, tmp_path / "exports", base_url=BASE_URL)
    assert job.status == JobStatus.DONE, job.error
    return job, Path(job.path).read_bytes()


def activation_texts(session, batch) -> list[str]:
    """Every form an activation code of the batch could be printed in."""
    plains = [s.activation_plain for s in sets_of(session, batch)]
    assert all(plains)
    return [form for plain in plains for form in (plain, stickers.display_activation(plain))]
