"""Print-ready PDF for the print shop: sticker sheets and rolls, and backing cards.

The engine writes PDF 1.4 itself instead of going through a general PDF
library: a sticker run is thousands of near-identical pages, and a writer that
only knows this one shape is many times faster (see ``bench/bench_pdf.py``).

* Streaming: pages are written to ``out`` one at a time (a FlateDecode content
  stream, then a tiny page object); only the byte offset of each object is
  kept for the cross-reference table. Memory stays flat however long the run.
* Every QR symbol is vector: all its dark modules are ONE path of horizontal
  runs (``x y w 1 re`` in module units, placed by one ``cm``), filled once.
  Its quiet zone is kept free by the layout (see ``stickerreg.printing.layouts``).
* Text is real text in the standard Helvetica and Courier fonts (no
  embedding), so it can be selected, searched and checked by tests. Its words
  come from the message catalogs in the run's ``language`` (``messages``),
  looked up once per run, not per sticker.
* Modules come from ``qr.matrix_rows``, the fast encoder; a code repeated in
  a run is encoded once (see ``_RunCache``).

Positions come from ``layouts.placement``: sticker ``i`` of ``items`` is drawn
exactly where ``layout.placement(i)`` says, which the CSV manifest relies on.
"""

from __future__ import annotations

import itertools
import multiprocessing
import zlib
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from stickerreg import codes, qr
from stickerreg.printing import messages
from stickerreg.printing.layouts import (
    DISPLAY_ID_LENGTH,
    MM_PER_PT,
    MONOSPACE_ADVANCE,
    CardLayout,
    Grid,
    Placement,
    Rect,
    StickerLayout,
    TextLine,
    TextStyle,
    card_layout,
    crop_mark_segments,
    placement,
    sticker_layout,
)

__all__ = ["Card", "Placement", "placement", "render_cards", "render_stickers"]

PT_PER_MM = 72 / 25.4
DEFAULT_CARD_LAYOUT = "cards-a4-4up"
# Measured on 10,000 stickers (a4-3x7): level 1 gives 5.1 MB in 0.13 s of
# compression, 4 gives 3.4 MB in 0.15 s, 5 gives 3.0 MB in 0.19 s, 6 gives
# 2.7 MB in 0.34 s and 9 gives 2.4 MB in 2.8 s. Level 5 is the knee.
COMPRESSION_LEVEL = 5
# Distinct codes remembered per run; a repeat within this window is not
# re-encoded. Bounded so memory stays flat on runs of any length.
RUN_CACHE_SIZE = 256
PAGES_PER_TASK = 8  # with workers > 1: big enough to amortise pickling, small enough to stream
FONT_NAMES = {"Helvetica": "F1", "Helvetica-Bold": "F2", "Courier": "F3", "Courier-Bold": "F4"}
ProgressCallback = Callable[[int], None]

# Advance widths (1/1000 em) of WinAnsiEncoding codes 32..255 in the standard
# fonts, from Adobe's core font metrics (AFM). Courier is 600 throughout.
_WIDTHS: dict[str, tuple[int, ...]] = {
    "Helvetica": (
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
        611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
        667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
        222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
        350, 556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
        222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, 278, 333, 556, 556,
        556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 556, 537,
        278, 333, 333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667, 667,
        667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722,
        667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
    ),
    "Helvetica-Bold": (
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
        556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
        611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
        667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
        278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
        350, 556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
        278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, 278, 333, 556, 556,
        556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611, 556,
        278, 333, 333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667, 667,
        667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722,
        667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
        611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
    ),
}


@dataclass(frozen=True)
class Card:
    """One backing card: the sticker set's codes and its activation code.

    ``codes`` are canonical sticker codes (shown as display IDs);
    ``base_url`` gives the domain of the claim address printed on the card.
    """

    codes: Sequence[str]
    activation_code: str
    base_url: str


# --- public API ------------------------------------------------------------------------


