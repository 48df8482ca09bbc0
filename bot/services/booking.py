"""Booking visits with the family doctor team: slots from clinic hours, the booking rules,
reminders, and closing a clinic day.

Slots are generated from the doctor's `clinic_hours` (the directory's format, read by
bot.services.hours) for the next 14 days and kept as rows, so capacity can be enforced by the
database. The booking rules live here once (`BookingRules`); bot.storage.booking asks them
inside the write transaction that makes the booking.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.domain.booking import BOOKED, REASONS, Appointment, BookResult, Problem, Slot, SlotCheck
from bot.domain.directory import Doctor, Station
from bot.domain.outbox import OutboxRow, Planned
from bot.i18n import N_
from bot.services.directory import DirectoryService, Team
from bot.services.hours import Hours, HoursError, parse_hours
from bot.storage.booking import BookingStore

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

HORIZON_DAYS = 14  # slots exist this many days ahead (today included)
DAYS_SHOWN = 7  # the day picker offers this many days that have a free slot
NEAREST = 4  # "just taken — here are the nearest free times"
REMINDER_KIND = "booking_reminder"
CLOSED_KIND = "booking_closed"
CLOSED_URGENT_WITHIN = timedelta(hours=12)  # longer than any night's quiet hours
EVE_AT = time(18, 0)  # the day-before reminder
EARLY_VISIT = time(10, 0)  # visits before this get a 2-hour reminder that ignores quiet hours

REASON_LABELS: dict[str, str] = {
    "chronic": N_("Chronic disease follow-up"),
    "general": N_("General consultation"),
    "vaccination": N_("Vaccination"),
    "annual": N_("Elderly annual health check"),
    "other": N_("Other"),
}
assert tuple(REASON_LABELS) == REASONS

# Why a clinic day is closed (`doorstep slots close --reason KEY`). Residents read the reason in
# their own language, so operators pick a key; anything else typed is shown as typed (an
# operator writing for residents of one language), never as a raw key.
CLOSE_REASONS: dict[str, str] = {
    "doctor-away": N_("the doctor is away"),
    "training": N_("the team is in training"),
    "holiday": N_("public holiday"),
    "weather": N_("bad weather"),
    "outbreak": N_("an outbreak response"),
    "building": N_("building work at the clinic"),
}


def close_reason_text(gettext: Callable[[str], str], stored: str) -> str:
    """The stored close reason for a reader: the translated label of a preset key, else the
    operator's own words; one function for every screen and notice that shows it."""
    label = CLOSE_REASONS.get(stored)
    return gettext(label) if label else stored


class BookingError(ValueError):
    """An operator asked for something impossible (unknown doctor, a past day...)."""


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def slot_times(
    hours: Hours, first: date, days: int, minutes: int, tz: ZoneInfo
) -> list[tuple[int, int]]:
    """(start, end) unix seconds of every whole slot of `minutes` inside the clinic hours,
    for `days` days from `first`. A slot never runs past the end of a session (the lunch
    break and closing time cut it off)."""
    out: list[tuple[int, int]] = []
    for i in range(days):
        day = first + timedelta(days=i)
        midnight = day_start(day, tz)
        for span in hours.week[day.weekday()]:
            minute = span.start
            while minute + minutes <= span.end:
                start = midnight + timedelta(minutes=minute)
                out.append((int(start.timestamp()), int(start.timestamp()) + minutes * 60))
                minute += minutes
    return out


def clinic_hours(doctor: Doctor) -> Hours:
    """The doctor's clinic hours; unreadable hours count as none (checked on import)."""
    try:
        return parse_hours(doctor.clinic_hours)
    except HoursError:
        log.warning("doctor %s has unreadable clinic hours", doctor.id)
        return parse_hours("")


