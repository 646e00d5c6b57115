"""The kiosk's JavaScript without the Flask app: static/js/kiosk.js in Debian's Chromium.

`StickerCode` must agree with stickerreg.codes on every input, or the kiosk would praise
codes the server rejects (and the other way round). The behaviour tests run a harness page
with the kiosk's DOM contract, served with the app's real CSP from a throwaway HTTP server
on 127.0.0.1 (a secure context, so getUserMedia works); the camera tests give Chromium a
fake camera that films a QR code (a .y4m file written by tests/e2e/y4m.py).
"""

from __future__ import annotations

import functools
import html
import json
import random
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from y4m import qr_frame

from stickerreg import codes, qr
from stickerreg.web.pages import CSP

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "static"
KIOSK_JS = STATIC / "js" / "kiosk.js"
BASE_URL = "http://127.0.0.1:5000"  # what the kiosk's own stickers would carry


def code_with_check(body: str) -> str:
    return body + codes.check_symbol(body)


SAMPLE = code_with_check("0123456789A")  # fixed, so failures are reproducible


# ---- StickerCode against stickerreg.codes ----


@pytest.fixture(scope="module")
def code_page(browser: Browser) -> Iterator[Page]:
    """A blank page with kiosk.js loaded (no DOM contract: only StickerCode is used)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto("about:blank")
    page.add_script_tag(path=str(KIOSK_JS))
    yield page
    context.close()


ERROR = "<error>"


def in_js(page: Page, name: str, values: list) -> list:
    """StickerCode[name](value) for each value, in one round trip; ERROR where it throws."""
    return page.evaluate(
        """([name, values]) => values.map((value) => {
            try { return StickerCode[name](value); } catch (error) { return "<error>"; }
        })""",
        [name, values],
    )


def in_python(function: Callable, values: list) -> list:
    results = []
    for value in values:
        try:
            results.append(function(value))
        except ValueError:
            results.append(ERROR)
    return results


def assert_same(page: Page, values: list[str]) -> None:
    """symbols, normalize, isValid and display agree with Python for every value."""
    pairs = {
        "symbols": codes.symbols,
        "normalize": codes.normalize,
        "isValid": codes.is_valid,
        "display": codes.display,
    }
    for name, function in pairs.items():
        js, python = in_js(page, name, values), in_python(function, values)
        differences = [(value, j, p) for value, j, p in zip(values, js, python, strict=True) if j != p]
        assert not differences, f"StickerCode.{name} differs (input, js, python): {differences[:10]}"


def test_alphabet_matches(code_page: Page) -> None:
    assert code_page.evaluate("StickerCode.ALPHABET") == codes.ALPHABET


def test_generated_codes_are_valid_with_the_same_check_symbol(code_page: Page) -> None:
    generated = [codes.generate() for _ in range(300)]
    bodies = [code[:-1] for code in generated]
    assert in_js(code_page, "checkSymbol", bodies) == [code[-1] for code in generated]
    assert all(in_js(code_page, "isValid", generated))
    assert in_js(code_page, "display", generated) == [codes.display(code) for code in generated]
    assert_same(code_page, generated)


def test_check_symbol_rejects_what_python_rejects(code_page: Page) -> None:
    bodies = ["", "0123456789", "0123456789AB", "0123456789a", "0123456789O", "0123456789U", "ＡＢＣＤＥＦＧＨＪＫＭ"]
    assert in_js(code_page, "checkSymbol", bodies) == [ERROR] * len(bodies)
    assert in_python(codes.check_symbol, bodies) == [ERROR] * len(bodies)


def test_every_substitution_and_adjacent_swap_is_caught(code_page: Page) -> None:
    pairs = []  # (original, variant)
    for code in [SAMPLE, codes.generate(), codes.generate()]:
        for index in range(codes.LENGTH):
            pairs += [(code, code[:index] + other + code[index + 1 :]) for other in codes.ALPHABET if other != code[index]]
        pairs += [(code, code[:i] + code[i + 1] + code[i] + code[i + 2 :]) for i in range(codes.LENGTH - 1)]
    variants = [variant for _, variant in pairs]
    # Only swapping two equal neighbours (which changes nothing) may still be valid.
    assert in_js(code_page, "isValid", variants) == [variant == original for original, variant in pairs]
    assert_same(code_page, variants)


def test_typed_and_scanned_forms_clean_up_the_same(code_page: Page) -> None:
    code = SAMPLE
    shown = codes.display(code)
    lookalike = code.replace("0", "O").replace("1", "I")
    values = [
        code,
        code.lower(),
        shown,
        shown.lower(),
        lookalike,
        lookalike.lower(),
        code.replace("1", "l"),
        f"  {shown}  ",
        f"\t{code[:4]}\n{code[4:8]} {code[8:]}\r\n",
        code[:6] + "\u00a0" + code[6:],  # no-break space
        code[:4] + "\u2013" + code[4:8] + "\u2014" + code[8:],  # en and em dash
        code[:4] + "\u2212" + code[4:8] + "\u2010" + code[8:],  # minus sign, hyphen
        code[:4] + "\u00ad" + code[4:8] + "\u200b" + code[8:] + "\ufeff",  # soft hyphen, zero width
        code[:4] + "\u200d\u200e\u202e" + code[4:],  # joiners and bidi marks
        code[:4] + "\x1c\x1d\x1e\x1f\x85" + code[4:],  # Python's isspace() counts these
        "".join(chr(ord(char) + 0xFEE0) for char in code),  # full-width digits and letters
        "".join(chr(ord(char) + 0xFEE0) for char in shown),  # full-width hyphen-minus too
        f"HTTPS://STICKERREG.SE/S/{code}",
        f"https://stickerreg.se/s/{code.lower()}",
        f"https://stickerreg.se/s/{shown}/",
        f"https://stickerreg.se/s/{code}?utm_source=qr",
        f"https://stickerreg.se/s/{code}#top",
        f"https://stickerreg.se/s/{code}?next=/s/ZZZZZZZZZZZZ",
        f"https://stickerreg.se/s/ZZZZ/s/{code}",
        f"https://stickerreg.se/S/S/{code}",
        f"{BASE_URL}/s/{code}",
        qr.sticker_url(BASE_URL, code),
        f"/s/{code}",
        f"s/{code}",
        "/s/",
        f"https://stickerreg.se/x/{code}",
        f"https://stickerreg.se/s/{code}/extra",
        f"{code}?x",
        f"{code}#",
        "",
        " ",
        "-",
        "hello world",
        "https://example.com/",
        code[:11],
        code + "0",
        code[::-1],
        "ß" * 6,
        "ﬁ",  # ligature: NFKC gives "fi"
        "ı" * 12,  # dotless i uppercases to I, then maps to 1
        "ſ",  # long s uppercases to S
        "\u212a",  # Kelvin sign: NFKC gives K
        "①②③",
        "é" * 12,
        "e\u0301" * 12,
        "😀" + code,
        code + "😀",
        "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝐀𝐁",  # mathematical bold digits and letters
        "<script>alert(1)</script>",
        "null",
        "%(n)s",
        "x" * 3000,
        "x" * 2100 + code,  # past MAX_INPUT: the code is cut off
        "😀" * 2047 + "AB",  # the cut counts code points, not UTF-16 units
        " " * 2040 + code,
    ]
    assert_same(code_page, values)
    assert in_js(code_page, "normalize", values[:10]) == [code] * 10


def test_random_mixtures_clean_up_the_same(code_page: Page) -> None:
    pool = list(codes.ALPHABET + codes.ALPHABET.lower() + "oOiIlL /:?#.-_sS") + [
        "\u2013", "\u2212", "\u00ad", "\u200b", "\u3000", "\uff10", "\uff21", "\u0130", "é", "😀", "\x85",
    ]  # fmt: skip
    rng = random.Random(20240601)
    values = ["".join(rng.choices(pool, k=rng.randint(0, 40))) for _ in range(3000)]
    values += [
        rng.choice(["https://stickerreg.se/s/", "HTTP://X/S/", "/S/", ""]) + f"{code[:4]}-{code[4:8]}-{code[8:]}"
        for code in (codes.generate() for _ in range(200))
    ]
    assert_same(code_page, values)


def test_every_single_character_cleans_up_the_same(code_page: Page) -> None:
    """Each code point alone (surrogates aside): normalisation, case, separators.

    Chromium's ICU knows a newer Unicode than Python's database: characters Python does
    not know yet, and case mappings onto such characters (e.g. U+019B to U+A7DC, new in
    Unicode 16), cannot be compared and are left out. None of them is a code symbol.
    """
    js = dict(
        code_page.evaluate(
            """() => {
                const changed = [];
                for (let cp = 0; cp < 0x110000; cp++) {
                    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
                    const char = String.fromCodePoint(cp);
                    const result = StickerCode.symbols(char);
                    if (result !== char) changed.push([cp, result]);
                }
                return changed;
            }"""
        )
    )
    python = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        result = codes.symbols(chr(cp))
        if result != chr(cp):
            python[cp] = result
    def unknown(text: str) -> bool:
        return any(unicodedata.category(char) == "Cn" for char in text)

    known = {cp for cp in js.keys() | python.keys() if not unknown(chr(cp) + js.get(cp, ""))}
    assert len(known) > 5000  # the comparison is not vacuous
    differences = {hex(cp): (js.get(cp, chr(cp)), python.get(cp, chr(cp))) for cp in sorted(known) if js.get(cp) != python.get(cp)}
    assert not differences, f"(js, python) differ for {len(differences)} code points: {list(differences.items())[:20]}"


# ---- The DOM contract, on a harness page ----

MESSAGES = {
    "short": "Type %(n)s more characters",
    "typo": "Check the code",
    "ok": "Sticker %(code)s",
    "invalid": "Not a sticker",
}
CAMERA_MESSAGES = {
    "starting": "Starting the camera",
    "looking": "Hold the sticker in front of the camera",
    "nocamera": "No camera",
    "denied": "Camera not allowed",
    "error": "Camera failed",
}
HTMX_CONFIG = '{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false, "historyCacheSize": 0}'


def screen_html(*, other_field: bool = True) -> str:
    """The scan screen as the integrator's templates render it (the DOM contract)."""
    keys = "".join(f'<button type="button" data-key="{key}">{key}</button>' for key in codes.ALPHABET)
    messages = " ".join(f'data-msg-{name}="{html.escape(text)}"' for name, text in MESSAGES.items())
    camera = " ".join(f'data-msg-{name}="{html.escape(text)}"' for name, text in CAMERA_MESSAGES.items())
    other = '<label>Note <input id="other" name="note"></label>' if other_field else ""
    return f"""
<main id="screen" data-screen="scan">
  <form id="scan-form" action="/kiosk/scan" method="post" data-kiosk-scan-form>
    <label for="scan-input">Sticker</label>
    <input id="scan-input" name="raw" autocomplete="off" data-kiosk-wedge {messages}>
    <p data-kiosk-feedback aria-live="polite"></p>
    <button type="submit">Look up</button>
  </form>
  <div data-kiosk-keypad hidden>{keys}
    <button type="button" data-key="backspace">⌫</button>
    <button type="button" data-key="clear">Clear</button>
  </div>
  <div data-kiosk-camera hidden {camera}>
    <button type="button" data-camera-start>Scan with the camera</button>
    <button type="button" data-camera-stop hidden>Stop the camera</button>
    <video data-camera-video playsinline muted hidden></video>
    <p data-camera-status aria-live="polite"></p>
  </div>
  {other}
  <button type="button" data-kiosk-fullscreen hidden>Full screen</button>
  <button type="button" data-kiosk-print hidden>Print</button>
  <p id="plain">Plain text to click on.</p>
</main>"""