def render_stickers(
    out: BinaryIO,
    items: Iterable[tuple[str, str]],
    layout: StickerLayout | str,
    *,
    crop_marks: bool = False,
    progress: ProgressCallback | None = None,
    workers: int = 1,
    language: str = messages.DEFAULT_LANGUAGE,
) -> None:
    """Write a PDF with one sticker per ``(code, url)`` of ``items`` to ``out``, its
    words in ``language`` (``sv`` or ``en``).

    ``url`` is the QR payload (``qr.sticker_url``) and must end in ``/S/<code>``;
    sticker ``i`` lands where ``layout.placement(i)`` says. ``items`` is read
    one page at a time and each page is written before the next is built.
    ``progress`` is called after each page with the number of stickers written.
    ``workers`` > 1 paints pages in that many forked processes (for CLI runs:
    forking a multi-threaded web process is unsafe). Raises ValueError for an
    invalid code, a URL that does not match its code, an empty run, or crop
    marks on a layout without room for them; ``out`` then holds a partial file.
    """
    resolved = sticker_layout(layout) if isinstance(layout, str) else layout
    if crop_marks and resolved.crop_marks is None:
        raise ValueError(f"layout {resolved.name!r} has no room for crop marks")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    painter = _StickerPainter(resolved, crop_marks, messages.for_language(language))
    chunks = _chunks(items, resolved.per_page)
    pages = _painted(painter, chunks) if workers == 1 else _painted_in_pool(painter, chunks, workers)
    _write_pages(out, pages, resolved.grid, progress, "stickers")


def render_cards(
    out: BinaryIO,
    cards: Iterable[Card],
    layout: CardLayout | str = DEFAULT_CARD_LAYOUT,
    *,
    progress: ProgressCallback | None = None,
    language: str = messages.DEFAULT_LANGUAGE,
) -> None:
    """Write a PDF of backing cards, one per sticker set, to ``out``.

    Each card shows the set's display IDs, the activation code and three lines
    on how to claim the set, in ``language``. Streams like ``render_stickers``;
    ``progress`` gets the number of cards written after each page. Raises
    ValueError for an empty run, an invalid sticker code, or a set with more IDs
    than a card holds.
    """
    resolved = card_layout(layout) if isinstance(layout, str) else layout
    texts = messages.for_language(language)
    pages = ((_compress(_card_page(resolved, page, texts)), len(page)) for page in _chunks(cards, resolved.per_page))
    _write_pages(out, pages, resolved.grid, progress, "cards")


# A page painted and compressed, and how many stickers or cards it holds.
_Page = tuple[bytes, int]


def _write_pages(
    out: BinaryIO, pages: Iterator[_Page], grid: Grid, progress: ProgressCallback | None, what: str
) -> None:
    """Write each page as it comes, then the trailer; nothing at all for an empty run."""
    first = next(pages, None)
    if first is None:
        raise ValueError(f"nothing to print: no {what} given")
    writer = _PdfWriter(out, grid.page_width, grid.page_height)
    done = 0
    for stream, count in itertools.chain([first], pages):
        writer.add_page(stream)
        done += count
        if progress is not None:
            progress(done)
    writer.close()


def _compress(content: bytes) -> bytes:
    """A page's content stream, deflated for /FlateDecode."""
    return zlib.compress(content, COMPRESSION_LEVEL)


def _painted(painter: _StickerPainter, chunks: Iterator[list]) -> Iterator[_Page]:
    """Paint and compress pages in this process, one at a time."""
    for chunk in chunks:
        yield _compress(painter.page(chunk)), len(chunk)


_worker_painter: _StickerPainter | None = None  # set in each pool process by _start_worker


def _painted_in_pool(painter: _StickerPainter, chunks: Iterator[list], workers: int) -> Iterator[_Page]:
    """Paint and compress pages in forked processes, in order, a few tasks ahead.

    Fork, not spawn: children start in milliseconds and inherit the painter and
    the encoder tables the parent already built, where a spawned child would
    re-import the whole app. At most two tasks per worker are in flight, so
    memory stays flat. Each child has its own cache of repeated codes.
    """
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(painter,))
    try:
        pending: deque[Future[list[_Page]]] = deque()
        for task in _chunks(chunks, PAGES_PER_TASK):
            pending.append(pool.submit(_paint_task, task))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    finally:
        pool.shutdown(cancel_futures=True)


def _start_worker(painter: _StickerPainter) -> None:
    """In a new pool process: keep the painter (passed by fork, not pickled)."""
    global _worker_painter
    _worker_painter = painter


def _paint_task(chunks: list[list[tuple[str, str]]]) -> list[_Page]:
    """In a pool process: paint and compress a few pages."""
    assert _worker_painter is not None
    return list(_painted(_worker_painter, iter(chunks)))


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter), read lazily."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- the PDF file ------------------------------------------------------------------------


