"""Print layouts as data: sticker sheets, rolls and backing cards.

The layouts live in ``layouts.json`` beside this module so a print shop's new
label stock is a data change, not a code change. Loading turns them into frozen
dataclasses and validates every one: all labels and marks on the page, QR
symbol at least ``QR_MIN_MM``, a quiet zone of 4 modules free of text, text
boxes inside their label. A bad layout fails loudly at load time rather than
as a misprinted batch.

Geometry is in millimetres from the top-left corner, y growing downwards (as
a ruler on the sheet reads, and as pymupdf reports positions); font sizes are
in points. ``placement`` tells where sticker number ``i`` of a run lands.

Words are not data here: a text line either shows a placeholder (``{id}``,
``{domain}``) or names a message of ``messages.MESSAGES``, which is printed in
the batch's language from the app's catalogs. ``stock_name`` names a sticker
stock for people ("A4 sheet, 3×7 labels, 63.5×38.1 mm") from its paper, grid
and label size.
"""

from __future__ import annotations

import functools
import json
import math
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from stickerreg import qr
from stickerreg.printing import messages
from stickerreg.printing.messages import MESSAGES, Texts

MM_PER_PT = 25.4 / 72
QR_MIN_MM = 15.0
# The coarsest symbol (version 1) has the biggest modules, so the widest quiet
# zone: a layout that fits it fits every payload the engine may draw.
COARSEST_SYMBOL_MODULES = 21
FONTS = ("Helvetica", "Helvetica-Bold", "Courier", "Courier-Bold")
MONOSPACE_FONTS = ("Courier", "Courier-Bold")
MONOSPACE_ADVANCE = 0.6  # every Courier glyph is 600/1000 em wide
DISPLAY_ID_LENGTH = 14  # e.g. 0123-4567-89AB
# Text box above and below the baseline, as a share of the font size: covers
# the caps and descenders of the standard fonts (Helvetica caps 0.718 em).
ASCENT, DESCENT = 0.75, 0.25
PLACEHOLDERS = frozenset({"id", "domain"})
ALIGNMENTS = ("left", "center", "right")
SHAPES = ("rect", "round")
# Paper a sheet layout is printed on, by its usual name, and its size in mm; a roll
# prints one label per page, so its page is the label.
PAPER_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "A6": (105.0, 148.0), "Letter": (215.9, 279.4)}
ROLL = "roll"
_TOLERANCE = 1e-6  # mm; the JSON numbers are decimal and must add up exactly


class LayoutError(ValueError):
    """A layout in layouts.json is malformed or does not fit its page."""


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle in mm, from the top-left, y downwards."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def moved(self, dx: float, dy: float) -> Rect:
        """The same rectangle shifted by ``(dx, dy)``."""
        return Rect(self.x + dx, self.y + dy, self.width, self.height)

    def grown(self, by: float) -> Rect:
        """The rectangle enlarged by ``by`` on every side."""
        return Rect(self.x - by, self.y - by, self.width + 2 * by, self.height + 2 * by)

    def contains(self, other: Rect) -> bool:
        """Tell whether ``other`` lies inside (touching the edge counts as inside)."""
        return (
            other.x >= self.x - _TOLERANCE
            and other.y >= self.y - _TOLERANCE
            and other.right <= self.right + _TOLERANCE
            and other.bottom <= self.bottom + _TOLERANCE
        )

    def overlaps(self, other: Rect) -> bool:
        """Tell whether the two rectangles share some area (touching edges do not)."""
        return (
            self.x < other.right - _TOLERANCE
            and other.x < self.right - _TOLERANCE
            and self.y < other.bottom - _TOLERANCE
            and other.y < self.bottom - _TOLERANCE
        )

    def corners(self) -> tuple[tuple[float, float], ...]:
        """The four corners ``(x, y)``."""
        return ((self.x, self.y), (self.right, self.y), (self.x, self.bottom), (self.right, self.bottom))


