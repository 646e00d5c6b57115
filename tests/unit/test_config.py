"""Settings: the secret key (environment, else the file `make run` writes, never the
development key outside debug), the password-hashing cost (cheap only under TESTING), and
what an operator tunes (rate limits, pool sizes, worker threads, log format), each checked at
start-up with an error that names the variable and what it accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stickerreg import config, passwords


@pytest.fixture
def instance(monkeypatch, tmp_path):
    """An empty instance folder, no SECRET_KEY in the environment, not in debug."""
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return tmp_path


def strong(**settings) -> dict:
    return {**config.from_env(), **settings}


def test_the_development_secret_is_refused_outside_debug(instance):
    with pytest.raises(config.InsecureConfigError, match="make run"):
        config.check(strong(SECRET_KEY=config.DEV_SECRET_KEY), debug=False)
    config.check(strong(SECRET_KEY=config.DEV_SECRET_KEY), debug=True)
    config.check(strong(SECRET_KEY="a-real-secret"), debug=False)


def test_create_app_refuses_to_start_with_the_development_secret(instance):
    from stickerreg import create_app

    with pytest.raises(config.InsecureConfigError):
        create_app({"DATABASE_URL": f"sqlite:///{instance / 'x.sqlite3'}"})


def test_the_key_make_run_wrote_is_found_without_the_environment(instance, monkeypatch):
    (instance / "secret_key").write_text("from-the-instance-file\n")
    assert config.from_env()["SECRET_KEY"] == "from-the-instance-file"
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert config.from_env()["SECRET_KEY"] == "from-the-environment"


def test_an_empty_key_file_counts_as_no_key(instance):
    (instance / "secret_key").write_text("\n")
    assert config.from_env()["SECRET_KEY"] == config.DEV_SECRET_KEY


def test_cheap_password_hashing_is_refused_outside_testing(instance):
    cheap = strong(SECRET_KEY="a-real-secret", PASSWORD_HASH_TIME_COST=1, PASSWORD_HASH_MEMORY_KIB=8)
    with pytest.raises(config.InsecureConfigError, match="PASSWORD_HASH"):
        config.check(cheap, debug=False)
    with pytest.raises(config.InsecureConfigError):
        config.check(cheap, debug=True)  # debug is no excuse: real passwords may be typed there
    config.check({**cheap, "TESTING": True}, debug=False)


def test_the_default_cost_is_argon2s_recommended_one(instance):
    assert config.password_hash_cost(config.from_env()) == passwords.PRODUCTION
    assert passwords.PRODUCTION.is_strong() and not passwords.TESTING.is_strong()


def test_the_app_hashes_with_the_configured_cost(app):
    # The test app asks for the cheap cost (tests/helpers.py); production strength is the default.
    assert passwords.hash_secret("a password").startswith("$argon2id$v=19$m=8,t=1,p=1$")


# --- settings an operator tunes: rate limits, pool sizes, worker threads, log format --------


def test_every_rate_limit_defaults_to_its_value_before_it_was_a_setting(instance):
    settings = config.from_env()
    assert settings["RATELIMIT_ENABLED"] is True
    assert {name: settings[name] for name in config.RATE_LIMITS} == config.RATE_LIMITS
    assert (settings["RATELIMIT_FINDER_LOOKUP"], settings["RATELIMIT_FINDER_MESSAGE"],
            settings["RATELIMIT_FINDER_MESSAGE_PER_STICKER"], settings["RATELIMIT_SIGNIN"]) == (
        "30 per minute", "5 per 10 minutes", "3 per 10 minutes", "20 per 15 minutes")
    assert (settings["DB_POOL_SIZE"], settings["DB_MAX_OVERFLOW"], settings["WORKER_THREADS"],
            settings["OUTBOX_LEASE_SECONDS"], settings["LOG_FORMAT"]) == (5, 10, 1, 120, "text")


def test_each_setting_comes_from_the_variable_of_its_name(instance, monkeypatch):
    values = {"RATELIMIT_ENABLED": "off", "RATELIMIT_FINDER_LOOKUP": "2 per minute", "RATELIMIT_API_FIRE": "10/second",
              "DB_POOL_SIZE": "20", "DB_MAX_OVERFLOW": "0", "WORKER_THREADS": "4", "LOG_FORMAT": "json",
              "OUTBOX_LEASE_SECONDS": "30"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = config.from_env()
    assert settings["RATELIMIT_ENABLED"] is False
    assert (settings["RATELIMIT_FINDER_LOOKUP"], settings["RATELIMIT_API_FIRE"]) == ("2 per minute", "10/second")
    assert (settings["DB_POOL_SIZE"], settings["DB_MAX_OVERFLOW"], settings["WORKER_THREADS"]) == (20, 0, 4)
    assert settings["LOG_FORMAT"] == "json" and settings["OUTBOX_LEASE_SECONDS"] == 30
    config.check({**settings, "SECRET_KEY": "a-real-secret"}, debug=False)


@pytest.mark.parametrize(
    "name, value, allowed",
    [
        ("RATELIMIT_FINDER_LOOKUP", "lots per minute", "5 per 10 minutes"),
        ("RATELIMIT_KIOSK_PICKUP_PER_DESK", "30 per fortnight", "5 per 10 minutes"),
        ("RATELIMIT_ENABLED", "maybe", "true, yes, on, 0, false"),
        ("DB_POOL_SIZE", "-1", "at least 1"),
        ("DB_POOL_SIZE", "0", "at least 1"),
        ("DB_POOL_SIZE", "five", "whole number"),
        ("DB_MAX_OVERFLOW", "-3", "at least 0"),
        ("WORKER_THREADS", "0", "at least 1"),
        ("OUTBOX_LEASE_SECONDS", "5", "at least 10"),
        ("LOG_FORMAT", "xml", "text, json"),
    ],
)
def test_create_app_refuses_a_setting_it_cannot_use_and_says_what_is_allowed(instance, monkeypatch, name, value,
                                                                             allowed):
    from stickerreg import create_app

    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError) as refused:
        create_app({"DATABASE_URL": f"sqlite:///{instance / 'x.sqlite3'}", "SECRET_KEY": "a-real-secret"})
    message = str(refused.value)
    assert message.startswith(f"{name}=") and value in message and allowed in message


@pytest.mark.parametrize("overrides", [{"DB_POOL_SIZE": -1}, {"DB_MAX_OVERFLOW": True}, {"WORKER_THREADS": "2"},
                                       {"RATELIMIT_SIGNUP": ""}, {"RATELIMIT_ENABLED": "yes"}])
def test_settings_given_to_create_app_are_checked_as_well(instance, overrides):
    with pytest.raises(config.ConfigError, match=next(iter(overrides))):
        config.check(strong(SECRET_KEY="a-real-secret", **overrides), debug=False)


def test_the_pool_is_sized_as_configured(instance, monkeypatch):
    from stickerreg import create_app

    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "1")
    app = create_app({"DATABASE_URL": f"sqlite:///{instance / 'x.sqlite3'}", "SECRET_KEY": "a-real-secret"})
    pool = app.extensions["db_engine"].pool
    try:
        assert (pool.size(), pool._max_overflow) == (3, 1)
    finally:
        app.extensions["db_engine"].dispose()


ROOT = Path(__file__).resolve().parents[2]
_LIMIT = re.compile(r"limiter\.(?:limit|shared_limit)\((?!\s*configured\()")


def test_no_rate_limit_is_written_in_the_code_and_every_setting_is_used():
    sources = [path for folder in ("stickerreg", "kiosk") for path in (ROOT / folder).rglob("*.py")]
    text = {path: path.read_text(encoding="utf-8") for path in sources}
    assert [str(path) for path, source in text.items() if _LIMIT.search(source)] == []
    used = {name for source in text.values() for name in re.findall(r'configured\("(RATELIMIT_\w+)"\)', source)}
    assert used == set(config.RATE_LIMITS)