@dataclass(frozen=True)
class ReminderPolicy:
    """The day before at 18:00 and 2 hours before; both expire when the visit starts."""

    tz: ZoneInfo

    def keys(self, appointment_id: int) -> list[str]:
        return [f"bk:{appointment_id}:eve", f"bk:{appointment_id}:2h"]

    def plan(self, appointment: Appointment, now: datetime) -> list[Planned]:
        start = appointment.start_at.astimezone(self.tz)
        eve = datetime.combine(start.date() - timedelta(days=1), EVE_AT, tzinfo=self.tz)
        soon = start - timedelta(hours=2)
        rows = []
        for key, due, urgent in (("eve", eve, False), ("2h", soon, start.time() < EARLY_VISIT)):
            if due <= now:
                continue  # booked too late for this one: the booking screen said it all
            rows.append(
                Planned(
                    resident_id=appointment.resident_id,
                    kind=REMINDER_KIND,
                    key=key,
                    due_at=due,
                    dedupe_key=f"bk:{appointment.id}:{key}",
                    params={"appointment_id": appointment.id},
                    expires_at=start,
                    urgent=urgent,
                )
            )
        return rows


def closed_key(appointment_id: int) -> str:
    """The dedupe key of the clinic-closed notice: what is said about it is read back from it."""
    return f"bk:{appointment_id}:closed"


def closed_notice(appointment: Appointment, now: datetime) -> Planned:
    """The message offering another time to a resident whose visit the clinic cancelled.

    Urgent (quiet hours do not hold it) when the visit is less than CLOSED_URGENT_WITHIN
    away: a notice held until 08:00 about an 08:00 visit would reach the resident at the
    door, after their reminder had told them to come."""
    return Planned(
        resident_id=appointment.resident_id,
        kind=CLOSED_KIND,
        key="closed",
        due_at=now,
        urgent=appointment.start_at - now < CLOSED_URGENT_WITHIN,
        dedupe_key=closed_key(appointment.id),
        params={"appointment_id": appointment.id},
    )


@dataclass(frozen=True)
class BookingRules:
    """Whether a booking may be made, moved, cancelled or confirmed: the rules, once.

    Storage asks them inside the write transaction (with what it read there), the confirm
    screen asks them before anything is booked, and stale buttons are judged by them too.
    """

    max_future: int  # upcoming bookings a resident may hold

    def slot_problem(
        self, check: SlotCheck, doctor_id: str, now: datetime, *, moving_from: int | None = None
    ) -> Problem | None:
        """The first rule booking this slot would break, if any. `moving_from` is the slot of
        the booking being moved: it is given up, so it does not count against the limit."""
        slot = check.slot
        if slot is None or slot.doctor_id != doctor_id:
            return Problem.NO_SLOT
        if moving_from is not None and slot.id == moving_from:
            return Problem.SAME
        if slot.start_at <= now:
            return Problem.PAST
        if slot.closed:
            return Problem.CLOSED
        if check.held:
            return Problem.DUPLICATE
        if moving_from is None and self.limit_problem(check.future) is not None:
            return Problem.LIMIT
        if slot.taken >= slot.capacity:
            return Problem.TAKEN
        return None

    def limit_problem(self, future: int) -> Problem | None:
        """A new booking (not a move) with `future` upcoming ones already held: over the limit?
        Asked at the first step of booking too, so nobody picks a reason, day and time first."""
        return Problem.LIMIT if future >= self.max_future else None

    def active_problem(
        self, appointment: Appointment | None, resident_id: int, now: datetime
    ) -> Problem | None:
        """Why this is not the resident's active, upcoming booking, if it is not."""
        # Someone else's booking looks exactly like a missing one: nothing is revealed about it.
        if (
            appointment is None
            or appointment.resident_id != resident_id
            or appointment.status != BOOKED
        ):
            return Problem.GONE
        if appointment.start_at <= now:
            return Problem.OVER
        return None


@dataclass(frozen=True, slots=True)
class Visit:
    """An appointment with the doctor and centre it is at (either may have left the
    directory since it was booked)."""

    appointment: Appointment
    doctor: Doctor | None
    centre: Station | None


