"""QR codes drawn as images: a vector SVG (screens, print files, the SVG export) and a PNG
(downloads). The modules come from ``stickerreg.qr``; this module only draws them.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator

from PIL import Image, ImageDraw

from stickerreg.qr import QUIET_ZONE, Matrix, fast_matrix, matrix, text_matrix

MIN_SCALE = 1
MAX_SCALE = 40
# A bare SVG length, so a caller's size can never inject attributes.
_SVG_LENGTH = re.compile(r"\d+(?:\.\d+)?(?:mm|cm|in|pt|pc|px|em|%)?")


def dark_runs(modules: Matrix) -> Iterator[tuple[int, int, int]]:
    """Yield ``(x, y, length)`` of each horizontal run of dark modules."""
    for y, row in enumerate(modules):
        x = 0
        for dark, run in itertools.groupby(row):
            length = len(list(run))
            if dark:
                yield x, y, length
            x += length


def qr_svg(payload: str, *, size: str | None = None) -> str:
    """Return a standalone vector SVG document of the QR code of ``payload``.

    The viewBox is in module units and includes the quiet zone; every dark
    module is in ONE ``<path>``. Without ``size`` the SVG has no width/height
    and scales to its container; ``size`` (e.g. "30mm") sets both.
    Raises ValueError for a bad payload or a ``size`` that is not a length.
    """
    if size is not None and not _SVG_LENGTH.fullmatch(size):
        raise ValueError(f"size must be an SVG length such as '30mm', not {size!r}")
    return _svg_document(fast_matrix(payload), size)


def text_qr_svg(payload: str) -> str:
    """Return a vector SVG of the byte-mode QR code of any text (see ``qr.text_matrix``).

    Drawn like ``qr_svg``: quiet zone included, every dark module in ONE ``<path>``,
    no width/height so it scales to its container.
    """
    return _svg_document(text_matrix(payload))


def _svg_document(modules: Matrix, size: str | None = None) -> str:
    """The quiet zone, a white background and every dark module in one <path>."""
    extent = len(modules) + 2 * QUIET_ZONE
    dimensions = "" if size is None else f' width="{size}" height="{size}"'
    path = "".join(
        f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{length}v1h-{length}z"
        for x, y, length in dark_runs(modules)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {extent} {extent}"'
        f'{dimensions} shape-rendering="crispEdges">'
        f'<rect width="{extent}" height="{extent}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>\n'
    )


def qr_png(payload: str, *, scale: int = 10) -> bytes:
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
    for x, y, length in dark_runs(modules):
        left, top = (x + QUIET_ZONE) * scale, (y + QUIET_ZONE) * scale
        draw.rectangle((left, top, left + length * scale - 1, top + scale - 1), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
