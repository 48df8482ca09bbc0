"""Booking records: slots, appointments, the outcome of a booking and why one did not happen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.outbox import OutboxRow

BOOKED = "booked"
CANCELLED = "cancelled"
MOVED = "moved"
REASONS = ("chronic", "general", "vaccination", "annual", "other")


class Problem(StrEnum):
    """Why a booking, move or cancellation did not happen (nothing was changed)."""

    NO_SLOT = "no_slot"  # unknown slot, or one of another doctor (a button from an old screen)
    PAST = "past"  # the slot has started or is over
    CLOSED = "closed"  # the clinic closed that slot
    TAKEN = "taken"  # no place left
    DUPLICATE = "duplicate"  # the resident already holds this slot
    LIMIT = "limit"  # the resident already has the maximum of upcoming bookings
    GONE = "gone"  # not the resident's active booking (cancelled, moved, someone else's)
    OVER = "over"  # the booking's time has come: too late to move or cancel
    SAME = "same"  # moving a booking to the slot it already has


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    doctor_id: str
    start_at: datetime
    end_at: datetime
    capacity: int
    closed: bool
    closed_reason: str
    taken: int = 0

    @property
    def free(self) -> int:
        return 0 if self.closed else max(0, self.capacity - self.taken)


@dataclass(frozen=True, slots=True)
class Appointment:
    id: int
    resident_id: int
    slot_id: int
    doctor_id: str
    start_at: datetime
    end_at: datetime
    reason: str
    status: str
    note: str
    moved_to: int | None  # the appointment it was moved to
    confirmed_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class BookResult:
    """A new (or moved-to) appointment, or the problem. `slot` is the slot asked for, when it
    exists, so the caller can offer the nearest free times; `previous` is a moved booking."""

    appointment: Appointment | None = None
    problem: Problem | None = None
    slot: Slot | None = None
    previous: Appointment | None = None
    # The reminder rows the booking actually has in the outbox, read back in the booking's
    # transaction: what the confirmation may promise (none when booked too late for any).
    reminders: tuple[OutboxRow, ...] = ()


@dataclass(frozen=True, slots=True)
class SlotCheck:
    """What a booking decision needs about one slot, read in one statement: the slot, whether
    the resident already holds it, and how many upcoming bookings the resident has."""

    slot: Slot | None
    held: bool = False
    future: int = 0
