"""Outbox records: a notification to plan, and a planned row as the dispatcher reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.residents import Resident


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
    # A Telegram paid broadcast (allow_paid_broadcast, up to 1000 msg/s) when the deployment
    # turns them on and its budget lasts; otherwise the row goes out at the normal rate.
    paid: bool = False


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    resident_id: int
    kind: str
    key: str
    params: dict[str, Any]
    due_at: datetime
    expires_at: datetime | None
    urgent: bool
    status: str
    attempts: int
    last_error: str | None
    dedupe_key: str
    group_key: str | None
    paid: bool = False


PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
EXPIRED = "expired"
SKIPPED = "skipped"
CANCELLED = "cancelled"
FINAL = (SENT, FAILED, EXPIRED, SKIPPED, CANCELLED)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed row with its recipient, read in the same transaction as the claim."""

    row: OutboxRow
    resident: Resident


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one claimed row.

    `status` is final (sent, failed, expired, skipped) or `pending` to try again at `due_at`
    (None keeps the old due time). `attempt` counts the try against the row's attempts.
    """

    row_id: int
    status: str
    due_at: datetime | None = None
    attempt: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FailedRow:
    id: int
    resident_id: int
    kind: str
    attempts: int
    last_error: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """What operators see in `doorstep outbox status`."""

    by_status: dict[str, int]
    open_by_kind: dict[tuple[str, str], int]  # (kind, status) for pending / sending / failed
    due_now: int
    oldest_due: datetime | None
    next_due: datetime | None
    recent_failed: list[FailedRow]


@dataclass(frozen=True, slots=True)
class Backlog:
    due: int  # pending rows whose time has come
    pending: int  # all pending rows, due or not
    oldest_due_at: datetime | None  # when the oldest due row fell due
