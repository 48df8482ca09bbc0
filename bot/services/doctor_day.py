"""The doctor's day: today's and tomorrow's visits (marked attended or no-show), residents whose
follow-up is overdue (with a one-tap reminder), danger-sign flags, and a resident's card.

Each method takes the doctor the server resolved from the chat account; a resident outside
the doctor's team is refused before anything is read (`DoctorService.can_reach`: signed to
the team, or a recent booked or attended visit with it). What the card shows about other
teams is left out: names come from requests to this team, the next visit is one with it.
Viewing a card, marking a visit and sending a reminder are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.domain.booking import Appointment
from bot.domain.clock import Clock
from bot.domain.directory import Doctor
from bot.domain.doctors import NewAudit
from bot.domain.health import Flag, Reading
from bot.domain.outbox import Planned
from bot.services import followup
from bot.services.booking import ReminderPolicy
from bot.services.child_vaccines import ChildStatus, ChildVaccines
from bot.services.doctors import DoctorService
from bot.services.followup import Reason
from bot.services.health import HealthService, history_from
from bot.storage.booking import BookingStore
from bot.storage.doctors import DoctorStore
from bot.storage.health import HealthStore
from bot.storage.outbox import OutboxStore

if TYPE_CHECKING:
    from bot.config import Settings

NOSHOW_KIND = "doctor_noshow"
REMINDER_KIND = "doctor_reminder"
LAST_READINGS = 3
FLAGS_SHOWN = 10


class NotYours(Exception):
    """The resident or visit is not the doctor's team's (or no longer exists)."""


class TooEarly(Exception):
    """The visit has not started yet: it cannot have been attended or missed."""

    def __init__(self, appointment: Appointment) -> None:
        super().__init__(appointment.id)
        self.appointment = appointment


@dataclass(frozen=True, slots=True)
class Visit:
    appointment: Appointment
    name: str


@dataclass(frozen=True, slots=True)
class Overdue:
    resident_id: int
    name: str
    reason: Reason
    due: date


@dataclass(frozen=True, slots=True)
class FlagRow:
    flag: Flag
    name: str


@dataclass(frozen=True, slots=True)
class Card:
    resident_id: int
    name: str
    age: int | None
    conditions: tuple[str, ...]
    readings: tuple[Reading, ...]
    next_visit: Appointment | None
    children: tuple[ChildStatus, ...]


def overdue_items(history: followup.History, today: date) -> list[tuple[Reason, date]]:
    """What is overdue: exactly the follow-up plan's overdue items (the resident's page shows
    the same items with the same due dates; no second rule here)."""
    return [(d.reason, d.due) for d in followup.plan(history, today) if d.overdue]


class DoctorDay:
    def __init__(
        self,
        store: DoctorStore,
        bookings: BookingStore,
        health_store: HealthStore,
        outbox: OutboxStore,
        doctors: DoctorService,
        health: HealthService,
        child_vaccines: ChildVaccines,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.bookings = bookings
        self.health_store = health_store
        self.outbox = outbox
        self.doctors = doctors
        self.health = health
        self.child_vaccines = child_vaccines
        self.clock = clock
        self.tz = settings.tz

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    def _day_bounds(self, day: date) -> tuple[int, int]:
        start = datetime.combine(day, time(0), tzinfo=self.tz)
        return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())

    async def _check(self, doctor: Doctor, resident_id: int) -> None:
        if not await self.doctors.can_reach(doctor, resident_id):
            raise NotYours(resident_id)

    # -- visits -------------------------------------------------------------------------
    async def visits(self, doctor: Doctor, day: date) -> list[Visit]:
        lo, hi = self._day_bounds(day)
        appts = await self.store.visits_between(doctor.id, lo, hi)
        names = await self.doctors.names(doctor, [a.resident_id for a in appts])
        return [Visit(a, names.get(a.resident_id, "")) for a in appts]

    async def markable(self, doctor: Doctor, appointment_id: int) -> Appointment:
        """A booked visit of this doctor that has started (the server's clock decides, for
        every press: the screen may be old). NotYours if not theirs or no longer booked;
        TooEarly before its start."""
        appt = await self.bookings.appointment(appointment_id)
        if appt is None or appt.doctor_id != doctor.id:
            raise NotYours(appointment_id)
        await self._check(doctor, appt.resident_id)
        if appt.status != "booked":
            raise NotYours(appointment_id)  # marked, moved or cancelled meanwhile
        if appt.start_at > self.clock():
            raise TooEarly(appt)  # it cannot have been attended or missed yet
        return appt

    def can_mark_now(self, appointment: Appointment) -> bool:
        return appointment.status == "booked" and appointment.start_at <= self.clock()

    async def mark(self, doctor: Doctor, appointment_id: int, attended: bool) -> Appointment:
        """Mark a started, booked visit of this doctor. A no-show sends the resident "we missed
        you — book again?" (the screen asks the doctor first); attending a follow-up or annual
        check records it in the resident's follow-up plan."""
        appt = await self.markable(doctor, appointment_id)
        now = self.clock()
        notify = []
        if not attended:
            notify.append(
                Planned(
                    resident_id=appt.resident_id,
                    kind=NOSHOW_KIND,
                    key="noshow",
                    due_at=now,
                    dedupe_key=f"dr:noshow:{appt.id}",
                    params={"appointment_id": appt.id, "reason": appt.reason},
                    expires_at=now + timedelta(days=7),
                )
            )
        marked = await self.store.mark_visit(
            appt.id,
            doctor.id,
            "attended" if attended else "no_show",
            int(now.timestamp()),
            ReminderPolicy(self.tz).keys(appt.id),
            notify,
        )
        if marked is None:
            raise NotYours(appointment_id)  # marked or cancelled meanwhile
        if attended and appt.reason in ("chronic", "annual"):
            day = appt.start_at.astimezone(self.tz).date()
            kind = "followup" if appt.reason == "chronic" else "annual_check"
            await self.health.record_event(appt.resident_id, kind, day, recorded_by="doctor")
        await self.doctors.audit(
            NewAudit(
                doctor.id,
                "visit_attended" if attended else "visit_no_show",
                appt.resident_id,
                f"appointment={appt.id}",
            )
        )
        return marked

    # -- overdue ------------------------------------------------------------------------
    async def overdue(self, doctor: Doctor) -> list[Overdue]:
        """The team's signed residents with something overdue, oldest due date first."""
        ids = await self.doctors.signed_residents(doctor)
        today = self.today()
        found: list[tuple[int, Reason, date]] = []
        for i in range(0, len(ids), 500):
            for facts in await self.health_store.facts(ids[i : i + 500], self.tz):
                history = history_from(facts, self.tz)
                found += [(facts.resident_id, r, d) for r, d in overdue_items(history, today)]
        found.sort(key=lambda x: (x[2], x[0], x[1]))
        names = await self.doctors.names(doctor, [rid for rid, _, _ in found])
        return [Overdue(rid, names.get(rid, ""), r, d) for rid, r, d in found]

    def reminder_key(self, resident_id: int, reason: Reason) -> str:
        """The outbox row of today's reminder from the doctor (one per reason and day)."""
        return f"dr:rem:{resident_id}:{reason}:{self.today().isoformat()}"

    async def remind(self, doctor: Doctor, resident_id: int, reason: Reason) -> bool:
        """Send the resident a reminder from their doctor (at most one per reason and day);
        False if one already went today."""
        await self._check(doctor, resident_id)
        facts = await self.health_store.facts([resident_id], self.tz)
        items = overdue_items(history_from(facts[0], self.tz), self.today()) if facts else []
        due = next((d for r, d in items if r is reason), None)
        if due is None:
            raise NotYours(resident_id)  # not overdue (any more): nothing to remind of
        now = self.clock()
        added = await self.outbox.plan(
            [
                Planned(
                    resident_id=resident_id,
                    kind=REMINDER_KIND,
                    key=str(reason),
                    due_at=now,
                    dedupe_key=self.reminder_key(resident_id, reason),
                    params={"doctor_id": doctor.id, "reason": str(reason), "due": due.isoformat()},
                    expires_at=now + timedelta(days=3),
                )
            ],
            now,
        )
        if added:
            await self.doctors.audit(
                NewAudit(doctor.id, "reminder", resident_id, f"reason={reason}")
            )
        return added > 0

    # -- flags --------------------------------------------------------------------------
    async def flags(self, doctor: Doctor) -> list[FlagRow]:
        """The newest danger-sign flags of the team's residents; shown ones are marked seen."""
        ids = await self.doctors.signed_residents(doctor)
        flags = (await self.health.flags_for(ids))[:FLAGS_SHOWN] if ids else []
        await self.health.mark_flags_seen([f.id for f in flags if f.seen_at is None])
        names = await self.doctors.names(doctor, [f.resident_id for f in flags])
        if flags:
            await self.doctors.audit(NewAudit(doctor.id, "view_flags", details=f"n={len(flags)}"))
        return [FlagRow(f, names.get(f.resident_id, "")) for f in flags]

    # -- the card -----------------------------------------------------------------------
    async def card(self, doctor: Doctor, resident_id: int) -> Card:
        await self._check(doctor, resident_id)
        profile = await self.health.profile(resident_id)
        readings = await self.health.readings(resident_id, days=90)
        team = await self.doctors.team(doctor)
        names = await self.store.names([resident_id], team)
        now = int(self.clock().timestamp())
        await self.doctors.audit(NewAudit(doctor.id, "view_card", resident_id))
        return Card(
            resident_id=resident_id,
            name=names.get(resident_id, ""),
            age=self.today().year - profile.birth_year if profile.birth_year else None,
            conditions=tuple(c.condition for c in profile.conditions),
            readings=tuple(reversed(readings[-LAST_READINGS:])),
            next_visit=await self.store.next_visit(resident_id, team, now),
            children=tuple(await self.child_vaccines.status(resident_id)),
        )
