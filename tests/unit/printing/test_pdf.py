"""Tests for the print PDF engine (stickerreg.printing.pdf) and the fast QR encoder it uses.

Pages are rasterised with pymupdf at 300 dpi and every QR symbol is decoded
with zxing-cpp; geometry is read back from the drawn paths (get_drawings) and
compared with ``layout.placement``. Runs stay at a few hundred stickers.
"""

from __future__ import annotations

import io
import random
import re

import pymupdf
import pytest
import zxingcpp
from PIL import Image
from qrcode import util as qrcode_util

from stickerreg import codes, qr
from stickerreg.printing import layouts, messages, pdf

BASE_URL = "https://stickerreg.se"
PT_PER_MM = 72 / 25.4
TOLERANCE_MM = 0.2
DPI = 300


def sample_codes(count: int, seed: int = 7) -> list[str]:
    """``count`` valid codes, the same on every run and xdist worker."""
    rng = random.Random(seed)
    bodies = ("".join(rng.choice(codes.ALPHABET) for _ in range(codes.BODY_LENGTH)) for _ in range(count))
    return [body + codes.check_symbol(body) for body in bodies]


def sample_items(count: int, seed: int = 7, base_url: str = BASE_URL) -> list[tuple[str, str]]:
    return [(code, qr.sticker_url(base_url, code)) for code in sample_codes(count, seed)]


def render(items, layout: str, **options) -> bytes:
    out = io.BytesIO()
    pdf.render_stickers(out, items, layout, **options)
    return out.getvalue()


def open_pdf(data: bytes) -> pymupdf.Document:
    document = pymupdf.open(stream=data, filetype="pdf")
    assert not document.is_repaired  # a broken xref would be silently repaired
    return document


def mm_rect(rect: pymupdf.Rect) -> layouts.Rect:
    """A pymupdf rectangle (points, top-left origin) in millimetres."""
    return layouts.Rect(rect.x0 / PT_PER_MM, rect.y0 / PT_PER_MM, rect.width / PT_PER_MM, rect.height / PT_PER_MM)


def pt_rect(rect: layouts.Rect) -> pymupdf.Rect:
    return pymupdf.Rect(rect.x, rect.y, rect.right, rect.bottom) * PT_PER_MM


def close_to(actual: layouts.Rect, expected: layouts.Rect) -> bool:
    return all(
        abs(a - b) <= TOLERANCE_MM
        for a, b in zip(
            (actual.x, actual.y, actual.right, actual.bottom),
            (expected.x, expected.y, expected.right, expected.bottom),
            strict=True,
        )
    )


def decode_page(page: pymupdf.Page, layout: layouts.StickerLayout) -> dict[int, str]:
    """Decode every QR on ``page`` at 300 dpi; map the slot it sits in to its text."""
    pixmap = page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY)
    image = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
    found: dict[int, str] = {}
    px_per_mm = DPI / 25.4
    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        assert barcode.valid and barcode.ec_level == "M"
        corners = barcode.position
        points = (corners.top_left, corners.top_right, corners.bottom_left, corners.bottom_right)
        x = sum(point.x for point in points) / 4 / px_per_mm
        y = sum(point.y for point in points) / 4 / px_per_mm
        (slot,) = [s for s in range(layout.per_page) if layout.placement(s).qr.grown(1).contains(layouts.Rect(x, y, 0, 0))]
        assert slot not in found
        found[slot] = barcode.text
    return found


def qr_paths(page: pymupdf.Page) -> list[dict]:
    """The filled paths of a page: one per QR symbol."""
    return [drawing for drawing in page.get_drawings() if drawing["type"] == "f"]


# --- every QR decodes to the URL of its position ------------------------------------


@pytest.mark.parametrize(
    ("layout_name", "count", "pages"),
    [("a4-3x7", 50, [0, 2]), ("square-25", 90, [0, 1]), ("round-25", 75, [1]), ("roll-50x30", 5, [0, 4])],
)
def test_every_qr_on_sampled_pages_decodes_to_the_url_of_its_position(layout_name, count, pages) -> None:
    layout = layouts.sticker_layout(layout_name)
    items = sample_items(count)
    document = open_pdf(render(items, layout_name))
    for page_index in pages:
        expected = {
            spot.slot: url
            for index, (_, url) in enumerate(items)
            if (spot := layout.placement(index)).page_index == page_index
        }
        assert decode_page(document[page_index], layout) == expected


