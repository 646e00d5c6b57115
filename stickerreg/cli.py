"""Operator commands (`flask --app stickerreg ...`); each calls the same services as the web."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from pydantic import ValidationError
from sqlmodel import select
from werkzeug.serving import run_simple

from stickerreg import codes, db, metrics, privacy_export
from stickerreg import worker as background
from stickerreg.models import (
    ApiScope,
    BatchStatus,
    CardCreate,
    CardType,
    DeskCreate,
    FireContactCreate,
    IdProtectEventIn,
    JobStatus,
    MobileDeviceCreate,
    Role,
    Sticker,
    StickerUpdate,
    User,
    utcnow,
)
from stickerreg.services import (
    accounts,
    api_keys,
    claims,
    desks,
    handed_in,
    outbox,
    privacy,
    registers,
    retention,
    stickers,
)
from stickerreg.services.linked import cards, devices, directory, fire, idprotect
from stickerreg.services.printshop import PrintshopError, UnknownLayout, batches, exports, misprints
from stickerreg.services.worker import Worker, new_worker_id
from stickerreg.web.pages import public_url

DEMO_EMAIL = "demo@stickerreg.se"
DEMO_PASSWORD = "stickerreg-demo-2026"
DEMO_STICKERS = [
    {"label": "Nycklar", "category": "keys", "lost_mode": True, "reward_text": "200 kr",
     "public_note": "Tack för att du hör av dig! Nyckelringen är blå."},
    {"label": "Plånbok", "category": "wallet", "lost_mode": False, "reward_text": None},
    {"label": "Ryggsäck", "category": "bag", "lost_mode": False, "reward_text": None},
]
DEMO_UNCLAIMED_SIZE = 3
DEMO_ADMIN_EMAIL = "admin@stickerreg.se"
DEMO_DESK = {"name": "Hittegods Centralstationen", "address": "Centralplan 15, 111 20 Stockholm",
             "opening_hours": "Mån–fre 08–20, lör–sön 10–16"}
DEMO_STAFF_PIN = "2468"
DEMO_SERVICE_EMAIL = "kundservice@stickerreg.se"
DEMO_PERSONNUMMER = "198112189876"  # a valid test number; BankID-proved for the demo owner
DEMO_FIRE_CONTACTS = [
    {"name": "Grannen Greta", "phone": "070-123 45 67", "relation": "Granne", "note": "Har nyckel till dörren"},
    {"name": "Syster Sara", "phone": "073-987 65 43", "relation": "Syster", "note": None},
]
DEMO_SALES_EMAIL = "sales@stickerreg.se"
# Example files for the registers (numbers from PTS's series for fiction, which nobody has).
EXAMPLES = Path(__file__).resolve().parent / "data" / "examples"
DEMO_PARTNER = "Exempelpartner AB"
DEMO_DNC_NUMBER = "070-174 06 07"  # a row of the example lead file


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
        desk = _demo_desk(session)
        api_keys_made = _demo_linked_services(session, owner)
        _demo_sales(session)
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
            "admin_email": DEMO_ADMIN_EMAIL,
            "desk": desk.name,
            "staff_pin": DEMO_STAFF_PIN,
            "customer_service_email": DEMO_SERVICE_EMAIL,
            "sales_email": DEMO_SALES_EMAIL,
            "customer_number": owner.customer_number,
            "api_keys": api_keys_made,
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
    click.echo(f"admin: {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD} (pairs kiosks at {base}/admin/desks)")
    click.echo(f"kiosk desk: {result['desk']}, staff PIN {DEMO_STAFF_PIN} (or pair from the shell: make kiosk-pair)")
    click.echo(f"customer service: {DEMO_SERVICE_EMAIL} / {DEMO_PASSWORD} (blocking cases at {base}/crm/)")
    click.echo(f"sales: {DEMO_SALES_EMAIL} / {DEMO_PASSWORD} (leads at {base}/sales/)")
    click.echo(f"demo owner's customer number: {accounts.display_customer_number(result['customer_number'])}")
    for scope, key in result["api_keys"].items():
        click.echo(f"API key ({scope}), shown once: {key}")


def _demo_desk(session):
    """A demo lost-and-found desk and an admin who can pair its kiosk (both idempotent)."""
    if accounts.find_by_email(session, DEMO_ADMIN_EMAIL) is None:
        accounts.create_user(session, email=DEMO_ADMIN_EMAIL, password=DEMO_PASSWORD, verified=True,
                             role=Role.ADMIN, display_name="Demo Admin")
    desk = desks.find_desk(session, DEMO_DESK["name"])
    if desk is None:
        desk = desks.create_desk(session, DeskCreate(**DEMO_DESK))
        desks.set_staff_pin(session, desk, DEMO_STAFF_PIN)
    return desk


def _demo_linked_services(session, owner: User) -> dict[str, str]:
    """The demo owner's linked services, filled in once: the directory, a card, a phone, two
    alarm contacts, a matched and an unmatched credit inquiry; a customer-service user; and
    an API key per scope, returned in plain text (the only time it exists)."""
    directory.load_file(session)
    if accounts.find_by_email(session, DEMO_SERVICE_EMAIL) is None:
        accounts.create_user(session, email=DEMO_SERVICE_EMAIL, password=DEMO_PASSWORD, verified=True,
                             role=Role.CUSTOMER_SERVICE, display_name="Kim Kundservice")
    if cards.cards_of(session, owner):
        return {}
    key = current_app.config["SECRET_KEY"].encode()
    accounts.link_personnummer(session, owner, DEMO_PERSONNUMMER, key=key, verified=True)
    cards.add_card(session, owner, CardCreate(holder_name="Demo Demosson", issuer="handelsbanken",
                                              card_type=CardType.DEBIT, last_four="4242"), actor=owner)
    devices.add_device(session, owner, MobileDeviceCreate(owner_name="Demo Demosson", phone="070-111 22 33",
                                                          operator="telia", imei="490154203237518"),
                       key=key, actor=owner)
    for contact in DEMO_FIRE_CONTACTS:
        fire.add_contact(session, owner, FireContactCreate(**contact), actor=owner)
    for event_id, number, requester in (("demo-1", DEMO_PERSONNUMMER, "Demo Bank AB"),
                                        ("demo-2", "199001012385", "Mobilaffären i Sverige AB")):
        idprotect.ingest(session, IdProtectEventIn(id=event_id, bureau="UC", requester=requester,
                                                   requested_at=utcnow(), personnummer=number), key=key)
    return {scope.value: api_keys.create_key(session, name=f"Demo {scope.value}", scope=scope)[1]
            for scope in ApiScope}


def _demo_sales(session) -> None:
    """A sales user, and (each once) the example NIX file, a do-not-call entry and the
    example lead file imported, so /sales has a report with every kind of row."""
    if accounts.find_by_email(session, DEMO_SALES_EMAIL) is None:
        accounts.create_user(session, email=DEMO_SALES_EMAIL, password=DEMO_PASSWORD, verified=True,
                             role=Role.SALES, display_name="Sam Säljare")
    if registers.nix_status(session).numbers == 0:
        registers.import_nix(session, (EXAMPLES / "nix.txt").read_bytes())
    if registers.dnc_entry_for(session, DEMO_DNC_NUMBER) is None:
        registers.add_dnc(session, phone=DEMO_DNC_NUMBER, source="phone_call", actor=None)
    if not registers.lead_imports(session, limit=1):
        registers.import_leads(session, (EXAMPLES / "leads.csv").read_bytes(), partner=DEMO_PARTNER)


def _demo_set(session, owner: User) -> list[Sticker]:
    """The demo owner's stickers, claimed and set up the way a customer does it."""
    minted = stickers.mint_set(session, size=len(DEMO_STICKERS))
    claims.claim_set(session, owner=owner, sticker_code=minted.stickers[0].code,
                     activation_code=minted.activation_code)
    for sticker, spec in zip(minted.stickers, DEMO_STICKERS, strict=True):
        stickers.update_sticker(session, sticker, StickerUpdate(**spec))
    return minted.stickers