def harness_html(*, idle_seconds: float = 60) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="htmx-config" content='{HTMX_CONFIG}'>
  <title>Kiosk harness</title>
  <link rel="icon" href="data:,">
  <script src="/static/vendor/htmx/htmx.min.js" defer></script>
  <script src="/static/vendor/jsqr/jsQR.js" defer></script>
  <script src="/static/js/kiosk.js" defer></script>
</head>
<body data-kiosk data-idle-seconds="{idle_seconds}" data-reset-url="/reset.html">
{screen_html()}
</body>
</html>"""


class _Handler(SimpleHTTPRequestHandler):
    """Static files with the app's security headers; quiet unless something fails."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Permissions-Policy", "camera=(self)")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Serve tmp_path/site (the repository's static/ linked in); returns a harness URL maker."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "static").symlink_to(STATIC, target_is_directory=True)
    (root / "reset.html").write_text('<!doctype html><title>Reset</title><p id="reset">Start</p>')
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"

    def harness(**options) -> str:
        (root / "kiosk.html").write_text(harness_html(**options))
        return f"{base}/kiosk.html"

    yield harness
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def watch_console(page: Page) -> list[str]:
    """Collect console output and page errors: the kiosk logs nothing and breaks no CSP rule."""
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        seen.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))
    return seen


