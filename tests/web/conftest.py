"""Fixtures for the web tests: the account area's owner, and the app served over real HTTP."""

from __future__ import annotations

import threading

import pytest
from helpers import PASSWORD, browser
from werkzeug.serving import make_server


@pytest.fixture
def owner(user_factory):
    """A verified customer who reads English (the tests check English texts)."""
    return user_factory(email="owner@example.se", password=PASSWORD, locale="en")


@pytest.fixture
def owner_client(app, owner):
    """The owner's phone browser, signed in."""
    return browser(app, email=owner.email)


@pytest.fixture
def serving(app):
    """The app on a local port with Werkzeug's own request handler, which logs every request."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