@dataclass(frozen=True)
class Grid:
    """Equal cells (labels or cards) in columns and rows on a page."""

    page_width: float
    page_height: float
    cell_width: float
    cell_height: float
    columns: int
    rows: int
    margin_top: float
    margin_left: float
    gap_column: float
    gap_row: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def page(self) -> Rect:
        return Rect(0.0, 0.0, self.page_width, self.page_height)

    def cell(self, slot: int) -> Rect:
        """The rectangle of cell ``slot`` on its page, counted row by row from the top left."""
        row, column = divmod(slot, self.columns)
        x = self.margin_left + column * (self.cell_width + self.gap_column)
        y = self.margin_top + row * (self.cell_height + self.gap_row)
        return Rect(x, y, self.cell_width, self.cell_height)

    def used_area(self) -> Rect:
        """The rectangle from the first cell's corner to the last cell's opposite corner."""
        first, last = self.cell(0), self.cell(self.per_page - 1)
        return Rect(first.x, first.y, last.right - first.x, last.bottom - first.y)


@dataclass(frozen=True)
class TextLine:
    """One line of text inside a label; ``x``/``width`` bound it, ``align`` places it.

    ``text`` is a template of placeholders (``{id}``, ``{domain}``), or, when
    ``translated``, the English msgid of a message printed in the batch's language."""

    text: str
    font: str
    size: float
    x: float
    baseline: float
    width: float
    align: str = "left"
    translated: bool = False

    def box(self) -> Rect:
        """The area the line may cover, relative to its label."""
        size_mm = self.size * MM_PER_PT
        return Rect(self.x, self.baseline - ASCENT * size_mm, self.width, (ASCENT + DESCENT) * size_mm)

    def fields(self) -> set[str]:
        """The placeholder names used in ``text`` (none in a translated message)."""
        if self.translated:
            return set()
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name is not None}

    def words(self, texts: Texts) -> str:
        """What the line prints in ``texts``' language, placeholders still to fill."""
        return texts(self.text) if self.translated else self.text


@dataclass(frozen=True)
class CropMarks:
    """Cut guides in the page margins, ``offset`` mm away from the label grid."""

    offset: float
    length: float
    line_width: float  # points


@dataclass(frozen=True)
class Placement:
    """Where one sticker of a run is printed (mm from the page's top-left corner)."""

    index: int
    page_index: int  # 0-based, as pymupdf counts
    slot: int  # position on its page, row by row from the top left
    label: Rect
    qr: Rect  # the symbol itself; its quiet zone lies around it

    @property
    def page_number(self) -> int:
        """1-based page number, as a print shop or a PDF viewer counts."""
        return self.page_index + 1


