"""Print-shop batches: minting, the state machine and its events, activation codes kept
until the batch is printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import BASE_URL, LAYOUT, export, sets_of, stickers_of
from sqlmodel import func, select

from stickerreg import codes, tokens
from stickerreg.models import (
    Batch,
    BatchStatus,
    ExportJob,
    JobStatus,
    Sticker,
    StickerStatus,
)
from stickerreg.services import claims, stickers
from stickerreg.services.claims import ClaimError
from stickerreg.services.printshop import (
    CardsPurged,
    IllegalTransition,
    PrintshopError,
    UnknownLanguage,
    UnknownLayout,
    batches,
    exports,
)

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
    claimed = claims.claim_set(session, owner=user_factory(), sticker_code=code,
                                 activation_code=stickers.display_activation(sticker_set.activation_plain))
    assert len(claimed) == 4


def test_a_large_batch_mints_unique_codes_across_lookup_chunks(session, make_batch):
    # Drawn codes are checked against the table 500 at a time; 2,000 spans four chunks.
    # How fast 10,000 mint is measured by `make bench` (bench/bench_mint.py), not here.
    batch = make_batch(count=2_000, set_size=6)
    assert batches.set_count(session, batch) == 334
    distinct = session.exec(select(func.count(func.distinct(Sticker.code)))).one()
    assert distinct == session.exec(select(func.count()).select_from(Sticker)).one() == 2_000


def test_batch_limits_and_layout_are_checked(session, staff):
    for count, set_size in ((0, 1), (20_001, 1), (10, 0), (10, 25)):
        with pytest.raises(PrintshopError):
            batches.create_batch(session, count=count, set_size=set_size, layout=LAYOUT, product="X")
    with pytest.raises(UnknownLayout):
        batches.create_batch(session, count=1, set_size=1, layout="no-such-stock", product="X")
    with pytest.raises(PrintshopError):
        batches.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="   ")
    assert session.exec(select(Batch)).first() is None


# --- the state machine ------------------------------------------------------------------


def test_a_batch_moves_forward_one_step_at_a_time_and_each_step_is_an_event(session, staff):
    batch = batches.create_batch(session, count=2, set_size=1, layout=LAYOUT, product="X", actor=staff)
    assert batch.status == BatchStatus.DRAFT and batches.set_count(session, batch) == 0
    batches.mint_batch(session, batch, actor=staff)
    for status in (BatchStatus.EXPORTED, BatchStatus.PRINTED, BatchStatus.SHIPPED):
        batches.mark(session, batch, status, actor=staff)
    session.commit()
    history = batches.events(session, batch)
    assert [(e.from_status, e.to_status) for e, _ in history] == [
        (None, "draft"), ("draft", "minted"), ("minted", "exported"), ("exported", "printed"), ("printed", "shipped"),
    ]
    assert {email for _, email in history} == {staff.email}
    assert all(e.at is not None and e.actor_id == staff.id for e, _ in history)
    assert batches.next_status(batch) is None


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
        batches.mark(session, batch, status)
    events_before = len(batches.events(session, batch))
    with pytest.raises(IllegalTransition, match=f"is {batch.status} and can't become {illegal.value}"):
        batches.mark(session, batch, illegal)
    assert len(batches.events(session, batch)) == events_before


def test_any_state_but_shipped_can_be_voided(session, make_batch, staff):
    draft = batches.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="X")
    batches.mark(session, draft, BatchStatus.VOIDED, actor=staff)
    for path in ((), (BatchStatus.EXPORTED,), (BatchStatus.EXPORTED, BatchStatus.PRINTED)):
        batch = make_batch(count=1, set_size=1)
        for status in path:
            batches.mark(session, batch, status)
        batches.mark(session, batch, BatchStatus.VOIDED, actor=staff)
        assert batch.status == BatchStatus.VOIDED
        assert batches.events(session, batch)[-1][0].actor_id == staff.id


def test_voiding_a_batch_voids_its_stickers_so_no_set_can_be_claimed(session, make_batch, user_factory):
    batch = make_batch(count=3, set_size=3)
    [sticker_set] = sets_of(session, batch)
    plain = sticker_set.activation_plain
    batches.mark(session, batch, BatchStatus.VOIDED)
    session.commit()
    assert {s.status for s in stickers_of(session, batch)} == {StickerStatus.VOIDED}
    with pytest.raises(ClaimError):
        claims.claim_set(session, owner=user_factory(), sticker_code=stickers_of(session, batch)[0].code,
                           activation_code=plain)


# --- activation codes: kept until printed -------------------------------------------------


def test_marking_printed_purges_every_plain_activation_code(session, make_batch, engine, tmp_path):
    batch = make_batch(count=7, set_size=2)
    other = make_batch(count=2, set_size=2)
    hashes = [s.activation_hash for s in sets_of(session, batch)]
    batches.mark(session, batch, BatchStatus.EXPORTED)
    batches.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    session.expire_all()
    assert [s.activation_plain for s in sets_of(session, batch)] == [None] * 4
    assert [s.activation_hash for s in sets_of(session, batch)] == hashes  # claiming still works
    assert all(s.activation_plain for s in sets_of(session, other))  # only this batch


def test_cards_are_refused_once_the_batch_is_printed(session, make_batch, engine, tmp_path):
    batch = make_batch(count=4, set_size=2)
    batches.mark(session, batch, BatchStatus.EXPORTED)
    batches.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    with pytest.raises(CardsPurged, match="can't be exported again"):
        exports.start_export(session, batch, "cards")
    with pytest.raises(CardsPurged):
        exports.cards(session, batch)
    export(session, engine, batch, "pdf", tmp_path)  # the stickers themselves can be printed again


def test_printing_deletes_card_files_exported_before(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=2)
    job, _ = export(session, engine, batch, "cards", tmp_path)
    assert Path(job.path).is_file()
    batches.mark(session, batch, BatchStatus.EXPORTED)
    batches.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    assert not Path(job.path).exists()
    session.expire_all()
    assert session.get(ExportJob, job.id).path is None
    assert exports.downloadable(session.get(ExportJob, job.id), tmp_path / "exports") is None


def test_a_cards_job_queued_before_printing_fails_instead_of_printing_codes(session, make_batch, engine, tmp_path):
    batch = make_batch(count=2, set_size=2)
    job = exports.start_export(session, batch, "cards")
    batches.mark(session, batch, BatchStatus.EXPORTED)
    batches.mark(session, batch, BatchStatus.PRINTED)
    session.commit()
    finished = exports.run_export(engine, job.id, tmp_path / "exports", base_url=BASE_URL)
    assert finished.status == JobStatus.FAILED and "activation codes were deleted" in finished.error
    assert not (tmp_path / "exports").exists() or list((tmp_path / "exports").iterdir()) == []


# --- language and label stock names ---------------------------------------------------------


def test_a_batch_prints_in_swedish_unless_english_is_asked_for(session):
    assert batches.create_and_mint(session, count=1, set_size=1, layout=LAYOUT, product="X").language == "sv"
    assert batches.create_and_mint(session, count=1, set_size=1, layout=LAYOUT, product="X", language="en").language == "en"
    with pytest.raises(UnknownLanguage, match="choose one of sv, en"):
        batches.create_batch(session, count=1, set_size=1, layout=LAYOUT, product="X", language="de")


def test_stocks_are_named_for_people_in_either_language(session):
    assert batches.stock_name(LAYOUT, "sv") == "A4-ark, 3×7 etiketter, 63,5×38,1 mm"
    assert batches.stock_name(LAYOUT, "en") == "A4 sheet, 3×7 labels, 63.5×38.1 mm"
    assert batches.stock_name("gone-2019", "sv") == "gone-2019"  # a stock no longer bundled keeps its id
    assert batches.stock_name(LAYOUT, "de") == batches.stock_name(LAYOUT, "sv")
    assert [name for name, _ in batches.layout_choices("en")] == batches.layout_names()
    assert ("roll-50x30", "Etikettrulle, 50×30 mm") in batches.layout_choices("sv")


def test_the_language_migration_keeps_old_batches_english_and_downgrades(tmp_path):
    """Batches made before batches had a language were printed in English: they stay so."""
    import sqlalchemy as sa
    from alembic import command

    from stickerreg.db import alembic_config

    url = f"sqlite:///{tmp_path / 'language.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "8d41b7e2c9f3")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO batches (public_id, product, count, set_size, layout, status, created_at) "
            "VALUES ('OLD000000000', 'Tag', 1, 1, 'a4-3x7', 'minted', '2026-11-30 12:00:00')"))
    command.upgrade(config, "b7e4a2c91d35")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT language FROM batches")).scalar_one() == "en"
    command.downgrade(config, "8d41b7e2c9f3")
    with engine.connect() as connection:
        assert "language" not in {column["name"] for column in sa.inspect(connection).get_columns("batches")}
        assert connection.execute(sa.text("SELECT public_id FROM batches")).scalar_one() == "OLD000000000"
    command.upgrade(config, "head")
    engine.dispose()
