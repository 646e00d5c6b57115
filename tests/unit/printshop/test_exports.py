"""Exports run as jobs: the CSV manifest, the SVG zip, sticker and card PDFs."""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from pathlib import Path

import pytest
from batch_helpers import BASE_URL, LAYOUT, activation_texts, export, sets_of, stickers_of
from sqlmodel import func, select

from stickerreg import codes
from stickerreg.db import session_scope
from stickerreg.models import (
    BatchEvent,
    BatchStatus,
    ExportJob,
    JobStatus,
)
from stickerreg.services import stickers
from stickerreg.services.printshop import (
    ExportRefused,
    batches,
    exports,
    misprints,
)

# --- exports ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil\",\"x\")", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe(value):
    assert exports.csv_cell(value) == "'" + value
    assert exports.csv_cell("Nyckelbricka") == "Nyckelbricka"


def test_the_csv_manifest_lists_every_sticker_and_neutralises_formulas(session, make_batch, engine, tmp_path):
    batch = make_batch(count=5, set_size=2, product='=HYPERLINK("http://evil.example","Klicka")')
    job, data = export(session, engine, batch, "csv", tmp_path)
    assert Path(job.path) == tmp_path / "exports" / f"{job.public_id}.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    assert [(r["set"], r["position"]) for r in rows] == [("1", "1"), ("1", "2"), ("2", "1"), ("2", "2"), ("3", "1")]
    assert {r["product"] for r in rows} == {"'" + batch.product}
    assert {r["batch"] for r in rows} == {batch.public_id}
    for row, sticker in zip(rows, stickers_of(session, batch), strict=True):
        assert row["code"] == sticker.code and row["display_code"] == codes.display(sticker.code)
        assert row["url"] == f"HTTP://LOCALHOST/S/{sticker.code}"
    assert not any(text.encode() in data for text in activation_texts(session, batch))


def test_the_svg_zip_holds_one_qr_code_per_sticker_and_no_activation_codes(session, make_batch, engine, tmp_path):
    batch = make_batch(count=4, set_size=2)
    job, data = export(session, engine, batch, "svg", tmp_path)
    assert job.path.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == [f"{codes.display(s.code)}.svg" for s in stickers_of(session, batch)]
        contents = b"".join(archive.read(name) for name in names)
    first = zipfile.ZipFile(io.BytesIO(data)).read(names[0]).decode()
    assert first.startswith("<svg") and 'width="' in first and "mm" in first
    assert not any(text.encode() in contents for text in activation_texts(session, batch))