@pytest.mark.parametrize(
    ("base_url", "modules"),
    [("a.se", 21), ("http://127.0.0.1:5000/", 25), ("https://print.stickerreg.example.com", 29)],
)
def test_every_symbol_size_fills_the_same_square_and_decodes(base_url, modules) -> None:
    layout = layouts.sticker_layout("a4-3x7")
    items = sample_items(21, seed=3, base_url=base_url)
    assert len(qr.matrix(items[0][1])) == modules
    page = open_pdf(render(items, layout))[0]
    assert decode_page(page, layout) == {slot: url for slot, (_, url) in enumerate(items)}
    for spot, path in zip(map(layout.placement, range(21)), qr_paths(page), strict=True):
        assert close_to(mm_rect(path["rect"]), spot.qr)
    domain = base_url.split("://")[-1].rstrip("/").upper()
    words = [word for word in page.get_text("words") if word[4] == domain]
    assert len(words) == 21  # shrunk to fit its box if need be, never cut
    labels = [layout.placement(slot).label for slot in range(21)]
    for word in words:
        assert any(label.contains(mm_rect(pymupdf.Rect(word[:4]))) for label in labels)


# --- text -----------------------------------------------------------------------------


@pytest.mark.parametrize("layout_name", ["a4-3x7", "square-25", "roll-50x30"])
def test_each_label_carries_its_display_id_as_real_text(layout_name) -> None:
    layout = layouts.sticker_layout(layout_name)
    items = sample_items(30)
    document = open_pdf(render(items, layout_name))
    for index, (code, _) in enumerate(items):
        spot = layout.placement(index)
        text = document[spot.page_index].get_textbox(pt_rect(spot.label))
        assert codes.display(code) in text


HINTS = {"sv": "Hittat mig? Skanna eller besök STICKERREG.SE", "en": "Found me? Scan or visit STICKERREG.SE"}


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("layout_name", ["a4-3x7", "roll-50x30"])
def test_labels_tell_the_finder_where_to_go_in_the_runs_language(layout_name, language) -> None:
    layout = layouts.sticker_layout(layout_name)
    document = open_pdf(render(sample_items(3), layout_name, language=language))
    spot = layout.placement(2)
    words = " ".join(document[spot.page_index].get_textbox(pt_rect(spot.label)).split())
    assert HINTS[language] in words
    other = HINTS["en" if language == "sv" else "sv"]
    assert other.split(" STICKERREG")[0] not in " ".join(page.get_text() for page in document)


def test_labels_are_swedish_unless_english_is_asked_for() -> None:
    document = open_pdf(render(sample_items(1), "a4-3x7"))
    assert "Hittat mig?" in document[0].get_text() and "Found me?" not in document[0].get_text()


def test_a_language_without_printed_texts_is_refused() -> None:
    with pytest.raises(messages.UnknownLanguage, match="sv, en"):
        render(sample_items(1), "a4-3x7", language="de")
    with pytest.raises(messages.UnknownLanguage):
        pdf.render_cards(io.BytesIO(), sample_cards(1), language="fr")


def test_text_stays_inside_its_label_and_off_the_quiet_zone() -> None:
    layout = layouts.sticker_layout("a4-3x7")
    items = sample_items(21)
    page = open_pdf(render(items, layout, language="en"))[0]
    words = [mm_rect(pymupdf.Rect(word[:4])) for word in page.get_text("words")]
    assert len(words) == 21 * 7  # Found me? / Scan or visit / domain / ID
    for spot in map(layout.placement, range(21)):
        quiet = layout.quiet_zone(25).moved(spot.label.x, spot.label.y)
        mine = [word for word in words if spot.label.contains(word)]
        assert len(mine) == 7
        assert not any(word.overlaps(quiet) for word in mine)