outbox_group = AppGroup("outbox", help="Send queued email.")


@outbox_group.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
def outbox_run(once: bool, poll: float) -> None:
    """Run the outbox part of the worker (SMTP_URL, or .eml files under MAIL_DIR); `flask
    worker` runs it together with exports and periodic jobs."""
    app = current_app._get_current_object()
    if once:
        stats = outbox.drain(_engine(), **background.outbox_args(app))
        click.echo(f"sent {stats.sent}, failed {stats.failed}, dead {stats.dead}, cancelled {stats.cancelled}")
        return
    _run_until_stopped(background.build(app, ("outbox",), idle=poll))


@outbox_group.command("retry")
@click.option("--dead", is_flag=True, required=True, help="Requeue every email that gave up after its attempts.")
def outbox_retry(dead: bool) -> None:
    """Send dead emails again, once what made them fail is fixed."""
    with db.session_scope(_engine()) as session:
        requeued = outbox.requeue_dead(session)
        session.commit()
    click.echo(f"requeued {requeued} dead email{'' if requeued == 1 else 's'}")


@outbox_group.command("status")
def outbox_status() -> None:
    """How many emails are pending, sent, dead or cancelled."""
    with db.session_scope(_engine()) as session:
        for status, count in outbox.counts(session).items():
            click.echo(f"{status:<10} {count}")


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Do what is due now (emails, exports, periodic jobs), then exit.")
def worker_command(once: bool) -> None:
    """Run all background work in this process: send the outbox, write the export jobs the
    print shop queues, run periodic jobs (retention, daily). Start as many as you like, beside
    `flask serve` too: they share the work and never do anything twice."""
    app = current_app._get_current_object()
    if once:
        click.echo(background.run_once(app))
        return
    if port := app.config["METRICS_PORT"]:
        metrics.serve_on_port(app.extensions["db_engine"], port)
        click.echo(f"metrics on http://127.0.0.1:{port}/metrics")
    _run_until_stopped(background.build(app))