@pytest.fixture
def kiosk_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def kiosk(kiosk_context: BrowserContext, site) -> Iterator[Page]:
    page = kiosk_context.new_page()
    console = watch_console(page)
    page.goto(site())
    yield page
    assert console == []


def test_live_feedback_while_typing(kiosk: Page) -> None:
    field, feedback = kiosk.locator("#scan-input"), kiosk.locator("[data-kiosk-feedback]")
    expect(field).to_be_focused()
    kiosk.keyboard.type(SAMPLE[:5])
    expect(feedback).to_have_text("Type 7 more characters")
    expect(field).not_to_have_attribute("aria-invalid", "true")
    kiosk.keyboard.type(SAMPLE[5:])
    expect(feedback).to_have_text(f"Sticker {codes.display(SAMPLE)}")
    expect(field).to_have_attribute("aria-invalid", "false")
    kiosk.keyboard.type("7")
    expect(feedback).to_have_text("Check the code")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill(SAMPLE[:11] + ("0" if SAMPLE[11] != "0" else "1"))
    expect(feedback).to_have_text("Check the code")
    field.fill("12!")
    expect(feedback).to_have_text("Check the code")
    field.fill(f"https://stickerreg.se/s/{codes.display(SAMPLE).lower()}")
    expect(feedback).to_have_text(f"Sticker {codes.display(SAMPLE)}")
    field.fill("")
    expect(feedback).to_have_text("")
    expect(field).not_to_have_attribute("aria-invalid", "true")


