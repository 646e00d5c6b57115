"""SQLModel tables by area, re-exported here: ``from stickerreg.models import Sticker``.

Times are stored as UTC. Enumerations are stored as short strings (not database enum
types) so later migrations can add states without altering a type. What people submit
goes through a family per table: ``XFields`` (the shared columns) → ``X(table=True)`` and
``XCreate``/``XUpdate`` (the allowlists, extra fields refused) → ``XPublic`` (what others see).
"""

from stickerreg.models.accounts import AuthToken, LoginSession, ProfileFields, ProfileUpdate, Role, TokenPurpose, User
from stickerreg.models.api import ApiKey, ApiScope
from stickerreg.models.audit import AuditEntry
from stickerreg.models.base import UTCDateTime, created_at_field, utcnow
from stickerreg.models.crm import CustomerNote, DncEntry, Lead, LeadImport, LeadVerdict, NixNumber
from stickerreg.models.desks import (
    Desk,
    DeskCreate,
    DeskFields,
    DeskUpdate,
    HandedInFields,
    HandedInItem,
    HandedInItemCreate,
    HandedInPhoto,
    HandedInStatus,
    KioskDevice,
)
from stickerreg.models.linked import (
    FIRE_CONTACTS_MAX,
    BlockingCase,
    BlockingEvent,
    BlockingItem,
    BlockingStatus,
    Card,
    CardCreate,
    CardType,
    CardUpdate,
    DirectoryEntry,
    DirectoryEntryUpdate,
    DirectoryKind,
    FireContact,
    FireContactCreate,
    FireContactPublic,
    FireContactUpdate,
    IdProtectAlert,
    IdProtectEventIn,
    LostItems,
    MobileDevice,
    MobileDeviceCreate,
    MobileDeviceUpdate,
    Verdict,
)
from stickerreg.models.outbox import OutboxKind, OutboxMessage, OutboxStatus
from stickerreg.models.printshop import Batch, BatchEvent, BatchStatus, ExportJob, JobStatus
from stickerreg.models.relay import Conversation, ConversationStatus, Message, RelayLink, Sender
from stickerreg.models.stickers import (
    ItemCategory,
    Sticker,
    StickerOwnerFields,
    StickerPublic,
    StickerSet,
    StickerStatus,
    StickerUpdate,
)
from stickerreg.models.worker import PeriodicJob, WorkerHeartbeat

__all__ = [
    "ApiKey", "ApiScope", "AuditEntry", "BlockingCase", "BlockingEvent", "BlockingItem", "BlockingStatus", "Card",
    "CardCreate", "CardType", "CardUpdate", "DirectoryEntry", "DirectoryEntryUpdate", "DirectoryKind",
    "FIRE_CONTACTS_MAX", "FireContact", "FireContactCreate", "FireContactPublic", "FireContactUpdate",
    "IdProtectAlert", "IdProtectEventIn", "LostItems", "MobileDevice", "MobileDeviceCreate", "MobileDeviceUpdate",
    "Verdict",
    "CustomerNote", "DncEntry", "Lead", "LeadImport", "LeadVerdict", "NixNumber",
    "AuthToken", "Batch", "BatchEvent", "BatchStatus", "Conversation", "ConversationStatus", "Desk", "DeskCreate",
    "DeskFields", "DeskUpdate", "ExportJob", "HandedInFields", "HandedInItem", "HandedInItemCreate", "HandedInPhoto",
    "HandedInStatus", "ItemCategory", "JobStatus", "KioskDevice", "LoginSession", "Message", "OutboxKind",
    "OutboxMessage", "OutboxStatus", "ProfileFields", "ProfileUpdate", "RelayLink", "Role", "Sender", "Sticker",
    "StickerOwnerFields", "StickerPublic", "StickerSet", "StickerStatus", "StickerUpdate", "TokenPurpose", "User",
    "UTCDateTime", "created_at_field", "utcnow",
    "PeriodicJob", "WorkerHeartbeat",
]
