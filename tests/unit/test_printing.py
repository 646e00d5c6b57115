"""The print shop's service: minting batches, the state machine and its events, misprints
and reprints, and the exports (CSV, SVG zip, sticker and card PDFs) run as jobs."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlmodel import func, select

from stickerreg import codes, tokens
from stickerreg.db import session_scope
from stickerreg.models import (
    Batch,
    BatchEvent,
    BatchStatus,
    ExportJob,
    JobStatus,
    Role,
    Sticker,
    StickerSet,
    StickerStatus,
)
from stickerreg.services import printing, stickers
from stickerreg.services.printing import CardsPurged, IllegalTransition, UnknownLayout, VoidRefused
from stickerreg.services.stickers import ClaimError

BASE_URL = "http://localhost"
LAYOUT = "a4-3x7"


@pytest.fixture
def engine(app):
    return app.extensions["db_engine"]


@pytest.fixture
def staff(user_factory):
    return user_factory(email="print@example.se", role=Role.PRINTSHOP)


@pytest.fixture
def make_batch(session, staff):
    def make(count: int = 10, set_size: int = 3, product: str = "Nyckelbricka", layout: str = LAYOUT) -> Batch:
        batch = printing.create_and_mint(session, count=count, set_size=set_size, layout=layout, product=product,
                                         actor=staff)
        session.commit()
        return batch

    return make


def sets_of(session, batch) -> list[StickerSet]:
    return list(session.exec(select(StickerSet).where(StickerSet.batch_id == batch.id).order_by(StickerSet.id)))


def stickers_of(session, batch) -> list[Sticker]:
    statement = (select(Sticker).join(StickerSet, StickerSet.id == Sticker.set_id)
                 .where(StickerSet.batch_id == batch.id).order_by(Sticker.id))
    return list(session.exec(statement))


def export(session, engine, batch, fmt, tmp_path, *, actor=None) -> tuple[ExportJob, bytes]:
    """Queue and run an export as the CLI does; the finished job and its file's bytes."""
    job = printing.start_export(session, batch, fmt, actor)
    session.commit()
    job = printing.run_export(engine, job.id, tmp_path / "exports", base_url=BASE_URL)
    assert job.status == JobStatus.DONE, job.error
    return job, Path(job.path).read_bytes()


def activation_texts(session, batch) -> list[str]:
    """Every form an activation code of the batch could be printed in."""
    plains = [s.activation_plain for s in sets_of(session, batch)]
    assert all(plains)
    return [form for plain in plains for form in (plain, stickers.display_activation(plain))]


# --- minting ----------------------------------------------------------------------------


def test_minting_makes_sets_of_the_chosen_size_each_with_its_own_activation_code(session, make_batch):
    batch = make_batch(count=10, set_size=3)
    assert batch.status == BatchStatus.MINTED
    sets = sets_of(session, batch)
    assert [len(stickers.stickers_in(session, s)) for s in sets] == [3, 3, 3, 1]  # ceil(10 / 3) sets
    all_codes = [s.code for s in stickers_of(session, batch)]
    assert len(set(all_codes)) == 10 and all(codes.is_valid(c) for c in all_codes)
    assert all(s.status == StickerStatus.UNCLAIMED and s.owner_id is None for s in stickers_of(session, batch))
    for sticker_set in sets:
        assert sticker_set.activation_hash == tokens.hash_token(sticker_set.activation_plain)
    assert len({s.activation_plain for s in sets}) == 4


def test_a_minted_set_can_be_claimed_with_its_activation_code(session, make_batch, user_factory):
    batch = make_batch(count=4, set_size=4)
    [sticker_set] = sets_of(session, batch)
    code = stickers.stickers_in(session, sticker_set)[2].code
    claimed = stickers.claim_set(session, owner=user_factory(), sticker_code=code,
                                 activation_code=stickers.display_activation(sticker_set.activation_plain))
    assert len(claimed) == 4


