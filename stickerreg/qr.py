"""QR codes for sticker URLs: module matrix, vector SVG and PNG.

Payloads are restricted to the QR alphanumeric set and always encoded as one
alphanumeric-mode segment at error correction M, so a 36-character sticker
URL fits version 2 (25 by 25 modules) and prints small yet scans easily.
Other text shown on screens (BankID's animated code) goes through ``svg_text``
in byte mode instead.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator

import qrcode
from PIL import Image, ImageDraw
from qrcode.constants import ERROR_CORRECT_L, ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from stickerreg import codes

QUIET_ZONE = 4  # modules of light margin on each side, as ISO/IEC 18004 asks
MIN_SCALE = 1
MAX_SCALE = 40

Matrix = tuple[tuple[bool, ...], ...]

# The 45 characters of QR alphanumeric mode; "$" is literal inside a class.
_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")
# A bare SVG length, so a caller's size can never inject attributes.
_SVG_LENGTH = re.compile(r"\d+(?:\.\d+)?(?:mm|cm|in|pt|pc|px|em|%)?")


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


def _dark_runs(modules: Matrix) -> Iterator[tuple[int, int, int]]:
    """Yield ``(x, y, length)`` of each horizontal run of dark modules."""
    for y, row in enumerate(modules):
        x = 0
        for dark, run in itertools.groupby(row):
            length = len(list(run))
            if dark:
                yield x, y, length
            x += length


def svg(payload: str, *, size: str | None = None) -> str:
    """Return a standalone vector SVG document of the QR code of ``payload``.

    The viewBox is in module units and includes the quiet zone; every dark
    module is in ONE ``<path>``. Without ``size`` the SVG has no width/height
    and scales to its container; ``size`` (e.g. "30mm") sets both.
    Raises ValueError for a bad payload or a ``size`` that is not a length.
    """
    if size is not None and not _SVG_LENGTH.fullmatch(size):
        raise ValueError(f"size must be an SVG length such as '30mm', not {size!r}")
    return _svg_document(matrix(payload), size)


def _svg_document(modules, size: str | None = None) -> str:
    """The quiet zone, a white background and every dark module in one <path>."""
    extent = len(modules) + 2 * QUIET_ZONE
    dimensions = "" if size is None else f' width="{size}" height="{size}"'
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{length}v1h-{length}z"
        for x, y, length in _dark_runs(modules)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {extent} {extent}"'
        f'{dimensions} shape-rendering="crispEdges">'
        f'<rect width="{extent}" height="{extent}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>\n'
    )


def png(payload: str, *, scale: int = 10) -> bytes:
    """Return a black-and-white PNG of the QR code of ``payload``.

    Each module is ``scale`` pixels square and a quiet zone surrounds the code.
    Raises ValueError for a bad payload or a scale outside 1..40.
    """
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise ValueError("scale must be an integer number of pixels per module")
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}")
    modules = matrix(payload)
    side = (len(modules) + 2 * QUIET_ZONE) * scale
    image = Image.new("1", (side, side), 1)
    draw = ImageDraw.Draw(image)
    for x, y, length in _dark_runs(modules):
        left, top = (x + QUIET_ZONE) * scale, (y + QUIET_ZONE) * scale
        draw.rectangle((left, top, left + length * scale - 1, top + scale - 1), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


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


def svg_text(payload: str) -> str:
    """Return a vector SVG of the byte-mode QR code of any text (see ``text_matrix``).

    Drawn like ``svg``: quiet zone included, every dark module in ONE ``<path>``,
    no width/height so it scales to its container.
    """
    return _svg_document(text_matrix(payload))
