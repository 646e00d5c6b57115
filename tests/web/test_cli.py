"""Operator commands: init-db, seed-demo, outbox, directory, apikey, idprotect."""

from __future__ import annotations

import json
import re

from sqlmodel import select

from stickerreg import codes
from stickerreg.cli import DEMO_EMAIL
from stickerreg.models import DirectoryKind, IdProtectAlert, Sticker, StickerStatus
from stickerreg.services import api_keys, claims, finder
from stickerreg.services.linked import directory
from stickerreg.services.relay import FinderDetails


def test_init_db_migrates_an_empty_database(tmp_path):
    from helpers import app_with

    with app_with(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path) as app:
        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "newest migration" in result.output


def test_seed_demo_prints_the_owner_and_active_stickers(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.output)
    assert demo["owner_email"] == DEMO_EMAIL and len(demo["password"]) >= 12
    assert len(demo["stickers"]) == 3
    for item in demo["stickers"]:
        assert codes.normalize(item["code"]) == item["code"] and item["label"]
        sticker = session.exec(select(Sticker).where(Sticker.code == item["code"])).one()
        assert sticker.status == StickerStatus.ACTIVE and sticker.set_id is not None  # claimed as a set
    again = json.loads(runner.invoke(args=["seed-demo", "--json"]).output)
    unclaimed, fresh = demo.pop("unclaimed_set"), again.pop("unclaimed_set")
    assert sorted(demo.pop("api_keys")) == ["fire", "idprotect"] and again.pop("api_keys") == {}  # shown once
    assert again == demo  # the owner, their stickers and services are idempotent
    assert fresh["stickers"] != unclaimed["stickers"]  # a new set to claim every run
    assert "not added" in runner.invoke(args=["seed-demo", "--if-empty"]).output


def test_the_demo_unclaimed_set_can_be_claimed(app, session, user_factory):
    demo = json.loads(app.test_cli_runner().invoke(args=["seed-demo", "--json"]).output)
    fresh = demo["unclaimed_set"]
    assert len(fresh["stickers"]) >= 1 and re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", fresh["activation_code"])
    claimed = claims.claim_set(session, owner=user_factory(), sticker_code=fresh["stickers"][-1],
                                 activation_code=fresh["activation_code"])
    assert sorted(s.code for s in claimed) == sorted(fresh["stickers"])


def test_the_demo_lost_mode_sticker_shows_its_reward(app, client):
    demo = json.loads(app.test_cli_runner().invoke(args=["seed-demo", "--json"]).output)
    pages = [client.get(f"/s/{s['code']}", headers={"User-Agent": "Mozilla/5.0"}).get_data(as_text=True)
             for s in demo["stickers"]]
    assert sum("200 kr" in page for page in pages) == 1


def test_outbox_run_once_delivers_to_smtp(app, session, sticker_factory, smtp_server):
    sticker = sticker_factory()
    finder.report_found(session, code=sticker.code, message="Hittad!", details=FinderDetails())
    session.commit()
    app.config["SMTP_URL"] = smtp_server.url
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(smtp_server.wait_for(1)) == 1
    status = runner.invoke(args=["outbox", "status"]).output
    assert "sent       1" in status and "pending    0" in status


def test_outbox_without_smtp_writes_eml_files(app, session, sticker_factory, tmp_path):
    sticker = sticker_factory()
    finder.report_found(session, code=sticker.code, message="Hittad!", details=FinderDetails())
    session.commit()
    result = app.test_cli_runner().invoke(args=["outbox", "run", "--once"])
    assert "sent 1" in result.output
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


def test_outbox_retry_dead_requeues_what_gave_up(app, session):
    from stickerreg.models import OutboxKind, OutboxMessage, OutboxStatus
    from stickerreg.services import outbox

    dead = outbox.enqueue(session, kind=OutboxKind.SCAN_ALERT, payload={})
    sent = outbox.enqueue(session, kind=OutboxKind.SCAN_ALERT, payload={})
    dead.status, dead.attempts, dead.last_error = OutboxStatus.DEAD.value, 6, "SMTPServerDisconnected: gone"
    sent.status = OutboxStatus.SENT.value
    session.add_all([dead, sent])
    session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["outbox", "retry"]).exit_code == 2  # says what to retry: --dead
    result = runner.invoke(args=["outbox", "retry", "--dead"])
    assert result.exit_code == 0 and "requeued 1 dead email" in result.output
    session.expire_all()
    dead, sent = session.get(OutboxMessage, dead.id), session.get(OutboxMessage, sent.id)
    assert (dead.status, dead.attempts, dead.last_error) == (OutboxStatus.PENDING, 0, None)
    assert sent.status == OutboxStatus.SENT and "pending    1" in runner.invoke(args=["outbox", "status"]).output