def test_ten_thousand_stickers_mint_in_seconds_with_unique_codes(session, make_batch):
    started = time.perf_counter()
    batch = make_batch(count=10_000, set_size=6)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"minting 10,000 stickers took {elapsed:.1f} s"
    assert printing.set_count(session, batch) == 1667
    distinct = session.exec(select(func.count(func.distinct(Sticker.code)))).one()
    assert distinct == session.exec(select(func.count()).select_from(Sticker)).one() == 10_000


def test_batch_limits_and_layout_are_checked(session, staff):
    for count, set_size in ((0, 1), (20_001, 1), (10, 0), (10, 25)):
        with pytest.raises(printing.PrintingError):
            printing.create_batch(session, count=count, set_size=set_size, layout=LAYOUT, product="X")
    with pytest.raises(UnknownLayout):
        printing.create_batch(session, count=1, set_size=1, layout="no-such-stock", product="X")
    with pytest.raises(printing.PrintingError):
        printing.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="   ")
    assert session.exec(select(Batch)).first() is None


# --- the state machine ------------------------------------------------------------------


def test_a_batch_moves_forward_one_step_at_a_time_and_each_step_is_an_event(session, staff):
    batch = printing.create_batch(session, count=2, set_size=1, layout=LAYOUT, product="X", actor=staff)
    assert batch.status == BatchStatus.DRAFT and printing.set_count(session, batch) == 0
    printing.mint_batch(session, batch, actor=staff)
    for status in (BatchStatus.EXPORTED, BatchStatus.PRINTED, BatchStatus.SHIPPED):
        printing.mark(session, batch, status, actor=staff)
    session.commit()
    history = printing.events(session, batch)
    assert [(e.from_status, e.to_status) for e, _ in history] == [
        (None, "draft"), ("draft", "minted"), ("minted", "exported"), ("exported", "printed"), ("printed", "shipped"),
    ]
    assert {email for _, email in history} == {staff.email}
    assert all(e.at is not None and e.actor_id == staff.id for e, _ in history)
    assert printing.next_status(batch) is None


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), BatchStatus.PRINTED),  # skipping exported
        ((), BatchStatus.SHIPPED),
        ((BatchStatus.EXPORTED,), BatchStatus.EXPORTED),  # twice
        ((BatchStatus.EXPORTED,), BatchStatus.MINTED),  # backwards
        ((BatchStatus.EXPORTED, BatchStatus.PRINTED, BatchStatus.SHIPPED), BatchStatus.VOIDED),  # shipped is final
        ((BatchStatus.VOIDED,), BatchStatus.EXPORTED),  # void is final
        ((BatchStatus.VOIDED,), BatchStatus.VOIDED),
    ],
)
def test_illegal_transitions_raise_a_clear_error_and_change_nothing(session, make_batch, path, illegal):
    batch = make_batch(count=2, set_size=1)
    for status in path:
        printing.mark(session, batch, status)
    events_before = len(printing.events(session, batch))
    with pytest.raises(IllegalTransition, match=f"is {batch.status} and can't become {illegal.value}"):
        printing.mark(session, batch, illegal)
    assert len(printing.events(session, batch)) == events_before


def test_any_state_but_shipped_can_be_voided(session, make_batch, staff):
    draft = printing.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="X")
    printing.mark(session, draft, BatchStatus.VOIDED, actor=staff)
    for path in ((), (BatchStatus.EXPORTED,), (BatchStatus.EXPORTED, BatchStatus.PRINTED)):
        batch = make_batch(count=1, set_size=1)
        for status in path:
            printing.mark(session, batch, status)
        printing.mark(session, batch, BatchStatus.VOIDED, actor=staff)
        assert batch.status == BatchStatus.VOIDED
        assert printing.events(session, batch)[-1][0].actor_id == staff.id


def test_voiding_a_batch_voids_its_stickers_so_no_set_can_be_claimed(session, make_batch, user_factory):
    batch = make_batch(count=3, set_size=3)
    [sticker_set] = sets_of(session, batch)
    plain = sticker_set.activation_plain
    printing.mark(session, batch, BatchStatus.VOIDED)
    session.commit()
    assert {s.status for s in stickers_of(session, batch)} == {StickerStatus.VOIDED}
    with pytest.raises(ClaimError):
        stickers.claim_set(session, owner=user_factory(), sticker_code=stickers_of(session, batch)[0].code,
                           activation_code=plain)


