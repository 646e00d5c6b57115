"""Small helpers: text hygiene, defanging, bot detection, log redaction, config checks."""

from __future__ import annotations

import logging

import pytest

from stickerreg import bots
from stickerreg.logs import RedactTokens
from stickerreg.text import clean_text, defang


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("  hej  ", "hej"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("nul\x00l\x1besc\x7f", "nullesc"),
        ("tab\tok", "tab\tok"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        (None, None),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize(
    "raw, safe",
    [
        ("see https://evil.example.com/x", "see hxxps://evil[.]example[.]com/x"),
        ("HTTP://A.B.se", "HxxP://A[.]B[.]se"),
        ("mail me at finder.name@gmail.com", "mail me at finder[.]name@gmail[.]com"),
        ("no links here, 12.50 kr", "no links here, 12.50 kr"),
    ],
)
def test_defang(raw, safe):
    assert defang(raw) == safe


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "curl/8.5.0",
        "",
        None,
    ],
)
def test_previewers_and_crawlers_are_bots(agent):
    assert bots.is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36",
    ],
)
def test_phones_are_people(agent):
    assert not bots.is_bot(agent)


def test_conversation_tokens_never_reach_the_access_log():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /c/AbC-123_xyz HTTP/1.1", "200"), None)
    RedactTokens().filter(record)
    assert "AbC-123_xyz" not in record.getMessage()
    assert "/c/[redacted]" in record.getMessage()