# --- geometry ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout_name", ["a4-3x7", "round-25", "square-25", "roll-50x30"])
def test_each_qr_is_one_vector_path_at_its_placement(layout_name) -> None:
    layout = layouts.sticker_layout(layout_name)
    count = layout.per_page + 1  # a full page and one sticker more
    document = open_pdf(render(sample_items(count), layout_name))
    for page_index, page in enumerate(document):
        paths = qr_paths(page)
        spots = [layout.placement(i) for i in range(count) if layout.placement(i).page_index == page_index]
        assert len(paths) == len(spots)  # ONE path per symbol
        for path, spot in zip(paths, spots, strict=True):
            assert {item[0] for item in path["items"]} == {"re"}
            assert close_to(mm_rect(path["rect"]), spot.qr)
            assert spot.qr.width >= layouts.QR_MIN_MM
            assert layout.grid.page.contains(spot.label) and spot.label.contains(spot.qr)
    assert not document[0].get_images()  # vector: no raster anywhere


def test_path_paints_exactly_the_dark_modules() -> None:
    layout = layouts.sticker_layout("a4-3x7")
    items = sample_items(4)
    page = open_pdf(render(items, layout))[0]
    for spot, path, (_, url) in zip(map(layout.placement, range(4)), qr_paths(page), items, strict=True):
        module = spot.qr.width / 25
        painted = set()
        for item in path["items"]:  # ("re", rect, orientation)
            box = mm_rect(item[1])
            x, y, width = (round(v / module) for v in (box.x - spot.qr.x, box.y - spot.qr.y, box.width))
            assert abs(box.height - module) < 0.01  # horizontal runs, one module high
            painted |= {(x + dx, y) for dx in range(width)}
        modules = qr.matrix(url)
        assert painted == {(x, y) for y, row in enumerate(modules) for x, dark in enumerate(row) if dark}


@pytest.mark.parametrize("layout_name", ["a4-3x7", "roll-50x30"])
def test_pdf_is_valid_with_the_right_pages_and_size(layout_name) -> None:
    layout = layouts.sticker_layout(layout_name)
    data = render(sample_items(45), layout_name)
    document = open_pdf(data)
    assert len(document) == layout.page_count(45)
    for page in document:
        assert page.rect.width == pytest.approx(layout.grid.page_width * PT_PER_MM, abs=0.01)
        assert page.rect.height == pytest.approx(layout.grid.page_height * PT_PER_MM, abs=0.01)
    assert data.startswith(b"%PDF-1.4\n") and data.endswith(b"%%EOF\n")


def test_cross_reference_table_points_at_every_object() -> None:
    data = render(sample_items(30), "a4-3x7")
    xref_at = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    keyword, counts, body = data[xref_at:].split(b"\n", 2)
    assert keyword == b"xref"
    first, size = map(int, counts.split())
    assert first == 0
    entries = [body[i * 20 : i * 20 + 20] for i in range(size)]
    assert entries[0] == b"0000000000 65535 f \n"
    for number, entry in enumerate(entries[1:], start=1):
        offset = int(entry[:10])
        assert data[offset:].startswith(f"{number} 0 obj\n".encode())


# --- crop marks -------------------------------------------------------------------------


def test_crop_marks_lie_outside_every_label() -> None:
    layout = layouts.sticker_layout("a4-3x7")
    plain = open_pdf(render(sample_items(21), layout))[0]
    marked = open_pdf(render(sample_items(21), layout, crop_marks=True))[0]
    assert not [d for d in plain.get_drawings() if d["type"] == "s"]
    (strokes,) = [d for d in marked.get_drawings() if d["type"] == "s"]  # one stroked path
    lines = [mm_rect(pymupdf.Rect(p1, p2)) for kind, p1, p2 in strokes["items"] if kind == "l"]
    # Both edges of each of 3 columns (gapped), the 8 edges of 7 abutting rows; at both ends.
    assert len(lines) == 2 * (2 * 3) + 2 * (7 + 1)
    labels = [layout.placement(slot).label.grown(layout.bleed) for slot in range(layout.per_page)]
    for line in lines:
        assert layout.grid.page.contains(line)
        assert not any(label.overlaps(line.grown(0.01)) for label in labels)
    assert len(qr_paths(marked)) == 21