def pdf_text(data: bytes) -> str:
    """Everything a PDF could show: pymupdf's text extraction when it is installed, and
    always every content stream inflated (the engine writes real, searchable text)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL)
    inflated = []
    for stream in streams:
        try:
            inflated.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            inflated.append(stream.decode("latin-1"))
    try:
        import pymupdf
    except ImportError:
        return "\n".join(inflated)
    with pymupdf.open(stream=data, filetype="pdf") as document:
        return "\n".join([*inflated, *(page.get_text() for page in document)])


def test_the_sticker_pdf_shows_the_ids_but_no_activation_codes(session, make_batch, engine, tmp_path):
    batch = make_batch(count=5, set_size=2)
    _, data = export(session, engine, batch, "pdf", tmp_path)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert all(codes.display(s.code) in text for s in stickers_of(session, batch))
    assert not any(code in text or code.encode() in data for code in activation_texts(session, batch))


def test_the_cards_pdf_prints_each_sets_activation_code(session, make_batch, engine, tmp_path):
    """The other half of the test above: the codes are findable where they belong."""
    batch = make_batch(count=5, set_size=2)
    _, data = export(session, engine, batch, "cards", tmp_path)
    text = pdf_text(data)
    for sticker_set in sets_of(session, batch):
        assert stickers.display_activation(sticker_set.activation_plain) in text


def test_exports_leave_out_voided_stickers(session, make_batch, engine, tmp_path):
    batch = make_batch(count=4, set_size=2)
    misprint = stickers_of(session, batch)[1]
    misprints.void(session, batch, sticker_codes=[misprint.code])
    session.commit()
    _, data = export(session, engine, batch, "csv", tmp_path)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert misprint.code not in data.decode() and len(rows) == 3
    assert [(r["set"], r["position"]) for r in rows] == [("1", "1"), ("2", "1"), ("2", "2")]
    [card_one, card_two] = exports.cards(session, batch)
    assert misprint.code not in card_one.codes and len(card_two.codes) == 2


def test_a_job_reports_progress_in_its_own_transactions(session, make_batch, engine, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_INTERVAL", 0)
    batch = make_batch(count=30, set_size=3)
    job = exports.start_export(session, batch, "svg")
    session.commit()
    assert (job.status, job.done) == (JobStatus.QUEUED, 0)
    seen = []

    def watch(done, total):
        with session_scope(engine) as other:
            row = other.get(ExportJob, job.id)
            seen.append((row.status, row.done, row.total))

    finished = exports.run_export(engine, job.id, tmp_path, base_url=BASE_URL, on_progress=watch)
    assert finished.status == JobStatus.DONE and finished.done == finished.total == 30
    assert finished.finished_at is not None and finished.error is None
    assert {status for status, _, _ in seen} == {"running"}
    assert any(0 < done < 30 for _, done, _ in seen)  # another session saw the bar move


def test_a_job_runs_once(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=1)
    job, _ = export(session, engine, batch, "csv", tmp_path)
    again = exports.run_export(engine, job.id, tmp_path / "exports", base_url=BASE_URL)
    assert again.status == JobStatus.DONE and again.finished_at == job.finished_at


def test_a_failing_export_is_recorded_not_raised(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=1)
    job = exports.start_export(session, batch, "csv")
    batches.mark(session, batch, BatchStatus.VOIDED)  # voided while queued
    session.commit()
    finished = exports.run_export(engine, job.id, tmp_path, base_url=BASE_URL)
    assert finished.status == JobStatus.FAILED and "nothing to print" in finished.error
    assert finished.finished_at is not None


def test_exports_are_refused_for_drafts_void_batches_and_unknown_formats(session, make_batch):
    draft = batches.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="X")
    void = make_batch(count=1, set_size=1)
    batches.mark(session, void, BatchStatus.VOIDED)
    for batch, fmt in ((draft, "pdf"), (void, "csv"), (make_batch(count=1, set_size=1), "docx")):
        with pytest.raises(ExportRefused):
            exports.start_export(session, batch, fmt)
    assert session.exec(select(ExportJob)).first() is None


def test_only_files_inside_the_export_folder_are_downloadable(tmp_path):
    inside = tmp_path / "exports" / "a.csv"
    inside.parent.mkdir()
    inside.write_text("x")
    job = ExportJob(public_id="x", batch_id=1, format="csv", status=JobStatus.DONE.value, path=str(inside))
    assert exports.downloadable(job, tmp_path / "exports") == inside.resolve()
    outside = ExportJob(public_id="y", batch_id=1, format="csv", status=JobStatus.DONE.value, path="/etc/passwd")
    assert exports.downloadable(outside, tmp_path / "exports") is None
    running = ExportJob(public_id="z", batch_id=1, format="csv", status=JobStatus.RUNNING.value, path=str(inside))
    assert exports.downloadable(running, tmp_path / "exports") is None


def test_events_record_the_command_line_as_no_actor(session):
    batch = batches.create_and_mint(session, count=1, set_size=1, layout=LAYOUT, product="X")
    session.commit()
    assert [email for _, email in batches.events(session, batch)] == [None, None]
    assert session.exec(select(func.count()).select_from(BatchEvent)).one() == 2


def test_every_qr_in_the_exported_pdf_is_the_manifest_url_of_its_position(session, make_batch, engine, tmp_path):
    """The print shop's proof: page by page, slot by slot, the QR a scanner reads is the URL
    the CSV manifest lists for that position (a voided sticker's slot stays empty)."""
    pymupdf = pytest.importorskip("pymupdf")
    from test_pdf import decode_page

    from stickerreg.printing import layouts

    batch = make_batch(count=45, set_size=3)  # three A4 pages: 21 + 21 + 3
    _, csv_data = export(session, engine, batch, "csv", tmp_path)
    _, pdf_data = export(session, engine, batch, "pdf", tmp_path)
    urls = [row["url"] for row in csv.DictReader(io.StringIO(csv_data.decode("utf-8-sig")))]
    layout = layouts.sticker_layout(batch.layout)
    with pymupdf.open(stream=pdf_data, filetype="pdf") as document:
        assert document.page_count == layout.page_count(len(urls)) == 3
        for page_index in (0, 2):  # the first full page and the short last one
            decoded = decode_page(document[page_index], layout)
            expected = {
                slot: urls[page_index * layout.per_page + slot]
                for slot in range(layout.per_page)
                if page_index * layout.per_page + slot < len(urls)
            }
            assert decoded == expected


# --- the batch's language ------------------------------------------------------------------

PRINTED = {
    "sv": {"pdf": ["Hittat mig?", "Skanna eller besök"],
           "cards": ["Dina Stickerreg-dekaler", "1. Gå till LOCALHOST/account/claim",
                     "3. Skriv in den här aktiveringskoden:", "Dekal-ID:n i det här setet"]},
    "en": {"pdf": ["Found me?", "Scan or visit"],
           "cards": ["Your Stickerreg stickers", "1. Go to LOCALHOST/account/claim",
                     "3. Enter this activation code:", "Sticker IDs in this set"]},
}


@pytest.mark.parametrize("language", ["sv", "en"])
def test_stickers_and_backing_cards_are_printed_in_the_batchs_language(session, staff, engine, tmp_path, language):
    pymupdf = pytest.importorskip("pymupdf")
    batch = batches.create_and_mint(session, count=4, set_size=2, layout=LAYOUT, product="Tag", language=language,
                                    actor=staff)
    session.commit()
    other = "en" if language == "sv" else "sv"
    for fmt in ("pdf", "cards"):
        _, data = export(session, engine, batch, fmt, tmp_path)
        with pymupdf.open(stream=data, filetype="pdf") as document:
            text = "\n".join(" ".join(line.split()) for page in document for line in page.get_text().splitlines())
        assert all(words in text for words in PRINTED[language][fmt]), text
        assert not any(words in text for words in PRINTED[other][fmt]), text


def test_a_reprint_is_printed_in_the_language_of_the_batch_it_replaces(session, staff):
    batch = batches.create_and_mint(session, count=4, set_size=2, layout=LAYOUT, product="Tag", language="en")
    assert misprints.void(session, batch, set_numbers=[1], actor=staff).language == "en"
