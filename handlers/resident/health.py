"""My health: conditions, birth year, follow-ups done, the follow-up plan, My readings, and the
follow-up reminders (rendered at send time). Logging a reading is in
handlers/resident/health_log.py."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Attachment, Button, Reply
from bot.domain.health import CONDITIONS, Reading
from bot.domain.outbox import OutboxRow
from bot.domain.residents import Resident
from bot.i18n import N_, Translator
from bot.layout import notification
from bot.router import Registry
from bot.runtime import Runtime
from bot.services.charts import BpPoint, GlucosePoint, TargetLines, readings_chart
from bot.services.clinical_reply import event_lines
from bot.services.followup import NOTIFICATION_KIND, Due, Reason
from bot.services.health import READINGS_WINDOW_DAYS
from bot.services.reading_view import reading_mark, reading_value

log = logging.getLogger(__name__)

HOME = cb("health", "home")
CONDITION_LABELS = {
    "hypertension": N_("Hypertension (high blood pressure)"),
    "diabetes2": N_("Type-2 diabetes"),
}
REASON_LABELS = {
    Reason.QUARTERLY: N_("Regular quarterly follow-up"),
    # Reminders planned before issue 15 carry no cause: this neutral label fits any.
    Reason.RECHECK: N_("Recheck after a reading off target or a medicine side effect"),
    Reason.REFERRAL: N_("Check after your referral"),
    Reason.ANNUAL: N_("Elderly annual health check (65+)"),
    Reason.COMPREHENSIVE: N_("Yearly comprehensive health check"),
    Reason.REFER_ADVISED: N_(
        "Referral advised: your last two follow-ups were above target, talk to your family "
        "doctor about seeing a specialist"
    ),
}
RECHECK_LABELS = {
    "high": N_("Recheck after a high reading"),
    "low": N_("Recheck after a low reading"),
    "side_effect": N_("Recheck after a medicine side effect"),
}
PREGNANCY_LABELS = {
    "none": N_("not recorded"),
    "pregnant": N_("pregnant"),
    "breastfeeding": N_("breastfeeding"),
}
EVENT_LABELS = {
    "followup": N_("🩺 I had a follow-up visit"),
    "annual_check": N_("🏥 I had my annual health check"),
    "side_effect": N_("💊 My medicine gives me side effects"),
    "referral": N_("🏥 My doctor referred me to a hospital"),
}
EVENT_DAYS_BACK = 6  # the date buttons: today and the six days before
EARLIEST_EVENT_DAYS = 60  # older dates are refused (a button from an old message)


def book_button(t: Translator, reason: Reason | str) -> Button:
    """One-tap booking; the booking feature owns the `bk` prefix."""
    kind = "annual" if str(reason) in (Reason.ANNUAL, Reason.COMPREHENSIVE) else "chronic"
    return Button(t.gettext("📅 Book it"), cb("book", "new", kind))


def reason_label(t: Translator, reason: Reason, why: str | None = None) -> str:
    """One label per follow-up, the recheck's naming its cause (high, low, side effect)."""
    if reason is Reason.RECHECK and why in RECHECK_LABELS:
        return t.gettext(RECHECK_LABELS[why])
    return t.gettext(REASON_LABELS[reason])


def due_line(t: Translator, item: Due) -> str:
    what = reason_label(t, item.reason, item.why)
    if item.overdue:
        return t.gettext("⏰ {what}: was due by {date}").format(what=what, date=t.date(item.due))
    return t.gettext("• {what}: due by {date}").format(what=what, date=t.date(item.due))


async def show(ctx: Ctx, edit: bool = False) -> None:
    """The My health screen: conditions, birth year, what is due, and the actions."""
    ctx.clear_state()
    health = ctx.services.health
    profile = await health.profile(ctx.user.id)
    dues = await health.due(ctx.user.id)
    names = ctx.t.list([ctx._(CONDITION_LABELS[c.condition]) for c in profile.conditions])
    lines = [
        ctx._("❤️ My health"),
        ctx._("Conditions: {names}").format(names=names or ctx._("none recorded")),
        ctx._("Birth year: {year}").format(
            year=profile.birth_year if profile.birth_year else ctx._("not set")
        ),
        ctx._("Pregnancy: {status}").format(status=ctx._(PREGNANCY_LABELS[profile.pregnancy])),
    ]
    if dues:
        lines.append(ctx._("Follow-ups:"))
        lines.extend(due_line(ctx.t, d) for d in dues)
    elif not profile.conditions:
        lines.append(
            ctx._(
                "If you have high blood pressure or diabetes, record it under My conditions: "
                "I will remind you of your follow-ups."
            )
        )
    buttons = [
        Button(ctx._("🩺 Log blood pressure"), cb("reading", "bp")),
        Button(ctx._("🩸 Log glucose"), cb("reading", "gl")),
        Button(ctx._("📈 My readings"), cb("health", "list")),
        Button(ctx._("📋 My conditions"), cb("health", "cond")),
        Button(ctx._("🎂 Birth year"), cb("health", "by")),
        Button(ctx._("🤰 Pregnancy"), cb("pregnancy", "show")),
        Button(ctx._("✅ Record a visit"), cb("health", "ev")),
    ]
    if dues:
        buttons.append(book_button(ctx.t, dues[0].reason))
    ctx.say("\n".join(lines), buttons, cols=2, home=True, edit=edit)


