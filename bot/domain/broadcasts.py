"""Doctors' broadcasts: audiences, the broadcast record and its progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

AUDIENCES = ("all", "hypertension", "diabetes2", "elderly", "vaccine", "community")


class DoctorUnlinked(Exception):
    """The doctor has no linked account (revoked meanwhile): the broadcast was not made."""


@dataclass(frozen=True, slots=True)
class Recipient:
    resident_id: int
    reachable: bool


@dataclass(frozen=True, slots=True)
class NewBroadcast:
    doctor_id: str
    audience: str
    audience_arg: str
    text: str
    template: str
    urgent: bool
    scheduled_at: datetime
    progress_channel: str
    progress_user: str
    progress_ref: str | None


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    doctor_id: str
    audience: str
    audience_arg: str
    text: str
    template: str
    urgent: bool
    scheduled_at: datetime
    created_at: datetime
    status: str
    total: int
    sent: int
    unreachable: int
    not_sent: int
    finished_at: datetime | None
    progress_channel: str
    progress_user: str
    progress_ref: str | None


@dataclass(frozen=True, slots=True)
class Progress:
    """A broadcast's outbox rows by outcome. `waiting` are pending rows due later than now
    (scheduled, quiet hours, retry back-off)."""

    total: int = 0
    sent: int = 0
    unreachable: int = 0  # blocked the bot (skipped) or refused by the channel (failed)
    cancelled: int = 0
    expired: int = 0
    pending: int = 0
    sending: int = 0
    waiting: int = 0

    @property
    def open(self) -> int:
        return self.pending + self.sending