def test_crop_marks_are_refused_where_the_layout_has_no_margin() -> None:
    with pytest.raises(ValueError, match="crop marks"):
        render(sample_items(1), "roll-50x30", crop_marks=True)


# --- streaming, progress, caching ---------------------------------------------------------


def test_pages_are_written_while_items_are_still_being_read() -> None:
    out = io.BytesIO()
    pulled = 0
    seen: list[tuple[int, int, int]] = []

    def items():
        nonlocal pulled
        for item in sample_items(100):
            pulled += 1
            yield item

    pdf.render_stickers(out, items(), "a4-3x7", progress=lambda done: seen.append((done, out.tell(), pulled)))
    assert [done for done, _, _ in seen] == [21, 42, 63, 84, 100]
    sizes = [size for _, size, _ in seen]
    assert sizes == sorted(set(sizes)) and 0 < sizes[0] < sizes[-1] < len(out.getvalue())
    assert all(read <= done + 21 for done, _, read in seen)  # never more than a page ahead


def test_nothing_is_written_for_an_empty_run() -> None:
    out = io.BytesIO()
    with pytest.raises(ValueError, match="nothing to print"):
        pdf.render_stickers(out, iter([]), "a4-3x7")
    assert out.getvalue() == b""


def test_a_repeated_code_is_encoded_once(monkeypatch) -> None:
    calls: list[str] = []
    real = qr.matrix_rows
    monkeypatch.setattr(qr, "matrix_rows", lambda payload: calls.append(payload) or real(payload))
    items = sample_items(5) * 3
    document = open_pdf(render(items, "a4-3x7"))
    assert sorted(calls) == sorted(url for _, url in items[:5])
    assert decode_page(document[0], layouts.sticker_layout("a4-3x7")) == {i: url for i, (_, url) in enumerate(items)}


def test_worker_processes_write_the_same_file() -> None:
    items = sample_items(60)
    assert render(items, "a4-3x7", workers=2) == render(items, "a4-3x7")


@pytest.mark.parametrize(
    ("code", "url"),
    [
        ("0123456789AB", "HTTPS://STICKERREG.SE/S/0123456789AB"),  # bad check symbol
        (sample_codes(1)[0], qr.sticker_url(BASE_URL, sample_codes(2)[1])),  # ID and QR disagree
    ],
)
def test_a_sticker_whose_id_and_qr_could_disagree_is_refused(code, url) -> None:
    with pytest.raises(ValueError):
        render([(code, url)], "a4-3x7")


def test_render_accepts_a_layout_object_and_refuses_bad_workers() -> None:
    layout = layouts.sticker_layout("square-25")
    assert open_pdf(render(sample_items(2), layout)).page_count == 1
    with pytest.raises(ValueError, match="workers"):
        render(sample_items(2), layout, workers=0)


# --- backing cards ------------------------------------------------------------------------


def sample_cards(count: int, per_card: int = 10) -> list[pdf.Card]:
    all_codes = sample_codes(count * per_card, seed=11)
    return [
        pdf.Card(all_codes[i * per_card : (i + 1) * per_card], f"ACT{i:02d}-(X)\\Y", BASE_URL) for i in range(count)
    ]


CARD_TEXTS = {
    "sv": ["Dina Stickerreg-dekaler", "1. Gå till STICKERREG.SE/account/claim", "2. Skriv in valfritt dekal-ID från kortet",
           "3. Skriv in den här aktiveringskoden:", "Dekal-ID:n i det här setet"],
    "en": ["Your Stickerreg stickers", "1. Go to STICKERREG.SE/account/claim", "2. Enter any sticker ID from this card",
           "3. Enter this activation code:", "Sticker IDs in this set"],
}


@pytest.mark.parametrize("language", ["sv", "en"])
def test_cards_show_the_activation_code_every_id_and_how_to_claim(language) -> None:
    layout = layouts.card_layout("cards-a4-4up")
    cards = sample_cards(5)
    out = io.BytesIO()
    pdf.render_cards(out, cards, layout, language=language)
    document = open_pdf(out.getvalue())
    assert len(document) == 2
    for number, card in enumerate(cards):
        page_index, slot = divmod(number, layout.per_page)
        text = document[page_index].get_textbox(pt_rect(layout.grid.cell(slot)))
        assert card.activation_code in text  # parentheses and backslash escaped correctly
        assert all(codes.display(code) in text for code in card.codes)
        lines = [" ".join(line.split()) for line in text.splitlines()]
        assert all(expected in lines for expected in CARD_TEXTS[language]), lines
        assert not any(other in lines for other in CARD_TEXTS["en" if language == "sv" else "sv"])


