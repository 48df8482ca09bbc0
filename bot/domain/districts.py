"""Districts (issue 14): several districts in one deployment, and operators' announcements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DEFAULT_DISTRICT = "default"
# DOORSTEP_DISTRICT=* : one process (one bot) serves every district; a resident's district then
# follows from the community they choose.
ALL_DISTRICTS = "*"


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    ident: str
    district_code: str
    text_zh: str
    text_en: str
    urgent: bool
    scheduled_at: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AnnouncementCounts:
    """What the stored outbox rows of one announcement say (never what was meant)."""

    total: int
    sent: int
    failed: int
    blocked: int
    pending: int
    other: int  # expired, cancelled, or skipped for another reason

    @property
    def finished(self) -> bool:
        return self.pending == 0