def test_wedge_scanner_submits_with_enter(kiosk: Page) -> None:
    url = qr.sticker_url(BASE_URL, SAMPLE)
    with kiosk.expect_request("**/kiosk/scan") as request:
        kiosk.route("**/kiosk/scan", lambda route: route.fulfill(body="<p>scanned</p>", content_type="text/html"))
        kiosk.keyboard.type(url + "\n")  # what a keyboard-wedge scanner does
    assert request.value.method == "POST"
    assert parse_qs(request.value.post_data) == {"raw": [url]}


def test_keypad_types_and_keeps_the_focus(kiosk: Page) -> None:
    field, keypad = kiosk.locator("#scan-input"), kiosk.locator("[data-kiosk-keypad]")
    expect(keypad).to_be_visible()
    for symbol in SAMPLE[:6]:
        keypad.locator(f'[data-key="{symbol}"]').click()
    expect(field).to_have_value(SAMPLE[:6])
    expect(field).to_be_focused()
    expect(kiosk.locator("[data-kiosk-feedback]")).to_have_text("Type 6 more characters")
    keypad.locator('[data-key="backspace"]').click()
    expect(field).to_have_value(SAMPLE[:5])
    for symbol in SAMPLE[5:]:
        keypad.locator(f'[data-key="{symbol}"]').click()
    expect(kiosk.locator("[data-kiosk-feedback]")).to_have_text(f"Sticker {codes.display(SAMPLE)}")
    keypad.locator('[data-key="clear"]').click()
    expect(field).to_have_value("")
    expect(field).to_be_focused()


