"""Operator commands: init-db, seed-demo, outbox."""

from __future__ import annotations

import json
import re

from sqlmodel import select

from stickerreg import codes
from stickerreg.cli import DEMO_EMAIL
from stickerreg.models import Sticker, StickerStatus
from stickerreg.services import claims, finder
from stickerreg.services.relay import FinderDetails


def test_init_db_migrates_an_empty_database(tmp_path):
    from helpers import make_test_app

    app = make_test_app(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "newest migration" in result.output
    app.extensions["db_engine"].dispose()


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
    assert again == demo  # the owner and their stickers are idempotent
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
