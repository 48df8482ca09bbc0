"""How bookings read: doctor, place, date and time in the reader's language, the calendar
file, and the reminder and clinic-closed messages (rendered at send time, no Ctx there; laid out
by bot.layout like every screen: 🏠 Home in elder mode)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot import names
from bot.callbacks import cb
from bot.core import Attachment, Button, Reply
from bot.domain.booking import Problem, Slot
from bot.domain.directory import Doctor, Station
from bot.layout import notification
from bot.services.booking import REASON_LABELS, Visit
from bot.services.ics import CalendarEvent, calendar
from handlers import promises

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

LIST = cb("book", "list")
START = cb("book", "new")


@dataclass(frozen=True, slots=True)
class Flow:
    """A new booking for `reason`, or moving appointment `moving`."""

    reason: str | None = None
    moving: int | None = None

    @property
    def code(self) -> str:
        return self.reason if self.reason else f"m{self.moving}"

    @property
    def back(self) -> str:
        return cb("book", "new", self.reason) if self.reason else cb("book", "mv", self.moving)


def local(t: Translator, zh: str, en: str) -> str:
    return names.shown_name(t.locale, zh, en)


def when(t: Translator, at: datetime) -> str:
    return t.weekday_datetime(at)


def doctor_text(t: Translator, doctor: Doctor | None) -> str:
    if doctor is None:
        return t.gettext("your family doctor team")
    name = names.doctor_name(t.locale, doctor)
    if not doctor.team:
        return name
    return t.gettext("{doctor} ({team})").format(
        doctor=name, team=names.team_name(t.locale, doctor)
    )


def details(
    t: Translator,
    doctor: Doctor | None,
    centre: Station | None,
    start_at: datetime,
    reason: str,
) -> str:
    """Doctor, place, address, date, time and reason: what every confirmation repeats."""
    moment = start_at.astimezone(t.tz)
    return t.gettext(
        "Doctor: {doctor}\nPlace: {place}\nAddress: {address}\nDate: {date}\nTime: {time}\n"
        "Reason: {reason}"
    ).format(
        doctor=doctor_text(t, doctor),
        place=names.station_name(t.locale, centre) if centre else "—",
        address=local(t, centre.address_zh, centre.address_en) if centre else "—",
        date=t.weekday_date(moment),
        time=t.time(moment),
        reason=t.gettext(REASON_LABELS.get(reason, reason)),
    )


def visit_details(t: Translator, visit: Visit) -> str:
    a = visit.appointment
    return details(t, visit.doctor, visit.centre, a.start_at, a.reason)


def slot_buttons(t: Translator, flow: Flow, slots: list[Slot]) -> list[Button]:
    return [Button(when(t, s.start_at), cb("book", "t", flow.code, s.id)) for s in slots]


def ics_file(t: Translator, visit: Visit, now: datetime) -> Attachment:
    a = visit.appointment
    place = ""
    if visit.centre is not None:
        name = names.station_name(t.locale, visit.centre)
        address = local(t, visit.centre.address_zh, visit.centre.address_en)
        place = (
            t.gettext("{place}, {address}").format(place=name, address=address)
            if name and address
            else name or address
        )
    event = CalendarEvent(
        uid=f"appointment-{a.id}@doorstep",
        start=a.start_at.astimezone(t.tz),
        end=a.end_at.astimezone(t.tz),
        summary=t.gettext("Visit: {doctor}").format(doctor=doctor_text(t, visit.doctor)),
        location=place,
        description=t.gettext(REASON_LABELS.get(a.reason, a.reason)),
    )
    return Attachment("visit.ics", calendar(event, now), "text/calendar")


def reminder_line(
    t: Translator, rows: Sequence[OutboxRow], at: promises.Arrivals | None = None
) -> str:
    """What the booking's stored reminder rows promise (the booking service returns them),
    at the times they go out (`at`, from promises.arrivals)."""
    return promises.reminders(
        t, rows, t.gettext("No reminder is set: the visit is too soon for one."), at
    )


def reminder_head(t: Translator, start_at: datetime, now: datetime) -> str:
    """When the visit is, measured from the moment the reminder is actually sent (quiet hours
    may hold the "2 hours before" one until the morning, or the day-before one overnight)."""
    start, today = start_at.astimezone(t.tz), now.astimezone(t.tz).date()
    if start.date() == today:
        return t.gettext("⏰ Reminder: your visit is today at {time}.").format(time=t.time(start))
    if (start.date() - today).days == 1:
        return t.gettext("⏰ Reminder: your visit is tomorrow at {time}.").format(
            time=t.time(start)
        )
    return t.gettext("⏰ Reminder: your visit is on {when}.").format(when=when(t, start))


async def render_reminder(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The day-before and 2-hours-before reminders, worded from the visit's time and the
    sending time; nothing if the visit is no longer on."""
    svc = rt.services.booking
    appt = await svc.mine(resident.id, int(row.params.get("appointment_id", 0)), rt.now())
    if isinstance(appt, Problem):
        return []
    head = reminder_head(t, appt.start_at, rt.now())
    buttons = (
        (Button(t.gettext("✅ I'll come"), cb("book", "come", appt.id)),),
        (
            Button(t.gettext("🔁 Move"), cb("book", "mv", appt.id)),
            Button(t.gettext("❌ Cancel"), cb("book", "cx", appt.id)),
        ),
    )
    text = f"{head}\n\n{visit_details(t, await svc.visit(appt))}"
    return [notification(t, resident.elder_mode, text, buttons)]


async def render_closed(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The clinic closed a day: the visit is cancelled; here are the nearest free times."""
    svc = rt.services.booking
    appt = await svc.store.appointment(int(row.params.get("appointment_id", 0)))
    if appt is None or appt.resident_id != resident.id:
        return []
    visit = await svc.visit(appt)
    text = t.gettext(
        "We are sorry: the clinic is closed on {date} ({reason}), so your visit at {time} "
        "was cancelled."
    ).format(
        date=t.weekday_date(appt.start_at),
        time=t.time(appt.start_at),
        reason=appt.note or "—",
    )
    flow = Flow(reason=appt.reason)
    nearest = await svc.nearest_free(appt.doctor_id, appt.start_at, rt.now())
    rows: list[tuple[Button, ...]] = []
    if visit.doctor is not None and nearest:
        text += "\n" + t.gettext("Tap a time to book it instead:")
        slots = slot_buttons(t, flow, nearest)
        rows = [tuple(slots[i : i + 2]) for i in range(0, len(slots), 2)]
    rows.append((Button(t.gettext("📅 Other days"), cb("book", "new", appt.reason)),))
    return [notification(t, resident.elder_mode, text, rows)]
