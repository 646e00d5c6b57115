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
    and ?starttls=1 to upgrade a plain connection."""

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

    def __call__(self, email: EmailMessage) -> None:
        with self._connect() as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(email)

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
