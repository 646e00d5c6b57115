"""Operator commands for privacy: a customer's export and erasure, and the retention run."""

from __future__ import annotations

import io
import json
import zipfile

import sqlalchemy as sa
from sqlmodel import select

from stickerreg.models import AuditEntry, User
from stickerreg.services import accounts, retention


def invoke(app, *args: str, **kwargs):
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def test_privacy_export_writes_the_customers_zip_by_email_or_number(app, session, user_factory, sticker_factory,
                                                                    tmp_path):
    customer = user_factory(email="kund@example.se", locale="sv")
    sticker_factory(owner=customer, label="Cykelnycklar")
    out = tmp_path / "export.zip"
    result = invoke(app, "privacy", "export", "--email", "KUND@example.se", "--out", str(out))
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    data = json.loads(archive.read("data.json"))
    assert data["profile"]["email"] == "kund@example.se" and data["stickers"][0]["label"] == "Cykelnycklar"
    assert "Dina uppgifter hos Stickerreg" in archive.read("summary.html").decode()  # the customer's language
    spaced = accounts.display_customer_number(customer.customer_number)
    assert invoke(app, "privacy", "export", "--customer-number", spaced, "--out", str(out)).exit_code == 0
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "account.exported")).all()
    assert [(entry.actor_role, entry.subject_id) for entry in entries] == [("system", customer.id)] * 2


def test_privacy_commands_need_exactly_one_known_account(app, user_factory, tmp_path):
    user_factory(email="kund@example.se")
    out = str(tmp_path / "x.zip")
    for args in ([], ["--email", "kund@example.se", "--customer-number", "123456789"]):
        result = invoke(app, "privacy", "export", *args, "--out", out)
        assert result.exit_code == 2 and "--email or --customer-number" in result.output
    assert invoke(app, "privacy", "erase", "--email", "nobody@example.se", "--yes").exit_code == 2
    assert invoke(app, "privacy", "erase", "--customer-number", "12", "--yes").exit_code == 2


def test_privacy_erase_asks_first_unless_told_yes(app, session, user_factory):
    customer = user_factory(email="kund@example.se")
    [customer_id] = sa.inspect(customer).identity
    answered_no = invoke(app, "privacy", "erase", "--email", "kund@example.se", input="n\n")
    assert answered_no.exit_code == 1 and session.get(User, customer_id) is not None
    result = invoke(app, "privacy", "erase", "--email", "kund@example.se", "--yes")
    assert result.exit_code == 0 and result.output.startswith("erased the account")
    session.expire_all()
    assert session.get(User, customer_id) is None
    assert "kund@example.se" not in result.output


def test_retention_run_prints_every_kind(app):
    result = invoke(app, "retention", "run")
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.output.splitlines()] == list(retention.KINDS)
    assert all(line.split()[1] == "0" for line in result.output.splitlines())