# --- linked services --------------------------------------------------------------


def test_directory_load_adds_then_updates_and_refuses_a_bad_file(app, session, tmp_path):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["directory", "load"])
    assert first.exit_code == 0 and re.fullmatch(r"\d+ added, 0 updated\n", first.output), first.output
    assert runner.invoke(args=["directory", "load"]).output.startswith("0 added, ")
    assert directory.find(session, DirectoryKind.CARD_ISSUER, "handelsbanken").blocking_phone == "+4620411212"
    broken = tmp_path / "directory.json"
    broken.write_text('{"card_issuers": [{"key": "x"}]}')
    refused = runner.invoke(args=["directory", "load", "--file", str(broken)])
    assert refused.exit_code == 1 and "the directory file is not valid" in refused.output


def test_an_api_key_is_printed_once_listed_by_prefix_and_revoked(app, session):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["apikey", "create", "--scope", "fire", "--name", "Larmcentralen"])
    assert created.exit_code == 0
    plain = created.stdout.splitlines()[-1]
    assert api_keys.authenticate(session, f"Bearer {plain}") is not None
    [line] = runner.invoke(args=["apikey", "list"]).output.splitlines()
    key_id = line.split()[0]
    assert "fire" in line and "live" in line and line.endswith("Larmcentralen") and plain not in line
    assert runner.invoke(args=["apikey", "revoke", "--key", key_id]).exit_code == 0
    session.expire_all()
    assert api_keys.authenticate(session, f"Bearer {plain}") is None
    assert "revoked" in runner.invoke(args=["apikey", "list"]).output
    unknown = runner.invoke(args=["apikey", "revoke", "--key", "nope"])
    assert unknown.exit_code == 2 and "no key 'nope'" in unknown.output
    assert runner.invoke(args=["apikey", "create", "--scope", "everything", "--name", "x"]).exit_code == 2


def test_idprotect_import_stores_good_rows_once_and_lists_bad_ones(app, session, tmp_path):
    csv_file = tmp_path / "inquiries.csv"
    csv_file.write_text("id,bureau,requester,requested_at,personnummer\n"
                        "uc-1,UC,Exempelbanken AB,2026-11-30T09:30:00Z,19811218-9876\n"
                        "uc-2,UC,Exempelbanken AB,not a time,19811218-9876\n"
                        "uc-3,UC,Exempelbanken AB,2026-11-30T09:30:00Z,19811218-9875\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["idprotect", "import", str(csv_file)])
    assert result.exit_code == 0 and result.stdout.endswith("1 added, 0 seen before, 2 skipped\n")
    assert "skipped line 3: requested_at" in result.stderr and "skipped line 4: invalid_personnummer" in result.stderr
    assert "9876" not in result.output and "9875" not in result.output
    again = runner.invoke(args=["idprotect", "import", str(csv_file)])
    assert again.stdout.endswith("0 added, 1 seen before, 2 skipped\n")
    assert len(session.exec(select(IdProtectAlert)).all()) == 1


def test_idprotect_import_refuses_a_file_it_cannot_read(app, tmp_path):
    runner = app.test_cli_runner()
    wrong_columns = tmp_path / "wrong.csv"
    wrong_columns.write_text("when,who\n2026-01-01,UC\n")
    not_text = tmp_path / "latin1.csv"
    not_text.write_bytes("id,bureau,requester,requested_at,personnummer\nuc-1,UC,Bank\xe5,x,y\n".encode("latin-1"))
    for path, message in ((wrong_columns, "the columns must be"), (not_text, "not UTF-8")):
        result = runner.invoke(args=["idprotect", "import", str(path)])
        assert result.exit_code == 1 and message in result.output
