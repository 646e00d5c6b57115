"""No capability token reaches a log: every link that carries one (verification, reset, email
change, a finder's conversation, a kiosk's pairing) is requested over HTTP, and everything
the process logged (Werkzeug's request log, the app's own loggers) and gunicorn's access log
are searched for each token issued; and the same holds for JSON log lines (LOG_FORMAT=json)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import BROWSER_UA, PASSWORD, browser, csrf_token, drain_outbox, free_port, link_in

from stickerreg import logs
from stickerreg.models import ApiScope, DeskCreate
from stickerreg.services import api_keys, desks

ROOT = Path(__file__).resolve().parents[2]


def test_every_route_with_a_token_is_redacted_even_before_an_app_exists(app):
    assert logs.token_paths(rule.rule for rule in app.url_map.iter_rules()) <= set(logs.TOKEN_PATHS)


def issued_links(app, session, user_factory) -> list[str]:
    """Walk every flow that issues a token; the paths of the links they gave out."""
    links = []
    newcomer = browser(app)
    newcomer.post("/auth/signup", data={"email": "new@example.se", "password": PASSWORD,
                                        "password_confirm": PASSWORD, "csrf_token": csrf_token(newcomer, "/auth/signup")})
    owner = user_factory(email="owner@example.se", password=PASSWORD)
    client = browser(app, email=owner.email)
    client.post("/account/profile/email", data={"new_email": "ny@example.se", "password": PASSWORD,
                                                "csrf_token": csrf_token(client, "/account/profile")})
    client.post("/auth/reset", data={"email": owner.email, "csrf_token": csrf_token(client, "/auth/reset")})
    for email in drain_outbox(app):
        links += [link_in(email, prefix) for prefix in ("/auth/verify/", "/auth/email/", "/auth/reset/")
                  if prefix in email.get_body(preferencelist=("plain",)).get_content()]
    sent = client.post("/s/W5WBJ5W7MS55/message", data={"message": "Hittade nycklarna"})
    links.append(sent.headers["Location"])
    desk = desks.create_desk(session, DeskCreate(name="Desk", address="Street 1", opening_hours="9-17"))
    _, pairing_token = desks.start_pairing(session, desk=desk, name="Counter")
    session.commit()
    links.append(f"/kiosk/pair/{pairing_token}")
    return links


def test_no_issued_token_reaches_any_log(app, session, user_factory, serving, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    links = issued_links(app, session, user_factory)
    tokens = [link.rstrip("/").rsplit("/", 1)[1] for link in links]
    assert {link.split("/")[1] for link in links} == {"auth", "c", "kiosk"} and len(tokens) == 5
    for link in links:
        request = urllib.request.Request(serving + link, headers={"User-Agent": BROWSER_UA})
        assert urllib.request.urlopen(request).status == 200
        logging.getLogger("stickerreg").warning("the app mentions %s", link)  # the app's own logger
    logged = caplog.text + "".join(capfd.readouterr())
    assert logged.count(logs.REDACTED) >= 2 * len(links)
    assert [token for token in tokens if token in logged] == []


@pytest.fixture
def json_logs():
    """LOG_FORMAT=json on a handler of our own at the root logger; every handler's formatter
    (pytest's capture among them) is put back afterwards."""
    stream = io.StringIO()
    ours = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(ours)
    kept = [(handler, handler.formatter) for name in (None, "gunicorn.error", "gunicorn.access", "werkzeug")
            for handler in logging.getLogger(name).handlers]
    try:
        logs.use_format("json")
        yield stream
    finally:
        root.removeHandler(ours)
        for handler, formatter in kept:
            handler.setFormatter(formatter)


def test_json_log_lines_are_redacted_like_text_ones(app, json_logs):
    log = logging.getLogger("stickerreg")
    log.warning("GET /c/%s?customer=%s&x=1", "SecretConversationToken123", "1234567")
    try:
        raise ValueError("no such link: /auth/reset/SecretResetToken456")
    except ValueError:
        log.exception("failed on %s", "/kiosk/pair/SecretPair789")
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert [line["level"] for line in lines] == ["WARNING", "ERROR"] and {line["logger"] for line in lines} == {"stickerreg"}
    assert lines[0]["message"] == "GET /c/[redacted]?customer=[redacted]&x=1"
    assert lines[1]["message"] == "failed on /kiosk/pair/[redacted]"
    assert "Traceback" in lines[1]["exception"] and "/auth/reset/[redacted]" in lines[1]["exception"]
    assert lines[0]["time"].endswith("+00:00")
    assert not re.search(r"Secret\w+Token|SecretPair|1234567", json_logs.getvalue())


def test_the_app_writes_json_log_lines_when_asked(database_url, tmp_path, json_logs):
    from helpers import app_with

    logs.use_format("text")  # text changes nothing: the handlers keep the JSON formatter set above
    with app_with(database_url, tmp_path, LOG_FORMAT="json") as app:
        app.logger.warning("opened /c/%s", "SecretConversationToken123")
    [line] = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    assert line["message"] == "opened /c/[redacted]"


@pytest.mark.skipif(not (Path(sys.executable).parent / "gunicorn").exists(), reason="gunicorn is not installed")
def test_a_customer_number_asked_for_by_an_alarm_centre_reaches_no_log(app, session, user_factory, serving, caplog,
                                                                      capfd):
    customer = user_factory()
    _, key = api_keys.create_key(session, name="Larmcentralen", scope=ApiScope.FIRE)
    session.commit()
    caplog.set_level(logging.DEBUG)
    request = urllib.request.Request(f"{serving}/api/v1/fire/contacts?customer={customer.customer_number}&x=1",
                                     headers={"Authorization": f"Bearer {key}"})
    assert urllib.request.urlopen(request).status == 200
    logged = caplog.text + "".join(capfd.readouterr())
    assert "customer=[redacted]&x=1" in logged and customer.customer_number not in logged


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_gunicorns_access_log_shows_no_token(tmp_path, sqlite_template, log_format):
    access_log = tmp_path / "access.log"
    shutil.copyfile(sqlite_template, tmp_path / "gunicorn.sqlite3")
    port = free_port()
    env = {**os.environ, "SECRET_KEY": "a-gunicorn-test-key", "DATABASE_URL": f"sqlite:///{tmp_path}/gunicorn.sqlite3",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "STICKERREG_INSTANCE": str(tmp_path),
           "LOG_FORMAT": log_format}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(access_log), "stickerreg:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        paths = ["/c/SecretConversationToken123", "/auth/reset/SecretResetToken456", "/kiosk/pair/SecretPair789"]
        for path in paths:
            _get_when_up(f"http://127.0.0.1:{port}{path}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = access_log.read_text()
    assert logged.count(logs.REDACTED) == len(paths)
    assert not re.search(r"Secret\w+Token|SecretPair", logged), logged
    if log_format == "json":  # one JSON object per request, its message the access-log line
        requests = [json.loads(line) for line in logged.splitlines()]
        assert len(requests) == len(paths) and all('GET ' in entry["message"] for entry in requests)


def _get_when_up(url: str) -> None:
    """GET `url`, waiting (up to 60 s) for the server to start answering; any status will do."""
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": BROWSER_UA}))
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
