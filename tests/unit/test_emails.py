"""Emails as the outbox sends them: language, defanged links, and no addresses across."""

from __future__ import annotations

import re
import unicodedata
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from helpers import body_text, drain_outbox
from sqlmodel import select

from stickerreg import emails
from stickerreg.emails import UnknownEmailKind, composer
from stickerreg.mail import FileTransport, SmtpTransport
from stickerreg.models import OutboxKind, OutboxMessage, OutboxStatus
from stickerreg.services import accounts, finder, outbox, relay
from stickerreg.services.relay import FinderDetails


def drain(app, transport):
    return outbox.run_once(
        app.extensions["db_engine"], compose=composer(app), transport=transport,
        max_attempts=app.config["OUTBOX_MAX_ATTEMPTS"],
    )


def report(session, sticker, **details):
    conversation, token = finder.report_found(
        session,
        code=sticker.code,
        message="Hittade den vid https://evil.example.com/login och ring mig.",
        details=FinderDetails(**details),
    )
    session.commit()
    return conversation, token


def test_the_owner_gets_the_finders_words_defanged_in_their_language(app, session, sticker_factory, user_factory, smtp_server):
    owner = user_factory(email="owner@example.se", locale="en")
    sticker = sticker_factory(owner=owner, label="Keys")
    report(session, sticker, email="finder@example.org", found_where="by www.shop.se", latitude=59.3, longitude=18.07)
    assert drain(app, SmtpTransport(smtp_server.url)).sent == 2  # and the finder's receipt
    [email] = [email for email in smtp_server.wait_for(2) if email["To"] == "owner@example.se"]
    text = body_text(email)
    assert email["To"] == "owner@example.se"
    assert smtp_server.envelopes[0][1] == ["owner@example.se"]
    assert "Keys" in email["Subject"] and "Someone found" in email["Subject"]
    assert "hxxps://evil[.]example[.]com/login" in text and "https://evil" not in email.as_string()
    assert "www[.]shop[.]se" in text
    assert "59.300, 18.070" in text
    assert "finder@example.org" not in email.as_string()
    assert email["Message-ID"] == session.exec(select(OutboxMessage.email_message_id)
                                               .where(OutboxMessage.kind == OutboxKind.FINDER_MESSAGE)).one()


def test_the_finder_is_mailed_a_fresh_working_link_without_the_owners_address(
    app, session, sticker_factory, user_factory, smtp_server
):
    owner = user_factory(email="private.owner@example.se")
    conversation, _ = report(session, sticker_factory(owner=owner), email="finder@example.org", locale="en")
    relay.add_owner_reply(session, conversation, "Tack! Se www.example.se")
    session.commit()
    assert drain(app, SmtpTransport(smtp_server.url)).sent == 3  # notice, receipt, reply
    to_finder = next(m for m in smtp_server.wait_for(3) if m["To"] == "finder@example.org" and "replied" in m["Subject"])
    text = body_text(to_finder)
    assert "private.owner" not in to_finder.as_string()
    assert "www[.]example[.]se" in text
    token = re.search(r"http://localhost/c/([A-Za-z0-9_\-]+)", text).group(1)
    assert relay.find_by_token(session, token).id == conversation.id


def test_held_messages_send_nothing_until_released(app, session, sticker_factory, tmp_path):
    report(session, sticker_factory(activated=False))
    assert drain(app, FileTransport(tmp_path / "mail")).sent == 0
    assert not (tmp_path / "mail").exists()


def test_without_smtp_the_email_is_written_as_an_eml_file(app, session, sticker_factory, tmp_path):
    report(session, sticker_factory())
    assert drain(app, FileTransport(tmp_path / "mail")).sent == 1
    [eml] = (tmp_path / "mail").glob("*.eml")
    email = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert "Hittade den vid hxxps://evil[.]example[.]com" in body_text(email)


def test_a_closed_conversation_cancels_its_pending_email(app, session, sticker_factory, tmp_path):
    conversation, _ = report(session, sticker_factory())
    relay.mark_returned(session, conversation)
    session.commit()
    assert drain(app, FileTransport(tmp_path)).cancelled == 1


def test_every_outbox_kind_has_an_email(app):
    assert set(emails.BUILDERS) == set(OutboxKind)


def test_an_unknown_kind_is_refused_when_queued(session):
    with pytest.raises(ValueError):
        outbox.enqueue(session, kind="no-such-kind", payload={})


def test_an_unknown_kind_is_retried_then_dead(app, session, tmp_path):
    # A row no composer knows (written by another version of the app, say).
    session.add(OutboxMessage(kind="no-such-kind", payload={}, email_message_id="<unknown@stickerreg.se>"))
    session.commit()
    compose = composer(app)
    with pytest.raises(UnknownEmailKind):
        compose(session, session.exec(select(OutboxMessage)).one())
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    assert drain(app, FileTransport(tmp_path)).dead == 1
    assert session.exec(select(OutboxMessage.status)).one() == OutboxStatus.DEAD


def test_smtp_refusal_is_retried_not_lost(app, session, sticker_factory):
    report(session, sticker_factory())
    from helpers import free_port

    stats = drain(app, SmtpTransport(f"smtp://127.0.0.1:{free_port()}"))
    assert stats.failed == 1
    row = session.exec(select(OutboxMessage)).one()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1