class _PdfWriter:
    """Writes a PDF 1.4 file page by page, keeping only object offsets.

    Objects 1 and 2 (catalog and page tree) are written last, when the number
    of pages is known; 3-6 are the fonts; each page then adds its content
    stream and its page object, so page ``k`` (0-based) is object ``8 + 2k``.
    """

    FIRST_PAGE_OBJECT = 7
    PIECE = 1024  # page-tree and xref entries per write: the tail streams too

    def __init__(self, out: BinaryIO, width_mm: float, height_mm: float) -> None:
        self.out = out
        self.position = 0  # counted, not out.tell(): ``out`` may be a pipe
        self.offsets = array("Q", [0] * self.FIRST_PAGE_OBJECT)  # 8 bytes per object
        self.media_box = f"[0 0 {_num(width_mm * PT_PER_MM)} {_num(height_mm * PT_PER_MM)}]"
        # The binary comment line tells transfer tools the file is not text.
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        for number, (font, name) in enumerate(FONT_NAMES.items(), start=3):
            self._object(number, f"<< /Type /Font /Subtype /Type1 /Name /{name} /BaseFont /{font}"
                                 " /Encoding /WinAnsiEncoding >>")  # fmt: skip

    @property
    def pages(self) -> int:
        return (len(self.offsets) - self.FIRST_PAGE_OBJECT) // 2

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def _object(self, number: int, body: str, stream: bytes | None = None) -> None:
        self.offsets[number] = self.position
        head = f"{number} 0 obj\n{body}\n".encode("ascii")
        if stream is None:
            self._write(head + b"endobj\n")
        else:
            self._write(head + b"stream\n" + stream + b"\nendstream\nendobj\n")

    def add_page(self, stream: bytes) -> None:
        """Write one page: its compressed content stream and its page object."""
        number = len(self.offsets)
        self.offsets.extend((0, 0))
        self._object(number, f"<< /Length {len(stream)} /Filter /FlateDecode >>", stream)
        self._object(number + 1, f"<< /Type /Page /Parent 2 0 R /Contents {number} 0 R >>")

    def close(self) -> None:
        """Write page tree, catalog, cross-reference table and trailer."""
        fonts = " ".join(f"/{name} {number} 0 R" for number, name in enumerate(FONT_NAMES.values(), start=3))
        self.offsets[2] = self.position
        # Media box and fonts are inherited by every page from the tree.
        self._write(
            f"2 0 obj\n<< /Type /Pages /Count {self.pages} /MediaBox {self.media_box}"
            f" /Resources << /Font << {fonts} >> /ProcSet [/PDF /Text] >>\n/Kids [".encode("ascii")
        )
        for start in range(0, self.pages, self.PIECE):
            kids = range(start, min(start + self.PIECE, self.pages))
            self._write("".join(f"{self.FIRST_PAGE_OBJECT + 2 * k + 1} 0 R\n" for k in kids).encode("ascii"))
        self._write(b"] >>\nendobj\n")
        self._object(1, "<< /Type /Catalog /Pages 2 0 R >>")
        xref_at, size = self.position, len(self.offsets)
        self._write(f"xref\n0 {size}\n0000000000 65535 f \n".encode("ascii"))
        for start in range(1, size, self.PIECE):
            offsets = self.offsets[start : start + self.PIECE]
            self._write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii"))
        self._write(f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode("ascii"))