# --- activation codes: kept until printed -------------------------------------------------


def test_marking_printed_purges_every_plain_activation_code(session, make_batch, engine, tmp_path):
    batch = make_batch(count=7, set_size=2)
    other = make_batch(count=2, set_size=2)
    hashes = [s.activation_hash for s in sets_of(session, batch)]
    printing.mark(session, batch, BatchStatus.EXPORTED)
    printing.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    session.expire_all()
    assert [s.activation_plain for s in sets_of(session, batch)] == [None] * 4
    assert [s.activation_hash for s in sets_of(session, batch)] == hashes  # claiming still works
    assert all(s.activation_plain for s in sets_of(session, other))  # only this batch


def test_cards_are_refused_once_the_batch_is_printed(session, make_batch, engine, tmp_path):
    batch = make_batch(count=4, set_size=2)
    printing.mark(session, batch, BatchStatus.EXPORTED)
    printing.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    with pytest.raises(CardsPurged, match="can't be exported again"):
        printing.start_export(session, batch, "cards")
    with pytest.raises(CardsPurged):
        printing.cards(session, batch)
    export(session, engine, batch, "pdf", tmp_path)  # the stickers themselves can be printed again


def test_printing_deletes_card_files_exported_before(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=2)
    job, _ = export(session, engine, batch, "cards", tmp_path)
    assert Path(job.path).is_file()
    printing.mark(session, batch, BatchStatus.EXPORTED)
    printing.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    assert not Path(job.path).exists()
    session.expire_all()
    assert session.get(ExportJob, job.id).path is None
    assert printing.downloadable(session.get(ExportJob, job.id), tmp_path / "exports") is None


def test_a_cards_job_queued_before_printing_fails_instead_of_printing_codes(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=2)
    job = printing.start_export(session, batch, "cards")
    printing.mark(session, batch, BatchStatus.EXPORTED)
    printing.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    finished = printing.run_export(engine, job.id, tmp_path / "exports", base_url=BASE_URL)
    assert finished.status == JobStatus.FAILED and "activation codes were deleted" in finished.error
    assert not (tmp_path / "exports").exists() or list((tmp_path / "exports").iterdir()) == []


# --- misprints and reprints ---------------------------------------------------------------


def test_voiding_single_stickers_makes_a_reprint_of_just_those(session, make_batch, staff):
    batch = make_batch(count=9, set_size=3)
    first, second, third = (stickers.stickers_in(session, s) for s in sets_of(session, batch))
    misprints = [first[0], first[2], third[1]]
    reprint = printing.void(session, batch, sticker_codes=[codes.display(s.code).lower() for s in misprints],
                            actor=staff)
    session.commit()
    session.expire_all()
    assert [session.get(Sticker, s.id).status for s in first + second + third] == [
        "voided", "unclaimed", "voided", "unclaimed", "unclaimed", "unclaimed", "unclaimed", "voided", "unclaimed"]
    assert reprint.reprint_of_id == batch.id and reprint.status == BatchStatus.MINTED
    assert (reprint.count, reprint.layout, reprint.product) == (3, batch.layout, batch.product)
    new_sets = sets_of(session, reprint)
    assert [len(stickers.stickers_in(session, s)) for s in new_sets] == [2, 1]  # one new set per set touched
    new_codes = {s.code for s in stickers_of(session, reprint)}
    assert not new_codes & {s.code for s in stickers_of(session, batch)}
    old_plains = {s.activation_plain for s in sets_of(session, batch)}
    assert all(s.activation_plain and s.activation_plain not in old_plains for s in new_sets)
    assert "reprint " + reprint.public_id in printing.events(session, batch)[-1][0].note
    assert printing.events(session, reprint)[0][0].note == f"reprint of {batch.public_id}"


