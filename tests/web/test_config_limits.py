"""Rate limits come from the settings, so an operator tunes them in the environment: each view
obeys the value of its variable (config.RATE_LIMITS), and RATELIMIT_ENABLED switches them all.
The limits here count per day: a fixed window that ends mid-test would start the count afresh.
(The defaults are checked in tests/unit/test_config.py.)"""

from __future__ import annotations

import pytest
from helpers import BROWSER_UA, csrf_token, make_test_app, phone_client

from stickerreg import codes


@pytest.fixture
def app_with(database_url, tmp_path, monkeypatch):
    """An app made after the given variables are set in the environment."""
    made = []

    def make(**environment):
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        app = make_test_app(database_url, tmp_path)
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["db_engine"].dispose()


def test_a_finder_lookup_limit_of_two_refuses_the_third_page(app_with):
    client = app_with(RATELIMIT_FINDER_LOOKUP="2 per day").test_client()
    statuses = [client.get(f"/s/{codes.generate()}", headers={"User-Agent": BROWSER_UA}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_messages_per_sticker_limit_comes_from_its_variable(app_with, sticker_factory):
    client = phone_client(app_with(RATELIMIT_FINDER_MESSAGE_PER_STICKER="1 per day"))
    code = sticker_factory().code
    sent = [client.post(f"/s/{code}/message", data={"message": f"Hittade nycklar {n}"}).status_code for n in range(2)]
    assert sent == [303, 429]


def test_a_sign_up_limit_from_the_environment_applies_to_sign_ups(app_with):
    client = phone_client(app_with(RATELIMIT_SIGNUP="1 per day"))

    def sign_up(email: str) -> int:
        form = {"email": email, "password": "ett-långt-lösenord-för-test", "password_confirm": "ett-långt-lösenord-för-test",
                "csrf_token": csrf_token(client, "/auth/signup")}
        return client.post("/auth/signup", data=form).status_code

    first, second = sign_up("first@example.se"), sign_up("second@example.se")
    assert first != 429 and second == 429


def test_rate_limits_switched_off_in_the_environment_refuse_nothing(app_with):
    client = app_with(RATELIMIT_ENABLED="false", RATELIMIT_FINDER_LOOKUP="1 per minute").test_client()
    statuses = {client.get(f"/s/{codes.generate()}", headers={"User-Agent": BROWSER_UA}).status_code for _ in range(5)}
    assert statuses == {200}

