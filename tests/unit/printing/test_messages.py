"""The print engine's words: every one in the Swedish catalog, looked up without Flask, and
never silently English on a Swedish batch."""

from __future__ import annotations

import pytest

from stickerreg.printing import messages


@pytest.mark.parametrize("msgid", [*messages.MESSAGES.values(), messages.SHEET, messages.SHEET_ROUND, messages.ROLL])
def test_every_printed_text_and_stock_name_has_its_swedish(msgid) -> None:
    swedish = messages.for_language("sv")(msgid)
    assert swedish != msgid
    assert messages.placeholders(swedish) == messages.placeholders(msgid)
    assert messages.for_language("en")(msgid) == msgid


def test_placeholders_are_filled_and_numbers_written_the_languages_way() -> None:
    sv, en = messages.for_language("sv"), messages.for_language("en")
    assert sv(messages.MESSAGES["claim_go_to"], domain="STICKERREG.SE") == "1. Gå till STICKERREG.SE/account/claim"
    assert (sv.number(63.5), en.number(63.5), sv.number(25.0)) == ("63,5", "63.5", "25")


def test_only_languages_with_printed_texts_are_accepted() -> None:
    assert messages.LANGUAGES == ("sv", "en") and messages.DEFAULT_LANGUAGE == "sv"
    with pytest.raises(messages.UnknownLanguage, match="choose one of sv, en"):
        messages.for_language("de")


def test_a_swedish_catalog_that_was_not_compiled_is_an_error_not_english(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(messages.resources, "files", lambda package: tmp_path)
    with pytest.raises(LookupError, match="make translations"):
        messages.for_language.__wrapped__("sv")
    assert messages.for_language.__wrapped__("en")("Found me?") == "Found me?"
