"""Tests for QR images (stickerreg.printing.images): PNG and SVG that really decode."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import resvg_py
import zxingcpp
from PIL import Image

from stickerreg import codes, qr
from stickerreg.printing import images

SVG_NS = "{http://www.w3.org/2000/svg}"
BASE_URLS = ["https://stickerreg.se", "http://127.0.0.1:5000/"]
# Fixed, not generated: parametrize ids must be identical on every xdist worker.
SAMPLE_BODIES = [
    "0123456789A",
    "00000000000",
    "ZZZZZZZZZZZ",
    "QRSTVWXYZ00",
    "1X2Y3Z4W5V6",
]
SAMPLE_CODES = [body + codes.check_symbol(body) for body in SAMPLE_BODIES]


def decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    """Decode every QR code that zxing-cpp finds in ``image``."""
    return zxingcpp.read_barcodes(
        image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )


def decoded_text(image: Image.Image) -> str:
    """Decode exactly one valid QR code from ``image`` and return its text."""
    (barcode,) = decode(image)
    assert barcode.valid
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.ec_level == "M"
    return barcode.text


def rasterise(svg_text: str, **options: object) -> Image.Image:
    """Render SVG for real with resvg (no system libraries needed)."""
    return Image.open(io.BytesIO(resvg_py.svg_to_bytes(svg_string=svg_text, **options)))


# --- png ------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", BASE_URLS)
@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_png_decodes_to_the_sticker_url(base_url: str, code: str) -> None:
    url = qr.sticker_url(base_url, code)
    image = Image.open(io.BytesIO(images.qr_png(url)))
    assert decoded_text(image) == url
    assert codes.normalize(decoded_text(image)) == code


def test_png_of_freshly_generated_codes_decodes() -> None:
    for _ in range(5):
        code = codes.generate()
        url = qr.sticker_url("https://stickerreg.se", code)
        assert decoded_text(Image.open(io.BytesIO(images.qr_png(url)))) == url


@pytest.mark.parametrize("scale", [1, 3, 40])
def test_png_size_includes_quiet_zone(scale: int) -> None:
    url = qr.sticker_url("https://stickerreg.se", "0123456789AM")
    image = Image.open(io.BytesIO(images.qr_png(url, scale=scale)))
    assert image.format == "PNG"
    assert image.mode in ("1", "L")
    assert image.size == ((25 + 2 * qr.QUIET_ZONE) * scale,) * 2
    assert decoded_text(image.resize((330, 330), Image.Resampling.NEAREST)) == url


def test_png_quiet_zone_is_white() -> None:
    image = Image.open(io.BytesIO(images.qr_png("HELLO", scale=2))).convert("L")
    border = qr.QUIET_ZONE * 2
    width, _ = image.size
    assert all(
        image.getpixel((x, y)) == 255 for x in range(width) for y in range(border)
    )
    assert image.getpixel((border, border)) == 0  # finder pattern corner


@pytest.mark.parametrize("scale", [0, -1, 41, 2.5, True, "10"])
def test_png_rejects_bad_scale(scale: object) -> None:
    with pytest.raises(ValueError):
        images.qr_png("HELLO", scale=scale)  # type: ignore[arg-type]


# --- svg ------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", BASE_URLS)
@pytest.mark.parametrize("code", SAMPLE_CODES[:3])
def test_rasterised_svg_decodes_to_the_sticker_url(base_url: str, code: str) -> None:
    url = qr.sticker_url(base_url, code)
    assert decoded_text(rasterise(images.qr_svg(url), width=330, height=330)) == url


def test_svg_with_physical_size_decodes() -> None:
    url = qr.sticker_url("https://stickerreg.se", "0123456789AM")
    document = images.qr_svg(url, size="30mm")
    assert 'width="30mm"' in document and 'height="30mm"' in document
    image = rasterise(document, dpi=300.0)
    assert image.size == (354, 354)  # 30 mm at 300 dpi
    assert decoded_text(image) == url


def test_svg_structure() -> None:
    document = images.qr_svg("HTTPS://STICKERREG.SE/S/0123456789AM")
    root = ET.fromstring(document)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == "0 0 33 33"  # 25 modules + 2 * 4 quiet zone
    assert root.get("shape-rendering") == "crispEdges"
    assert root.get("width") is None and root.get("height") is None
    (background,) = root.findall(f"{SVG_NS}rect")
    assert background.get("fill") == "#fff"
    assert (background.get("width"), background.get("height")) == ("33", "33")
    assert len(root.findall(f".//{SVG_NS}path")) == 1
    assert document.count("<path") == 1
    assert not root.findall(f".//{SVG_NS}image")  # vector, never raster


def test_svg_path_covers_exactly_the_dark_modules() -> None:
    payload = "HTTP://127.0.0.1:5000/S/0123456789AM"
    modules = qr.matrix(payload)
    path = ET.fromstring(images.qr_svg(payload)).find(f"{SVG_NS}path")
    assert path is not None
    commands = path.get("d", "")
    assert re.fullmatch(r"(?:M\d+ \d+h(\d+)v1h-\1z)+", commands)
    painted = set()
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", commands):
        painted |= {(int(x) + dx, int(y)) for dx in range(int(run))}
    dark = {
        (x + qr.QUIET_ZONE, y + qr.QUIET_ZONE)
        for y, row in enumerate(modules)
        for x, module in enumerate(row)
        if module
    }
    assert painted == dark


@pytest.mark.parametrize("size", ['30mm" onload="x', "30 mm", "mm", "-3cm", ""])
def test_svg_rejects_bad_size(size: str) -> None:
    with pytest.raises(ValueError):
        images.qr_svg("HELLO", size=size)


def test_svg_rejects_payload_outside_alphanumeric_set() -> None:
    with pytest.raises(ValueError):
        images.qr_svg("https://stickerreg.se/s/x")
