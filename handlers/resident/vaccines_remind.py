"""Children's vaccine reminders: rendered at send time, with "Done ✅" (today or a picked date),
"Remind me in 3 days" and "Book"; "Record a dose" from the card; the daily planning job.
In elder mode a dose is saved only after "✅ Yes", and every reminder offers 🏠 Home.

A reminder is re-checked when it is sent: doses recorded since it was planned are left out,
and nothing is sent if none is left or the resident no longer follows the child.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.vaccines import ChildRecord
from bot.layout import notification
from bot.router import Registry
from bot.services.vaccines.children import ChildError, ChildService
from bot.services.vaccines.dose_state import Shown, dose_state, states
from bot.services.vaccines.engine import Status
from bot.services.vaccines.model import add_span
from bot.services.vaccines.reminder_plan import ASK_KEY, KIND
from handlers import promises
from handlers.resident import vaccines as main
from handlers.resident import vaccines_view as view
from handlers.resident.vaccines_add import confirm, ok_tapped, parse_day

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


def _status_line(t: Translator, svc: ChildService, dose: str, record: ChildRecord) -> str | None:
    plan = svc.plan(record)
    d = plan.get(dose)
    if d is None or not d.open:
        return None
    label = view.dose_label(t, svc, d.vaccine, d.number, d.dose)
    when = view.dose_when(t, dose_state(d, plan.today), plan.today)
    what = view.protects(t, svc, d.vaccine)
    tail = ("\n  " + t.gettext("protects against {what}").format(what=what)) if what else ""
    return f"• {label} — {when}{tail}"


async def render_child(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """A child's reminder: the doses still open now; nothing if none is left."""
    svc = rt.services.children
    record = await svc.mine(resident.id, int(row.params.get("child", 0)))
    if record is None:
        return []
    name = view.child_name(t, record.child)
    cid = record.child.id
    doses = [str(item[0]) for item in row.params.get("doses", []) if item]
    book = Button(t.gettext("📅 Book a vaccination visit"), main.BOOK)
    if row.key == ASK_KEY:
        plan = svc.plan(record)
        d = plan.get(doses[0]) if doses else None
        if d is None or d.status is not Status.MISSED:
            return []
        text = t.gettext(
            "💉 {name}: {dose} is no longer given at this age, so I will stop reminding you. "
            "Please ask the vaccination clinic whether anything else is needed."
        ).format(name=name, dose=view.dose_label(t, svc, d.vaccine, d.number, d.dose))
        card = Button(t.gettext("👶 Card"), main.card_data(cid))
        return [notification(t, resident.elder_mode, text, ((book,), (card,)))]
    lines: list[str] = []
    rows: list[tuple[Button, ...]] = []
    plan = svc.plan(record)
    for dose in doses:
        line = _status_line(t, svc, dose, record)
        planned = plan.get(dose)
        if line and planned is not None:
            lines.append(line)
            label = view.dose_label(t, svc, planned.vaccine, planned.number, dose)
            done = t.gettext("✅ Done: {dose}").format(dose=label)
            rows.append((Button(done, cb("vaxremind", "done", cid, dose)),))
    if not lines:
        return []
    text = t.gettext("💉 Vaccine reminder for {name}:").format(name=name) + "\n" + "\n".join(lines)
    rows.append((Button(t.gettext("⏰ Remind me in 3 days"), cb("vaxremind", "snz", row.id)),))
    rows.append((book,))
    return [notification(t, resident.elder_mode, text, rows)]


# -- recording a dose --------------------------------------------------------------------------


def _known(ctx: Ctx, dose: str) -> str:
    if dose not in ctx.services.children.planner.dose_codes:
        raise StaleButton("unknown dose")
    return dose


def _label(ctx: Ctx, record: ChildRecord, dose: str) -> str:
    """The dose as residents read it: vaccine name, dose number, and the code."""
    svc = ctx.services.children
    planned = svc.plan(record).get(dose)
    if planned is None:
        return dose
    return view.dose_label(ctx.t, svc, planned.vaccine, planned.number, dose)


