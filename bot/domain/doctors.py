"""The doctor's side: linked accounts, invite redemption outcomes and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    doctor_id: str | None
    action: str
    target_resident_id: int | None
    details: str
    subject: str | None = None  # the pseudonym of a resident who deleted their data


@dataclass(frozen=True, slots=True)
class NewAudit:
    doctor_id: str | None
    action: str
    target_resident_id: int | None = None
    details: str = ""
