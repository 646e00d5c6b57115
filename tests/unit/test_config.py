"""Settings: the secret key (environment, else the file `make run` writes, never the
development key outside debug) and the password-hashing cost (cheap only under TESTING)."""

from __future__ import annotations

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
