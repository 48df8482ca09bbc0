"""Book a follow-up: reason → day → time → confirm → booked (with a calendar file), and
"My appointments" with Move and Cancel. Buttons only.

Every button carries what it needs (`bk:t:chronic:123` = the confirm screen for slot 123 of a
chronic follow-up; `m45` instead of a reason = moving appointment 45), and every press
re-checks it against the database: a past, closed or taken slot, or a booking that is no
longer the resident's, gets a clear answer and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.booking import REASONS, Appointment, Problem, Slot
from bot.domain.directory import Doctor, Station
from bot.router import Registry
from bot.services.booking import (
    CLOSED_KIND,
    REASON_LABELS,
    REMINDER_KIND,
    Visit,
    close_reason_text,
)
from handlers import promises
from handlers.resident import booking_view as view
from handlers.resident.booking_view import LIST, START, Flow

_MOVING = re.compile(r"^m(\d{1,18})$")


@dataclass(frozen=True, slots=True)
class Where:
    doctor: Doctor
    centre: Station | None
    moving: Appointment | None = None


def _flow(data: Callback, index: int) -> Flow:
    value = data.part(index)
    if value in REASONS:
        return Flow(reason=value)
    m = _MOVING.match(value)
    if m is None:
        raise StaleButton("unknown booking flow")
    return Flow(moving=int(m.group(1)))


def _day(data: Callback, index: int) -> date:
    try:
        return datetime.strptime(data.part(index), "%Y%m%d").date()
    except ValueError:
        raise StaleButton("bad date") from None


def _phone(where: Where | None) -> str:
    if where is None:
        return ""
    return (where.centre.phone if where.centre else "") or where.doctor.phone


# -- screens ----------------------------------------------------------------------------------


async def entry(ctx: Ctx) -> None:
    """Book a follow-up: with whom, and the reasons to choose from."""
    svc = ctx.services.booking
    upcoming = await svc.upcoming(ctx.user.id, ctx.now())
    notices = await svc.clinic_cancelled(ctx.user.id, ctx.now())
    mine = (
        [Button(ctx._("📋 My appointments ({n})").format(n=len(upcoming)), LIST)]
        if upcoming or notices
        else []
    )
    team = await svc.team(ctx.user.id)
    if team is None:
        await _no_team(ctx, mine)
        return
    if await _over_limit(ctx):
        return
    place = names.station_name(ctx.locale, team.centre) if team.centre else ""
    ctx.say(
        ctx._("Book a visit with {doctor} at {place}.\nWhat is the visit for?").format(
            doctor=view.doctor_text(ctx.t, team.doctor), place=place or "—"
        ),
        [Button(ctx._(label), cb("book", "new", key)) for key, label in REASON_LABELS.items()]
        + mine,
        cols=2,
        home=True,
        short=ctx._("What is the visit for?"),
    )


async def _over_limit(ctx: Ctx) -> bool:
    """The booking limit, checked at the first step of a new booking: say so and offer
    My appointments, instead of refusing only after the confirm screen."""
    problem = await ctx.services.booking.new_booking_problem(ctx.user.id, ctx.now())
    if problem is None:
        return False
    await _refused(ctx, problem, Flow(), None, None)
    return True


async def _no_team(ctx: Ctx, extra: list[Button]) -> None:
    directory = ctx.services.booking.directory
    home = await directory.home(ctx.user.id)
    if home is None:
        ctx.say(
            ctx._(
                "To book a visit I first need to know which community you live in, so I can "
                "find your family doctor team."
            ),
            [Button(ctx._("🏘 Choose my community"), cb("family", "where")), *extra],
            home=True,
        )
        return
    # The home is stored by its Chinese names; the directory knows their English ones.
    ref = await directory.community_ref(home.town, home.community)
    town_en = {t.name: t.name_en for t in await directory.towns()}
    ctx.say(
        ctx._(
            "No family doctor team in our directory serves {community} ({town}) yet. "
            "Please ask your community health service centre."
        ).format(
            community=view.local(ctx.t, home.community, ref.name_en if ref else ""),
            town=view.local(ctx.t, home.town, town_en.get(home.town, "")),
        ),
        [Button(ctx._("🏘 Change my community"), cb("family", "where")), *extra],
        home=True,
    )


async def _where(ctx: Ctx, flow: Flow) -> Where | None:
    """Whose slots this flow books: the resident's team, or the moved booking's doctor.
    Answers and returns None when there is none."""
    svc = ctx.services.booking
    if flow.moving is None:
        team = await svc.team(ctx.user.id)
        if team is None:
            await _no_team(ctx, [])
            return None
        if await _over_limit(ctx):  # an old "new booking" button, or a day/time one
            return None
        return Where(team.doctor, team.centre)
    appt = await svc.mine(ctx.user.id, flow.moving, ctx.now())
    if isinstance(appt, Problem):
        await _refused(ctx, appt, flow, None, None)
        return None
    visit = await svc.visit(appt)
    if visit.doctor is None:
        ctx.say(
            ctx._(
                "This doctor is no longer in our directory, so the visit cannot be moved "
                "here. You can cancel it and book with your current team."
            ),
            [Button(ctx._("❌ Cancel this visit"), cb("book", "cx", appt.id))],
            back=LIST,
        )
        return None
    return Where(visit.doctor, visit.centre, appt)


async def pick_day(ctx: Ctx, flow: Flow, intro: str = "") -> None:
    where = await _where(ctx, flow)
    if where is None:
        return
    svc = ctx.services.booking
    days = await svc.free_days(where.doctor, ctx.now())
    back = START if flow.reason else LIST
    if not days:
        ctx.say(
            ctx._(
                "{doctor} has no free times in the next two weeks. "
                "Please call the centre to book: {phone}"
            ).format(doctor=view.doctor_text(ctx.t, where.doctor), phone=_phone(where) or "—"),
            back=back,
        )
        return
    if where.moving is not None:
        question = ctx._("Move your visit of {when}. Choose a new day:").format(
            when=view.when(ctx.t, where.moving.start_at)
        )
    else:
        label = REASON_LABELS[flow.reason or "other"]
        question = ctx._("{reason}: choose a day.").format(reason=ctx._(label))
    buttons = [
        Button(ctx.t.weekday_date(day), cb("book", "d", flow.code, day.strftime("%Y%m%d")))
        for day, _ in days
    ]
    ctx.say(f"{intro}\n\n{question}" if intro else question, buttons, cols=2, back=back)


async def pick_time(ctx: Ctx, flow: Flow, day: date) -> None:
    where = await _where(ctx, flow)
    if where is None:
        return
    slots = await ctx.services.booking.free_times(where.doctor.id, day, ctx.now())
    if not slots:
        await pick_day(ctx, flow, ctx._("No free times are left on that day."))
        return
    buttons = [
        Button(
            ctx.t.time(s.start_at),
            cb("book", "t", flow.code, s.id),
        )
        for s in slots
    ]
    ctx.say(
        ctx._("{date}: choose a time.").format(date=ctx.t.weekday_date(day)),
        buttons,
        cols=4,
        back=flow.back,
    )


async def confirm_screen(ctx: Ctx, flow: Flow, slot_id: int) -> None:
    """Repeat doctor, place, date and time before anything is booked."""
    where = await _where(ctx, flow)
    if where is None:
        return
    svc = ctx.services.booking
    slot, problem = await svc.bookable(slot_id, where.doctor.id, ctx.now(), where.moving)
    if problem is not None:
        await _refused(ctx, problem, flow, slot, where)
        return
    assert slot is not None
    reason = where.moving.reason if where.moving else flow.reason or "other"
    text = view.details(ctx.t, where.doctor, where.centre, slot.start_at, reason)
    day = slot.start_at.astimezone(ctx.t.tz).strftime("%Y%m%d")
    if where.moving is not None:
        head = ctx._("Move your visit from {old} to this time?").format(
            old=view.when(ctx.t, where.moving.start_at)
        )
        ok = ctx._("✅ Yes, move it")
    else:
        head = ctx._("Please check your visit:")
        ok = ctx._("✅ Book this visit")
    ctx.say(
        f"{head}\n\n{text}",
        [
            Button(ok, cb("book", "ok", flow.code, slot.id)),
            Button(ctx._("🕒 Another time"), cb("book", "d", flow.code, day)),
        ],
        cols=2,
        back=flow.back,
    )


async def commit(ctx: Ctx, flow: Flow, slot_id: int) -> None:
    where = await _where(ctx, flow)
    if where is None:
        return
    svc = ctx.services.booking
    now = ctx.now()
    if where.moving is not None:
        result = await svc.move(ctx.user.id, where.moving.id, slot_id, now)
    else:
        result = await svc.book(ctx.user.id, slot_id, where.doctor.id, flow.reason or "other", now)
    if result.appointment is None:
        await _refused(ctx, result.problem or Problem.NO_SLOT, flow, result.slot, where)
        return
    # Read back from the store: the confirmation states the booking as saved.
    stored = await svc.mine(ctx.user.id, result.appointment.id, now)
    appt = stored if isinstance(stored, Appointment) else result.appointment
    visit = Visit(appt, where.doctor, where.centre)
    if result.previous is not None:
        head = ctx._("✅ Your visit is moved from {old} to {new}.").format(
            old=view.when(ctx.t, result.previous.start_at), new=view.when(ctx.t, appt.start_at)
        )
        ctx.notice(ctx._("Moved."))
    else:
        head = ctx._("✅ Your visit is booked.")
        ctx.notice(ctx._("Booked."))
    ctx.say(
        f"{head}\n\n{view.visit_details(ctx.t, visit)}\n\n"
        + view.reminder_line(
            ctx.t,
            result.reminders,
            await promises.arrivals(ctx.services.send_times, result.reminders),
        )
        + "\n"
        + ctx._("Please bring your ID card and medical insurance card."),
        [Button(ctx._("📋 My appointments"), LIST)],
        home=True,
    )
    if ctx.traits.can_send_files:  # no calendar file where none can be sent (WeChat)
        ctx.document(
            view.ics_file(ctx.t, visit, now), ctx._("Add the visit to your phone's calendar:")
        )


async def _refused(
    ctx: Ctx, problem: Problem, flow: Flow, slot: Slot | None, where: Where | None
) -> None:
    """Say why nothing happened and offer the way on; nothing was changed."""
    mine = [Button(ctx._("📋 My appointments"), LIST)]
    if problem is Problem.GONE:
        ctx.say(
            ctx._("This visit was already cancelled or moved, so nothing was changed."),
            mine,
            home=True,
        )
        return
    if problem is Problem.OVER:
        ctx.say(
            ctx._("The time of this visit has come, so it can no longer be changed here."),
            mine,
            home=True,
        )
        return
    if problem is Problem.DUPLICATE:
        ctx.say(ctx._("You have already booked this time. Nothing was changed."), mine, home=True)
        return
    if problem is Problem.SAME:
        ctx.say(ctx._("That is the time you already have. Nothing was changed."), mine, home=True)
        return
    if problem is Problem.LIMIT:
        limit = ctx.rt.settings.max_bookings
        ctx.say(
            ctx.ngettext(
                "You already have {n} upcoming visit, the most you can book at once. "
                "Please move or cancel it first.",
                "You already have {n} upcoming visits, the most you can book at once. "
                "Please move or cancel one first.",
                limit,
            ).format(n=limit),
            mine,
            home=True,
        )
        return
    if problem is Problem.NO_SLOT or where is None:
        await pick_day(ctx, flow, ctx._("That time is no longer offered. Please choose again."))
        return
    if problem is Problem.PAST:
        head = ctx._("That time has already passed.")
    elif problem is Problem.CLOSED:
        reason = close_reason_text(ctx._, slot.closed_reason) if slot else ""
        head = (
            ctx._("The clinic is closed at that time: {reason}").format(reason=reason)
            if reason
            else ctx._("The clinic is closed at that time.")
        )
    else:
        head = ctx._("Sorry, that time was just taken.")
    svc = ctx.services.booking
    around = slot.start_at if slot else ctx.now()
    nearest = await svc.nearest_free(where.doctor.id, around, ctx.now())
    if where.moving is not None:
        nearest = [s for s in nearest if s.id != where.moving.slot_id]
    if not nearest:
        ctx.say(
            head
            + "\n"
            + ctx._(
                "There are no other free times in the next two weeks. Please call: {phone}"
            ).format(phone=_phone(where) or "—"),
            back=flow.back,
        )
        return
    ctx.say(
        head + "\n" + ctx._("Here are the nearest free times:"),
        view.slot_buttons(ctx.t, flow, nearest),
        cols=2,
        back=flow.back,
    )


async def show_list(ctx: Ctx) -> None:
    """My appointments: upcoming visits with Move and Cancel."""
    svc = ctx.services.booking
    upcoming = await svc.upcoming(ctx.user.id, ctx.now())
    # Visits the clinic cancelled stay listed, with the reason, until acknowledged or their
    # day has passed: a visit never silently disappears from the list.
    notices = await svc.clinic_cancelled(ctx.user.id, ctx.now())
    lines: list[str] = []
    rows: list[list[Button]] = []
    for appt in notices:
        visit = await svc.visit(appt)
        lines.append(
            ctx._("❌ Cancelled by the clinic: {when} · {doctor} (reason: {reason})").format(
                when=view.when(ctx.t, appt.start_at),
                doctor=view.doctor_text(ctx.t, visit.doctor),
                reason=close_reason_text(ctx._, appt.note),
            )
        )
        rows.append(
            [
                Button(ctx._("📅 Book another time"), cb("book", "new", appt.reason)),
                Button(ctx._("✓ Noted"), cb("book", "seen", appt.id)),
            ]
        )
    if not upcoming:
        lines.append(ctx._("You have no upcoming visits."))
        rows.append([Button(ctx._("📅 Book a visit"), START)])
        ctx.say("\n".join(lines), rows, home=True)
        return
    lines.append(ctx._("Your upcoming visits:"))
    for n, appt in enumerate(upcoming, start=1):
        visit = await svc.visit(appt)
        place = names.station_name(ctx.locale, visit.centre) if visit.centre else ""
        lines.append(
            f"{n}. {view.when(ctx.t, appt.start_at)} · {view.doctor_text(ctx.t, visit.doctor)}"
            + (f" · {place}" if place else "")
            + f" · {ctx._(REASON_LABELS.get(appt.reason, appt.reason))}"
        )
        reminders = await svc.reminders_of(appt)
        at = await promises.arrivals(ctx.services.send_times, reminders)
        lines.append("   " + view.reminder_line(ctx.t, reminders, at))
        rows.append(
            [
                Button(ctx._("🔁 Move {n}").format(n=n), cb("book", "mv", appt.id)),
                Button(ctx._("❌ Cancel {n}").format(n=n), cb("book", "cx", appt.id)),
            ]
        )
    rows.append([Button(ctx._("📅 Book a visit"), START)])
    ctx.say("\n".join(lines), rows, home=True)


async def ask_cancel(ctx: Ctx, appointment_id: int) -> None:
    svc = ctx.services.booking
    appt = await svc.mine(ctx.user.id, appointment_id, ctx.now())
    if isinstance(appt, Problem):
        await _refused(ctx, appt, Flow(moving=appointment_id), None, None)
        return
    ctx.confirm(
        ctx._("Cancel this visit?") + "\n\n" + view.visit_details(ctx.t, await svc.visit(appt)),
        cb("book", "cxok", appt.id),
        LIST,
        yes_label=ctx._("✅ Yes, cancel it"),
        no_label=ctx._("↩️ No, keep it"),
    )


async def do_cancel(ctx: Ctx, appointment_id: int) -> None:
    result = await ctx.services.booking.cancel(ctx.user.id, appointment_id, ctx.now())
    if result.problem is not None:
        await _refused(ctx, result.problem, Flow(moving=appointment_id), None, None)
        return
    ctx.notice(ctx._("Cancelled."))
    ctx.say(
        ctx._("Your visit is cancelled, and the time is free for others now."),
        [Button(ctx._("📅 Book a visit"), START), Button(ctx._("📋 My appointments"), LIST)],
        cols=2,
        home=True,
    )


async def will_come(ctx: Ctx, appointment_id: int) -> None:
    svc = ctx.services.booking
    appt = await svc.confirm(ctx.user.id, appointment_id, ctx.now())
    if isinstance(appt, Problem):
        await _refused(ctx, appt, Flow(moving=appointment_id), None, None)
        return
    visit = await svc.visit(appt)
    ctx.notice(ctx._("Thank you!"))
    ctx.say(
        ctx._("Thank you! See you then.") + "\n\n" + view.visit_details(ctx.t, visit),
        [Button(ctx._("📋 My appointments"), LIST)],
        home=True,
    )


_ACTIONS = {
    "new": (1, 2),
    "d": (3,),
    "t": (3,),
    "ok": (3,),
    "list": (1,),
    "mv": (2,),
    "cx": (2,),
    "cxok": (2,),
    "come": (2,),
    "seen": (2,),
}


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, tuple(_ACTIONS))
    data.expect(*_ACTIONS[action])
    if action == "new":
        if len(data.parts) == 1:
            await entry(ctx)
        else:
            await pick_day(ctx, Flow(reason=data.choice(1, REASONS)))
    elif action == "d":
        await pick_time(ctx, _flow(data, 1), _day(data, 2))
    elif action == "t":
        await confirm_screen(ctx, _flow(data, 1), data.int_part(2))
    elif action == "ok":
        await commit(ctx, _flow(data, 1), data.int_part(2))
    elif action == "list":
        await show_list(ctx)
    elif action == "mv":
        await pick_day(ctx, Flow(moving=data.int_part(1)))
    elif action == "cx":
        await ask_cancel(ctx, data.int_part(1))
    elif action == "cxok":
        await do_cancel(ctx, data.int_part(1))
    elif action == "seen":
        # An old or forged button changes nothing; either way the list shows what is true.
        if await ctx.services.booking.acknowledge_clinic_cancel(
            ctx.user.id, data.int_part(1), ctx.now()
        ):
            ctx.notice(ctx._("OK"))
        await show_list(ctx)
    else:
        await will_come(ctx, data.int_part(1))


def register(r: Registry) -> None:
    r.top("book", LIST)
    r.menu_item("book", entry)
    r.button("book", on_button)
    r.notification(REMINDER_KIND, view.render_reminder)
    r.notification(CLOSED_KIND, view.render_closed)