def _num(value: float) -> str:
    """A PDF number: at most 3 decimals (1/1000 pt), no trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# --- text ----------------------------------------------------------------------------


def text_width(font: str, size: float, text: str) -> float:
    """Width in points of ``text`` set in one of the standard fonts at ``size`` points."""
    if font.startswith("Courier"):
        return len(text) * MONOSPACE_ADVANCE * size
    widths = _WIDTHS[font]
    encoded = text.encode("cp1252", errors="replace")
    return sum(widths[byte - 32] if byte >= 32 else 0 for byte in encoded) * size / 1000


def _pdf_text(text: str) -> str:
    """``text`` as a PDF literal string, escaped; characters outside cp1252 become '?'."""
    safe = text.encode("cp1252", errors="replace").decode("cp1252")
    return "(" + safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _text(font: str, size: float, x_mm: float, baseline_mm: float, page_height_mm: float, text: str) -> str:
    """A BT..ET block showing ``text`` with its baseline start at ``(x, baseline)`` mm from the top left."""
    x, y = _num(x_mm * PT_PER_MM), _num((page_height_mm - baseline_mm) * PT_PER_MM)
    return f"BT /{FONT_NAMES[font]} {_num(size)} Tf 1 0 0 1 {x} {y} Tm {_pdf_text(text)} Tj ET\n"


def _fit(font: str, size: float, text: str, max_width_mm: float) -> tuple[float, float]:
    """Font size, shrunk if ``text`` would be wider than ``max_width_mm``, and the width it then takes (mm)."""
    width = text_width(font, size, text) * MM_PER_PT
    if width <= max_width_mm:
        return size, width
    return size * max_width_mm / width, max_width_mm


def _fitted(line: TextLine, text: str) -> tuple[float, float]:
    """Font size (shrunk to fit the box if needed) and x offset (mm) by the line's alignment."""
    size, width = _fit(line.font, line.size, text, line.width)
    if line.align == "center":
        return size, (line.width - width) / 2
    return size, (line.width - width if line.align == "right" else 0.0)


# --- QR symbols ------------------------------------------------------------------------


class _RowText:
    """Turns a row of modules (an int, bit x = column x) into ``x @ w 1 re`` text.

    A loop over runs costs a few Python operations per run, and a sticker has
    about 160 runs. Instead, each row is split into a low part (bits 0-12) and
    a high part (bits 13-25) whose finished text comes from tables; only a run
    crossing the split needs joining, and that text comes from a third table.
    The row number is written as "@" and filled in per row with ``str.replace``.
    """

    SPLIT = 13
    MAX_SIZE = 2 * SPLIT  # wider symbols take the plain loop

    def __init__(self) -> None:
        split, parts = self.SPLIT, range(1 << self.SPLIT)
        self.low = [_runs_text(_runs(value), end=split) for value in parts]
        self.low_open = [_open_run(value, split) for value in parts]  # start + 1 of a run ending at the split
        self.high = [_runs_text(_runs(value), shift=split, start=1) for value in parts]
        self.high_open = [_runs(value)[0][1] if value & 1 else 0 for value in parts]  # its length from the split
        self.joined = [
            _joined_run(start_plus_one - 1, length, split) for start_plus_one in range(split + 1) for length in range(32)
        ]

    def symbol(self, rows: tuple[int, ...]) -> str:
        """All runs of a symbol, top row first, as ``re`` operators in module units."""
        if len(rows) > self.MAX_SIZE:
            return "".join(_runs_text(_runs(row)).replace("@", str(y)) for y, row in enumerate(rows))
        low, low_open, high, high_open, joined = self.low, self.low_open, self.high, self.high_open, self.joined
        mask = (1 << self.SPLIT) - 1
        parts = []
        for y, row in enumerate(rows):
            lo, hi = row & mask, row >> self.SPLIT
            parts.append((low[lo] + joined[low_open[lo] * 32 + high_open[hi]] + high[hi]).replace("@", _ROW_NUMBERS[y]))
        return "".join(parts)


_ROW_NUMBERS = [str(y) for y in range(200)]


def _runs(value: int) -> list[tuple[int, int]]:
    """``(x, width)`` of each run of set bits, lowest first."""
    runs, x = [], 0
    while value:
        skip = (value & -value).bit_length() - 1
        value >>= skip
        x += skip
        width = (~value & (value + 1)).bit_length() - 1
        runs.append((x, width))
        value >>= width
        x += width
    return runs


def _runs_text(runs: list[tuple[int, int]], *, shift: int = 0, start: int = 0, end: int | None = None) -> str:
    """``re`` text of the runs that start at or after ``start`` and end before ``end``."""
    return "".join(
        f"{x + shift} @ {width} 1 re\n" for x, width in runs if x >= start and (end is None or x + width < end)
    )


def _open_run(value: int, split: int) -> int:
    """1 + the start of the run that reaches bit ``split - 1``, or 0 when that bit is light."""
    if not value >> (split - 1) & 1:
        return 0
    return _runs(value)[-1][0] + 1


def _joined_run(start: int, high_length: int, split: int) -> str:
    """Text of the run across the split: from ``start`` (-1: none below) plus ``high_length`` above."""
    if start < 0:
        return f"{split} @ {high_length} 1 re\n" if high_length else ""
    return f"{start} @ {split - start + high_length} 1 re\n"