@dataclass(frozen=True, slots=True)
class DayClosed:
    doctor: Doctor
    day: date
    slots: int
    cancelled: list[Appointment]
    # Slots of the day that were closed before this call, and their reasons (first kept).
    already_closed: int = 0
    earlier_reasons: tuple[str, ...] = ()


class BookingService:
    def __init__(
        self, store: BookingStore, directory: DirectoryService, settings: Settings
    ) -> None:
        self.store = store
        self.directory = directory
        self.settings = settings
        self.tz = settings.tz
        self.reminders = ReminderPolicy(self.tz)
        self.rules = BookingRules(settings.max_bookings)
        self._synced: dict[str, tuple[str, date, int, int]] = {}
        self._sync_lock = asyncio.Lock()
        self._slot_locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def _slot_queue(self, slot_id: int) -> AsyncIterator[None]:
        """A lock per slot, dropped when nobody holds or waits for it."""
        lock, users = self._slot_locks.get(slot_id, (asyncio.Lock(), 0))
        self._slot_locks[slot_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._slot_locks[slot_id]
            if users <= 1:
                del self._slot_locks[slot_id]
            else:
                self._slot_locks[slot_id] = (lock, users - 1)

    # -- who and where ------------------------------------------------------------------
    async def team(self, resident_id: int) -> Team | None:
        """The team the resident books with: their signed doctor, else their community's."""
        return await self.directory.team_for_resident(resident_id)

    async def visit(self, appointment: Appointment) -> Visit:
        doctor = await self.directory.doctor(appointment.doctor_id)
        centre = None
        if doctor is not None:
            centre = (await self.directory.team(doctor, signed=False)).centre
        return Visit(appointment, doctor, centre)

    # -- slots --------------------------------------------------------------------------
    async def ensure_slots(self, doctor: Doctor, now: datetime) -> None:
        """Make sure the doctor's slots exist for the next 14 days (cheap when they do)."""
        today = now.astimezone(self.tz).date()
        settings = self.settings
        stamp = (doctor.clinic_hours, today, settings.slot_minutes, settings.slot_capacity)
        if self._synced.get(doctor.id) == stamp:
            return
        async with self._sync_lock:
            if self._synced.get(doctor.id) == stamp:
                return
            await self._sync(doctor, today, HORIZON_DAYS, now)
            self._synced[doctor.id] = stamp

    async def _sync(self, doctor: Doctor, first: date, days: int, now: datetime) -> int:
        settings = self.settings
        wanted = slot_times(clinic_hours(doctor), first, days, settings.slot_minutes, self.tz)
        window = (
            int(day_start(first, self.tz).timestamp()),
            int(day_start(first + timedelta(days=days), self.tz).timestamp()),
        )
        return await self.store.sync_slots(doctor.id, wanted, window, settings.slot_capacity, now)

    def _horizon(self, now: datetime) -> tuple[int, int]:
        """Bookable times: after now, before the end of the 14-day window."""
        last = now.astimezone(self.tz).date() + timedelta(days=HORIZON_DAYS)
        return int(now.timestamp()) + 1, int(day_start(last, self.tz).timestamp())

    async def free_days(
        self, doctor: Doctor, now: datetime, limit: int = DAYS_SHOWN
    ) -> list[tuple[date, int]]:
        """The first `limit` days with a free slot, and how many free slots each has."""
        await self.ensure_slots(doctor, now)
        lo, hi = self._horizon(now)
        days: dict[date, int] = {}
        for slot in await self.store.free_slots(doctor.id, lo, hi):
            day = slot.start_at.astimezone(self.tz).date()
            if day not in days and len(days) >= limit:
                break
            days[day] = days.get(day, 0) + 1
        return list(days.items())

    async def free_times(self, doctor_id: str, day: date, now: datetime) -> list[Slot]:
        lo, hi = self._horizon(now)
        start = max(lo, int(day_start(day, self.tz).timestamp()))
        end = min(hi, int(day_start(day + timedelta(days=1), self.tz).timestamp()))
        return await self.store.free_slots(doctor_id, start, end) if start < end else []

    async def nearest_free(
        self, doctor_id: str, around: datetime, now: datetime, limit: int = NEAREST
    ) -> list[Slot]:
        lo, hi = self._horizon(now)
        return await self.store.nearest_free(doctor_id, int(around.timestamp()), lo, hi, limit)

    async def slot(self, slot_id: int) -> Slot | None:
        return await self.store.slot(slot_id)

    # -- the resident's bookings --------------------------------------------------------
    async def book(
        self, resident_id: int, slot_id: int, doctor_id: str, reason: str, now: datetime
    ) -> BookResult:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        # Taps on one slot queue here (in this process) so that once it is full the rest are
        # refused by a read instead of each taking a turn on the single writer. Correctness
        # does not rest on this lock: the store's transaction decides, across processes too.
        async with self._slot_queue(slot_id):
            result = await self.store.book(
                resident_id,
                slot_id,
                doctor_id,
                reason,
                now,
                self.rules,
                self.reminders,
            )
        _log(resident_id, "book", result)
        return result

    async def move(
        self, resident_id: int, appointment_id: int, slot_id: int, now: datetime
    ) -> BookResult:
        result = await self.store.move(
            resident_id, appointment_id, slot_id, now, self.rules, self.reminders
        )
        _log(resident_id, "move", result)
        return result

    async def cancel(self, resident_id: int, appointment_id: int, now: datetime) -> BookResult:
        result = await self.store.cancel(
            resident_id, appointment_id, now, self.rules, self.reminders
        )
        _log(resident_id, "cancel", result)
        return result

    async def confirm(
        self, resident_id: int, appointment_id: int, now: datetime
    ) -> Appointment | Problem:
        return await self.store.confirm(resident_id, appointment_id, now, self.rules)

    async def reminders_of(self, appointment: Appointment) -> list[OutboxRow]:
        """The booking's reminders still to come: its pending outbox rows (one function for
        every view that mentions them: the confirmation, My appointments)."""
        return await self.store.pending_reminders(self.reminders.keys(appointment.id))

    async def upcoming(self, resident_id: int, now: datetime) -> list[Appointment]:
        return await self.store.upcoming(resident_id, now)

    async def new_booking_problem(self, resident_id: int, now: datetime) -> Problem | None:
        """Why the resident cannot start a new booking now (the limit), before any step."""
        return self.rules.limit_problem(len(await self.upcoming(resident_id, now)))

    async def mine(
        self, resident_id: int, appointment_id: int, now: datetime
    ) -> Appointment | Problem:
        """The resident's active, upcoming booking, or why it is not (for stale buttons)."""
        appt = await self.store.appointment(appointment_id)
        problem = self.rules.active_problem(appt, resident_id, now)
        if problem is not None:
            return problem
        assert appt is not None
        return appt

    async def bookable(
        self, slot_id: int, doctor_id: str, now: datetime, moving: Appointment | None = None
    ) -> tuple[Slot | None, Problem | None]:
        """The slot and why it cannot be booked now (before asking "book this?"), if so."""
        slot = await self.store.slot(slot_id)
        problem = self.rules.slot_problem(
            SlotCheck(slot),
            doctor_id,
            now,
            moving_from=moving.slot_id if moving is not None else None,
        )
        return slot, problem

    # -- operators ----------------------------------------------------------------------
    async def _doctor(self, doctor_id: str) -> Doctor:
        doctor = await self.directory.doctor(doctor_id)
        if doctor is None:
            raise BookingError(f"no doctor with id {doctor_id!r} in the directory")
        return doctor

    async def why_no_slots(self, doctor_id: str, day: date, now: datetime) -> str:
        """Why `day` has no slots, in operator English: past, beyond the booking window, or
        no clinic hours that weekday (slots exist only from today for 14 days)."""
        doctor = await self._doctor(doctor_id)
        today = now.astimezone(self.tz).date()
        holds_clinic = bool(clinic_hours(doctor).week[day.weekday()])
        # Operator English whatever the host's locale (never strftime's %A).
        weekday = _WEEKDAYS[day.weekday()]
        no_hours = "" if holds_clinic else f"; no clinic hours on {weekday}s"
        if day < today:
            return (
                f"{day.isoformat()} is in the past (today is {today.isoformat()}): slots are "
                f"kept from today on{no_hours}"
            )
        if day >= today + timedelta(days=HORIZON_DAYS):
            made = day - timedelta(days=HORIZON_DAYS - 1)
            return (
                f"{day.isoformat()} is beyond the {HORIZON_DAYS}-day booking window: its slots "
                f"are made on {made.isoformat()}{no_hours}"
            )
        if holds_clinic:
            return (
                "no slots made yet: they are made for the booking window when a resident "
                "first opens booking with this doctor"
            )
        return no_hours.removeprefix("; ")

    async def day_slots(
        self, doctor_id: str, day: date, now: datetime, make: bool = True
    ) -> list[Slot]:
        """Every slot of the doctor on `day`. With `make` the day's slots are generated if
        needed (closing a day beyond the booking window needs them); without it (listing)
        only what is stored is read: nothing is written."""
        doctor = await self._doctor(doctor_id)
        if make:
            await self.ensure_slots(doctor, now)
            if day >= now.astimezone(self.tz).date() + timedelta(days=HORIZON_DAYS):
                await self._sync(doctor, day, 1, now)
        lo = int(day_start(day, self.tz).timestamp())
        hi = int(day_start(day + timedelta(days=1), self.tz).timestamp())
        return await self.store.slots_between(doctor.id, lo, hi)

    async def close_day(self, doctor_id: str, day: date, reason: str, now: datetime) -> DayClosed:
        """Close the doctor's clinic on `day`: its bookings are cancelled, their reminders
        dropped, and each affected resident is sent an offer of the nearest free times."""
        doctor = await self._doctor(doctor_id)
        if day < now.astimezone(self.tz).date():
            raise BookingError(f"{day.isoformat()} is in the past")
        slots = await self.day_slots(doctor_id, day, now)
        if not slots:
            raise BookingError(f"{doctor_id} has no clinic hours on {day.isoformat()}")
        lo = int(day_start(day, self.tz).timestamp())
        hi = int(day_start(day + timedelta(days=1), self.tz).timestamp())
        earlier = await self.store.closed_reasons(doctor.id, lo, hi)
        closed, cancelled = await self.store.close(
            doctor.id,
            lo,
            hi,
            reason,
            now,
            self.reminders,
            lambda appt: closed_notice(appt, now),
        )
        log.info(
            "closed %s slots of doctor %s, %s bookings cancelled", closed, doctor.id, len(cancelled)
        )
        return DayClosed(
            doctor, day, closed, cancelled, len(earlier), tuple(dict.fromkeys(earlier))
        )

    async def clinic_cancelled(self, resident_id: int, now: datetime) -> list[Appointment]:
        """Visits the clinic cancelled that the resident has not acknowledged, until their
        day has passed: "My appointments" shows them with the reason."""
        today = now.astimezone(self.tz).date()
        since = int(day_start(today, self.tz).timestamp())
        return await self.store.clinic_cancelled(resident_id, since)

    async def acknowledge_clinic_cancel(
        self, resident_id: int, appointment_id: int, now: datetime
    ) -> bool:
        return await self.store.acknowledge_clinic_cancel(resident_id, appointment_id, now)


def _log(resident_id: int, action: str, result: BookResult) -> None:
    if result.appointment is not None:
        log.info("resident %s %s: appointment %s", resident_id, action, result.appointment.id)
    elif result.problem is not None:
        log.info("resident %s %s refused: %s", resident_id, action, result.problem)