# -- conditions ---------------------------------------------------------------------------
async def show_conditions(ctx: Ctx, edit: bool = True) -> None:
    profile = await ctx.services.health.profile(ctx.user.id)
    buttons = []
    for key in CONDITIONS:
        on = profile.has(key)
        mark = "✅" if on else "⬜"
        buttons.append(
            Button(f"{mark} {ctx._(CONDITION_LABELS[key])}", cb("health", "tog", key, int(not on)))
        )
    ctx.say(
        ctx._(
            "My conditions. Tap to record or remove one. With a condition recorded, I remind "
            "you of your follow-ups with your family doctor."
        ),
        buttons,
        back=HOME,
        edit=edit,
    )


async def toggle(ctx: Ctx, data: Callback) -> None:
    data.expect(3, 4)
    key = data.choice(1, CONDITIONS)
    on = data.choice(2, ("0", "1")) == "1"
    confirmed = len(data.parts) == 4 and data.choice(3, ("ok",)) == "ok"
    label = ctx._(CONDITION_LABELS[key])
    health = ctx.services.health
    current = (await health.profile(ctx.user.id)).condition(key)
    if on == (current is not None):
        # A button from an older screen: the record already says so.
        ctx.notice(ctx._("Already up to date."))
        await show_conditions(ctx)
        return
    if not on and current is not None and current.set_by == "doctor":
        ctx.say(
            ctx._(
                "Your family doctor recorded {condition}. Please talk to your doctor if you "
                "think this is wrong."
            ).format(condition=label),
            back=cb("health", "cond"),
        )
        return
    if ctx.elder and not confirmed:
        question = (
            ctx._("Record that you have {condition}?")
            if on
            else ctx._("Remove {condition} from your record?")
        )
        ctx.say(
            question.format(condition=label),
            [
                Button(ctx._("✅ Yes"), cb("health", "tog", key, int(on), "ok")),
                Button(ctx._("❌ No"), cb("health", "cond")),
            ],
            cols=2,
            back=cb("health", "cond"),
        )
        return
    if on:
        await health.set_condition(ctx.user.id, key)
    else:
        await health.remove_condition(ctx.user.id, key)
    ctx.notice(ctx._("Saved."))
    await show_conditions(ctx, edit=not ctx.elder)


