"""Tests for the QR matrix (stickerreg.qr): payload rules, versions and modes."""

from __future__ import annotations

import pytest

from stickerreg import qr

# --- sticker_url ----------------------------------------------------------------


def test_sticker_url_is_uppercase_alphanumeric() -> None:
    url = qr.sticker_url("https://stickerreg.se/", "0123456789AM")
    assert url == "HTTPS://STICKERREG.SE/S/0123456789AM"
    assert len(url) == 36


def test_sticker_url_keeps_port() -> None:
    assert qr.sticker_url("http://127.0.0.1:5000", "0123456789AM") == (
        "HTTP://127.0.0.1:5000/S/0123456789AM"
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "https://sticker_reg.se",
        "https://stickerreg.se/?x=1",
        "https://stickerreg.se/#",
        "https://stickerreg.se\n",
    ],
)
def test_sticker_url_rejects_non_alphanumeric_base(base_url: str) -> None:
    with pytest.raises(ValueError):
        qr.sticker_url(base_url, "0123456789AM")


@pytest.mark.parametrize("code", ["0123456789AB", "0123456789am", "0123-4567-89AM", ""])
def test_sticker_url_rejects_invalid_codes(code: str) -> None:
    with pytest.raises(ValueError):
        qr.sticker_url("https://stickerreg.se", code)


# --- matrix ---------------------------------------------------------------------


def test_36_char_url_is_version_2_so_alphanumeric_mode() -> None:
    # Version 2-M holds 38 alphanumeric characters but only 26 bytes, so a
    # 36-character payload landing in version 2 proves alphanumeric mode.
    modules = qr.matrix(qr.sticker_url("https://stickerreg.se", "0123456789AM"))
    assert len(modules) == 25 == 17 + 4 * 2
    assert all(len(row) == 25 for row in modules)
    assert all(isinstance(module, bool) for row in modules for module in row)


@pytest.mark.parametrize(("length", "side"), [(20, 21), (21, 25), (38, 25), (39, 29)])
def test_version_boundaries_match_alphanumeric_capacity_at_m(
    length: int, side: int
) -> None:
    assert len(qr.matrix("A" * length)) == side


def test_matrix_has_no_quiet_zone() -> None:
    modules = qr.matrix("HTTPS://STICKERREG.SE/S/0123456789AM")
    # The top-left finder pattern starts in the very first row and column.
    assert modules[0][:7] == (True,) * 7
    assert all(modules[row][0] for row in range(7))


@pytest.mark.parametrize("payload", ["https://x", "A_B", "A?B", "ÅÄÖ", "A\nB", ""])
def test_matrix_rejects_payload_outside_alphanumeric_set(payload: str) -> None:
    with pytest.raises(ValueError):
        qr.matrix(payload)
