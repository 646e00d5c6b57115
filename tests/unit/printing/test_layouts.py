"""Tests for print layouts as data (stickerreg.printing.layouts and layouts.json)."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

from stickerreg.printing import layouts, messages

BUNDLED = json.loads(resources.files("stickerreg.printing").joinpath("layouts.json").read_text(encoding="utf-8"))


def changed(path: str, value: object) -> str:
    """The bundled layouts JSON with the value at dotted ``path`` replaced (None deletes it)."""
    document = copy.deepcopy(BUNDLED)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is None:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return json.dumps(document)


def refused(path: str, value: object, match: str) -> None:
    with pytest.raises(layouts.LayoutError, match=match):
        layouts.loads(changed(path, value))


# --- the bundled layouts ---------------------------------------------------------------


def test_the_required_layouts_are_bundled() -> None:
    bundled = layouts.bundled()
    assert {"a4-3x7", "round-25", "roll-50x30"} <= set(bundled.stickers)
    assert {"cards-a4-4up", "card-a6"} <= set(bundled.cards)


def test_a4_3x7_is_standard_stock_that_adds_up_to_the_page() -> None:
    grid = layouts.sticker_layout("a4-3x7").grid
    assert (grid.page_width, grid.page_height) == (210.0, 297.0)
    assert (grid.cell_width, grid.cell_height, grid.columns, grid.rows) == (63.5, 38.1, 3, 7)
    assert (grid.margin_top, grid.margin_left, grid.gap_column, grid.gap_row) == (15.15, 7.25, 2.5, 0.0)
    across = 2 * grid.margin_left + 3 * grid.cell_width + 2 * grid.gap_column
    down = 2 * grid.margin_top + 7 * grid.cell_height + 6 * grid.gap_row
    assert (across, down) == (pytest.approx(210.0), pytest.approx(297.0))
    assert grid.per_page == 21


def test_round_25_is_small_labels_on_a4_with_a_15_mm_qr() -> None:
    layout = layouts.sticker_layout("round-25")
    assert layout.shape == "round" and layout.grid.cell_width == layout.grid.cell_height == 25.0
    assert layout.per_page == 70 and layout.grid.page_width == 210.0
    assert layout.qr.width >= 15.0
    assert layout.text == ()  # no text line fits inside the circle


def test_square_25_puts_the_id_under_the_qr() -> None:
    layout = layouts.sticker_layout("square-25")
    (line,) = layout.text
    assert line.text == "{id}" and line.box().y > layout.quiet_zone().bottom


def test_roll_page_is_the_label() -> None:
    layout = layouts.sticker_layout("roll-50x30")
    grid = layout.grid
    assert (grid.page_width, grid.page_height) == (grid.cell_width, grid.cell_height) == (50.0, 30.0)
    assert layout.per_page == 1 and layout.crop_marks is None


@pytest.mark.parametrize("name", sorted(layouts.bundled().stickers))
def test_every_label_qr_and_text_is_on_the_page_and_clear_of_the_quiet_zone(name) -> None:
    layout = layouts.sticker_layout(name)
    assert layouts.validate_sticker_layout(layout) == []
    for index in range(layout.per_page):
        spot = layout.placement(index)
        assert layout.grid.page.contains(spot.label)
        assert spot.label.contains(spot.qr) and spot.qr.width >= layouts.QR_MIN_MM
        for modules in (21, 25, 29):  # quiet zone of every version the engine may draw
            assert layout.grid.page.contains(layout.quiet_zone(modules).moved(spot.label.x, spot.label.y))
    for line in layout.text:
        assert not line.box().overlaps(layout.quiet_zone())


@pytest.mark.parametrize("name", ["a4-3x7", "square-25", "roll-50x30"])
def test_labels_with_text_show_the_id_and_the_hint(name) -> None:
    texts = [line.text for line in layouts.sticker_layout(name).text]
    assert "{id}" in texts
    if name != "square-25":
        assert " ".join(texts[:3]) == "Found me? Scan or visit {domain}"


def test_crop_marks_sit_in_the_margins_outside_the_labels() -> None:
    layout = layouts.sticker_layout("a4-3x7")
    labels = [layout.placement(slot).label for slot in range(layout.per_page)]
    segments = layouts.crop_mark_segments(layout)
    assert segments
    for x1, y1, x2, y2 in segments:
        line = layouts.Rect(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
        assert layout.grid.page.contains(line)
        assert not any(label.overlaps(line.grown(0.01)) for label in labels)


def test_cards_hold_a_full_set() -> None:
    for layout in layouts.bundled().cards.values():
        assert layouts.validate_card_layout(layout) == []
        assert layout.capacity >= 30
        assert len(layout.steps) == 3


# --- placement ---------------------------------------------------------------------------


def test_placement_counts_row_by_row_and_page_by_page() -> None:
    layout = layouts.sticker_layout("a4-3x7")
    first, second, last, next_page = (layout.placement(i) for i in (0, 1, 20, 21))
    assert (first.page_index, first.page_number, first.slot) == (0, 1, 0)
    assert (first.label.x, first.label.y) == (7.25, 15.15)
    assert second.label.x == pytest.approx(7.25 + 63.5 + 2.5) and second.label.y == 15.15
    assert (last.label.right, last.label.bottom) == (pytest.approx(202.75), pytest.approx(281.85))
    assert (next_page.page_index, next_page.slot, next_page.label) == (1, 0, first.label)
    assert first.qr == layouts.Rect(7.25 + 5.0, 15.15 + 7.05, 24.0, 24.0)


def test_placement_by_name_and_bad_index() -> None:
    assert layouts.placement("roll-50x30", 4).page_index == 4
    with pytest.raises(ValueError):
        layouts.placement("a4-3x7", -1)
    with pytest.raises(KeyError, match="a4-3x7"):
        layouts.placement("a4-2x8", 0)


def test_page_count() -> None:
    layout = layouts.sticker_layout("a4-3x7")
    assert [layout.page_count(n) for n in (1, 21, 22, 10_000)] == [1, 1, 2, 477]


# --- validation -----------------------------------------------------------------------------


def test_a_qr_under_15_mm_is_refused() -> None:
    refused("stickers.a4-3x7.qr.size", 14.9, "smaller than the 15 mm minimum")


def test_labels_that_run_off_the_page_are_refused() -> None:
    refused("stickers.a4-3x7.columns", 4, "past the 210 x 297 mm page")
    refused("stickers.a4-3x7.margin.top", 30.5, "past the")


def test_a_quiet_zone_that_leaves_the_label_is_refused() -> None:
    refused("stickers.a4-3x7.qr.x", 4.0, "quiet zone")


def test_text_in_the_quiet_zone_is_refused() -> None:
    refused("stickers.a4-3x7.text.0.x", 30.0, "overlaps the QR quiet zone")


def test_text_outside_the_label_is_refused() -> None:
    refused("stickers.roll-50x30.text.3.baseline", 29.5, "does not fit inside the label")


def test_the_id_is_never_shrunk_or_set_proportionally() -> None:
    refused("stickers.a4-3x7.text.3.size", 9.5, "wider than its")
    refused("stickers.a4-3x7.text.3.font", "Helvetica", "needs a Courier font")


def test_unknown_placeholders_fonts_and_keys_are_refused() -> None:
    refused("stickers.a4-3x7.text.2.text", "{host}", "unknown placeholder")
    refused("stickers.a4-3x7.text.2.font", "Times-Roman", "must be one of")
    refused("stickers.a4-3x7.bleeed", 1.0, "unknown bleeed")
    refused("stickers.a4-3x7.qr.size", None, "missing 'size'")
    refused("stickers.a4-3x7.columns", 2.5, "whole number")


def test_a_round_label_must_not_cut_into_the_quiet_zone_beside_a_finder() -> None:
    refused("stickers.round-25.qr.size", 16.5, "cuts into the quiet zone")


def test_crop_marks_must_fit_the_margin_and_clear_the_bleed() -> None:
    refused("stickers.a4-3x7.crop_marks.length", 7.0, "crop marks do not fit")
    refused("stickers.a4-3x7.bleed", 2.0, "offset of at least the bleed")


def test_bleed_must_stay_on_the_page() -> None:
    refused("stickers.roll-50x30.bleed", 0.5, "bleed run off the page")


def test_a_card_too_narrow_for_its_id_columns_is_refused() -> None:
    refused("cards.cards-a4-4up.ids.columns", 4, "columns of IDs need")


def test_load_reads_a_file(tmp_path) -> None:
    path = tmp_path / "layouts.json"
    path.write_text(changed("stickers.a4-3x7.description", "Our own stock"), encoding="utf-8")
    assert layouts.load(path).stickers["a4-3x7"].description == "Our own stock"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(layouts.LayoutError, match="not JSON"):
        layouts.load(path)


# --- words come from the catalogs, names from the data ---------------------------------------


def test_layouts_json_holds_no_printed_words() -> None:
    for layout in BUNDLED["stickers"].values():
        for line in layout["text"]:
            assert "message" in line or line["text"] in ("{id}", "{domain}"), line
    for card in BUNDLED["cards"].values():
        assert set(card["title"]) >= {"message"} and "text" not in card["title"]
        assert all(key in messages.MESSAGES for key in card["steps"]["messages"])
        assert card["ids"]["heading"] in messages.MESSAGES


def test_a_line_of_literal_words_is_refused() -> None:
    line = {"text": "Found me?", "font": "Helvetica-Bold", "size": 9.0, "x": 35.0, "baseline": 12.0, "width": 26.5}
    refused("stickers.a4-3x7.text.0", line, "words come from the message catalog")
    refused("stickers.a4-3x7.text.0", {**line, "text": "www.{domain}"}, "words come from the message catalog")
    refused("stickers.a4-3x7.text.0", {**line, "text": "{domain}", "message": "found_me"}, "either 'text'")
    del line["text"]
    refused("stickers.a4-3x7.text.0", {**line, "message": "hello"}, "no message 'hello'")
    refused("stickers.a4-3x7.text.0", {**line, "message": "claim_go_to"}, "without placeholders")
    refused("cards.card-a6.steps.messages", ["claim_go_to", "nope"], "must be message keys")
    refused("cards.card-a6.title.message", "card title", "no message 'card title'")


def test_the_paper_must_be_the_page() -> None:
    refused("stickers.a4-3x7.paper", "A5", "A5 paper is 148 x 210 mm, not 210 x 297")
    refused("stickers.a4-3x7.paper", "roll", "the page must be the label")
    refused("stickers.a4-3x7.paper", "B4", "must be one of")
    refused("stickers.a4-3x7.paper", None, "missing 'paper'")


@pytest.mark.parametrize(
    ("name", "swedish", "english"),
    [("a4-3x7", "A4-ark, 3×7 etiketter, 63,5×38,1 mm", "A4 sheet, 3×7 labels, 63.5×38.1 mm"),
     ("square-25", "A4-ark, 7×10 etiketter, 25×25 mm", "A4 sheet, 7×10 labels, 25×25 mm"),
     ("round-25", "A4-ark, 7×10 runda etiketter, Ø 25 mm", "A4 sheet, 7×10 round labels, Ø 25 mm"),
     ("roll-50x30", "Etikettrulle, 50×30 mm", "Label roll, 50×30 mm")],
)
def test_each_stock_has_a_name_with_its_size_in_each_language(name, swedish, english) -> None:
    layout = layouts.sticker_layout(name)
    assert layouts.stock_name(layout, messages.for_language("sv")) == swedish
    assert layouts.stock_name(layout, messages.for_language("en")) == english


def test_the_name_is_built_from_the_layouts_data() -> None:
    document = json.loads(changed("stickers.a4-3x7.rows", 6))
    document["stickers"]["a4-3x7"]["label"]["height"] = 37.2
    layout = layouts.loads(json.dumps(document)).stickers["a4-3x7"]
    assert layouts.stock_name(layout, messages.for_language("sv")) == "A4-ark, 3×6 etiketter, 63,5×37,2 mm"
    assert layouts.stock_name(layout, messages.for_language("en")) == "A4 sheet, 3×6 labels, 63.5×37.2 mm"