def test_focus_returns_to_the_wedge_but_not_from_other_fields(kiosk: Page) -> None:
    field = kiosk.locator("#scan-input")
    kiosk.locator("#plain").click()
    expect(field).to_be_focused()
    kiosk.locator("#other").click()
    kiosk.keyboard.type("hello")
    expect(kiosk.locator("#other")).to_have_value("hello")
    expect(kiosk.locator("#other")).to_be_focused()
    # A scanner firing while a button has keyboard focus still reaches the wedge.
    kiosk.locator("[data-camera-start]").focus()
    kiosk.keyboard.type(SAMPLE[:3])
    expect(field).to_have_value(SAMPLE[:3])
    expect(field).to_be_focused()


def test_controls_are_revealed(kiosk: Page) -> None:
    for selector in ["[data-kiosk-keypad]", "[data-kiosk-camera]", "[data-kiosk-fullscreen]", "[data-kiosk-print]"]:
        expect(kiosk.locator(selector)).to_be_visible()
    expect(kiosk.locator("[data-camera-stop]")).to_be_hidden()
    expect(kiosk.locator("[data-camera-video]")).to_be_hidden()


def test_idle_reset_clears_and_replaces_the_page(kiosk_context: BrowserContext, site) -> None:
    page = kiosk_context.new_page()
    page.goto(site(idle_seconds=0.5))
    page.locator("#other").fill("a finder's note")
    page.locator("#scan-input").fill(SAMPLE)
    page.wait_for_url("**/reset.html", timeout=5000)
    expect(page.locator("#reset")).to_have_text("Start")
    # replace(): no history entry leads back to the kiosk page with the old data.
    page.go_back()
    assert not page.url.endswith("/kiosk.html")


def test_idle_reset_does_not_loop_on_the_empty_scan_screen(kiosk_context: BrowserContext, site) -> None:
    page = kiosk_context.new_page()
    url = site(idle_seconds=0.3)
    page.goto(url)
    page.wait_for_timeout(1200)
    assert page.url == url
    # Later, not inside evaluate: the navigation must not race the evaluate's answer.
    page.evaluate("() => { setTimeout(Kiosk.resetNow, 0); }")
    page.wait_for_url("**/reset.html", timeout=5000)


def test_reset_now_clears_every_field(kiosk: Page) -> None:
    kiosk.route("**/reset.html", lambda route: route.abort())  # keep the page to look at it
    kiosk.locator("#other").fill("secret")
    kiosk.locator("#scan-input").fill(SAMPLE)
    values = kiosk.evaluate(
        """() => { Kiosk.resetNow(); return [...document.querySelectorAll("input")].map((i) => i.value); }"""
    )
    assert values == ["", ""]


def test_a_swapped_in_screen_is_set_up(kiosk: Page) -> None:
    kiosk.route(
        "**/next-screen",
        lambda route: route.fulfill(body=screen_html(other_field=False), content_type="text/html"),
    )
    # Not awaited: the expectations below wait (with a timeout) for the swap instead.
    kiosk.evaluate("() => { htmx.ajax('GET', '/next-screen', {target: '#screen', swap: 'outerHTML'}); }")
    expect(kiosk.locator("#other")).to_have_count(0)
    expect(kiosk.locator("[data-kiosk-keypad]")).to_be_visible()
    expect(kiosk.locator("#scan-input")).to_be_focused()
    kiosk.locator('[data-key="A"]').click()
    expect(kiosk.locator("[data-kiosk-feedback]")).to_have_text("Type 11 more characters")


# ---- The camera: Chromium's fake device films a QR code ----


# The Linux build has no native BarcodeDetector, but removing it makes sure jsQR is what decodes.
WITHOUT_DETECTOR = "delete window.BarcodeDetector;"


def open_kiosk(camera: Browser, url: str, *, init_script: str = WITHOUT_DETECTOR) -> tuple[Page, list[str]]:
    page = camera.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.add_init_script(init_script)
    console = watch_console(page)
    page.goto(url)
    # Keep the page when the form submits, to look at what the camera left behind.
    page.evaluate(
        """() => document.querySelector("#scan-form").addEventListener("submit", (event) => {
            event.preventDefault();
            const submitted = JSON.parse(document.body.dataset.submitted || "[]");
            submitted.push(new FormData(event.target).get("raw"));
            document.body.dataset.submitted = JSON.stringify(submitted);
        })"""
    )
    return page, console