_ROW_TEXT: _RowText | None = None


def _row_text() -> _RowText:
    """The row tables, built on first use (about 30 ms) and kept for the process."""
    global _ROW_TEXT
    if _ROW_TEXT is None:
        _ROW_TEXT = _RowText()
    return _ROW_TEXT


class _RunCache:
    """Runs text of the most recent distinct payloads, so a repeated code is encoded once."""

    def __init__(self, size: int = RUN_CACHE_SIZE) -> None:
        self.size, self.entries = size, OrderedDict()
        self.rows = _row_text()

    def symbol(self, payload: str) -> tuple[int, str]:
        """Modules per side and the ``re`` text of ``payload``'s symbol."""
        entry = self.entries.get(payload)
        if entry is None:
            modules = qr.matrix_rows(payload)
            entry = self.entries[payload] = (len(modules), self.rows.symbol(modules))
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(payload)
        return entry


# --- sticker pages -----------------------------------------------------------------------


class _StickerPainter:
    """Builds the content stream of sticker pages for one layout.

    Everything that is the same from sheet to sheet is formatted once: the
    ``cm`` of each slot, lines without placeholders (their words translated
    here, once), the domain lines per domain, and the text operators in front
    of each display ID (an ID is always 14 Courier characters, so its size and
    place never change).
    """

    DOMAIN_CACHE = 4096  # (slot, domain) entries; more domains than that in a run is absurd

    def __init__(self, layout: StickerLayout, crop_marks: bool, texts: messages.Texts) -> None:
        self.layout, self.height = layout, layout.grid.page_height
        self.slots = [layout.placement(slot) for slot in range(layout.per_page)]
        self.symbols = _RunCache()
        self.transforms: dict[tuple[int, int], str] = {}
        self.marks = _crop_marks(layout, self.height) if crop_marks else ""
        static = [(line, line.words(texts)) for line in layout.text if not line.fields()]
        self.static = ["".join(self._line(spot, line, words) for line, words in static) for spot in self.slots]
        self.id_prefixes = [self._id_prefix(spot) for spot in self.slots]
        self.domain_lines = [line for line in layout.text if line.fields() == {"domain"}]
        self.domain_text: dict[tuple[int, str], str] = {}

    def page(self, items: list[tuple[str, str]]) -> bytes:
        """Content stream (uncompressed) of one page of ``items``."""
        parts = ["0 g\n"]
        for spot, (code, url) in zip(self.slots, items, strict=False):  # the last page may be short
            display_id = codes.display(code)  # raises ValueError for an invalid code
            if not url.endswith("/S/" + code):  # the printed ID and the QR must agree
                raise ValueError(f"QR payload {url!r} does not point to sticker {code}")
            size, runs = self.symbols.symbol(url)
            parts += [self._transform(spot.slot, size), runs, "f\nQ\n"]  # the symbol: ONE path, one fill
            parts += [self.static[spot.slot], self._domain_text(spot, url)]
            parts += [f"{prefix}({display_id}) Tj ET\n" for prefix in self.id_prefixes[spot.slot]]
        parts.append(self.marks)
        return "".join(parts).encode("cp1252", errors="replace")

    def _transform(self, slot: int, size: int) -> str:
        """``q .. cm`` mapping module units (x right, y down) onto the slot's QR square."""
        key = (slot, size)
        if key not in self.transforms:
            spot = self.slots[slot]
            scale = spot.qr.width / size * PT_PER_MM
            left, top = spot.qr.x * PT_PER_MM, (self.height - spot.qr.y) * PT_PER_MM
            self.transforms[key] = f"q {scale:.5f} 0 0 {-scale:.5f} {_num(left)} {_num(top)} cm\n"
        return self.transforms[key]

    def _id_prefix(self, spot: Placement) -> list[str]:
        """For each ``{id}`` line: its text operators up to the string, which follows per sticker."""
        sample = "0" * DISPLAY_ID_LENGTH
        lines = [line for line in self.layout.text if line.fields() == {"id"}]
        return [self._line(spot, line, sample).removesuffix(f"({sample}) Tj ET\n") for line in lines]

    def _domain_text(self, spot: Placement, url: str) -> str:
        """The lines naming the domain the QR points to, formatted once per slot and domain."""
        domain = _domain(url)
        key = (spot.slot, domain)
        text = self.domain_text.get(key)
        if text is None:
            if len(self.domain_text) >= self.DOMAIN_CACHE:
                self.domain_text.clear()
            text = "".join(self._line(spot, line, line.text.format(domain=domain)) for line in self.domain_lines)
            self.domain_text[key] = text
        return text

    def _line(self, spot: Placement, line: TextLine, text: str) -> str:
        """One text line of the label at ``spot``, fitted and aligned in its box."""
        size, dx = _fitted(line, text)
        return _text(line.font, size, spot.label.x + line.x + dx, spot.label.y + line.baseline, self.height, text)


