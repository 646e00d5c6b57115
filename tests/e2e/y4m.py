"""Fake camera footage for Chromium: raw YUV4MPEG2 files of QR codes.

Chromium plays such a file as its camera with ``--use-fake-device-for-media-stream
--use-file-for-fake-video-capture=FILE.y4m`` (looping it), so a browser test can point a
real getUserMedia stream at a sticker.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from stickerreg import qr


def write_y4m(path: Path | str, image: Image.Image | Sequence[Image.Image], frames: int = 30, fps: int = 10) -> Path:
    """Write ``frames`` frames of ``image`` as 4:2:0 YUV4MPEG2 at ``fps`` frames a second.

    ``image`` may also be a sequence of equally sized images, shown one after the other in
    equal shares of the frames (e.g. a foreign QR code, then a sticker). Width and height
    must be even, as 4:2:0 halves both for the chroma planes.
    """
    images = [image] if isinstance(image, Image.Image) else list(image)
    if not images or frames < len(images):
        raise ValueError("need at least one image and at least one frame per image")
    width, height = images[0].size
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even, not {width}x{height}")
    if any(other.size != (width, height) for other in images):
        raise ValueError("all images must have the same size")
    # C420jpeg: full-range JPEG YCbCr (what Pillow converts to), chroma centred between pixels.
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii")
    planes = [_planes(each) for each in images]
    path = Path(path)
    with path.open("wb") as out:
        out.write(header)
        for index in range(frames):
            out.write(b"FRAME\n")
            out.write(planes[index * len(planes) // frames])
    return path


def _planes(image: Image.Image) -> bytes:
    """The Y plane at full size, then Cb and Cr at half width and half height."""
    luma, blue, red = image.convert("RGB").convert("YCbCr").split()
    half = (image.width // 2, image.height // 2)
    return luma.tobytes() + blue.resize(half, Image.BOX).tobytes() + red.resize(half, Image.BOX).tobytes()


def qr_frame(url: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A white RGB frame with the QR code of ``url`` centred, about 80 % of the short side.

    Sticker URLs (``qr.sticker_url``) are drawn exactly as the product prints them
    (alphanumeric mode, level M); any other text falls back to ``qr.text_matrix``.
    """
    try:
        modules = qr.matrix(url)
    except ValueError:
        modules = qr.text_matrix(url)
    extent = len(modules) + 2 * qr.QUIET_ZONE
    scale = max(1, int(min(size) * 0.8) // extent)
    frame = Image.new("RGB", size, "white")
    left = (size[0] - extent * scale) // 2 + qr.QUIET_ZONE * scale
    top = (size[1] - extent * scale) // 2 + qr.QUIET_ZONE * scale
    draw = ImageDraw.Draw(frame)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * scale, top + y * scale
                draw.rectangle((x0, y0, x0 + scale - 1, y0 + scale - 1), fill="black")
    return frame