async def pick(ctx: Ctx, record: ChildRecord) -> None:
    """Which dose to record: the open ones first (late, due, next), then those missed."""
    svc = ctx.services.children
    plan = svc.plan(record)
    today, born = svc.today(), record.child.born
    # Only doses whose earliest age has come: one the child is too young for cannot be given.
    doses = [
        s.dose
        for s in states(plan)
        if s.shown is not Shown.CLOSED
        and add_span(born, svc.dose_age_months(s.dose.dose), 0) <= today
    ][:12]
    buttons = [
        Button(
            view.dose_label(ctx.t, svc, d.vaccine, d.number, d.dose),
            cb("vaxremind", "done", record.child.id, d.dose),
        )
        for d in doses
    ]
    ctx.say(
        ctx._("Which dose was given?"), buttons, back=main.card_data(record.child.id), edit=True
    )


async def when(ctx: Ctx, record: ChildRecord, dose: str) -> None:
    today = ctx.services.children.today()
    cid = record.child.id
    buttons = [
        Button(
            ctx._("Today ({date})").format(date=ctx.t.date(today)),
            cb("vaxremind", "on", cid, dose, today.strftime("%Y%m%d")),
        ),
        Button(
            ctx._("Yesterday"),
            cb("vaxremind", "on", cid, dose, (today - timedelta(days=1)).strftime("%Y%m%d")),
        ),
        Button(ctx._("📅 Another day"), cb("vaxremind", "py", cid, dose)),
    ]
    if today - timedelta(days=1) < record.child.born:
        buttons.pop(1)
    ctx.say(
        ctx._("When was {dose} given?").format(dose=_label(ctx, record, dose)),
        buttons,
        back=main.card_data(cid),
    )


async def record_on(
    ctx: Ctx, record: ChildRecord, dose: str, on: date, confirmed: bool = False
) -> None:
    svc = ctx.services.children
    label = _label(ctx, record, dose)
    if ctx.elder and not confirmed:
        if not record.child.born <= on <= svc.today():
            raise StaleButton("date out of range")
        confirm(
            ctx,
            ctx._("Save: {dose} given on {date}?").format(dose=label, date=ctx.t.date(on)),
            cb("vaxremind", "on", record.child.id, dose, on.strftime("%Y%m%d"), "ok"),
            main.card_data(record.child.id),
        )
        return
    try:
        await svc.record_doses(record, {dose: on})
    except ChildError as exc:
        raise StaleButton(str(exc)) from None
    fresh = await svc.mine(ctx.user.id, record.child.id)
    assert fresh is not None
    ctx.notice(ctx._("Recorded."))
    # Composed from the plan after saving: a dose given too early is stored but does not count.
    planned = svc.plan(fresh).get(dose)
    if planned is not None and planned.given_too_early == on:
        head = ctx._(
            "⚠️ Recorded: {dose} given on {date}. That is earlier than the schedule allows "
            "(by age, or too soon after the previous dose), so it does not count as this dose "
            "and I keep it planned. Please ask the vaccination clinic."
        ).format(dose=label, date=ctx.t.date(on))
    else:
        head = ctx._("✅ Recorded: {dose} given on {date}.").format(dose=label, date=ctx.t.date(on))
    await main.card(ctx, fresh, head=head)


async def pick_year(ctx: Ctx, record: ChildRecord, dose: str) -> None:
    today = ctx.services.children.today()
    buttons = [
        Button(str(y), cb("vaxremind", "pm", record.child.id, dose, y))
        for y in range(today.year, record.child.born.year - 1, -1)
    ]
    ctx.say(ctx._("In which year?"), buttons, cols=4, back=main.card_data(record.child.id))