def expect_submitted(page: Page, *raw: str, timeout: float = 20000) -> None:
    """Wait for the scan form's submissions (wait_for_function would need 'unsafe-eval')."""
    expect(page.locator("body")).to_have_attribute("data-submitted", json.dumps(list(raw)), timeout=timeout)


def test_jsqr_reads_a_sticker_from_the_camera(camera_browser, site) -> None:
    url = qr.sticker_url(BASE_URL, SAMPLE)
    page, console = open_kiosk(camera_browser(qr_frame(url)), site())
    assert page.evaluate("'BarcodeDetector' in window") is False
    page.locator("[data-camera-start]").click()
    expect_submitted(page, url)
    expect(page.locator("#scan-input")).to_have_value(url)
    expect(page.locator("[data-kiosk-feedback]")).to_have_text(f"Sticker {codes.display(SAMPLE)}")
    # The camera is off again: no stream, video hidden, start offered again.
    expect(page.locator("[data-camera-video]")).to_be_hidden()
    expect(page.locator("[data-camera-start]")).to_be_visible()
    expect(page.locator("[data-camera-stop]")).to_be_hidden()
    assert page.locator("[data-camera-video]").evaluate("video => video.srcObject") is None
    assert console == []


def test_the_camera_ignores_other_qr_codes_and_keeps_looking(camera_browser, site) -> None:
    url = qr.sticker_url("HTTPS://STICKERREG.SE", SAMPLE)
    frames = [qr_frame("https://example.com/menu?table=4"), qr_frame(url)]
    page, console = open_kiosk(camera_browser(frames, count=40), site())
    page.locator("[data-camera-start]").click()
    expect(page.locator("[data-camera-status]")).to_have_text(CAMERA_MESSAGES["looking"])
    expect(page.locator("[data-camera-stop]")).to_be_visible()
    expect_submitted(page, url)
    assert console == []


def test_the_stop_button_turns_the_camera_off(camera_browser, site) -> None:
    page, console = open_kiosk(camera_browser(qr_frame("NOT A STICKER")), site())
    page.locator("[data-camera-start]").click()
    expect(page.locator("[data-camera-video]")).to_be_visible()
    tracks = page.locator("[data-camera-video]").evaluate_handle("video => video.srcObject.getTracks()")
    page.locator("[data-camera-stop]").click()
    expect(page.locator("[data-camera-video]")).to_be_hidden()
    expect(page.locator("[data-camera-start]")).to_be_visible()
    assert tracks.evaluate("tracks => tracks.map((track) => track.readyState)") == ["ended"]
    expect(page.locator("body")).not_to_have_attribute("data-submitted", re.compile("."))
    assert console == []


def test_a_native_barcode_detector_is_preferred(camera_browser, site) -> None:
    url = qr.sticker_url(BASE_URL, SAMPLE)
    stub = """
        window.BarcodeDetector = class {
            static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
            constructor(options) { window.detectorFormats = options.formats; }
            detect() { return Promise.resolve([{rawValue: "WIFI:S:guest;;"}, {rawValue: STICKER_URL}]); }
        };""".replace("STICKER_URL", json.dumps(url))
    # The camera films something else: only the stub can have found the sticker.
    page, console = open_kiosk(camera_browser(qr_frame("NOT A STICKER")), site(), init_script=stub)
    page.locator("[data-camera-start]").click()
    expect_submitted(page, url, timeout=10000)
    assert page.evaluate("window.detectorFormats") == ["qr_code"]
    assert console == []


def test_without_a_camera_the_status_says_so(kiosk: Page) -> None:
    """The plain test browser has no camera device at all."""
    kiosk.locator("[data-camera-start]").click()
    expect(kiosk.locator("[data-camera-status]")).to_have_text(CAMERA_MESSAGES["nocamera"])
    expect(kiosk.locator("[data-camera-video]")).to_be_hidden()