def _domain(url: str) -> str:
    """The host (and port) of a URL, e.g. ``STICKERREG.SE`` from ``HTTPS://STICKERREG.SE/S/..``."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def _crop_marks(layout: StickerLayout, page_height: float) -> str:
    """Every crop mark as one stroked path of thin black lines."""
    marks = layout.crop_marks
    assert marks is not None
    return f"q 0 G {_num(marks.line_width)} w\n{_segments(crop_mark_segments(layout), page_height)}S\nQ\n"


def _segments(lines: Iterable[tuple[float, float, float, float]], page_height: float) -> str:
    """``m``/``l`` path text of straight lines given in mm from the page's top left."""
    return "".join(
        f"{_num(x1 * PT_PER_MM)} {_num((page_height - y1) * PT_PER_MM)} m "
        f"{_num(x2 * PT_PER_MM)} {_num((page_height - y2) * PT_PER_MM)} l\n"
        for x1, y1, x2, y2 in lines
    )


# --- card pages --------------------------------------------------------------------------


def _card_page(layout: CardLayout, cards: list[Card], texts: messages.Texts) -> bytes:
    """Content stream (uncompressed) of one page of backing cards."""
    parts = ["0 g\n"]
    for slot, card in enumerate(cards):
        parts.append(_card(layout, layout.grid.cell(slot), card, texts))
    if layout.cut_guides and layout.per_page > 1:
        parts.append(_cut_guides(layout))
    return "".join(parts).encode("cp1252", errors="replace")


def _card(layout: CardLayout, cell: Rect, card: Card, texts: messages.Texts) -> str:
    """Title, claim steps, activation code and the set's IDs, stacked as ``layout.flow`` says."""
    if len(card.codes) > layout.capacity:
        raise ValueError(f"a card of layout {layout.name!r} lists at most {layout.capacity} sticker IDs")
    flow, height, left = layout.flow(), layout.grid.page_height, cell.x + layout.padding
    width = layout.grid.cell_width - 2 * layout.padding
    domain = _domain(card.base_url.upper().rstrip("/"))

    def line(style: TextStyle, baseline: float, text: str, x: float = left) -> str:
        size, _ = _fit(style.font, style.size, text, width - (x - left))
        return _text(style.font, size, x, cell.y + baseline, height, text)

    parts = [line(layout.title_style, flow.title, texts(layout.title))]
    for baseline, step in zip(flow.steps, layout.steps, strict=True):
        parts.append(line(layout.steps_style, baseline, texts(step, domain=domain)))
    parts.append(line(layout.activation_style, flow.activation, card.activation_code))
    parts.append(line(layout.ids_heading_style, flow.ids_heading, texts(layout.ids_heading)))
    pitch = layout.id_column_width + layout.id_column_gap
    for number, code in enumerate(card.codes):
        row, column = divmod(number, layout.id_columns)
        baseline = flow.first_id + row * layout.id_leading
        parts.append(line(layout.ids_style, baseline, codes.display(code), left + column * pitch))
    return "".join(parts)


def _cut_guides(layout: CardLayout) -> str:
    """Thin dashed grey lines along the inner card edges, to cut the sheet along."""
    grid, height = layout.grid, layout.grid.page_height
    area = grid.used_area()
    xs = {grid.cell(column).x for column in range(1, grid.columns)}
    ys = {grid.cell(row * grid.columns).y for row in range(1, grid.rows)}
    lines = [(x, area.y, x, area.bottom) for x in sorted(xs)] + [(area.x, y, area.right, y) for y in sorted(ys)]
    return f"q 0.6 G 0.3 w [3 3] 0 d\n{_segments(lines, height)}S\nQ\n"