def _run_until_stopped(worker: Worker) -> None:
    """Run the worker until Ctrl-C or SIGTERM (how systemd stops it); it finishes its passes."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    duties = ", ".join(duty.name for duty in worker.duties)
    click.echo(f"worker {worker.worker_id} running ({duties}); Ctrl-C stops it")
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        stop.set()


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the app with the worker in a thread beside it (the one-process demo of `make
    run`); a `flask worker` started as well shares the work without sending anything twice."""
    app = current_app._get_current_object()
    stop = threading.Event()
    worker = threading.Thread(target=background.build(app).run, args=(stop,), name="worker", daemon=True)
    worker.start()
    try:
        # run_simple, not app.run: Flask ignores app.run() inside its own CLI.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        stop.set()
        worker.join(timeout=15)


user_group = AppGroup("user", help="Operator and staff accounts.")


@user_group.command("create")
@click.option("--email", required=True, help="The sign-in email address.")
@click.option("--password", required=True, help="At least 12 characters, not a common password.")
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.CUSTOMER.value,
              show_default=True, help="printshop and admin users reach /printshop.")
def user_create(email: str, password: str, role: str) -> None:
    """Create a verified user with a role (print-shop staff, admins, test customers)."""
    problem = accounts.password_problem(password)
    if problem:
        reasons = {"too_short": f"use at least {accounts.PASSWORD_MIN_LENGTH} characters",
                   "too_common": "it is too common; choose one that is harder to guess"}
        raise click.BadParameter(f"weak password: {reasons.get(problem, problem)}", param_hint="--password")
    if "@" not in email.strip()[1:-1]:
        raise click.BadParameter("that is not an email address", param_hint="--email")
    with db.session_scope(_engine()) as session:
        if accounts.find_by_email(session, email) is not None:
            raise click.ClickException(f"a user with the email {accounts.normalize_email(email)} exists already")
        user = accounts.create_user(session, email=email, password=password, verified=True, role=Role(role))
        session.commit()
        click.echo(f"created {role} {user.email}")


batch_group = AppGroup("batch", help="Print-shop batches: create, export, mark, void.")


def _batch_or_fail(session, public_id: str):
    batch = batches.find_batch(session, public_id)
    if batch is None:
        raise click.BadParameter(f"no batch {public_id!r}", param_hint="BATCH_ID")
    return batch


def _usage(error: PrintshopError) -> click.UsageError:
    """The service's reason as a click error (exit code 2)."""
    if isinstance(error, UnknownLayout):
        return click.BadParameter(str(error), param_hint="--layout")
    return click.UsageError(str(error))


@batch_group.command("create")
@click.option("--count", required=True, type=click.IntRange(1, batches.MAX_COUNT), help="Stickers in the batch.")
@click.option("--set-size", required=True, type=click.IntRange(1, batches.MAX_SET_SIZE), help="Stickers per set.")
@click.option("--layout", required=True, help="Label stock, e.g. a4-3x7.")
@click.option("--product", required=True, help="Product text for the manifest and the batch list.")
@click.option("--language", type=click.Choice(batches.LANGUAGES), default=batches.DEFAULT_LANGUAGE, show_default=True,
              help="Language printed on the stickers and backing cards.")
