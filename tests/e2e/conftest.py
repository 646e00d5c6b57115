"""Browser tests: the real app on a live local server, Debian's Chromium driven by Playwright.

The app is the root conftest's `app` fixture (CSRF and rate limits on, one clean database);
this file only serves it over HTTP, points its mail at the test SMTP server and gives the
tests a phone. Browser tests run on SQLite only: what they add is the browser, and the web
tests already run every route on both databases. `from conftest import make_test_app` cannot
work here: this file is itself imported as `conftest`, so the root one is shadowed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from stickerreg.emails import composer
from stickerreg.mail import transport_from_config
from stickerreg.services import outbox

HERE = Path(__file__).resolve().parent
SCREENSHOTS = Path("/tmp/e2e-shots")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Safari on an iPhone: the app refuses to take messages from bot-like or empty agents.
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
)
PHONE = dict(
    viewport={"width": 390, "height": 844},
    # Layout, reflow and hit targets are in CSS pixels, the same at any density; a real
    # iPhone's 3 would only paint nine times the pixels on a software-rendering CPU.
    device_scale_factor=1,
    is_mobile=True,
    has_touch=True,
    user_agent=IPHONE_UA,
    locale="sv-SE",
    timezone_id="Europe/Stockholm",
)
# A laptop's Chrome: everything else (language, time zone) as on the phone.
DESKTOP = dict(
    viewport={"width": 1280, "height": 800},
    device_scale_factor=1,
    is_mobile=False,
    has_touch=False,
    user_agent=(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
    ),
)


@pytest.fixture(scope="session")
def database_kind() -> str:
    """Overrides the root fixture (SQLite and PostgreSQL): browser tests run on SQLite."""
    return "sqlite"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in this folder is a browser test (this hook sees all items, so filter)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug logs every request to stderr; the test output only needs the failures."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class LiveServer:
    base_url: str
    app: Flask


@pytest.fixture
def live_server(app: Flask, smtp_server) -> Iterator[LiveServer]:
    """The test app served on a random local port, mailing through the test SMTP server."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    base_url = f"http://127.0.0.1:{server.server_port}"
    # Both are only read when a request or an email needs them, so setting them after
    # create_app is the same as passing them to it (links in emails must reach this server).
    app.config.update(PUBLIC_BASE_URL=base_url, SMTP_URL=smtp_server.url)
    # A short poll keeps shutdown() quick (the default half second adds up over the tests).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    yield LiveServer(base_url=base_url, app=app)
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()
    # The root `app` fixture disposes the engine after this.


@pytest.fixture
def drain_outbox(live_server: LiveServer) -> Callable[[], outbox.RunStats]:
    """Send what the outbox holds, as `flask outbox run --once` does."""
    app = live_server.app

    def drain() -> outbox.RunStats:
        return outbox.run_once(
            app.extensions["db_engine"],
            compose=composer(app),
            transport=transport_from_config(app.config["SMTP_URL"], app.config["MAIL_DIR"]),
            max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"],
        )

    return drain


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole run (Playwright cannot download its own)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def camera_browser(browser: Browser, tmp_path: Path) -> Iterator[Callable[..., Browser]]:
    """Launch a Chromium whose (fake) camera films the given frames, from a .y4m file:
    `camera_browser(image)` or `camera_browser([image, ...], count=40)`."""
    from y4m import write_y4m

    launched: list[Browser] = []

    def launch(frames, count: int = 30) -> Browser:
        video = write_y4m(tmp_path / f"camera{len(launched)}.y4m", frames, frames=count)
        args = CHROMIUM_ARGS + [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
        camera = browser.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
        launched.append(camera)
        return camera

    yield launch
    for camera in launched:
        camera.close()


@pytest.fixture
def new_phone(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Open phone contexts on the live server (overrides e.g. java_script_enabled=False);
    all are closed after the test, before the server stops."""
    contexts: list[BrowserContext] = []

    def open_context(**overrides) -> BrowserContext:
        context = browser.new_context(base_url=live_server.base_url, **{**PHONE, **overrides})
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def new_desktop(new_phone) -> Callable[..., BrowserContext]:
    """Open desktop-sized (1280×800) contexts on the live server, closed with the phones."""
    return lambda **overrides: new_phone(**{**DESKTOP, **overrides})


@pytest.fixture
def phone(new_phone) -> Page:
    """A page in a fresh phone-sized, Swedish-speaking browser with JavaScript on."""
    return new_phone().new_page()


@pytest.fixture
def desktop(new_phone) -> Page:
    """A page in a fresh desktop-sized (1280×800) browser, closed with the phone contexts."""
    return new_phone(**DESKTOP).new_page()


@pytest.fixture
def screenshot(request) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot under /tmp/e2e-shots (outside the repository)."""

    def shoot(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.originalname}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