def test_voiding_whole_sets_reprints_sets_of_the_same_size(session, make_batch):
    batch = make_batch(count=8, set_size=3)
    reprint = printing.void(session, batch, set_numbers=[1, 3])
    session.commit()
    assert [len(stickers.stickers_in(session, s)) for s in sets_of(session, reprint)] == [3, 2]
    first, _, third = sets_of(session, batch)
    assert {s.status for s in stickers.stickers_in(session, first) + stickers.stickers_in(session, third)} == {"voided"}
    session.refresh(first)
    assert first.activation_plain is None  # nothing left in it to claim: no code to print


def test_a_voided_sticker_is_never_claimable(session, make_batch, user_factory):
    batch = make_batch(count=3, set_size=3)
    [sticker_set] = sets_of(session, batch)
    good, bad, other = stickers.stickers_in(session, sticker_set)
    activation = sticker_set.activation_plain
    printing.void(session, batch, sticker_codes=[bad.code])
    session.commit()
    owner = user_factory()
    with pytest.raises(ClaimError):
        stickers.claim_set(session, owner=owner, sticker_code=bad.code, activation_code=activation)
    claimed = stickers.claim_set(session, owner=owner, sticker_code=good.code, activation_code=activation)
    assert {s.code for s in claimed} == {good.code, other.code}
    session.refresh(bad)
    assert bad.status == StickerStatus.VOIDED and bad.owner_id is None


def test_a_wholly_voided_set_cannot_be_claimed_at_all(session, make_batch, user_factory):
    batch = make_batch(count=2, set_size=2)
    [sticker_set] = sets_of(session, batch)
    activation, members = sticker_set.activation_plain, stickers.stickers_in(session, sticker_set)
    printing.void(session, batch, set_numbers=[1])
    session.commit()
    for sticker in members:
        with pytest.raises(ClaimError):
            stickers.claim_set(session, owner=user_factory(), sticker_code=sticker.code, activation_code=activation)


def test_void_refuses_what_it_cannot_void(session, make_batch, user_factory):
    batch = make_batch(count=4, set_size=2)
    elsewhere = make_batch(count=1, set_size=1)
    [claimed_set, _] = sets_of(session, batch)
    claimed = stickers.stickers_in(session, claimed_set)[0]
    stickers.claim_set(session, owner=user_factory(), sticker_code=claimed.code,
                       activation_code=claimed_set.activation_plain)
    session.commit()
    cases = [
        (dict(), "nothing_named"),
        (dict(sticker_codes=["not-a-code"]), "unknown_codes"),
        (dict(sticker_codes=[stickers_of(session, elsewhere)[0].code]), "unknown_codes"),
        (dict(set_numbers=[3]), "set_number"),
        (dict(set_numbers=[0]), "set_number"),
        (dict(sticker_codes=[claimed.code]), "taken"),
    ]
    for arguments, reason in cases:
        with pytest.raises(VoidRefused) as refused:
            printing.void(session, batch, **arguments)
        assert refused.value.details["reason"] == reason, arguments
    shipped = make_batch(count=1, set_size=1)
    for status in (BatchStatus.EXPORTED, BatchStatus.PRINTED, BatchStatus.SHIPPED):
        printing.mark(session, shipped, status)
    with pytest.raises(VoidRefused):
        printing.void(session, shipped, set_numbers=[1])
    assert session.exec(select(Batch).where(Batch.reprint_of_id.is_not(None))).first() is None


# --- exports ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil\",\"x\")", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe(value):
    assert printing.csv_cell(value) == "'" + value
    assert printing.csv_cell("Nyckelbricka") == "Nyckelbricka"


def test_the_csv_manifest_lists_every_sticker_and_neutralises_formulas(session, make_batch, engine, tmp_path):
    batch = make_batch(count=5, set_size=2, product='=HYPERLINK("http://evil.example","Klicka")')
    job, data = export(session, engine, batch, "csv", tmp_path)
    assert Path(job.path) == tmp_path / "exports" / f"{job.public_id}.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(printing.CSV_COLUMNS)
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
    printing.void(session, batch, sticker_codes=[misprint.code])
    session.commit()
    _, data = export(session, engine, batch, "csv", tmp_path)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert misprint.code not in data.decode() and len(rows) == 3
    assert [(r["set"], r["position"]) for r in rows] == [("1", "1"), ("2", "1"), ("2", "2")]
    [card_one, card_two] = printing.cards(session, batch)
    assert misprint.code not in card_one.codes and len(card_two.codes) == 2