# -- birth year ---------------------------------------------------------------------------
async def birth_decades(ctx: Ctx) -> None:
    years = ctx.services.health.birth_years()
    first = max(1920, years.start // 10 * 10)
    decades = range(first, years.stop, 10)
    ctx.say(
        ctx._("In which decade were you born?"),
        [Button(f"{d}–{d + 9}", cb("health", "byd", d)) for d in decades],
        cols=3,
        back=HOME,
        edit=True,
    )


async def birth_years(ctx: Ctx, data: Callback) -> None:
    data.expect(2)
    allowed = ctx.services.health.birth_years()
    decade = data.int_part(1)
    if decade % 10 or decade not in allowed:
        raise StaleButton("decade out of range")
    years = [y for y in range(decade, decade + 10) if y in allowed]
    ctx.say(
        ctx._("Which year were you born?"),
        [Button(str(y), cb("health", "bys", y)) for y in years],
        cols=5,
        back=cb("health", "by"),
        edit=True,
    )


async def save_birth_year(ctx: Ctx, data: Callback) -> None:
    data.expect(2, 3)
    year = data.int_part(1)
    health = ctx.services.health
    if year not in health.birth_years():
        raise StaleButton("birth year out of range")
    confirmed = len(data.parts) == 3 and data.choice(2, ("ok",)) == "ok"
    if ctx.elder and not confirmed:
        ctx.say(
            ctx._("You were born in {year}. Is that right?").format(year=year),
            [
                Button(ctx._("✅ Yes"), cb("health", "bys", year, "ok")),
                Button(ctx._("❌ No"), cb("health", "by")),
            ],
            cols=2,
            back=cb("health", "by"),
        )
        return
    await health.set_birth_year(ctx.user.id, year)
    ctx.notice(ctx._("Saved."))
    await show(ctx)


# -- visits and events --------------------------------------------------------------------
async def event_kinds(ctx: Ctx) -> None:
    ctx.say(
        ctx._("What would you like to record?"),
        [Button(ctx._(label), cb("health", "evk", kind)) for kind, label in EVENT_LABELS.items()],
        back=HOME,
        edit=True,
    )


async def event_dates(ctx: Ctx, data: Callback) -> None:
    data.expect(2)
    kind = data.choice(1, tuple(EVENT_LABELS))
    today = ctx.services.health.today()
    buttons = []
    for back in range(EVENT_DAYS_BACK + 1):
        day = today - timedelta(days=back)
        label = (
            ctx._("Today")
            if back == 0
            else ctx._("Yesterday")
            if back == 1
            else ctx.t.weekday_date(day)
        )
        buttons.append(Button(label, cb("health", "evd", kind, day.strftime("%Y%m%d"))))
    ctx.say(
        ctx._("{what}: when was it?").format(what=ctx._(EVENT_LABELS[kind])),
        buttons,
        cols=2,
        back=cb("health", "ev"),
    )


async def save_event(ctx: Ctx, data: Callback) -> None:
    data.expect(3, 4)
    kind = data.choice(1, tuple(EVENT_LABELS))
    raw = data.part(2)
    try:
        day = datetime.strptime(raw, "%Y%m%d").date()
    except ValueError:
        raise StaleButton("bad date") from None
    health = ctx.services.health
    today = health.today()
    if day > today or day < today - timedelta(days=EARLIEST_EVENT_DAYS):
        raise StaleButton("date out of range")
    confirmed = len(data.parts) == 4 and data.choice(3, ("ok",)) == "ok"
    what = ctx._(EVENT_LABELS[kind])
    if ctx.elder and not confirmed:
        ctx.say(
            ctx._("Save this? {what}, {date}").format(what=what, date=ctx.t.date(day)),
            [
                Button(ctx._("✅ Yes"), cb("health", "evd", kind, raw, "ok")),
                Button(ctx._("❌ No"), cb("health", "ev")),
            ],
            cols=2,
            back=cb("health", "ev"),
        )
        return
    if kind == "side_effect":
        await _side_effect(ctx, day)
        return
    added = await health.record_event(ctx.user.id, kind, day)
    ctx.notice(ctx._("Saved.") if added else ctx._("Already recorded."))
    await show(ctx)


async def _side_effect(ctx: Ctx, day: date) -> None:
    """A side effect: what the rules say (the signs that mean 120, do not stop the medicine on
    your own) and the recheck, said only as far as it was planned."""
    result = await ctx.services.health.record_side_effect(ctx.user.id, day)
    lines = [ctx._("Saved.") if result.added else ctx._("Already recorded.")]
    due = ctx.t.date(result.recheck_due) if result.recheck_due is not None else None
    lines += event_lines(
        ctx._, ctx.services.clinical.content, result.decision, due, result.reminded
    )
    buttons = [Button(ctx._("❤️ My health"), HOME)]
    if result.recheck_due is not None:
        buttons.insert(0, book_button(ctx.t, Reason.RECHECK))
    ctx.say("\n".join(lines), buttons, home=True)


# -- my readings --------------------------------------------------------------------------
def reading_line(t: Translator, r: Reading) -> str:
    """One line of My readings: the stored decision's mark, when, the value and the wording
    (the same `reading_mark` the doctor's card and Flags show)."""
    m = reading_mark(r)
    when = t.weekday_datetime(r.taken_at.astimezone(t.tz))
    return f"{m.emoji} {when}  {reading_value(t, r)} · {t.gettext(m.wording)}"


async def show_readings(ctx: Ctx) -> None:
    """My readings: the last 30 days as text, and a chart (a photo where the channel can)."""
    ctx.clear_state()
    readings = await ctx.services.health.readings(ctx.user.id)
    buttons = [
        Button(ctx._("🩺 Log blood pressure"), cb("reading", "bp")),
        Button(ctx._("🩸 Log glucose"), cb("reading", "gl")),
        Button(ctx._("❤️ My health"), HOME),
    ]
    if not readings:
        ctx.say(
            ctx._("No readings in the last {days} days yet.").format(days=READINGS_WINDOW_DAYS),
            buttons,
            cols=2,
            home=True,
        )
        return
    tz = ctx.rt.settings.tz
    bp = [
        BpPoint(r.taken_at.astimezone(tz), r.systolic or 0, r.diastolic or 0, reading_mark(r).level)
        for r in readings
        if r.kind == "bp"
    ]
    gl = [
        GlucosePoint(
            r.taken_at.astimezone(tz),
            r.glucose or 0.0,
            r.context == "after_meal",
            reading_mark(r).level,
        )
        for r in readings
        if r.kind == "glucose"
    ]
    health = ctx.services.health
    person = await health.person(ctx.user.id)
    rules = health.clinical
    targets = TargetLines(
        rules.target_line("blood_pressure", "systolic", "home", person),
        rules.target_line("blood_pressure", "diastolic", "home", person),
        rules.target_line("glucose", "glucose", "fasting", person),
    )
    # Drawing takes a moment of CPU: off the event loop, so other residents are not kept waiting.
    chart = await asyncio.to_thread(
        readings_chart, bp, gl, ctx.t, ctx.rt.catalogs.get("en"), targets=targets
    )
    ctx.reply(
        Reply(
            photo=Attachment(
                "readings.png", chart.png, "image/png", ctx._("My readings, last 30 days")
            )
        )
    )
    lines = [ctx._("My readings, last {days} days:").format(days=READINGS_WINDOW_DAYS)]
    if chart.note:
        lines.append(chart.note)
    lines.extend(reading_line(ctx.t, r) for r in reversed(readings))
    lines.append(
        ctx._(
            "✅ on target for you · ⚠️ off target · 🚨 urgent. On the chart a red ring marks "
            "🚨 and an orange ring ⚠️; the dashed lines are your home blood pressure and "
            "fasting glucose targets."
        )
    )
    ctx.say("\n".join(lines), buttons, cols=2, home=True)


# -- routing ------------------------------------------------------------------------------
async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.part(0)
    if action == "home":
        data.expect(1)
        await show(ctx, edit=True)
    elif action == "cond":
        data.expect(1)
        await show_conditions(ctx)
    elif action == "tog":
        await toggle(ctx, data)
    elif action == "by":
        data.expect(1)
        await birth_decades(ctx)
    elif action == "byd":
        await birth_years(ctx, data)
    elif action == "bys":
        await save_birth_year(ctx, data)
    elif action == "ev":
        data.expect(1)
        await event_kinds(ctx)
    elif action == "evk":
        await event_dates(ctx, data)
    elif action == "evd":
        await save_event(ctx, data)
    elif action == "list":
        data.expect(1)
        await show_readings(ctx)
    else:
        raise StaleButton(f"unknown action {action!r}")


async def health_command(ctx: Ctx) -> None:
    await show(ctx)


# -- reminders ----------------------------------------------------------------------------
async def render_followup(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """A follow-up reminder in the resident's language, with a one-tap "Book it"."""
    reason = Reason(row.params["reason"])
    due = date.fromisoformat(row.params["due"])
    what = reason_label(t, reason, row.params.get("why"))
    when = t.date(due)
    stage = row.key.rpartition(".")[2]
    if stage == "overdue":
        text = t.gettext("⏰ {what} was due by {date}. Please book a visit soon.")
    elif stage == "week":
        text = t.gettext("📅 This week: {what} is due by {date}.")
    else:
        text = t.gettext("📅 Coming up: {what} is due by {date}. Book a visit in good time.")
    done_kind = {
        Reason.ANNUAL: "annual_check",
        Reason.COMPREHENSIVE: "annual_check",
        Reason.REFER_ADVISED: "referral",
    }.get(reason, "followup")
    buttons = (
        (book_button(t, reason),),
        (Button(t.gettext("✅ Already done"), cb("health", "evk", done_kind)),),
        (Button(t.gettext("❤️ My health"), HOME),),
    )
    return [notification(t, resident.elder_mode, text.format(what=what, date=when), buttons)]


async def scan(rt: Runtime) -> None:
    """Daily: re-plan every resident's follow-up reminders (and cancel stale ones)."""
    added, cancelled = await rt.services.health.replan_all()
    log.info("follow-up scan: %s reminders planned, %s cancelled", added, cancelled)


def register(r: Registry) -> None:
    r.top("health", HOME)
    r.menu_item("health", show)
    r.command("health", health_command)
    r.command("readings", show_readings)
    r.button("health", on_button)
    r.notification(NOTIFICATION_KIND, render_followup)
    r.job("followup.scan", scan, trigger="cron", hour=7, minute=40)