def batch_create(count: int, set_size: int, layout: str, product: str, language: str) -> None:
    """Create and mint a batch; prints only its public id (for scripts)."""
    with db.session_scope(_engine()) as session:
        try:
            batch = batches.create_and_mint(session, count=count, set_size=set_size, layout=layout, product=product,
                                            language=language)
        except PrintshopError as error:
            raise _usage(error) from None
        session.commit()
        click.echo(batch.public_id)


@batch_group.command("list")
def batch_list() -> None:
    """The newest batches: id, status, count, set size, language, product, and the label
    stock's id and name."""
    with db.session_scope(_engine()) as session:
        for batch in batches.list_batches(session):
            stock = batches.stock_name(batch.layout, "en")
            click.echo(f"{batch.public_id}  {batch.status:<9} {batch.count:>6} x{batch.set_size:<3} {batch.language}  "
                       f"{batch.product}  [{batch.layout}: {stock}]")


@batch_group.command("export")
@click.argument("batch_id")
@click.option("--format", "fmt", required=True, type=click.Choice(list(exports.FORMATS)))
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the file.")
@click.option("--crop-marks", is_flag=True, help="Add cutting marks to the sticker PDF (sheet layouts).")
def batch_export(batch_id: str, fmt: str, out: Path, crop_marks: bool) -> None:
    """Export a batch as the web does (the same job), synchronously, with a progress bar."""
    with db.session_scope(_engine()) as session:
        batch = _batch_or_fail(session, batch_id)
        try:
            job = exports.start_export(session, batch, fmt, worker=(claimant := new_worker_id()))
        except PrintshopError as error:
            raise _usage(error) from None
        session.commit()
    out_dir = exports.export_dir(current_app.config, current_app.instance_path)
    with click.progressbar(length=max(job.total, 1), label=f"{fmt} {batch.public_id}", file=sys.stderr) as bar:
        # The CLI is its own process, so the PDF engine may use the second core.
        job = exports.run_export(_engine(), job.id, out_dir, base_url=_base_url(), worker=claimant,
                                  workers=min(2, os.cpu_count() or 1),
                                  crop_marks=crop_marks and fmt == "pdf",
                                  on_progress=lambda done, total: bar.update(done - bar.pos))
    if job.status != JobStatus.DONE:
        raise click.ClickException(job.error or "the export failed")
    shutil.copyfile(job.path, out)
    click.echo(str(out))


@batch_group.command("mark")
@click.argument("batch_id")
@click.argument("status", type=click.Choice([s.value for s in (BatchStatus.EXPORTED, BatchStatus.PRINTED,
                                                                BatchStatus.SHIPPED, BatchStatus.VOIDED)]))
def batch_mark(batch_id: str, status: str) -> None:
    """Move a batch on (exported, printed, shipped) or void it; printing deletes the plain
    activation codes, so the cards can't be exported afterwards."""
    with db.session_scope(_engine()) as session:
        batch = _batch_or_fail(session, batch_id)
        try:
            batches.mark(session, batch, status)
        except PrintshopError as error:
            raise _usage(error) from None
        session.commit()
        click.echo(f"{batch.public_id} is {batch.status}")


def _comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


@batch_group.command("void")
@click.argument("batch_id")
@click.option("--codes", "codes_text", help="Misprinted sticker codes, comma-separated.")
@click.option("--sets", "sets_text", help="Misprinted set numbers (as in the manifest), comma-separated.")
def batch_void(batch_id: str, codes_text: str | None, sets_text: str | None) -> None:
    """Void misprinted stickers or sets and mint their reprint; prints the reprint's id."""
    try:
        set_numbers = [int(part) for part in _comma_list(sets_text)]
    except ValueError:
        raise click.BadParameter("set numbers are whole numbers, e.g. 3,7", param_hint="--sets") from None
    if not codes_text and not set_numbers:
        raise click.UsageError("name the misprints with --codes or --sets")
    with db.session_scope(_engine()) as session:
        batch = _batch_or_fail(session, batch_id)
        try:
            reprint = misprints.void(session, batch, sticker_codes=_comma_list(codes_text), set_numbers=set_numbers)
        except PrintshopError as error:
            raise _usage(error) from None
        session.commit()
        click.echo(reprint.public_id)


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"]


