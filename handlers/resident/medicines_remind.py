"""Medicine reminders as they arrive (rendered at send time from the doses still open), the
answers ✅ Taken · ⏰ 30 min later · ✖ Skipped, the weekly summary, and the planning jobs.

Every answer is written before the reply is composed, and the reply reads what was stored.
The wording never suggests taking a dose twice: the repeat and the "later" reminder ask
whether it was taken, and say never to double up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Attachment, Button, Reply
from bot.domain.medicines import DOSE_KIND, WEEKLY_KIND, DayCount, DoseStatus
from bot.layout import notification
from bot.router import Registry
from bot.services import medicines_view as view
from bot.services.medicines import SlotDose
from bot.services.medicines_images import adherence_png

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


def _dose_lines(t: Translator, doses: Sequence[SlotDose]) -> list[str]:
    return [
        "• "
        + view.entry_name(t, d.entry)
        + " — "
        + view.dose_text(t, d.entry.amount, d.entry.unit)
        + " · "  # as on the list (`view.entry_line`): no ASCII comma in Chinese text
        + t.gettext(view.MEALS_LABELS[d.entry.meals])
        for d in doses
    ]


def answer_rows(t: Translator, row_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(t.gettext("✅ Taken"), cb("dose", "tk", row_id)),
            Button(t.gettext("⏰ 30 min later"), cb("dose", "sz", row_id)),
            Button(t.gettext("✖ Skipped"), cb("dose", "sk", row_id)),
        ),
    )


async def render_dose(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """One message for everything still open at this moment; nothing if all is answered."""
    at = int(row.params.get("at", 0))
    svc = rt.services.medicines
    open_doses = [d for d in await svc.slot(resident.id, at) if d.dose.status is DoseStatus.DUE]
    if not open_doses:
        return []
    when = view.moment_text(t, at)
    if row.key == "due":
        head = t.gettext("💊 Time for your {time} medicines:").format(time=when)
        tail = t.gettext("Take them as your doctor told you, then tap ✅ Taken.")
    else:
        head = t.gettext("💊 A gentle reminder: have you taken your {time} medicines?").format(
            time=when
        )
        tail = t.sentences(
            [
                t.gettext(
                    "If you have, tap ✅ Taken. If you are not sure, do not take them again."
                ),
                t.gettext(view.NO_DOUBLE),
            ]
        )
    text = "\n".join([head, *_dose_lines(t, open_doses), tail])
    return [notification(t, resident.elder_mode, text, answer_rows(t, row.id))]


async def _row(ctx: Ctx, row_id: int) -> OutboxRow:
    row = await ctx.services.medicines.reminder_row(ctx.user.id, row_id)
    if row is None:
        raise StaleButton("not this resident's medicine reminder")
    return row


def _names(ctx: Ctx, doses: Sequence[SlotDose]) -> str:
    return ctx.t.list([view.entry_name(ctx.t, d.entry) for d in doses])


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("tk", "sk", "sz"))
    data.expect(2)
    row = await _row(ctx, data.int_part(1))
    at = int(row.params.get("at", 0))
    svc = ctx.services.medicines
    when = view.moment_text(ctx.t, at)
    if action == "sz":
        statuses = {d.dose.status for d in await svc.slot(ctx.user.id, at)}
        if DoseStatus.DUE not in statuses:
            if DoseStatus.MISSED in statuses:
                # Too late to remind again: the next dose may be near.
                ctx.say(
                    ctx.t.sentences(
                        [
                            ctx._(
                                "It is more than 3 hours past {time}, so I will not remind "
                                "you again for these. If you took them, tap ✅ Taken."
                            ).format(time=when),
                            ctx._(view.NO_DOUBLE),
                        ]
                    ),
                    list(answer_rows(ctx.t, row.id)[0][::2]),
                    cols=2,
                    home=True,
                )
                return
            await _already(ctx, at)
            return
        _, due = await svc.snooze(ctx.user.id, at, row.id)
        ctx.notice(ctx._("OK, later."))
        ctx.say(
            ctx._("⏰ I'll remind you again at {time} about your {moment} medicines.").format(
                time=view.moment_text(ctx.t, due), moment=when
            ),
            home=True,
        )
        return
    answered = await svc.answer(ctx.user.id, at, taken=action == "tk")
    if answered == 0:
        await _already(ctx, at)
        return
    doses = await svc.slot(ctx.user.id, at)
    status = DoseStatus.TAKEN if action == "tk" else DoseStatus.SKIPPED
    mine = [d for d in doses if d.dose.status is status]
    if status is DoseStatus.TAKEN:
        ctx.notice(ctx._("Well done."))
        text = ctx._("✅ Recorded as taken ({time}): {names}.").format(
            time=when, names=_names(ctx, mine)
        )
    else:
        ctx.notice(ctx._("Noted."))
        text = ctx.t.sentences(
            [
                ctx._("✖ Recorded as skipped ({time}): {names}.").format(
                    time=when, names=_names(ctx, mine)
                ),
                ctx._(view.NO_DOUBLE),
                ctx._("If you skip often, please tell your family doctor."),
            ]
        )
    ctx.say(text, [Button(ctx._("💊 My medicines"), cb("medicines", "list"))], home=True)


async def _already(ctx: Ctx, at: int) -> None:
    """The moment was answered before (another button, another device): say what is stored."""
    doses = await ctx.services.medicines.slot(ctx.user.id, at)
    taken = [d for d in doses if d.dose.status is DoseStatus.TAKEN]
    skipped = [d for d in doses if d.dose.status is DoseStatus.SKIPPED]
    lines = [ctx._("Already recorded, nothing changed:")]
    if taken:
        lines.append(ctx._("✅ taken: {names}").format(names=_names(ctx, taken)))
    if skipped:
        lines.append(ctx._("✖ skipped: {names}").format(names=_names(ctx, skipped)))
    if not taken and not skipped:
        lines = [ctx._("These medicines are no longer on your list, so nothing was recorded.")]
    ctx.notice(ctx._("Already recorded."))
    ctx.say(
        "\n".join(lines), [Button(ctx._("💊 My medicines"), cb("medicines", "list"))], home=True
    )


# -- the weekly summary ----------------------------------------------------------------------
def summary_text(t: Translator, days: Sequence[DayCount]) -> str:
    """The week in words: totals, then one line per day (the same counts as the chart)."""
    taken = sum(d.taken for d in days)
    missed = sum(d.not_taken for d in days)
    still = sum(d.due for d in days)
    lines = [
        t.gettext("{first} – {last}").format(
            first=t.weekday_date(days[0].day), last=t.weekday_date(days[-1].day)
        ),
        t.ngettext("✅ {n} dose taken", "✅ {n} doses taken", taken).format(n=taken),
        t.ngettext("✖ {n} dose missed or skipped", "✖ {n} doses missed or skipped", missed).format(
            n=missed
        ),
    ]
    if still:
        lines.append(
            t.ngettext("{n} dose still to come", "{n} doses still to come", still).format(n=still)
        )
    for d in days:
        if d.taken or d.not_taken or d.due:
            lines.append(
                t.gettext("{day}: {taken} taken, {missed} missed").format(
                    day=t.weekday_date(d.day), taken=d.taken, missed=d.not_taken
                )
            )
    if missed:
        lines.append(t.gettext(view.NO_DOUBLE))
    return "\n".join(lines)


async def render_weekly(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    svc = rt.services.medicines
    first = date.fromisoformat(str(row.params.get("from")))
    days = await svc.days(resident.id, first)
    if not any(d.taken or d.not_taken for d in days):
        return []
    text = t.gettext("📊 Your medicines last week") + "\n" + summary_text(t, days)
    image = Attachment("week.png", adherence_png(t, days, rt.catalogs.get("en")), "image/png")
    return [
        Reply(photo=image, text=t.gettext("📊 Your medicines last week")),
        notification(
            t,
            resident.elder_mode,
            text,
            ((Button(t.gettext("💊 My medicines"), cb("medicines", "list")),),),
        ),
    ]


# -- jobs ------------------------------------------------------------------------------------
async def plan_tomorrow(rt: Runtime) -> None:
    svc = rt.services.medicines
    await svc.plan_day(svc.today() + timedelta(days=1))


async def plan_repeats(rt: Runtime) -> None:
    await rt.services.medicines.plan_repeats()


async def plan_weekly(rt: Runtime) -> None:
    await rt.services.medicines.plan_weekly()


async def catch_up(rt: Runtime) -> None:
    """At start-up: plan the rest of today and tomorrow (the nightly run may have been
    missed while the process was down; planning twice adds nothing). In the background: for a
    large district it takes seconds, and nothing else waits for it."""

    async def plan() -> None:
        svc = rt.services.medicines
        await svc.plan_day(svc.today())
        await svc.plan_day(svc.today() + timedelta(days=1))

    rt.spawn(plan(), "meds-catch-up")


async def check_content(rt: Runtime) -> None:
    """Load the medicine list at start-up, so a broken file stops the bot with its name."""
    svc = rt.services.medicines
    _ = svc.catalog


def register(r: Registry) -> None:
    r.button("dose", on_button)
    r.notification(DOSE_KIND, render_dose)
    r.notification(WEEKLY_KIND, render_weekly)
    r.on_startup(check_content)
    r.on_background(catch_up)
    r.job("meds.plan", plan_tomorrow, "cron", hour=23, minute=30)
    r.job("meds.repeat", plan_repeats, "interval", seconds=60)
    r.job("meds.weekly", plan_weekly, "cron", day_of_week="mon", hour=9, minute=0)