@dataclass(frozen=True)
class StickerLayout:
    """A sticker stock: page, label grid, QR symbol and text lines inside each label."""

    name: str
    description: str
    paper: str  # a PAPER_SIZES name, or ROLL
    grid: Grid
    shape: str
    qr: Rect  # relative to the label
    text: tuple[TextLine, ...]
    crop_marks: CropMarks | None
    bleed: float

    @property
    def per_page(self) -> int:
        return self.grid.per_page

    def page_count(self, stickers: int) -> int:
        """Pages needed for ``stickers`` stickers."""
        return -(-stickers // self.per_page)

    def placement(self, index: int) -> Placement:
        """Where sticker number ``index`` (0-based, in render order) is printed."""
        if index < 0:
            raise ValueError("sticker index must not be negative")
        page_index, slot = divmod(index, self.per_page)
        label = self.grid.cell(slot)
        return Placement(index, page_index, slot, label, self.qr.moved(label.x, label.y))

    def quiet_zone(self, modules: int = COARSEST_SYMBOL_MODULES) -> Rect:
        """The symbol plus its 4-module quiet zone, relative to the label."""
        return self.qr.grown(qr.QUIET_ZONE * self.qr.width / modules)


@dataclass(frozen=True)
class TextStyle:
    """A font and size (points)."""

    font: str
    size: float

    @property
    def size_mm(self) -> float:
        return self.size * MM_PER_PT


@dataclass(frozen=True)
class CardFlow:
    """Baselines (mm from the card's top) of each part of a backing card."""

    title: float
    steps: tuple[float, ...]
    activation: float
    ids_heading: float
    first_id: float
    id_rows: int  # rows of IDs that fit above the bottom padding


@dataclass(frozen=True)
class CardLayout:
    """Backing cards: one card per sticker set, laid out on a grid like labels. ``title``,
    ``steps`` and ``ids_heading`` are English msgids, printed in the batch's language."""

    name: str
    description: str
    grid: Grid
    padding: float
    leading: float  # line pitch as a multiple of the font size
    section_gap: float
    title: str
    title_style: TextStyle
    steps: tuple[str, ...]
    steps_style: TextStyle
    activation_style: TextStyle
    ids_heading: str
    ids_heading_style: TextStyle
    ids_style: TextStyle
    id_columns: int
    id_column_gap: float
    id_leading: float
    cut_guides: bool

    @property
    def per_page(self) -> int:
        return self.grid.per_page

    @property
    def id_column_width(self) -> float:
        """Width of one column of display IDs (Courier, so exact)."""
        return DISPLAY_ID_LENGTH * MONOSPACE_ADVANCE * self.ids_style.size_mm

    @property
    def capacity(self) -> int:
        """The most sticker IDs one card can list."""
        return self.flow().id_rows * self.id_columns

    def flow(self) -> CardFlow:
        """Stack title, steps, activation code and the ID heading from the top padding down."""
        cursor = self.padding

        def line(style: TextStyle) -> float:
            nonlocal cursor
            baseline = cursor + ASCENT * style.size_mm
            cursor += self.leading * style.size_mm
            return baseline

        title = line(self.title_style)
        cursor += self.section_gap
        steps = tuple(line(self.steps_style) for _ in self.steps)
        activation = line(self.activation_style)
        cursor += self.section_gap
        heading = line(self.ids_heading_style)
        first_id = cursor + ASCENT * self.ids_style.size_mm
        bottom_limit = self.grid.cell_height - self.padding - DESCENT * self.ids_style.size_mm
        id_rows = max(0, math.floor((bottom_limit - first_id) / self.id_leading + _TOLERANCE) + 1)
        return CardFlow(title, steps, activation, heading, first_id, id_rows)


# --- loading ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layouts:
    """Every layout of one layouts file, by name."""

    stickers: dict[str, StickerLayout]
    cards: dict[str, CardLayout]


@functools.cache
def bundled() -> Layouts:
    """The layouts shipped in ``stickerreg/printing/layouts.json`` (loaded and validated once)."""
    return loads(resources.files("stickerreg.printing").joinpath("layouts.json").read_text(encoding="utf-8"))


def load(path: str | Path) -> Layouts:
    """Load and validate the layouts file at ``path``."""
    return loads(Path(path).read_text(encoding="utf-8"))


def loads(text: str) -> Layouts:
    """Parse and validate layouts JSON; raises LayoutError naming every problem."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LayoutError(f"layouts file is not JSON: {error}") from error
    data = _Reader(document, "layouts")
    data.optional("_comment", None)
    stickers = {name: _sticker_layout(name, raw) for name, raw in data.mapping("stickers").items()}
    cards = {name: _card_layout(name, raw) for name, raw in data.mapping("cards").items()}
    data.done()
    for layout in stickers.values():
        _raise_problems(layout.name, validate_sticker_layout(layout))
    for card in cards.values():
        _raise_problems(card.name, validate_card_layout(card))
    return Layouts(stickers, cards)


def sticker_layout(name: str) -> StickerLayout:
    """The bundled sticker layout called ``name``; raises KeyError for an unknown name."""
    try:
        return bundled().stickers[name]
    except KeyError:
        raise KeyError(f"no sticker layout {name!r}; known: {', '.join(sorted(bundled().stickers))}") from None


def card_layout(name: str) -> CardLayout:
    """The bundled card layout called ``name``; raises KeyError for an unknown name."""
    try:
        return bundled().cards[name]
    except KeyError:
        raise KeyError(f"no card layout {name!r}; known: {', '.join(sorted(bundled().cards))}") from None


def placement(layout: StickerLayout | str, index: int) -> Placement:
    """Where sticker number ``index`` (0-based, in render order) of a run on ``layout`` is printed."""
    resolved = sticker_layout(layout) if isinstance(layout, str) else layout
    return resolved.placement(index)


def _raise_problems(name: str, problems: list[str]) -> None:
    """Raise one LayoutError listing every problem found in layout ``name``."""
    if problems:
        raise LayoutError(f"layout {name!r}: " + "; ".join(problems))


class _Reader:
    """Strict access to one JSON object: typed fields, and unknown keys are errors."""

    def __init__(self, raw: Any, where: str) -> None:
        if not isinstance(raw, dict):
            raise LayoutError(f"{where} must be an object")
        self.raw, self.where, self.seen = raw, where, set()

    def _get(self, key: str) -> Any:
        if key not in self.raw:
            raise LayoutError(f"{self.where}: missing {key!r}")
        self.seen.add(key)
        return self.raw[key]

    def optional(self, key: str, default: Any) -> Any:
        return self._get(key) if key in self.raw else default

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise LayoutError(f"{self.where}.{key} must be a number")
        return float(value)

    def count(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LayoutError(f"{self.where}.{key} must be a whole number of at least 1")
        return value

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise LayoutError(f"{self.where}.{key} must be a string")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.optional(key, default) if default is not None else self._get(key)
        if value not in options:
            raise LayoutError(f"{self.where}.{key} must be one of {', '.join(options)}")
        return value

    def child(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.where}.{key}")

    def mapping(self, key: str) -> dict[str, Any]:
        value = self._get(key)
        if not isinstance(value, dict):
            raise LayoutError(f"{self.where}.{key} must be an object")
        return value

    def items(self, key: str) -> list[Any]:
        value = self._get(key)
        if not isinstance(value, list):
            raise LayoutError(f"{self.where}.{key} must be a list")
        return value

    def done(self) -> None:
        """Refuse keys nobody read: a typo must not silently fall back to a default."""
        unknown = set(self.raw) - self.seen
        if unknown:
            raise LayoutError(f"{self.where}: unknown {', '.join(sorted(unknown))}")


def _grid(data: _Reader, cell: _Reader) -> Grid:
    """Read page, cell size, columns/rows, margins and gaps into a Grid."""
    page = data.child("page")
    margin, gap = data.child("margin"), data.child("gap")
    grid = Grid(
        page.number("width"), page.number("height"), cell.number("width"), cell.number("height"),
        data.count("columns"), data.count("rows"), margin.number("top"), margin.number("left"),
        gap.number("column"), gap.number("row"),
    )  # fmt: skip
    for reader in (page, margin, gap):
        reader.done()
    return grid


def _text_line(raw: Any, where: str) -> TextLine:
    """Read one label text line: a placeholder ``text`` or a catalog ``message``."""
    data = _Reader(raw, where)
    if ("text" in data.raw) == ("message" in data.raw):
        raise LayoutError(f"{where} needs either 'text' (placeholders) or 'message' (a message key)")
    translated = "message" in data.raw
    text = _message(data, "message") if translated else data.text("text")
    line = TextLine(
        text, data.choice("font", FONTS), data.number("size"), data.number("x"),
        data.number("baseline"), data.number("width"), data.choice("align", ALIGNMENTS, "left"), translated,
    )  # fmt: skip
    data.done()
    return line


def _message(data: _Reader, key: str) -> str:
    """The English msgid of the message whose key is at ``key``."""
    name = data.text(key)
    if name not in MESSAGES:
        raise LayoutError(f"{data.where}.{key}: no message {name!r}; known: {', '.join(sorted(MESSAGES))}")
    return MESSAGES[name]


def _sticker_layout(name: str, raw: Any) -> StickerLayout:
    """Read one sticker layout (validated later, as a whole)."""
    data = _Reader(raw, f"stickers.{name}")
    label, symbol = data.child("label"), data.child("qr")
    grid = _grid(data, label)
    shape = label.choice("shape", SHAPES)
    label.done()
    qr_rect = Rect(symbol.number("x"), symbol.number("y"), symbol.number("size"), symbol.number("size"))
    symbol.done()
    lines = tuple(_text_line(raw, f"{data.where}.text[{i}]") for i, raw in enumerate(data.items("text")))
    marks_raw = data.optional("crop_marks", None)
    marks = None
    if marks_raw is not None:
        reader = _Reader(marks_raw, f"{data.where}.crop_marks")
        marks = CropMarks(reader.number("offset"), reader.number("length"), reader.number("line_width"))
        reader.done()
    paper = data.choice("paper", (*PAPER_SIZES, ROLL))
    layout = StickerLayout(name, data.text("description"), paper, grid, shape, qr_rect, lines, marks,
                           data.number("bleed"))
    data.done()
    return layout


def _style(data: _Reader, font_key: str = "font", size_key: str = "size") -> TextStyle:
    return TextStyle(data.choice(font_key, FONTS), data.number(size_key))


def _card_layout(name: str, raw: Any) -> CardLayout:
    """Read one backing card layout."""
    data = _Reader(raw, f"cards.{name}")
    card = data.child("card")
    grid = _grid(data, card)
    card.done()
    title, steps, activation, ids = data.child("title"), data.child("steps"), data.child("activation"), data.child("ids")
    keys = steps.items("messages")
    if not all(isinstance(key, str) and key in MESSAGES for key in keys):
        raise LayoutError(f"{steps.where}.messages must be message keys; known: {', '.join(sorted(MESSAGES))}")
    layout = CardLayout(
        name, data.text("description"), grid, data.number("padding"), data.number("leading"),
        data.number("section_gap"), _message(title, "message"), _style(title), tuple(MESSAGES[k] for k in keys),
        _style(steps), _style(activation), _message(ids, "heading"), _style(ids, "heading_font", "heading_size"),
        _style(ids),
        ids.count("columns"), ids.number("column_gap"), ids.number("leading"), bool(data.optional("cut_guides", False)),
    )  # fmt: skip
    for reader in (data, title, steps, activation, ids):
        reader.done()
    return layout


# --- validation -----------------------------------------------------------------------


def validate_sticker_layout(layout: StickerLayout) -> list[str]:
    """Every reason ``layout`` cannot print correctly (an empty list when it can)."""
    return [
        *_grid_problems(layout.grid, "label"),
        *_paper_problems(layout),
        *_bleed_problems(layout),
        *_qr_problems(layout),
        *(problem for line in layout.text for problem in _text_problems(layout, line)),
        *_crop_mark_problems(layout),
    ]


def _grid_problems(grid: Grid, cell: str) -> list[str]:
    """Sizes positive, and the whole grid on the page."""
    problems = []
    sizes = (grid.page_width, grid.page_height, grid.cell_width, grid.cell_height)
    if min(sizes) <= 0:
        problems.append(f"page and {cell} sizes must be positive")
    if min(grid.margin_top, grid.margin_left, grid.gap_column, grid.gap_row) < 0:
        problems.append("margins and gaps must not be negative")
    if not problems and not grid.page.contains(grid.used_area()):
        used = grid.used_area()
        problems.append(
            f"{grid.columns} x {grid.rows} {cell}s reach {used.right:.2f} x {used.bottom:.2f} mm, "
            f"past the {grid.page_width:g} x {grid.page_height:g} mm page"
        )
    return problems


def _paper_problems(layout: StickerLayout) -> list[str]:
    """The page is the named paper; a roll's page is its one label."""
    grid = layout.grid
    if layout.paper == ROLL:
        if grid.per_page != 1 or (grid.page_width, grid.page_height) != (grid.cell_width, grid.cell_height):
            return ["a roll prints one label per page: the page must be the label"]
        return []
    width, height = PAPER_SIZES[layout.paper]
    if abs(grid.page_width - width) > _TOLERANCE or abs(grid.page_height - height) > _TOLERANCE:
        return [f"{layout.paper} paper is {width:g} x {height:g} mm, not {grid.page_width:g} x {grid.page_height:g}"]
    return []


def _bleed_problems(layout: StickerLayout) -> list[str]:
    """The cutting tolerance around every label stays on the page."""
    if layout.bleed < 0:
        return ["bleed must not be negative"]
    if not layout.grid.page.contains(layout.grid.used_area().grown(layout.bleed)):
        return [f"labels plus {layout.bleed:g} mm bleed run off the page"]
    return []


def _label_holds(layout: StickerLayout, rect: Rect) -> bool:
    """Tell whether ``rect`` (label-relative) lies inside the label's shape."""
    label = Rect(0.0, 0.0, layout.grid.cell_width, layout.grid.cell_height)
    if layout.shape == "rect":
        return label.contains(rect)
    return label.contains(rect) and all(_in_circle(layout, x, y) for x, y in rect.corners())


def _in_circle(layout: StickerLayout, x: float, y: float) -> bool:
    """Tell whether the point lies inside the round label's (ellipse's) outline."""
    rx, ry = layout.grid.cell_width / 2, layout.grid.cell_height / 2
    return ((x - rx) / rx) ** 2 + ((y - ry) / ry) ** 2 <= 1 + _TOLERANCE


def _qr_problems(layout: StickerLayout) -> list[str]:
    """Symbol big enough and inside the label, with its quiet zone free of the label edge."""
    symbol, quiet = layout.qr, layout.quiet_zone()
    problems = []
    if symbol.width < QR_MIN_MM - _TOLERANCE:
        problems.append(f"QR is {symbol.width:g} mm, smaller than the {QR_MIN_MM:g} mm minimum")
    if not _label_holds(layout, symbol):
        problems.append("QR symbol does not fit inside the label")
    label = Rect(0.0, 0.0, layout.grid.cell_width, layout.grid.cell_height)
    if not label.contains(quiet):
        problems.append(f"QR quiet zone ({qr.QUIET_ZONE} modules of a version 1 symbol) does not fit inside the label")
    elif layout.shape == "round" and not all(_in_circle(layout, x, y) for x, y in _finder_scan_points(layout)):
        problems.append("round label cuts into the quiet zone beside a finder pattern")
    return problems


def _finder_scan_points(layout: StickerLayout) -> list[tuple[float, float]]:
    """Outer ends of the quiet zone on the lines through each finder pattern's centre.

    A round label cannot hold the quiet zone's corners, but scanners find a
    symbol by scanning across its finder patterns: there the 4 light modules
    must be on the label.
    """
    symbol, module = layout.qr, layout.qr.width / COARSEST_SYMBOL_MODULES
    quiet, centre = qr.QUIET_ZONE * module, 3.5 * module
    near_x, near_y = symbol.x + centre, symbol.y + centre
    far_x, far_y = symbol.right - centre, symbol.bottom - centre
    return [
        (symbol.x - quiet, near_y), (near_x, symbol.y - quiet),  # top left
        (symbol.right + quiet, near_y), (far_x, symbol.y - quiet),  # top right
        (symbol.x - quiet, far_y), (near_x, symbol.bottom + quiet),  # bottom left
    ]  # fmt: skip


def _text_problems(layout: StickerLayout, line: TextLine) -> list[str]:
    """A line uses known placeholders, sits inside the label and keeps off the quiet zone."""
    where = f"text {line.text!r}"
    problems = []
    unknown = line.fields() - PLACEHOLDERS
    if unknown:
        problems.append(f"{where} uses unknown placeholder(s) {', '.join(sorted(unknown))}")
    if line.translated and messages.placeholders(line.text):
        problems.append(f"{where}: a label prints this message as it is, without placeholders")
    if not line.translated and any(char.isalpha() for char in _literal(line.text)):
        problems.append(f"{where}: words come from the message catalog; name one with 'message'")
    if line.size <= 0 or line.width <= 0:
        problems.append(f"{where} needs a positive size and width")
        return problems
    if not _label_holds(layout, line.box()):
        problems.append(f"{where} does not fit inside the label")
    if line.box().overlaps(layout.quiet_zone()):
        problems.append(f"{where} overlaps the QR quiet zone")
    if "id" in line.fields():
        problems.extend(_id_line_problems(line, where))
    return problems


def _literal(template: str) -> str:
    """The characters of ``template`` outside its placeholders."""
    return "".join(literal for literal, _, _, _ in string.Formatter().parse(template))


def _id_line_problems(line: TextLine, where: str) -> list[str]:
    """The display ID is never shrunk: its monospace width must fit the box as set."""
    if line.font not in MONOSPACE_FONTS:
        return [f"{where} shows the ID, which needs a Courier font"]
    if line.text != "{id}":
        return [f"{where}: the ID goes on a line of its own"]
    if DISPLAY_ID_LENGTH * MONOSPACE_ADVANCE * line.size * MM_PER_PT > line.width + _TOLERANCE:
        return [f"{where} at {line.size:g} pt is wider than its {line.width:g} mm box"]
    return []


def crop_mark_segments(layout: StickerLayout) -> list[tuple[float, float, float, float]]:
    """Crop mark lines ``(x1, y1, x2, y2)`` in mm: in the page margins, in line with label edges."""
    marks, grid = layout.crop_marks, layout.grid
    if marks is None:
        return []
    area = grid.used_area()
    # Rounded so that abutting labels (no gap) share one mark despite float sums.
    xs = sorted({round(edge, 6) for slot in range(grid.columns) for edge in (grid.cell(slot).x, grid.cell(slot).right)})
    ys = sorted(
        {
            round(edge, 6)
            for slot in range(0, grid.per_page, grid.columns)
            for edge in (grid.cell(slot).y, grid.cell(slot).bottom)
        }
    )
    near, far = marks.offset, marks.offset + marks.length
    segments = []
    for x in xs:
        segments += [(x, area.y - far, x, area.y - near), (x, area.bottom + near, x, area.bottom + far)]
    for y in ys:
        segments += [(area.x - far, y, area.x - near, y), (area.right + near, y, area.right + far, y)]
    return segments


def _crop_mark_problems(layout: StickerLayout) -> list[str]:
    """Marks start outside the bleed and end on the page."""
    marks = layout.crop_marks
    if marks is None:
        return []
    if marks.offset < layout.bleed or marks.length <= 0 or marks.line_width <= 0:
        return ["crop marks need a positive length and line width, and an offset of at least the bleed"]
    page = layout.grid.page
    for x1, y1, x2, y2 in crop_mark_segments(layout):
        if not page.contains(Rect(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))):
            return ["crop marks do not fit in the page margins"]
    return []