desk_group = AppGroup("desk", help="Lost-and-found desks.")


def _desk_or_fail(session, name: str):
    desk = desks.find_desk(session, name)
    if desk is None:
        raise click.BadParameter(f"no desk named {name!r} (see `flask desk list`)", param_hint="--desk")
    return desk


@desk_group.command("add")
@click.option("--name", required=True, help="The desk's name, e.g. 'Hittegods Centralstationen'.")
@click.option("--address", required=True, help="Street address shown to owners.")
@click.option("--hours", required=True, help="Opening hours shown to owners, e.g. 'Mon-Fri 8-18'.")
@click.option("--hold-days", default=30, show_default=True, type=click.IntRange(1, 365),
              help="Days before an uncollected item is listed as overdue.")
@click.option("--staff-pin", help="4 to 8 digits the kiosk asks for before its staff screens.")
def desk_add(name: str, address: str, hours: str, hold_days: int, staff_pin: str | None) -> None:
    """Create a lost-and-found desk."""
    try:
        details = DeskCreate(name=name, address=address, opening_hours=hours, hold_days=hold_days)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise click.UsageError(problems) from None
    with db.session_scope(_engine()) as session:
        try:
            desk = desks.create_desk(session, details)
            desks.set_staff_pin(session, desk, staff_pin)
        except desks.DeskError as error:
            raise click.UsageError(str(error)) from None
        session.commit()
        click.echo(f"created desk {desk.name}")


@desk_group.command("list")
def desk_list() -> None:
    """The desks, with how many items wait at each."""
    with db.session_scope(_engine()) as session:
        for desk in desks.all_desks(session):
            waiting = len(handed_in.waiting_at(session, desk))
            click.echo(f"{desk.name}  ({desk.address}; {waiting} waiting)")


kiosk_group = AppGroup("kiosk", help="The kiosk screens paired with a desk.")