def test_the_finder_is_thanked_when_the_owner_has_the_item_back(app, session, sticker_factory, smtp_server):
    conversation, _ = report(session, sticker_factory(), email="finder@example.org", locale="en")
    relay.mark_returned(session, conversation)
    session.commit()
    sent = drain(app, SmtpTransport(smtp_server.url))
    assert sent.sent == 2 and sent.cancelled == 1  # the owner's pending notice is moot now
    [thanks] = [email for email in smtp_server.wait_for(2) if "back" in email["Subject"]]  # and the receipt
    assert thanks["To"] == "finder@example.org"
    assert "owner1@" not in thanks.as_string()


def sent_eml(app, tmp_path) -> bytes:
    """Drain the outbox to .eml files and return the one email, exactly as it went out."""
    assert drain(app, FileTransport(tmp_path / "mail")).sent == 1
    [eml] = (tmp_path / "mail").glob("*.eml")
    return eml.read_bytes()


def header_block(raw: bytes) -> list[bytes]:
    """The header lines of a serialized email, continuation lines included."""
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].split(b"\n")


@pytest.mark.parametrize("label", ["Keys\nSpare set", "Keys\r\n\r\nSpare set", "Keys\u2028Spare\tset", "Keys\x85Spare set"])
def test_a_label_with_line_breaks_still_gets_its_email_with_a_one_line_subject(
    app, session, sticker_factory, user_factory, tmp_path, label
):
    # Before the fix the header refused the value, and every retry failed until the row was dead.
    sticker = sticker_factory(owner=user_factory(locale="en"), label=label)
    report(session, sticker)
    email = message_from_bytes(sent_eml(app, tmp_path), policy=policy.default)
    assert email["Subject"] == "Someone found your item: Keys Spare set"


def test_an_encoded_word_in_a_label_cannot_add_a_header(app, session, sticker_factory, user_factory, tmp_path):
    label = "=?utf-8?q?Hi=0D=0ABcc=3A_evil=40example.org?="
    report(session, sticker_factory(owner=user_factory(email="owner@example.se", locale="en"), label=label))
    raw = sent_eml(app, tmp_path)
    assert not [line for line in header_block(raw) if line.lower().startswith(b"bcc")]
    email = message_from_bytes(raw, policy=policy.default)
    assert email["Bcc"] is None and "evil@example.org" not in email.keys()
    assert email["To"] == "owner@example.se"
    # What the owner reads is their label as they typed it (any neutraliser must be invisible).
    readable = "".join(c for c in email["Subject"] if unicodedata.category(c) != "Cf")
    assert readable == f"Someone found your item: {label}"


def test_the_finder_receipt_carries_a_working_private_link_in_the_finders_language(
    app, session, sticker_factory, smtp_server
):
    """Mailed at once: a closed tab loses nothing. It holds a fresh link and none of the message."""
    conversation, _ = report(session, sticker_factory(), email="finder@example.org", locale="sv")
    sent = drain(app, SmtpTransport(smtp_server.url))
    assert sent.sent == 2  # the owner's notice and the finder's receipt
    [receipt] = [email for email in smtp_server.wait_for(2) if email["To"] == "finder@example.org"]
    text = body_text(receipt)
    with app.test_request_context():
        from flask_babel import force_locale, gettext

        with force_locale("sv"):
            assert receipt["Subject"] == gettext("Your message was sent: follow the conversation here")
    token = re.search(r"/c/([A-Za-z0-9_-]+)", text).group(1)
    assert relay.find_by_token(session, token).id == conversation.id
    assert "evil.example.com" not in receipt.as_string()  # the message itself stays on the site


# --- the customer number in the footer: customers' emails only --------------------------------


def parts(email) -> tuple[str, str]:
    return body_text(email), email.get_body(preferencelist=("html",)).get_content()


def test_a_customers_email_carries_their_customer_number_and_a_finders_does_not(
    app, session, sticker_factory, user_factory
):
    owner = user_factory(email="owner@example.se", locale="en")
    conversation, _ = report(session, sticker_factory(owner=owner, label="Keys"), email="finder@example.org",
                             locale="en")
    relay.add_owner_reply(session, conversation, "Thank you!")
    session.commit()
    sent = drain_outbox(app)
    number = accounts.display_customer_number(owner.customer_number)
    to_owner = [email for email in sent if email["To"] == "owner@example.se"]
    to_finder = [email for email in sent if email["To"] == "finder@example.org"]
    assert len(to_owner) == 1 and len(to_finder) == 2  # the receipt and the reply
    for text in parts(to_owner[0]):
        assert f"Customer number {number}" in text
    for email in to_finder:
        assert owner.customer_number not in email.as_string() and number not in email.as_string()
        assert "Stickerreg" in body_text(email)


def test_account_emails_carry_the_customer_number_in_the_readers_language(app, session, user_factory):
    user = user_factory(email="kund@example.se", locale="sv")
    outbox.enqueue(session, kind=OutboxKind.RESET_PASSWORD, payload={"user_id": user.id})
    session.commit()
    [email] = drain_outbox(app)
    number = accounts.display_customer_number(user.customer_number)
    text, html = parts(email)
    assert text.rstrip().endswith(f"-- \nStickerreg\nKundnummer {number}")
    assert f"Kundnummer {number}" in html


def test_every_email_template_ends_with_the_shared_signature():
    """A new email gets the footer (and so the customer number) by including the signature."""
    templates = Path(emails.__file__).resolve().parent.parent / "templates" / "emails"
    for template in templates.glob("*.*"):
        if template.name.startswith("_signature"):
            continue
        source = template.read_text(encoding="utf-8")
        signed = '{% include "emails/_signature' in source or '{% extends "emails/_account' in source
        assert signed, f"{template.name} does not end with the shared signature"
