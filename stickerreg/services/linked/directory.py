"""The directory of card issuers and mobile operators, with the line to call to block a card
or a SIM. Loaded from stickerreg/data/directory.json (only facts with a source; unknown
numbers stay empty, and the pages then say to contact the issuer) and editable by admins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from stickerreg import tokens
from stickerreg.models import DirectoryEntry, DirectoryEntryUpdate, DirectoryKind, utcnow
from stickerreg.services import accounts

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "directory.json"
_LISTS = {"card_issuers": DirectoryKind.CARD_ISSUER, "mobile_operators": DirectoryKind.MOBILE_OPERATOR}


class DirectoryError(ValueError):
    """A directory entry that can't be stored as given; the message says why."""


@dataclass(frozen=True)
class LoadResult:
    added: int
    updated: int


def load(session: Session, data: dict) -> LoadResult:
    """Add or update every entry of a directory document (the shape of directory.json),
    matched by kind and key. Entries missing from the document are kept."""
    added = updated = 0
    for list_name, kind in _LISTS.items():
        for raw in data.get(list_name, []):
            entry = find(session, kind, raw["key"])
            if entry is None:
                entry = DirectoryEntry(kind=kind.value, key=raw["key"], name=raw["name"])
                added += 1
            else:
                updated += 1
            _apply(entry, DirectoryEntryUpdate(name=raw["name"], blocking_phone=raw.get("blocking_phone"),
                                               web=raw.get("web")))
            session.add(entry)
    session.flush()
    return LoadResult(added, updated)


def load_file(session: Session, path: Path = DATA_FILE) -> LoadResult:
    """`load` the directory file (the shipped one by default)."""
    return load(session, json.loads(Path(path).read_text(encoding="utf-8")))


def entries(session: Session, kind: DirectoryKind) -> list[DirectoryEntry]:
    """A kind's entries by name."""
    return list(session.exec(select(DirectoryEntry).where(DirectoryEntry.kind == kind).order_by(DirectoryEntry.name)))


def find(session: Session, kind: DirectoryKind, key: str) -> DirectoryEntry | None:
    """The entry of `kind` called `key`, or None (hostile text never reaches the query)."""
    if not tokens.is_public_id(key):
        return None
    return session.exec(
        select(DirectoryEntry).where(DirectoryEntry.kind == kind, DirectoryEntry.key == key)
    ).first()


def update_entry(session: Session, entry: DirectoryEntry, changes: DirectoryEntryUpdate) -> DirectoryEntry:
    """An admin's correction; the phone must be a real number, the page an https address."""
    _apply(entry, changes)
    session.add(entry)
    return entry


def _apply(entry: DirectoryEntry, changes: DirectoryEntryUpdate) -> None:
    phone = changes.blocking_phone or None
    if phone is not None:
        phone = accounts.normalize_phone(phone)
        if phone is None:
            raise DirectoryError("invalid_phone")
    web = changes.web or None
    if web is not None and not web.startswith("https://"):
        raise DirectoryError("invalid_web")
    entry.name, entry.blocking_phone, entry.web, entry.updated_at = changes.name, phone, web, utcnow()
