"""The doctor's day: Today (visits today and tomorrow; came / no-show), Overdue (one-tap
reminders), Flags (danger-sign readings), and a resident's card. Every button names a visit
or a resident by id; the service checks that it is the doctor's own before anything is shown.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.booking import Appointment
from bot.domain.directory import Doctor
from bot.domain.health import Reading
from bot.router import Registry
from bot.services.booking import REASON_LABELS as VISIT_LABELS
from bot.services.doctor_day import NOSHOW_KIND, REMINDER_KIND, NotYours, TooEarly
from bot.services.followup import Reason
from bot.services.reading_view import reading_summary
from handlers import promises
from handlers.doctor import medicines as doctor_medicines
from handlers.doctor.desk import MENU, NotADoctor, require
from handlers.emergency import flag_lines
from handlers.resident import vaccines_view
from handlers.resident.health import CONDITION_LABELS
from handlers.resident.health import REASON_LABELS as FOLLOWUP_LABELS

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

PAGE = 8
TODAY = cb("day", "today")
STATUS_MARKS = {"booked": "⏳", "attended": "✅", "no_show": "❌"}
# Which booking reason a reminder's "Book" button starts with.
BOOK_FOR = {Reason.ANNUAL: "annual", Reason.COMPREHENSIVE: "annual"}


def _name(ctx: Ctx, name: str, resident_id: int) -> str:
    return name or ctx._("Resident #{id}").format(id=resident_id)


def _time(ctx: Ctx, at: datetime) -> str:
    return ctx.t.time(at)


def reading_text(t: Translator, r: Reading) -> str:
    """The mark, value and wording as the resident sees them (`reading_summary`), and when."""
    return f"{reading_summary(t, r)} · {t.datetime(r.taken_at)}"


async def today(ctx: Ctx, doctor: Doctor) -> None:
    day = ctx.services.doctor_day
    lines, buttons = [], []
    for offset, title in ((0, ctx._("Today")), (1, ctx._("Tomorrow"))):
        d = ctx.now().date() + timedelta(days=offset)
        visits = await day.visits(doctor, d)
        lines.append(f"{title} · {ctx.t.weekday_date(d)}")
        if not visits:
            lines.append("  " + ctx._("no visits booked"))
        for v in visits:
            a = v.appointment
            who = _name(ctx, v.name, a.resident_id)
            why = ctx._(VISIT_LABELS.get(a.reason, a.reason))
            lines.append(
                f"  {STATUS_MARKS.get(a.status, '')} {_time(ctx, a.start_at)} {who} · {why}"
            )
            # Came / no-show only once the visit has started (checked again on every press).
            if offset == 0 and day.can_mark_now(a):
                at = _time(ctx, a.start_at)
                buttons.append(
                    [
                        Button(ctx._("✅ {time} came").format(time=at), cb("day", "att", a.id)),
                        Button(ctx._("❌ {time} no-show").format(time=at), cb("day", "ns", a.id)),
                    ]
                )
    ctx.say("\n".join(lines), buttons, back=MENU, edit=True)


async def ask_noshow(ctx: Ctx, doctor: Doctor, appt: Appointment) -> None:
    """A no-show sends the resident a message: ask before anything is marked or sent."""
    names = await ctx.services.doctors.names(doctor, [appt.resident_id])
    who = _name(ctx, names.get(appt.resident_id, ""), appt.resident_id)
    ctx.say(
        ctx._(
            "Mark {name}'s visit at {time} as a no-show? They will get a message that they "
            "were missed, with a button to book again."
        ).format(name=who, time=_time(ctx, appt.start_at)),
        [[Button(ctx._("❌ Yes, no-show"), cb("day", "nsok", appt.id))]],
        back=TODAY,
        edit=True,
    )


async def overdue(ctx: Ctx, doctor: Doctor, offset: int) -> None:
    items = await ctx.services.doctor_day.overdue(doctor)
    if not items:
        ctx.say(ctx._("Nobody in your team is overdue. 🎉"), back=MENU, edit=True)
        return
    page = items[offset : offset + PAGE]
    if not page:
        raise StaleButton("page out of range")
    lines = [
        ctx.ngettext(
            "{n} overdue follow-up, oldest first:",
            "{n} overdue follow-ups, oldest first:",
            len(items),
        ).format(n=ctx.t.number(len(items)))
    ]
    rows = []
    for i, item in enumerate(page, start=offset + 1):
        who = _name(ctx, item.name, item.resident_id)
        lines.append(
            f"{i}. {who} · {ctx._(FOLLOWUP_LABELS[item.reason])} · "
            + ctx._("due {date}").format(date=ctx.t.date(item.due))
        )
        rows.append(
            [
                Button(
                    ctx._("🔔 Remind {n}").format(n=i),
                    cb("day", "rem", item.resident_id, item.reason),
                ),
                Button(ctx._("🗂 Card {n}").format(n=i), cb("day", "card", item.resident_id)),
            ]
        )
    nav = []
    if offset > 0:
        nav.append(Button(ctx._("◀️ Earlier"), cb("day", "over", max(0, offset - PAGE))))
    if offset + PAGE < len(items):
        nav.append(Button(ctx._("▶️ More"), cb("day", "over", offset + PAGE)))
    rows += [nav] if nav else []
    ctx.say("\n".join(lines), rows, back=MENU, edit=True)


async def flags(ctx: Ctx, doctor: Doctor) -> None:
    urgent, buttons = await flag_lines(ctx, doctor, first=1)  # emergency words (issue 12)
    rows = await ctx.services.doctor_day.flags(doctor)
    med_lines, med_buttons = await doctor_medicines.missed_section(ctx, doctor)
    if not rows and not urgent:
        text = ctx._("No danger-sign readings. 🎉")
        ctx.say("\n".join([text, *med_lines]), med_buttons, cols=3, back=MENU, edit=True)
        return
    lines = [*urgent, ctx._("🚩 Danger-sign readings, newest first:")]
    if not rows:
        lines.append("  " + ctx._("none"))
    for i, row in enumerate(rows, start=len(buttons) + 1):
        who = _name(ctx, row.name, row.flag.resident_id)
        reading = reading_text(ctx.t, row.flag.reading) if row.flag.reading else ""
        new = "🆕 " if row.flag.seen_at is None else ""
        lines.append(f"{i}. {new}" + ctx.t.labelled(who, reading))
        buttons.append(
            Button(ctx._("🗂 Card {n}").format(n=i), cb("day", "card", row.flag.resident_id))
        )
    lines += med_lines
    buttons += med_buttons
    ctx.say("\n".join(lines), buttons, cols=3, back=MENU, edit=True)


async def card(ctx: Ctx, doctor: Doctor, resident_id: int) -> None:
    c = await ctx.services.doctor_day.card(doctor, resident_id)
    lines = [f"🗂 {_name(ctx, c.name, c.resident_id)}"]
    lines.append(
        ctx._("Age: {age}").format(age=c.age) if c.age is not None else ctx._("Age: not given")
    )
    conditions = ctx.t.list([ctx._(CONDITION_LABELS.get(x, x)) for x in c.conditions])
    lines.append(ctx._("Conditions: {list}").format(list=conditions or ctx._("none recorded")))
    lines.append(ctx._("Last readings:"))
    lines += [f"  {reading_text(ctx.t, r)}" for r in c.readings] or ["  " + ctx._("none")]
    if c.next_visit is not None:
        at = c.next_visit.start_at.astimezone(ctx.t.tz)
        why = ctx._(VISIT_LABELS.get(c.next_visit.reason, c.next_visit.reason))
        lines.append(ctx._("Next visit: {when} · {why}").format(when=ctx.t.datetime(at), why=why))
    else:
        lines.append(ctx._("Next visit: none booked"))
    if not c.children:
        lines.append(ctx._("Children's vaccines: no children recorded"))
    for child in c.children:
        # The same states and words as the resident's card (dose_state, dose_when).
        name = child.nickname or ctx._("child born {date}").format(date=ctx.t.date(child.born))
        shown = [*child.now, *([child.next] if child.next else [])]
        if not shown:
            lines.append(ctx._("👶 {name}: up to date").format(name=name))
            continue
        lines.append(ctx._("👶 {name}:").format(name=name))
        lines += [
            "  "
            + ctx._("{dose}: {when}").format(
                dose=s.code, when=vaccines_view.dose_when(ctx.t, s, child.today)
            )
            for s in shown
        ]
    lines += await doctor_medicines.card_lines(ctx, c.resident_id)
    ctx.say("\n".join(lines), back=MENU, edit=True)


async def _reminder_notice(ctx: Ctx, planned: bool, key: str) -> str:
    """What happened to the reminder row, read back from the outbox by the one function the
    desk uses for every notification: "sent" only once it was; otherwise when it goes out
    (the resident's quiet hours may hold it until the morning)."""
    state = await ctx.services.send_times.state(key)
    if planned:
        return promises.delivery(ctx.t, state, ctx.now(), ctx._("Reminder sent."))
    # Today's reminder was made before: "already reminded" only once it was sent.
    return ctx.t.sentences(
        [
            ctx._("Today's reminder was already made."),
            promises.delivery(ctx.t, state, ctx.now(), ctx._("It has been sent.")),
        ]
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("today", "att", "ns", "nsok", "over", "rem", "flags", "card"))
    doctor = await require(ctx, f"drd:{action}")
    service = ctx.services.doctor_day
    try:
        if action == "today":
            await today(ctx, doctor)
        elif action == "ns":
            await ask_noshow(ctx, doctor, await service.markable(doctor, data.int_part(1)))
        elif action in ("att", "nsok"):
            await service.mark(doctor, data.int_part(1), attended=action == "att")
            ctx.notice(ctx._("Saved."))
            await today(ctx, doctor)
        elif action == "over":
            await overdue(ctx, doctor, data.int_part(1))
        elif action == "rem":
            reason = Reason(data.choice(2, frozenset(str(r) for r in Reason)))
            rid = data.int_part(1)
            sent = await service.remind(doctor, rid, reason)
            ctx.notice(await _reminder_notice(ctx, sent, service.reminder_key(rid, reason)))
            await overdue(ctx, doctor, 0)
        elif action == "flags":
            await flags(ctx, doctor)
        else:
            await card(ctx, doctor, data.int_part(1))
    except TooEarly as early:
        ctx.say(
            ctx._(
                "The visit at {time} has not started yet, so it cannot be marked. Nothing was "
                "changed and nothing was sent."
            ).format(time=_time(ctx, early.appointment.start_at)),
            back=TODAY,
            edit=True,
        )
    except NotYours:
        await ctx.services.doctors.denied(ctx.user, doctor, f"drd:{action}")
        raise NotADoctor(f"not the doctor's: drd:{action}") from None


# -- what the resident receives ----------------------------------------------------------------
async def _doctor_name(rt: Runtime, t: Translator, doctor_id: str) -> str:
    d = await rt.services.directory.doctor(doctor_id)
    if d is None:
        return t.gettext("your family doctor")
    return names.doctor_name(t.locale, d)


async def render_noshow(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    reason = str(row.params.get("reason", "general"))
    text = t.gettext(
        "We missed you at your visit today. We hope you are well. Would you like to book again?"
    )
    book = Button(
        t.gettext("📅 Book again"),
        cb("book", "new", reason if reason in VISIT_LABELS else "general"),
    )
    return [Reply(text=text, buttons=((book,),))]


async def render_reminder(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    reason = Reason(str(row.params.get("reason", "quarterly")))
    due = date.fromisoformat(str(row.params.get("due")))
    text = t.gettext(
        "⏰ A reminder from your family doctor {doctor}: {what} was due by {date}. "
        "Please book a visit."
    ).format(
        doctor=await _doctor_name(rt, t, str(row.params.get("doctor_id", ""))),
        what=t.gettext(FOLLOWUP_LABELS[reason]),
        date=t.date(due),
    )
    book = Button(t.gettext("📅 Book a visit"), cb("book", "new", BOOK_FOR.get(reason, "chronic")))
    return [Reply(text=text, buttons=((book,),))]


def register(r: Registry) -> None:
    r.top("day", MENU)
    r.button("day", on_button, open=True)
    r.notification(NOSHOW_KIND, render_noshow)
    r.notification(REMINDER_KIND, render_reminder)
