"""The doctor's side: linked accounts, invite redemption outcomes and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Redeem(StrEnum):
    LINKED = "linked"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class DoctorLink:
    doctor_id: str
    resident_id: int
    channel: str
    channel_user_id: str
    linked_at: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: int
    doctor_id: str | None
    action: str
    target_resident_id: int | None
    details: str


@dataclass(frozen=True, slots=True)
class NewAudit:
    doctor_id: str | None
    action: str
    target_resident_id: int | None = None
    details: str = ""