def validate_card_layout(layout: CardLayout) -> list[str]:
    """Every reason a card layout cannot print correctly (an empty list when it can)."""
    problems = _grid_problems(layout.grid, "card")
    inner_width = layout.grid.cell_width - 2 * layout.padding
    ids_width = layout.id_columns * layout.id_column_width + (layout.id_columns - 1) * layout.id_column_gap
    if ids_width > inner_width + _TOLERANCE:
        problems.append(f"{layout.id_columns} columns of IDs need {ids_width:.1f} mm, the card has {inner_width:.1f}")
    if min(layout.padding, layout.leading, layout.section_gap, layout.id_leading) <= 0:
        problems.append("padding, leading, section gap and ID leading must be positive")
    elif layout.flow().id_rows < 1:
        problems.append("no room left on the card for the sticker IDs")
    for line in (layout.title, *layout.steps, layout.ids_heading):
        if messages.placeholders(line) - messages.PLACEHOLDERS:
            problems.append(f"card text {line!r} may only use the %(domain)s placeholder")
    return problems


# --- names for people -----------------------------------------------------------------


def stock_name(layout: StickerLayout, texts: Texts) -> str:
    """The stock as people name it, in ``texts``' language: "A4 sheet, 3×7 labels,
    63.5×38.1 mm", "A4-ark, 3×7 etiketter, 63,5×38,1 mm", "Label roll, 50×30 mm"."""
    grid = layout.grid
    width, height = texts.number(grid.cell_width), texts.number(grid.cell_height)
    if layout.paper == ROLL:
        return texts(messages.ROLL, width=width, height=height)
    sheet = messages.SHEET_ROUND if layout.shape == "round" and width == height else messages.SHEET
    return texts(sheet, paper=layout.paper, columns=grid.columns, rows=grid.rows, width=width, height=height)
