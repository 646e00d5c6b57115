"""Mail transports: SMTP from SMTP_URL, or .eml files when no server is configured."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class SmtpTransport:
    """Sends through an SMTP server: smtp://[user:pass@]host:port, smtps:// for implicit TLS,
    and ?starttls=1 to upgrade a plain connection.

    Called on its own, each email gets a connection of its own. Entered (`with transport:`),
    it keeps one connection for everything sent until it is left, as the outbox does for a
    batch; a failed send drops the connection and the next one connects afresh, and a kept
    connection the server closed meanwhile is replaced once, at once."""

    def __init__(self, url: str, *, timeout: float = 20.0):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:port or smtps://host:port")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.timeout = timeout
        self._kept = False
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        self._kept = True
        return self

    def __exit__(self, *_exc) -> None:
        self._kept = False
        self._drop(polite=True)

    def __call__(self, email: EmailMessage) -> None:
        if not self._kept:
            with self._open() as smtp:
                smtp.send_message(email)
            return
        if self._smtp is not None:
            try:
                self._smtp.send_message(email)
                return
            except (smtplib.SMTPServerDisconnected, ConnectionError):  # idle too long: the server hung up
                self._drop()
        self._smtp = self._open()
        try:
            self._smtp.send_message(email)
        except BaseException:
            self._drop()
            raise

    def _open(self) -> smtplib.SMTP:
        smtp = self._connect()
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _drop(self, *, polite: bool = False) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if polite:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # it is going away either way
        finally:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


class FileTransport:
    """Writes each email as an .eml file, so the demo needs no mail server."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def __call__(self, email: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = email["Message-ID"].strip("<>").replace("@", "_at_").replace("/", "_")
        (self.directory / f"{name}.eml").write_bytes(bytes(email))


def transport_from_config(smtp_url: str | None, mail_dir: str) -> Callable[[EmailMessage], None]:
    """SMTP when SMTP_URL is set, else .eml files under MAIL_DIR."""
    return SmtpTransport(smtp_url) if smtp_url else FileTransport(mail_dir)