def test_a_job_reports_progress_in_its_own_transactions(session, make_batch, engine, tmp_path, monkeypatch):
    monkeypatch.setattr(printing, "PROGRESS_INTERVAL", 0)
    batch = make_batch(count=30, set_size=3)
    job = printing.start_export(session, batch, "svg")
    session.commit()
    assert (job.status, job.done) == (JobStatus.QUEUED, 0)
    seen = []

    def watch(done, total):
        with session_scope(engine) as other:
            row = other.get(ExportJob, job.id)
            seen.append((row.status, row.done, row.total))

    finished = printing.run_export(engine, job.id, tmp_path, base_url=BASE_URL, on_progress=watch)
    assert finished.status == JobStatus.DONE and finished.done == finished.total == 30
    assert finished.finished_at is not None and finished.error is None
    assert {status for status, _, _ in seen} == {"running"}
    assert any(0 < done < 30 for _, done, _ in seen)  # another session saw the bar move


def test_a_job_runs_once(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=1)
    job, _ = export(session, engine, batch, "csv", tmp_path)
    again = printing.run_export(engine, job.id, tmp_path / "exports", base_url=BASE_URL)
    assert again.status == JobStatus.DONE and again.finished_at == job.finished_at


def test_a_failing_export_is_recorded_not_raised(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=1)
    job = printing.start_export(session, batch, "csv")
    printing.mark(session, batch, BatchStatus.VOIDED)  # voided while queued
    session.commit()
    finished = printing.run_export(engine, job.id, tmp_path, base_url=BASE_URL)
    assert finished.status == JobStatus.FAILED and "nothing to print" in finished.error
    assert finished.finished_at is not None


def test_exports_are_refused_for_drafts_void_batches_and_unknown_formats(session, make_batch):
    draft = printing.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="X")
    void = make_batch(count=1, set_size=1)
    printing.mark(session, void, BatchStatus.VOIDED)
    for batch, fmt in ((draft, "pdf"), (void, "csv"), (make_batch(count=1, set_size=1), "docx")):
        with pytest.raises(printing.ExportRefused):
            printing.start_export(session, batch, fmt)
    assert session.exec(select(ExportJob)).first() is None


def test_only_files_inside_the_export_folder_are_downloadable(tmp_path):
    inside = tmp_path / "exports" / "a.csv"
    inside.parent.mkdir()
    inside.write_text("x")
    job = ExportJob(public_id="x", batch_id=1, format="csv", status=JobStatus.DONE.value, path=str(inside))
    assert printing.downloadable(job, tmp_path / "exports") == inside.resolve()
    outside = ExportJob(public_id="y", batch_id=1, format="csv", status=JobStatus.DONE.value, path="/etc/passwd")
    assert printing.downloadable(outside, tmp_path / "exports") is None
    running = ExportJob(public_id="z", batch_id=1, format="csv", status=JobStatus.RUNNING.value, path=str(inside))
    assert printing.downloadable(running, tmp_path / "exports") is None


def test_events_record_the_command_line_as_no_actor(session):
    batch = printing.create_and_mint(session, count=1, set_size=1, layout=LAYOUT, product="X")
    session.commit()
    assert [email for _, email in printing.events(session, batch)] == [None, None]
    assert session.exec(select(func.count()).select_from(BatchEvent)).one() == 2


def test_every_qr_in_the_exported_pdf_is_the_manifest_url_of_its_position(session, make_batch, engine, tmp_path):
    """The print shop's proof: page by page, slot by slot, the QR a scanner reads is the URL
    the CSV manifest lists for that position (a voided sticker's slot stays empty)."""
    pymupdf = pytest.importorskip("pymupdf")
    from test_pdf import decode_page

    from stickerreg import layouts

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
