"""Mobile phones a customer would block if lost: owner, number, operator and IMEI (Luhn-checked).
The owner's personnummer is optional and kept only as a keyed digest and a masked form."""

from __future__ import annotations

from sqlmodel import Session, select
from stdnum import imei as imei_numbers

from stickerreg import tokens
from stickerreg.models import DirectoryEntry, DirectoryKind, MobileDevice, MobileDeviceCreate, User
from stickerreg.services import accounts, audit
from stickerreg.services.linked import directory

IMEI_DIGITS = 15


class DeviceError(ValueError):
    """A phone that can't be stored as given: invalid_phone, invalid_imei,
    invalid_personnummer or unknown_operator."""


def normalize_imei(text: str | None) -> str | None:
    """The 15 digits of an IMEI as typed (spaces, dashes and slashes allowed) when its Luhn
    check digit is right, else None."""
    digits = "".join(char for char in (text or "") if char not in " -/")
    if len(digits) != IMEI_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    return digits if imei_numbers.is_valid(digits) else None


def mask_imei(imei: str | None) -> str:
    """Every digit but the last four hidden: ••••••••••• 1234."""
    return f"{'•' * (len(imei) - 4)} {imei[-4:]}" if imei else ""


def devices_of(session: Session, owner: User) -> list[tuple[MobileDevice, DirectoryEntry | None]]:
    """The owner's phones with their operators, newest first."""
    rows = session.exec(
        select(MobileDevice, DirectoryEntry)
        .join(DirectoryEntry, MobileDevice.operator_id == DirectoryEntry.id, isouter=True)
        .where(MobileDevice.owner_id == owner.id).order_by(MobileDevice.id.desc())
    )
    return list(rows)


def add_device(session: Session, owner: User, details: MobileDeviceCreate, *, key: bytes, actor: User) -> MobileDevice:
    """Register a phone for `owner`; `key` keys the personnummer digest."""
    device = MobileDevice(public_id=tokens.new_public_id(), owner_id=owner.id, **_columns(session, details, key))
    session.add(device)
    session.flush()
    audit.record(session, action="device.created", target=device, subject_id=owner.id, actor=actor)
    return device


def update_device(session: Session, device: MobileDevice, changes: MobileDeviceCreate, *, key: bytes,
                  actor: User) -> MobileDevice:
    """Change a phone's details; a personnummer left out keeps the one stored."""
    columns = _columns(session, changes, key)
    if changes.owner_personnummer is None:
        columns.pop("owner_personnummer_digest"), columns.pop("owner_personnummer_masked")
    audit.apply_changes(session, device, columns, action="device.updated", subject_id=device.owner_id, actor=actor)
    return device


def delete_device(session: Session, device: MobileDevice, *, actor: User) -> None:
    """Forget a phone (blocking cases keep their own copy of what they listed)."""
    audit.record(session, action="device.deleted", target=device, subject_id=device.owner_id, actor=actor)
    session.delete(device)


def _columns(session: Session, details: MobileDeviceCreate, key: bytes) -> dict:
    phone = accounts.normalize_phone(details.phone)
    if phone is None:
        raise DeviceError("invalid_phone")
    imei = normalize_imei(details.imei) if details.imei else None
    if details.imei and imei is None:
        raise DeviceError("invalid_imei")
    operator = directory.find(session, DirectoryKind.MOBILE_OPERATOR, details.operator)
    if operator is None:
        raise DeviceError("unknown_operator")
    digest = masked = None
    if details.owner_personnummer:
        try:
            number = accounts.normalize_personnummer(details.owner_personnummer)
        except accounts.AccountError:
            raise DeviceError("invalid_personnummer") from None
        digest, masked = accounts.personnummer_digest(number, key=key), accounts.mask_personnummer(number)
    return {"owner_name": details.owner_name, "phone": phone, "operator_id": operator.id, "imei": imei,
            "owner_personnummer_digest": digest, "owner_personnummer_masked": masked}
