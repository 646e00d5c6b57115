"""QR codes for sticker URLs: the module matrix (``stickerreg.printing.images`` draws it).

Payloads are restricted to the QR alphanumeric set and always encoded as one
alphanumeric-mode segment at error correction M, so a 36-character sticker
URL fits version 2 (25 by 25 modules) and prints small yet scans easily.
Other text shown on screens (BankID's animated code) goes through ``text_matrix``
in byte mode instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import qrcode
from qrcode import base, util
from qrcode.constants import ERROR_CORRECT_L, ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from stickerreg import codes

QUIET_ZONE = 4  # modules of light margin on each side, as ISO/IEC 18004 asks

Matrix = tuple[tuple[bool, ...], ...]

# The 45 characters of QR alphanumeric mode; "$" is literal inside a class.
_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")


def _require_alphanumeric(payload: str) -> None:
    """Raise ValueError unless ``payload`` is non-empty QR alphanumeric text."""
    if not _ALPHANUMERIC.fullmatch(payload):
        raise ValueError(
            "QR payload must be non-empty and use only 0-9 A-Z space $ % * + - . / :"
        )


def sticker_url(base_url: str, code: str) -> str:
    """Return the QR payload ``BASE_URL/S/CODE`` for a valid sticker ``code``.

    The base URL is uppercased (scheme and host are case-insensitive) so the
    whole URL stays in the compact alphanumeric mode. Raises ValueError for an
    invalid code or a base URL outside the alphanumeric set (e.g. "_" or "?").
    """
    if not codes.is_valid(code):
        raise ValueError("not a valid canonical sticker code")
    payload = f"{base_url.upper().rstrip('/')}/S/{code}"
    _require_alphanumeric(payload)
    return payload


def matrix(payload: str) -> Matrix:
    """Return the QR modules of ``payload`` as rows of booleans (True = dark).

    No quiet zone is included; error correction is M and the version is the
    smallest that fits. The result is an immutable tuple of row tuples.
    Raises ValueError if ``payload`` is outside the alphanumeric set.
    """
    _require_alphanumeric(payload)
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    # One explicit alphanumeric segment, so the mode is guaranteed rather than
    # left to the library's chunking heuristics (which may split off digits).
    code.add_data(QRData(payload, mode=MODE_ALPHA_NUM))
    code.make(fit=True)
    return tuple(tuple(bool(module) for module in row) for row in code.get_matrix())


def text_matrix(payload: str) -> Matrix:
    """Return the QR modules of any non-empty text, as ``matrix`` does for sticker URLs.

    The text is one byte-mode (UTF-8) segment at error correction L: these codes are
    shown on screens for seconds (BankID's animated code), not printed, so density
    matters more than damage tolerance. Raises ValueError for empty text.
    """
    if not payload:
        raise ValueError("QR payload must be non-empty")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_L, border=0)
    code.add_data(QRData(payload.encode(), mode=MODE_8BIT_BYTE))
    code.make(fit=True)
    return tuple(tuple(bool(module) for module in row) for row in code.get_matrix())


# --- Fast encoder for print runs -------------------------------------------------
#
# ``matrix`` above asks the qrcode library, which builds eight full list-of-lists
# matrices in Python to pick a mask: about 2.5 ms per code, far too slow for a
# 10,000-sticker print file. The encoder below gives the very same modules (the
# tests compare it with ``matrix``) some 70x faster, from two facts:
#
# * Everything between the payload bits and the unmasked symbol is linear over
#   GF(2): Reed-Solomon parity is a linear function of the data bits, and the
#   zigzag placement only moves bits. So the symbol is the XOR of one precomputed
#   bitboard per data codeword (its 8 bits plus all parity it causes, already
#   placed); 256 boards per codeword position, built once per version.
# * A symbol fits in one Python int (bit ``y * (size + 1) + x`` is module (x, y);
#   the spare column stops runs from wrapping into the next row), so the
#   qrcode library's mask penalty rules become about thirty shifts, ANDs and
#   ``bit_count`` calls per mask instead of loops over 625 modules.
#
# Versions 1 to 6 at level M cover every realistic sticker URL (up to 154
# characters); longer payloads fall back to ``matrix``.

_ALPHANUMERIC_VALUE = {symbol: value for value, symbol in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")}
_FAST_VERSIONS = range(1, 7)  # version 7 and up carry version information blocks


def matrix_rows(payload: str) -> tuple[int, ...]:
    """Return the modules of ``matrix(payload)`` as one int per row (bit x = column x).

    Same symbol as ``matrix``, computed without building the qrcode library's
    eight trial matrices. Raises ValueError like ``matrix``.
    """
    _require_alphanumeric(payload)
    version = _fast_version(len(payload))
    if version is None:
        return tuple(sum(1 << x for x, dark in enumerate(row) if dark) for row in matrix(payload))
    symbol = _fast_symbol(version)
    board = symbol.encode(payload)
    row_mask = (1 << symbol.size) - 1
    return tuple((board >> (y * symbol.stride)) & row_mask for y in range(symbol.size))


def fast_matrix(payload: str) -> Matrix:
    """Return exactly ``matrix(payload)``, computed by the fast encoder."""
    rows = matrix_rows(payload)
    return tuple(tuple(bool(row >> x & 1) for x in range(len(rows))) for row in rows)


def _alphanumeric_bits(length: int) -> int:
    """Data bits of one alphanumeric segment of ``length`` characters (versions 1-9)."""
    return 4 + 9 + 11 * (length // 2) + 6 * (length % 2)


def _fast_version(length: int) -> int | None:
    """The smallest version that holds ``length`` characters at level M, if the fast encoder knows it."""
    for version in _FAST_VERSIONS:
        if _alphanumeric_bits(length) <= util.BIT_LIMIT_TABLE[ERROR_CORRECT_M][version]:
            return version
    return None


@functools.cache
def _fast_symbol(version: int) -> _Symbol:
    """Build (once per process and version) the tables of the fast encoder."""
    return _Symbol(version)


def _gf_tables() -> tuple[list[int], list[int]]:
    """Exponent and logarithm tables of GF(256) with the QR polynomial 0x11D."""
    exp, log = [0] * 512, [0] * 256
    value = 1
    for power in range(255):
        exp[power], log[value] = value, power
        value = value << 1 ^ (0x11D if value & 0x80 else 0)
    exp[255:510] = exp[:255]
    return exp, log


_GF_EXP, _GF_LOG = _gf_tables()


def _rs_parity(data: list[int], parity_count: int) -> list[int]:
    """Reed-Solomon parity codewords of ``data`` (remainder by the QR generator)."""
    generator = [1]
    for power in range(parity_count):
        generator = [a ^ (_GF_EXP[_GF_LOG[b] + power] if b else 0) for a, b in zip([*generator, 0], [0, *generator], strict=True)]
    remainder = [0] * parity_count
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = [*remainder[1:], 0]
        if factor:
            for i in range(parity_count):
                coefficient = generator[i + 1]
                if coefficient:
                    remainder[i] ^= _GF_EXP[_GF_LOG[coefficient] + _GF_LOG[factor]]
    return remainder


class _Symbol:
    """Precomputed boards of one QR version at level M (see the section comment).

    The boards are "twins": the symbol in the low bits and its transpose above
    it, so one pass of the row rules of the mask penalty scores the columns too.
    ``normal`` masks the symbol half.
    """

    def __init__(self, version: int) -> None:
        self.size = version * 4 + 17
        self.stride = self.size + 1
        self.twin_offset = (self.size + 1) * self.stride  # an empty row between the halves
        self.normal = (1 << self.twin_offset) - 1
        self.capacity = util.BIT_LIMIT_TABLE[ERROR_CORRECT_M][version] // 8
        grid = _function_grid(version, self.size)
        self.order = _placement_order(grid, self.size)
        self.base = self._board((x, y) for y, row in enumerate(grid) for x, dark in enumerate(row) if dark)
        self.formats = tuple(self._board(_format_modules(mask, self.size)) for mask in range(8))
        self.masks = tuple(
            self._board((x, y) for y, x in self.order if util.mask_func(mask)(y, x)) for mask in range(8)
        )
        self.tables = self._codeword_tables(base.rs_blocks(version, ERROR_CORRECT_M))
        self._penalty_masks()

    def _board(self, modules: Iterable[tuple[int, int]]) -> int:
        """The twin board of ``modules`` (x, y): bit y*stride+x, and transposed above."""
        return sum(1 << (y * self.stride + x) | 1 << (self.twin_offset + x * self.stride + y) for x, y in modules)

    def _codeword_tables(self, blocks: list) -> tuple[tuple[int, ...], ...]:
        """For each data codeword position, the placed board of each of its 256 values."""
        layout = _Interleaving(blocks)
        tables = []
        for block, index in layout.data:
            data_count, parity_count = blocks[block].data_count, blocks[block].total_count - blocks[block].data_count
            bit_boards = []
            for bit in range(8):
                unit = [0] * data_count
                unit[index] = 1 << bit
                board = self._codeword_board(layout.data_slot[(block, index)], 1 << bit)
                for parity_index, parity in enumerate(_rs_parity(unit, parity_count)):
                    board ^= self._codeword_board(layout.parity_slot[(block, parity_index)], parity)
                bit_boards.append(board)
            table = [0] * 256
            for value in range(1, 256):
                lowest = value & -value
                table[value] = table[value ^ lowest] ^ bit_boards[lowest.bit_length() - 1]
            tables.append(tuple(table))
        return tuple(tables)

    def _codeword_board(self, slot: int, value: int) -> int:
        """The board of ``value`` written at codeword ``slot`` of the zigzag (MSB first)."""
        modules = self.order[slot * 8 : slot * 8 + 8]
        return self._board((x, y) for bit, (y, x) in enumerate(modules) if value >> (7 - bit) & 1)

    def _penalty_masks(self) -> None:
        """Where the penalty rules look: every module, and neighbour pairs along a row or down a column."""
        n = self.size
        self.valid = self._board((x, y) for y in range(n) for x in range(n))
        row_pairs = self._board((x, y) for y in range(n) for x in range(n - 1)) & self.normal
        self.pairs_h = row_pairs | row_pairs << self.twin_offset  # along the rows of both halves
        self.pairs_v = self._board((x, y) for y in range(n - 1) for x in range(n)) & self.normal

    def codewords(self, payload: str) -> bytes:
        """Data codewords: one alphanumeric segment, terminator, byte padding, 0xEC/0x11 pads."""
        value = 0b0010 << 9 | len(payload)
        for start in range(0, len(payload) - 1, 2):
            value = value << 11 | _ALPHANUMERIC_VALUE[payload[start]] * 45 + _ALPHANUMERIC_VALUE[payload[start + 1]]
        if len(payload) % 2:
            value = value << 6 | _ALPHANUMERIC_VALUE[payload[-1]]
        used = _alphanumeric_bits(len(payload))
        spare = self.capacity * 8 - used
        terminated = used + min(4, spare)
        padded = terminated + -terminated % 8
        value <<= padded - used
        pads = bytes(0x11 if i % 2 else 0xEC for i in range(self.capacity - padded // 8))
        return value.to_bytes(padded // 8, "big") + pads

    def encode(self, payload: str) -> int:
        """The final symbol of ``payload``: data, the best mask by qrcode's rules, format bits."""
        unmasked = 0
        for table, codeword in zip(self.tables, self.codewords(payload), strict=True):
            unmasked ^= table[codeword]
        best_mask, best_score = 0, -1
        for mask, pattern in enumerate(self.masks):
            score = self.penalty(self.base | (unmasked ^ pattern))
            if best_score < 0 or score < best_score:  # the first minimum, as qrcode picks
                best_mask, best_score = mask, score
        return (self.base | (unmasked ^ self.masks[best_mask]) | self.formats[best_mask]) & self.normal

    def penalty(self, twin: int) -> int:
        """The qrcode library's ``util.lost_point`` of a twin board (format area light)."""
        dark, light, step = twin, twin ^ self.valid, self.stride
        # Rule 1: a run of L >= 5 equal modules costs L - 2. It is a run of L - 1
        # ones in ``same``; ``four`` keeps L - 4 of them, and each run's end
        # is counted twice more.
        same = (twin ^ (twin >> 1) ^ self.pairs_h) & self.pairs_h
        two = same & (same >> 1)
        four = two & (two >> 2)
        score = four.bit_count() + 2 * (four & ~(four >> 1)).bit_count()
        # Rule 2: 3 per 2x2 block of one colour (symbol half only).
        same_below = (twin ^ (twin >> step) ^ self.pairs_v) & self.pairs_v
        score += 3 * (same & (same >> step) & same_below).bit_count()
        # Rule 3: 40 per 1011101 with four light modules after or before it; the
        # spare column and rows (neither dark nor light) stop a match wrapping.
        three = dark & (dark >> 1) & (dark >> 2)
        finder = dark & (light >> 1) & (three >> 2) & (light >> 5) & (dark >> 6)
        light_two = light & (light >> 1)
        light_four = light_two & (light_two >> 2)
        score += 40 * ((finder & (light_four >> 7)) | (light_four & (finder >> 4))).bit_count()
        # Rule 4: 10 per 5 % that dark modules stray from half (in floats, as qrcode does).
        percent = float(twin.bit_count() // 2) / (self.size**2)
        return score + int(abs(percent * 100 - 50) / 5) * 10


def _function_grid(version: int, size: int) -> list[list[bool | None]]:
    """Function patterns as qrcode draws them; None marks a data module; format area light."""
    grid: list[list[bool | None]] = [[None] * size for _ in range(size)]
    for top, left in ((0, 0), (size - 7, 0), (0, size - 7)):
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= top + r < size and 0 <= left + c < size:
                    ring = 0 <= r <= 6 and c in (0, 6) or 0 <= c <= 6 and r in (0, 6)
                    grid[top + r][left + c] = ring or (2 <= r <= 4 and 2 <= c <= 4)
    centres = util.pattern_position(version)
    for row in centres:
        for col in centres:
            if grid[row][col] is None:
                for r in range(-2, 3):
                    for c in range(-2, 3):
                        grid[row + r][col + c] = r in (-2, 2) or c in (-2, 2) or r == c == 0
    for i in range(8, size - 8):
        for r, c in ((i, 6), (6, i)):
            if grid[r][c] is None:
                grid[r][c] = i % 2 == 0
    for x, y in _format_positions(size):
        grid[y][x] = False
    return grid


def _format_positions(size: int) -> list[tuple[int, int]]:
    """The (x, y) of format bits 0..14 twice (column 8, then row 8), and the dark module last."""
    column = [(8, i if i < 6 else i + 1 if i < 8 else size - 15 + i) for i in range(15)]
    row = [(size - i - 1 if i < 8 else 15 - i if i < 9 else 14 - i, 8) for i in range(15)]
    return [*column, *row, (8, size - 8)]


def _format_modules(mask: int, size: int) -> list[tuple[int, int]]:
    """The dark modules of the format information for level M and ``mask``."""
    bits = util.BCH_type_info(ERROR_CORRECT_M << 3 | mask)
    positions = _format_positions(size)
    dark = [position for i, position in enumerate(positions[:30]) if bits >> (i % 15) & 1]
    return [*dark, positions[30]]


def _placement_order(grid: list[list[bool | None]], size: int) -> list[tuple[int, int]]:
    """The (row, column) of every data module in zigzag order, walked as qrcode's ``map_data``."""
    order = []
    row, step = size - 1, -1
    for right in range(size - 1, 0, -2):
        col = right - 1 if right <= 6 else right  # column 6 is the vertical timing pattern
        while 0 <= row < size:
            order.extend((row, c) for c in (col, col - 1) if grid[row][c] is None)
            row += step
        row, step = row - step, -step
    return order


class _Interleaving:
    """Where each block's data and parity codewords land in the transmitted sequence."""

    def __init__(self, blocks: list) -> None:
        self.data_slot: dict[tuple[int, int], int] = {}
        self.parity_slot: dict[tuple[int, int], int] = {}
        slot = 0
        for index in range(max(block.data_count for block in blocks)):
            for number, block in enumerate(blocks):
                if index < block.data_count:
                    self.data_slot[(number, index)] = slot
                    slot += 1
        for index in range(max(block.total_count - block.data_count for block in blocks)):
            for number, block in enumerate(blocks):
                if index < block.total_count - block.data_count:
                    self.parity_slot[(number, index)] = slot
                    slot += 1
        # Data codewords in stream order: block after block, as the payload bits are cut.
        self.data: list[tuple[int, int]] = [
            (number, index) for number, block in enumerate(blocks) for index in range(block.data_count)
        ]