async def pick_month(ctx: Ctx, record: ChildRecord, dose: str, year: int) -> None:
    today = ctx.services.children.today()
    born = record.child.born
    if not born.year <= year <= today.year:
        raise StaleButton("year out of range")
    first = born.month if year == born.year else 1
    last = today.month if year == today.year else 12
    buttons = [
        Button(ctx.t.month_name(m), cb("vaxremind", "pd", record.child.id, dose, f"{year}{m:02d}"))
        for m in range(first, last + 1)
    ]
    ctx.say(
        ctx._("In which month?"), buttons, cols=4, back=cb("vaxremind", "py", record.child.id, dose)
    )


async def pick_day(ctx: Ctx, record: ChildRecord, dose: str, month: date) -> None:
    today = ctx.services.children.today()
    born = record.child.born
    n = calendar.monthrange(month.year, month.month)[1]
    days = [
        d for d in (date(month.year, month.month, i) for i in range(1, n + 1)) if born <= d <= today
    ]
    if not days:
        raise StaleButton("month out of range")
    buttons = [
        Button(str(d.day), cb("vaxremind", "on", record.child.id, dose, d.strftime("%Y%m%d")))
        for d in days
    ]
    ctx.say(
        ctx._("On which day?"),
        buttons,
        cols=7,
        grid=True,
        back=cb("vaxremind", "pm", record.child.id, dose, month.year),
    )


async def snooze(ctx: Ctx, row_id: int) -> None:
    params = await ctx.services.child_reminders.own_reminder(ctx.user.id, row_id)
    if params is None:
        raise StaleButton("not this resident's reminder")
    record = await ctx.services.children.mine(ctx.user.id, int(params.get("child", 0)))
    if record is None:
        raise StaleButton("child gone")
    reminders = ctx.services.child_reminders
    rows = await reminders.snooze(ctx.user.id, row_id, record.child.id, params)
    ctx.notice(ctx._("OK"))
    ctx.say(
        promises.reminders(
            ctx.t,
            rows,
            ctx._("Sorry, no new reminder could be set. The card shows what is due."),
            await promises.arrivals(ctx.services.send_times, rows),
        ),
        [Button(ctx._("👶 Card"), main.card_data(record.child.id))],
        home=True,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("pick", "done", "on", "py", "pm", "pd", "snz"))
    if action == "snz":
        data.expect(2)
        await snooze(ctx, data.int_part(1))
        return
    record = await main.mine(ctx, data, 1)
    if action == "pick":
        data.expect(2)
        await pick(ctx, record)
        return
    dose = _known(ctx, data.part(2))
    if action == "done":
        data.expect(3)
        await when(ctx, record, dose)
    elif action == "py":
        data.expect(3)
        await pick_year(ctx, record, dose)
    elif action == "pm":
        data.expect(4)
        await pick_month(ctx, record, dose, data.int_part(3))
    elif action == "pd":
        data.expect(4)
        await pick_day(ctx, record, dose, parse_day(data.part(3) + "01", "%Y%m%d"))
    else:
        data.expect(4, 5)
        await record_on(ctx, record, dose, parse_day(data.part(3), "%Y%m%d"), ok_tapped(data, 4))


async def plan_daily(rt: Runtime) -> None:
    """Re-plan every child's reminders (streamed in batches) and the adults' ones."""
    await rt.services.child_reminders.replan_all()
    await rt.services.adult_vaccines.plan_all()


async def catch_up(rt: Runtime) -> None:
    """If the bot was down at the nightly run, plan now (dedupe makes it safe)."""
    rt.spawn(plan_daily(rt), name="vaccines.catch-up")


async def check_schedules(rt: Runtime) -> None:
    """Load the schedule at start-up: broken files stop the bot with a clear message."""
    planner = rt.services.child_reminders.planner
    if not planner.dose_codes:
        raise RuntimeError("content/vaccines holds no doses")


def register(r: Registry) -> None:
    r.top("vaxremind", main.MENU)
    r.button("vaxremind", on_button)
    r.notification(KIND, render_child)
    r.on_startup(check_schedules)
    r.on_background(catch_up)
    # 00:45 deployment time: reminders are planned long before the 09:30 sending time.
    r.job("vaccines.plan", plan_daily, trigger="cron", hour=0, minute=45)