@kiosk_group.command("pair")
@click.option("--desk", "desk_name", required=True, help="The desk's name.")
@click.option("--name", "device_name", default="Kiosk", show_default=True, help="A name for the screen.")
def kiosk_pair(desk_name: str, device_name: str) -> None:
    """Print a one-time pairing URL (valid 15 minutes) to open in the kiosk's browser."""
    with db.session_scope(_engine()) as session:
        desk = _desk_or_fail(session, desk_name)
        device, token = desks.start_pairing(session, desk=desk, name=device_name)
        session.commit()
        minutes = int(desks.PAIRING_LIFETIME.total_seconds() // 60)
        click.echo(public_url("kiosk.pair", token=token))
        click.echo(f"open it in the kiosk's browser within {minutes} minutes (device {device.public_id})", err=True)


@kiosk_group.command("devices")
@click.option("--desk", "desk_name", required=True, help="The desk's name.")
def kiosk_devices(desk_name: str) -> None:
    """The screens of a desk: id, state, name, last seen."""
    with db.session_scope(_engine()) as session:
        for device in desks.devices(session, _desk_or_fail(session, desk_name)):
            seen = device.last_seen_at.isoformat(timespec="minutes") if device.last_seen_at else "-"
            click.echo(f"{device.public_id}  {desks.device_state(device):<8} {device.name:<20} {seen}")


@kiosk_group.command("revoke")
@click.option("--desk", "desk_name", required=True, help="The desk's name.")
# An option, not an argument: a random id may start with "-".
@click.option("--device", "device_id", required=True, help="The screen's id (see `flask kiosk devices`).")
def kiosk_revoke(desk_name: str, device_id: str) -> None:
    """Unpair a screen: it is logged out on its next request."""
    with db.session_scope(_engine()) as session:
        device = desks.find_device(session, _desk_or_fail(session, desk_name), device_id)
        if device is None:
            raise click.BadParameter(f"no device {device_id!r} at that desk", param_hint="--device")
        desks.revoke_device(session, device)
        session.commit()
        click.echo(f"{device.public_id} revoked")


directory_group = AppGroup("directory", help="Card issuers and mobile operators with their blocking lines.")


@directory_group.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A directory file (default: stickerreg/data/directory.json).")
def directory_load(path: Path | None) -> None:
    """Add or update the directory from its data file."""
    with db.session_scope(_engine()) as session:
        try:
            loaded = directory.load_file(session, path or directory.DATA_FILE)
        except (ValueError, KeyError) as error:
            raise click.ClickException(f"the directory file is not valid: {error}") from None
        session.commit()
    click.echo(f"{loaded.added} added, {loaded.updated} updated")


apikey_group = AppGroup("apikey", help="API keys for partners (credit bureaus, alarm-receiving centres).")


@apikey_group.command("create")
@click.option("--scope", required=True, type=click.Choice([scope.value for scope in ApiScope]))
@click.option("--name", required=True, help="Who the key is for, e.g. 'UC'.")
def apikey_create(scope: str, name: str) -> None:
    """Make a key; its plain text is printed once, on the last line."""
    with db.session_scope(_engine()) as session:
        key, plain = api_keys.create_key(session, name=name, scope=ApiScope(scope))
        session.commit()
        click.echo(f"created {scope} key {key.public_id} for {key.name}; it is shown only now:", err=True)
    click.echo(plain)


@apikey_group.command("list")
def apikey_list() -> None:
    """Every key: id, scope, prefix, name, last used, revoked."""
    with db.session_scope(_engine()) as session:
        for key in api_keys.keys(session):
            used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "-"
            state = "revoked" if key.revoked_at else "live"
            click.echo(f"{key.public_id}  {key.scope:<10} {key.prefix}…  {state:<7} {used:<16} {key.name}")


@apikey_group.command("revoke")
# An option, not an argument: a random id may start with "-".
@click.option("--key", "key_id", required=True, help="The key's id (see `flask apikey list`).")
def apikey_revoke(key_id: str) -> None:
    """The key stops working at once."""
    with db.session_scope(_engine()) as session:
        key = api_keys.find_key(session, key_id)
        if key is None:
            raise click.BadParameter(f"no key {key_id!r}", param_hint="--key")
        api_keys.revoke(session, key)
        session.commit()
    click.echo(f"{key_id} revoked")


idprotect_group = AppGroup("idprotect", help="Credit-inquiry alerts from credit bureaus.")


@idprotect_group.command("import")
@click.argument("csv_file", type=click.File(encoding="utf-8-sig"))
def idprotect_import(csv_file) -> None:
    """Import a bureau's CSV (id,bureau,requester,requested_at,personnummer); bad rows are
    listed by line and skipped, rows seen before are not stored twice."""
    try:
        text = csv_file.read()
    except UnicodeDecodeError:
        raise click.ClickException("the file is not UTF-8 text") from None
    with db.session_scope(_engine()) as session:
        try:
            result = idprotect.import_csv(session, text, key=current_app.config["SECRET_KEY"].encode())
        except idprotect.IdProtectError as error:
            raise click.ClickException(str(error)) from None
        session.commit()
    for problem in result.refused:
        click.echo(f"skipped {problem}", err=True)
    click.echo(f"{result.added} added, {result.repeated} seen before, {len(result.refused)} skipped")


nix_group = AppGroup("nix", help="The NIX register: Sweden's opt-out from telemarketing.")


@nix_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def nix_import(path: Path) -> None:
    """Replace the whole NIX register with a NIX file (one number per line; blank lines and
    # comments skipped), in one transaction; invalid lines are listed by number."""
    with db.session_scope(_engine()) as session:
        try:
            result = registers.import_nix(session, path.read_bytes())
        except registers.RegisterError as error:
            reasons = {"no_numbers": "the file has no valid phone number; the register was not changed",
                       "not_text": "the file is not text"}
            raise click.ClickException(reasons.get(str(error), str(error))) from None
        session.commit()
    for line, _reason in result.invalid.lines:
        click.echo(f"line {line}: not a valid phone number", err=True)
    if result.invalid.count > len(result.invalid.lines):
        click.echo(f"... and {result.invalid.count - len(result.invalid.lines)} more invalid lines", err=True)
    click.echo(f"{result.numbers + result.repeated} numbers read ({result.numbers} distinct, now the NIX register), "
               f"{result.invalid.count} invalid lines")


leads_group = AppGroup("leads", help="Partners' lead files for telemarketing.")
LEAD_PROBLEMS = {"no_name": "no name", "no_phone": "no phone number", "invalid_phone": "not a valid phone number",
                 "too_long": "the name or address is too long"}


@leads_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partner", required=True, help="Who sent the file, e.g. 'Exempelpartner AB'.")
def leads_import(path: Path, partner: str) -> None:
    """Import a lead file (name, address, phone, source partner; a header row, ; or , and a
    BOM allowed): only callable rows are kept; the rest are counted, bad rows listed by line."""
    with db.session_scope(_engine()) as session:
        try:
            result = registers.import_leads(session, path.read_bytes(), partner=partner)
        except registers.RegisterError as error:
            reasons = {"no_rows": "the file has no rows", "not_text": "the file is not text",
                       "no_partner": "name the partner with --partner"}
            raise click.ClickException(reasons.get(str(error), str(error))) from None
        session.commit()
    for line, reason in result.problems.lines:
        why = f"the same number as line {reason[8:]}" if reason.startswith("repeats:") else LEAD_PROBLEMS[reason]
        click.echo(f"line {line}: {why}", err=True)
    found = result.lead_import
    click.echo(f"{found.callable} callable (kept), {found.blocked_nix} in NIX, {found.blocked_dnc} on the do-not-call "
               f"register, {found.customers} customers already, {found.invalid} invalid")


privacy_group = AppGroup("privacy", help="A customer's personal data: export it, or erase the account.")


def _account_or_fail(session, email: str | None, customer_number: str | None) -> User:
    """The account named by exactly one of --email and --customer-number."""
    if bool(email) == bool(customer_number):
        raise click.UsageError("name the account with --email or --customer-number (one of them)")
    if email:
        user = accounts.find_by_email(session, email)
    else:
        user = accounts.find_by_customer_number(session, customer_number)
    if user is None:
        raise click.BadParameter("no account has that " + ("email" if email else "customer number"),
                                 param_hint="--email" if email else "--customer-number")
    return user


_account_options = [
    click.option("--email", help="The account's sign-in email address."),
    click.option("--customer-number", help="The customer's number (nine digits, spaces allowed)."),
]


def _with_account_options(command):
    for option in reversed(_account_options):
        command = option(command)
    return command


@privacy_group.command("export")
@_with_account_options
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the ZIP (data.json and summary.html).")
def privacy_export_command(email: str | None, customer_number: str | None, out: Path) -> None:
    """Write everything held about a customer to a ZIP, as their account page gives it (audited)."""
    with db.session_scope(_engine()) as session:
        user = _account_or_fail(session, email, customer_number)
        archive = privacy_export.export_zip(session, user, role="system")
        session.commit()
    out.write_bytes(archive)
    click.echo(str(out))


@privacy_group.command("erase")
@_with_account_options
@click.option("--yes", is_flag=True, help="Erase without asking (it can't be undone).")
def privacy_erase_command(email: str | None, customer_number: str | None, yes: bool) -> None:
    """Erase an account and everything about it (see stickerreg/services/privacy.py for what stays)."""
    with db.session_scope(_engine()) as session:
        user = _account_or_fail(session, email, customer_number)
        if not yes:
            click.confirm(f"Erase account {accounts.display_customer_number(user.customer_number)} for good?",
                          abort=True)
        erasure = privacy.erase(session, user, role="system")
        session.commit()
    if not current_app.config["SMTP_URL"]:
        privacy.purge_mail_spool(current_app.config["MAIL_DIR"], erasure)
    removed = ", ".join(f"{kind} {count}" for kind, count in sorted(erasure.counts.items())) or "nothing else"
    click.echo(f"erased the account; removed {removed}")


retention_group = AppGroup("retention", help="Delete what is kept no longer than its retention period.")


@retention_group.command("run")
def retention_run() -> None:
    """Delete what is past its retention period (RETENTION_* settings); prints what went, per kind."""
    with db.session_scope(_engine()) as session:
        removed = retention.run(session, now=utcnow(), periods=retention.Periods.from_config(current_app.config))
        session.commit()
    for kind in retention.KINDS:
        click.echo(f"{kind:<28} {removed[kind]}")


def init_app(app: Flask) -> None:
    """Add the commands to `flask --app stickerreg`."""
    for command in (init_db, seed_demo, outbox_group, serve, worker_command, user_group, batch_group, desk_group,
                    kiosk_group, directory_group, apikey_group, idprotect_group, nix_group, leads_group, privacy_group,
                    retention_group):
        app.cli.add_command(command)
