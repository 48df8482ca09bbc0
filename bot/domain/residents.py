"""A resident (one chat account) and their saved conversation state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Resident:
    id: int
    channel: str
    channel_user_id: str
    locale: str | None = None
    elder_mode: bool = False
    consent_at: str | None = None
    unreachable_at: str | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None
    created_at: str = ""

    @property
    def consented(self) -> bool:
        return self.consent_at is not None


@dataclass(frozen=True, slots=True)
class ConversationState:
    name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
