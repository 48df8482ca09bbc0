"""Outbox records: a notification to plan, and a planned row as the dispatcher reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Planned:
    """A notification to plan. `key` names the content, rendered in the recipient's locale at
    send time; `dedupe_key` makes planning the same thing twice create one row."""

    resident_id: int
    kind: str
    key: str
    due_at: datetime
    dedupe_key: str
    params: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    urgent: bool = False
    group_key: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    resident_id: int
    kind: str
    key: str
    params: dict[str, Any]
    due_at: int
    expires_at: int | None
    urgent: bool
    status: str
    attempts: int
    last_error: str | None
    dedupe_key: str
    group_key: str | None