def test_one_card_per_page_on_a6() -> None:
    out, done = io.BytesIO(), []
    pdf.render_cards(out, sample_cards(3), "card-a6", progress=done.append)
    document = open_pdf(out.getvalue())
    assert len(document) == 3 and done == [1, 2, 3]
    assert document[0].rect.width == pytest.approx(105 * PT_PER_MM, abs=0.01)


def test_a_set_too_big_for_its_card_is_refused() -> None:
    layout = layouts.card_layout("cards-a4-4up")
    with pytest.raises(ValueError, match="at most"):
        pdf.render_cards(io.BytesIO(), sample_cards(1, per_card=layout.capacity + 1), layout)


def test_a_full_card_keeps_its_ids_on_the_card() -> None:
    layout = layouts.card_layout("cards-a4-4up")
    (card,) = sample_cards(1, per_card=layout.capacity)
    out = io.BytesIO()
    pdf.render_cards(out, [card], layout)
    page = open_pdf(out.getvalue())[0]
    card_area = layout.grid.cell(0)
    words = page.get_text("words")
    ids = [mm_rect(pymupdf.Rect(word[:4])) for word in words if codes.normalize(word[4])]
    assert len(ids) == layout.capacity
    assert all(card_area.contains(mm_rect(pymupdf.Rect(word[:4]))) for word in words)
    assert max(box.bottom for box in ids) <= card_area.bottom - layout.padding + TOLERANCE_MM


# --- text metrics ---------------------------------------------------------------------------


def test_text_width_matches_the_standard_font_metrics() -> None:
    # pymupdf measures the base-14 fonts with the same AFM widths.
    for font, pymupdf_font in (("Helvetica", "helv"), ("Helvetica-Bold", "hebo"), ("Courier", "cour")):
        for text in ("Found me? Scan or visit STICKERREG.SE", "0123-4567-89AB (x) \\"):
            expected = pymupdf.get_text_length(text, fontname=pymupdf_font, fontsize=10)
            assert pdf.text_width(font, 10, text) == pytest.approx(expected, abs=0.01)
    # Swedish letters are in WinAnsiEncoding with the widths of their base letters.
    assert pdf.text_width("Helvetica", 10, "ÅÄÖåäö") == pytest.approx(pdf.text_width("Helvetica", 10, "AAOaao"))


# --- the fast encoder behind the engine (stickerreg.qr.matrix_rows) --------------------------


def payloads_of_every_fast_version() -> list[str]:
    rng = random.Random(5)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    lengths = [1, 2, 19, 20, 21, 36, 38, 39, 61, 62, 90, 91, 122, 123, 154, 155, 200]
    return [url for _, url in sample_items(40, seed=9)] + [
        "".join(rng.choice(alphabet) for _ in range(length)) for length in lengths
    ]


def test_fast_encoder_gives_exactly_the_qrcode_library_matrix() -> None:
    for payload in payloads_of_every_fast_version():
        assert qr.fast_matrix(payload) == qr.matrix(payload), payload


@pytest.mark.parametrize("version", [1, 2, 3, 6])
def test_fast_mask_penalty_equals_qrcode_lost_point(version) -> None:
    symbol = qr._fast_symbol(version)
    size = symbol.size
    rng = random.Random(version)
    for _ in range(60):
        density = rng.choice([0.2, 0.5, 0.8])
        modules = [[rng.random() < density for _ in range(size)] for _ in range(size)]
        board = symbol._board((x, y) for y in range(size) for x in range(size) if modules[y][x])
        assert symbol.penalty(board) == qrcode_util.lost_point(modules)


def test_fast_encoder_rejects_what_matrix_rejects() -> None:
    for payload in ["https://x", "A_B", ""]:
        with pytest.raises(ValueError):
            qr.matrix_rows(payload)
