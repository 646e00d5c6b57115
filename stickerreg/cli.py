"""Operator commands (`flask --app stickerreg ...`); each calls the same services as the web."""

from __future__ import annotations

import json
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlmodel import select
from werkzeug.serving import run_simple

from stickerreg import codes, db
from stickerreg.emails import composer
from stickerreg.mail import transport_from_config
from stickerreg.models import Sticker, User
from stickerreg.services import accounts, outbox, stickers

DEMO_EMAIL = "demo@stickerreg.se"
DEMO_PASSWORD = "stickerreg-demo-2026"
DEMO_STICKERS = [
    {"label": "Nycklar", "category": "keys", "lost_mode": True, "reward_text": "200 kr",
     "public_note": "Tack för att du hör av dig! Nyckelringen är blå."},
    {"label": "Plånbok", "category": "wallet", "lost_mode": False, "reward_text": None},
    {"label": "Ryggsäck", "category": "bag", "lost_mode": False, "reward_text": None},
]
DEMO_UNCLAIMED_SIZE = 3


def _engine():
    return current_app.extensions["db_engine"]


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    db.migrate(current_app.config["DATABASE_URL"])
    click.echo("database is at the newest migration")


@click.command("seed-demo")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the demo owner and stickers as JSON.")
@click.option("--if-empty", is_flag=True, help="Do nothing when any user exists already.")
def seed_demo(as_json: bool, if_empty: bool) -> None:
    """Create a demo owner with a claimed set of labelled, active stickers (idempotent),
    and mint a fresh unclaimed set each run to try claiming with."""
    with db.session_scope(_engine()) as session:
        if if_empty and session.exec(select(User)).first() is not None:
            click.echo("database has users already; demo data not added")
            return
        owner = accounts.find_by_email(session, DEMO_EMAIL) or accounts.create_user(
            session, email=DEMO_EMAIL, password=DEMO_PASSWORD, display_name="Demo Demosson"
        )
        owned = list(session.exec(select(Sticker).where(Sticker.owner_id == owner.id).order_by(Sticker.id)))
        if not owned:
            owned = _demo_set(session, owner)
        unclaimed = stickers.mint_set(session, size=DEMO_UNCLAIMED_SIZE)
        session.commit()
        result = {
            "owner_email": owner.email,
            "password": DEMO_PASSWORD,
            "stickers": [{"code": s.code, "label": s.label} for s in owned],
            "unclaimed_set": {
                "stickers": [s.code for s in unclaimed.stickers],
                "activation_code": stickers.display_activation(unclaimed.activation_code),
            },
        }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"demo owner: {result['owner_email']} / {result['password']}")
    base = current_app.config["PUBLIC_BASE_URL"]
    for item in result["stickers"]:
        click.echo(f"  {codes.display(item['code'])}  {item['label']:<10} {base}/s/{item['code']}")
    fresh = result["unclaimed_set"]
    click.echo(f"unclaimed set to claim at {base}/account/claim: activation code {fresh['activation_code']}")
    for code in fresh["stickers"]:
        click.echo(f"  {codes.display(code)}")


def _demo_set(session, owner: User) -> list[Sticker]:
    """The demo owner's stickers, claimed and set up the way a customer does it."""
    minted = stickers.mint_set(session, size=len(DEMO_STICKERS))
    stickers.claim_set(session, owner=owner, sticker_code=minted.stickers[0].code,
                       activation_code=minted.activation_code)
    for sticker, spec in zip(minted.stickers, DEMO_STICKERS, strict=True):
        stickers.update_sticker(session, sticker, stickers.StickerUpdate(**spec))
    return minted.stickers


outbox_group = AppGroup("outbox", help="Send queued email.")


def _worker_args(app: Flask) -> dict:
    return dict(
        compose=composer(app),
        transport=transport_from_config(app.config["SMTP_URL"], app.config["MAIL_DIR"]),
        max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"],
    )


@outbox_group.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between passes.")
def outbox_run(once: bool, poll: float) -> None:
    """Run the outbox worker (SMTP_URL, or .eml files under MAIL_DIR)."""
    app = current_app._get_current_object()
    if once:
        stats = outbox.run_once(_engine(), **_worker_args(app))
        click.echo(f"sent {stats.sent}, failed {stats.failed}, dead {stats.dead}, cancelled {stats.cancelled}")
        return
    stop = threading.Event()
    click.echo("outbox worker running; Ctrl-C stops it")
    try:
        outbox.run_forever(_engine(), stop=stop, poll_seconds=poll, **_worker_args(app))
    except KeyboardInterrupt:
        stop.set()


@outbox_group.command("status")
def outbox_status() -> None:
    """How many emails are pending, sent, dead or cancelled."""
    with db.session_scope(_engine()) as session:
        for status, count in outbox.counts(session).items():
            click.echo(f"{status:<10} {count}")


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the app with an outbox worker thread beside it (the demo setup of `make run`)."""
    app = current_app._get_current_object()
    stop = threading.Event()
    worker = threading.Thread(
        target=outbox.run_forever,
        kwargs=dict(engine=_engine(), stop=stop, **_worker_args(app)),
        name="outbox-worker",
        daemon=True,
    )
    worker.start()
    try:
        # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        stop.set()


def register(app: Flask) -> None:
    """Add the commands to `flask --app stickerreg`."""
    for command in (init_db, seed_demo, outbox_group, serve):
        app.cli.add_command(command)
