"""Small helpers: text hygiene, defanging, bot detection, log redaction, config checks."""

from __future__ import annotations

import logging

import pytest

from stickerreg import bots
from stickerreg.logs import RedactTokens
from stickerreg.text import clean_text, defang, single_line


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
    "raw, line",
    [
        ("Keys\nSpare", "Keys Spare"),
        ("Keys\r\n\r\nSpare", "Keys Spare"),
        ("Keys\rSpare", "Keys Spare"),
        ("a\u2028b\u2029c\x85d", "a b c d"),  # Unicode line and paragraph separators, NEL
        ("a\x0bb\x0cc\x1cd\x1ee", "a b c d e"),  # what str.splitlines() also breaks on
        ("nul\x00and\x1besc\x7fdel", "nul and esc del"),
        ("tab\tand   spaces", "tab and spaces"),
        ("  Bilnycklar \n", "Bilnycklar"),
        ("Plånbok 👛 =?", "Plånbok 👛 =?"),
        ("", ""),
        (None, None),
    ],
)
def test_single_line(raw, line):
    assert single_line(raw) == line
    assert line is None or len(line.splitlines()) <= 1


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
    "raw, safe",
    [
        # Lookalike (IDN) domains: Cyrillic letters, a Latin letter with a diacritic, a decomposed
        # one (a combining mark), and non-Latin top-level domains.
        ("logga in på раураl.com nu", "logga in på раураl[.]com nu"),
        ("https://раураl.com/login", "hxxps://раураl[.]com/login"),
        ("se exämple.se", "se exämple[.]se"),
        ("se exa\u0308mple.se", "se exa\u0308mple[.]se"),
        ("пример.рф", "пример[.]рф"),
        ("例え.テスト", "例え[.]テスト"),
        ("shop.भारत", "shop[.]भारत"),
        ("ｅｘａｍｐｌｅ．ｃｏｍ", "ｅｘａｍｐｌｅ[.]ｃｏｍ"),
        # Every full stop a browser reads as a dot between labels (IDNA maps them to ".").
        ("example\u3002com", "example[.]com"),
        ("example\uff0ecom", "example[.]com"),
        ("example\uff61com", "example[.]com"),
        ("www\u3002evil．example｡se/x", "www[.]evil[.]example[.]se/x"),
        ("finder_name.com", "finder_name[.]com"),
    ],
)
def test_defang_unicode_domains(raw, safe):
    assert defang(raw) == safe


@pytest.mark.parametrize(
    "text",
    ["Hej. Jag hittade dina nycklar.", "Hej。 Tack！", "Det kostade 12.50 kr, ca 1.5kg.", "Hmm...ok", "bl.a. o.s.v.",
     "Tack!«Hej.»", "kl.14.30"],
)
def test_defang_leaves_ordinary_sentences_alone(text):
    assert defang(text) == text


def test_defang_treats_a_missing_space_after_a_full_stop_as_a_domain():
    # Our call: "slut.Nästa" has the shape of a domain under an IDN top-level domain (.рф, .भारत
    # exist), and a stray bracket costs the reader less than a clickable link does.
    assert defang("Det var slut.Nästa dag ringde jag.") == "Det var slut[.]Nästa dag ringde jag."


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
