"""The metrics' settings (METRICS_TOKEN, METRICS_PORT, PROMETHEUS_MULTIPROC_DIR), checked at
start-up like every other, and the parts of stickerreg.metrics that need no web app."""

from __future__ import annotations

import logging

import pytest

from stickerreg import config, metrics
from stickerreg.db import make_engine


@pytest.fixture
def settings(monkeypatch, tmp_path):
    """The settings from an environment without any metrics variable."""
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    for name in ("METRICS_TOKEN", "METRICS_PORT", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    return {**config.from_env(), "SECRET_KEY": "a-real-secret"}


def test_metrics_are_off_unless_asked_for(settings):
    assert (settings["METRICS_TOKEN"], settings["METRICS_PORT"], settings["PROMETHEUS_MULTIPROC_DIR"]) == (None, 0, None)
    config.check(settings, debug=False)


def test_each_comes_from_the_variable_of_its_name(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("METRICS_TOKEN", "t" * 40)
    monkeypatch.setenv("METRICS_PORT", "9101")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    read = config.from_env()
    assert (read["METRICS_TOKEN"], read["METRICS_PORT"], read["PROMETHEUS_MULTIPROC_DIR"]) == ("t" * 40, 9101,
                                                                                                str(tmp_path))
    config.check({**read, "SECRET_KEY": "a-real-secret"}, debug=False)


def test_a_short_token_is_refused_outside_debug_and_testing(settings):
    short = {**settings, "METRICS_TOKEN": "too-short"}
    with pytest.raises(config.InsecureConfigError, match="METRICS_TOKEN has 9 characters: use at least 32"):
        config.check(short, debug=False)
    config.check(short, debug=True)
    config.check({**short, "TESTING": True}, debug=False)
    config.check({**settings, "METRICS_TOKEN": "x" * 32}, debug=False)


@pytest.mark.parametrize("name, value, says", [
    ("METRICS_TOKEN", "has a space in it and is long enough", "printable ASCII without spaces"),
    ("METRICS_TOKEN", "ö" * 40, "printable ASCII without spaces"),
    ("METRICS_PORT", 70000, "from 1 to 65535"),
    ("METRICS_PORT", -1, "from 1 to 65535"),
    ("METRICS_PORT", "9100", "from 1 to 65535"),
    ("PROMETHEUS_MULTIPROC_DIR", "/no/such/folder", "no such folder"),
])
def test_a_setting_it_cannot_use_is_refused_with_what_it_takes(settings, name, value, says):
    with pytest.raises(config.ConfigError, match=name) as refused:
        config.check({**settings, name: value}, debug=False)
    assert says in str(refused.value)


def test_a_port_that_is_no_number_is_refused_at_start_up(settings, monkeypatch):
    monkeypatch.setenv("METRICS_PORT", "ninety-one hundred")
    with pytest.raises(config.ConfigError, match="METRICS_PORT='ninety-one hundred': use a whole number"):
        config.from_env()


def test_a_worker_that_exits_has_its_live_gauges_dropped_in_multiprocess_mode(monkeypatch, tmp_path):
    """gunicorn's child_exit hook (deploy/gunicorn.conf.py) calls worker_exited(pid)."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")
    metrics.worker_exited(4242)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_4242.db"]  # what it counted stays


def test_a_database_that_does_not_answer_is_a_gauge_of_0_not_a_failed_scrape(tmp_path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")  # never migrated: every query fails
    try:
        with caplog.at_level(logging.ERROR, logger="stickerreg.metrics"):
            families = list(metrics.QueueCollector(engine).collect())
    finally:
        engine.dispose()
    assert [(family.name, [sample.value for sample in family.samples]) for family in families] == [
        ("stickerreg_queue_metrics_up", [0])]
    assert "could not read the queues" in caplog.text


def test_registering_the_queue_collector_asks_the_database_nothing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    try:
        described = metrics.QueueCollector(engine).describe()
        metrics.scrape_registry(engine, multiprocess_dir=None)  # would raise on a duplicate name
    finally:
        engine.dispose()
    assert all(not family.samples for family in described)
    assert "stickerreg_outbox_pending" in {family.name for family in described}
