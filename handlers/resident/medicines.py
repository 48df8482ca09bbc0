"""💊 My medicines: the list, one medicine (change its dose, stop it), the week's summary with
its chart, and the large-print medicine card. Adding is in medicines_add, reminders and their
answers in medicines_remind, refills in medicines_refill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Attachment, Button
from bot.domain.medicines import DoseStatus, Entry, Stopped
from bot.domain.residents import FlowState
from bot.router import Registry
from bot.services import medicines_view as view
from bot.services.medicines import MedicineService, duplicates
from bot.services.medicines_images import adherence_png, medicine_card_png
from bot.services.medicines_input import is_number, parse_amount
from handlers.resident import medicines_add as add
from handlers.resident.medicines_remind import summary_text


@dataclass(frozen=True)
class ChangingDose(FlowState):
    """A new dose being entered for `entry`, then confirmed (`amount`, `unit`)."""

    NAME: ClassVar[str] = "med.newdose"
    entry: int = 0
    amount: str = ""
    unit: str = ""


NEW_DOSE = ChangingDose.NAME
LIST = cb("medicines", "list")


async def show(ctx: Ctx) -> None:
    """The main-menu entry: the list, or straight to the picker for a first medicine."""
    if not await ctx.services.medicines.entries(ctx.user.id):
        await add.picker(ctx, ctx._("💊 My medicines: none yet. Let's add the first one."))
        return
    await show_list(ctx)


async def show_list(ctx: Ctx, prefix: str = "", edit: bool = False) -> None:
    svc = ctx.services.medicines
    entries = await svc.entries(ctx.user.id)
    ctx.clear_state()
    lines = [prefix, ""] if prefix else []
    lines.append(ctx._("💊 My medicines"))
    if not entries:
        lines.append(ctx._("None on your list."))
    for i, e in enumerate(entries, start=1):
        lines.append(f"{i}. {view.entry_line(ctx.t, e)}")
    for same in duplicates(entries).values():
        lines.append(
            ctx._(
                "⚠️ {names} have the same active ingredient. Please check with your doctor "
                "or pharmacist that you are meant to take both."
            ).format(names=ctx.t.list([view.entry_name(ctx.t, e) for e in same]))
        )
    capped = [x for e in entries for x in e.times if not _allowed(svc, x)]
    if capped and svc.cap.start is not None and svc.cap.end is not None:
        lines.append(
            ctx._(
                "🔕 No reminder at {times}: this service sends medicine reminders between "
                "{start} and {end} only."
            ).format(
                times=view.times_text(ctx.t, sorted(set(capped))),
                start=ctx.t.time(svc.cap.start),
                end=ctx.t.time(svc.cap.end),
            )
        )
    today_lines, today_buttons = await _today(ctx, svc)
    lines += today_lines
    buttons = today_buttons + [
        Button(f"{i}. {view.entry_name(ctx.t, e)}", cb("medicines", "e", e.id))
        for i, e in enumerate(entries, start=1)
    ]
    buttons.append(Button(ctx._("➕ Add a medicine"), cb("addmed", "start")))
    if entries:
        buttons += [
            Button(ctx._("🔁 Running low"), cb("refill", "new")),
            Button(ctx._("🪪 Medicine card"), cb("medicines", "card")),
            Button(ctx._("📊 My week"), cb("medicines", "week")),
        ]
    ctx.say("\n".join(lines), buttons, cols=2, home=True, edit=edit)


STATUS_MARKS = {
    DoseStatus.TAKEN: "✅",
    DoseStatus.SKIPPED: "✖",
    DoseStatus.MISSED: "❗",
    DoseStatus.DUE: "⏳",
}


async def _today(ctx: Ctx, svc: MedicineService) -> tuple[list[str], list[Button]]:
    """Today's moments with each dose's status, and "✅ taken" for the moments that have
    come with doses still open (the way to answer a dose that had no reminder)."""
    moments = await svc.today_moments(ctx.user.id)
    if not moments:
        return [], []
    now = svc.now_ts()
    lines, buttons = [ctx._("Today:")], []
    for at, doses in moments:
        marks = " ".join(
            f"{STATUS_MARKS[d.dose.status]} {view.entry_name(ctx.t, d.entry)}" for d in doses
        )
        lines.append("  " + ctx.t.labelled(view.moment_text(ctx.t, at), marks))
        still_open = [d for d in doses if d.dose.status in (DoseStatus.DUE, DoseStatus.MISSED)]
        if at <= now and still_open:
            buttons.append(
                Button(
                    ctx._("✅ {time} taken").format(time=view.moment_text(ctx.t, at)),
                    cb("medicines", "tk", at),
                )
            )
    return lines, buttons


def _allowed(svc: MedicineService, hhmm: str) -> bool:
    return svc.planner().allowed(hhmm)


async def _mine(ctx: Ctx, entry_id: int) -> Entry:
    entry = await ctx.services.medicines.store.entry(ctx.user.id, entry_id)
    if entry is None or not entry.active:
        raise StaleButton("not an active medicine of this resident")
    return entry


async def show_entry(ctx: Ctx, entry: Entry) -> None:
    lines = ["💊 " + view.entry_line(ctx.t, entry)]
    lines.append(ctx._("Since {date}").format(date=ctx.t.date(entry.start_on)))
    ctx.say(
        "\n".join(lines),
        [
            Button(ctx._("✏️ Change the dose"), cb("medicines", "dose", entry.id)),
            Button(ctx._("⏹ Stop this medicine"), cb("medicines", "stop", entry.id)),
        ],
        cols=2,
        back=LIST,
        edit=True,
    )


async def ask_dose(ctx: Ctx, entry: Entry) -> None:
    ctx.enter(ChangingDose(entry=entry.id))
    buttons = []
    if entry.unit in add.COUNTABLE:
        buttons = [
            Button(
                view.dose_text(ctx.t, label, entry.unit), cb("medicines", "dset", entry.id, code)
            )
            for code, label in add.AMOUNTS.items()
        ]
    ctx.say(
        ctx._(
            "{name}: now {dose} each time.\nWhat is the new dose, as your doctor told you? "
            "Tap it or type it."
        ).format(
            name=view.entry_name(ctx.t, entry), dose=view.dose_text(ctx.t, entry.amount, entry.unit)
        )
        + "\n"
        + ctx._(view.NO_DOSE_ADVICE),
        buttons,
        cols=2,
        back=cb("medicines", "e", entry.id),
        edit=True,
        wants_text=True,
    )


async def confirm_dose(ctx: Ctx, entry: Entry, amount: str, unit: str) -> None:
    ctx.enter(ChangingDose(entry=entry.id, amount=amount, unit=unit))
    ctx.say(
        ctx._("Change the dose of {name} to {dose}, as your doctor told you?").format(
            name=view.entry_name(ctx.t, entry), dose=view.dose_text(ctx.t, amount, unit)
        ),
        [
            Button(ctx._("✅ Yes, change it"), cb("medicines", "dok", entry.id)),
            Button(ctx._("❌ No"), cb("medicines", "e", entry.id)),
        ],
        cols=2,
        back=cb("medicines", "e", entry.id),
    )


async def on_new_dose(ctx: Ctx) -> None:
    flow = ctx.flow(ChangingDose)
    entry = await _mine(ctx, flow.entry if flow else 0)
    amount = parse_amount(ctx.msg.text) if ctx.msg.location is None else None
    if amount is None:
        ctx.say(
            ctx._(
                "Please type how much you take each time, as your doctor told you: "
                "a number like 1 or ½, or with its unit, like 10 units."
            ),
            back=cb("medicines", "e", entry.id),
            wants_text=True,
        )
        return
    unit = entry.unit if is_number(amount) else ""
    if is_number(amount) and not unit:
        unit = "tablet"
    await confirm_dose(ctx, entry, amount, unit)


async def week(ctx: Ctx) -> None:
    """The last seven days (today included): a chart and the counts."""
    svc = ctx.services.medicines
    days = await svc.days(ctx.user.id, svc.today() - timedelta(days=6))
    text = summary_text(ctx.t, days)
    ctx.photo(
        Attachment("week.png", adherence_png(ctx.t, days, ctx.rt.catalogs.get("en")), "image/png"),
        ctx._("📊 Your medicines, the last 7 days"),
    )
    ctx.say(text, back=LIST)


async def card(ctx: Ctx) -> None:
    entries = await ctx.services.medicines.entries(ctx.user.id)
    if not entries:
        raise StaleButton("no medicines")
    ctx.photo(
        Attachment(
            "medicines.png",
            medicine_card_png(
                ctx.t, entries, ctx.rt.catalogs.get("en"), ctx.services.medicines.today()
            ),
            "image/png",
        ),
        ctx._("🪪 Your medicine card: show it at any clinic."),
    )
    ctx.say("\n".join(view.entry_line(ctx.t, e) for e in entries), back=LIST)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(
        0, ("list", "e", "dose", "dset", "dok", "stop", "stopok", "card", "week", "tk")
    )
    svc = ctx.services.medicines
    if action == "list":
        await show_list(ctx, edit=True)
    elif action == "tk":
        at = data.int_part(1)
        if at > svc.now_ts() or at not in {m for m, _ in await svc.today_moments(ctx.user.id)}:
            raise StaleButton("not one of today's moments that have come")
        answered = await svc.answer(ctx.user.id, at, taken=True)
        ctx.notice(ctx._("Saved.") if answered else ctx._("Already recorded."))
        await show_list(ctx, edit=True)
    elif action == "card":
        await card(ctx)
    elif action == "week":
        await week(ctx)
    elif action == "e":
        ctx.clear_state()
        await show_entry(ctx, await _mine(ctx, data.int_part(1)))
    elif action == "dose":
        await ask_dose(ctx, await _mine(ctx, data.int_part(1)))
    elif action == "dset":
        entry = await _mine(ctx, data.int_part(1))
        if entry.unit not in add.COUNTABLE:
            raise StaleButton("no amount buttons for this unit")
        await confirm_dose(ctx, entry, add.AMOUNTS[data.choice(2, tuple(add.AMOUNTS))], entry.unit)
    elif action == "dok":
        entry = await _mine(ctx, data.int_part(1))
        st = ctx.flow(ChangingDose)
        if st is None or st.entry != entry.id or not st.amount:
            raise StaleButton("no dose change waiting")
        await svc.set_dose(ctx.user.id, entry.id, st.amount, st.unit)
        ctx.notice(ctx._("Saved."))
        changed = await _mine(ctx, entry.id)
        await show_list(
            ctx,
            prefix=ctx._("✅ The dose of {name} is now {dose}, as your doctor told you.").format(
                name=view.entry_name(ctx.t, changed),
                dose=view.dose_text(ctx.t, changed.amount, changed.unit),
            ),
        )
    elif action == "stop":
        entry = await _mine(ctx, data.int_part(1))
        ctx.confirm(
            ctx._("Stop {name}? You will get no more reminders for it.").format(
                name=view.entry_name(ctx.t, entry)
            ),
            cb("medicines", "stopok", entry.id),
            cb("medicines", "e", entry.id),
            yes_label=ctx._("✅ Yes, stop it"),
            edit=True,
        )
    else:
        entry = await _mine(ctx, data.int_part(1))
        stopped = await svc.stop(ctx.user.id, entry.id)
        if stopped is None:
            raise StaleButton("stopped meanwhile")
        ctx.notice(ctx._("Stopped."))
        await show_list(ctx, prefix=await stopped_text(ctx, entry, stopped))


async def stopped_text(ctx: Ctx, entry: Entry, stopped: Stopped) -> str:
    """What stopping did, from the rows it read back: its reminders cancelled, the shared
    times that go on for other medicines (named), and the times still reminded."""
    t, svc = ctx.t, ctx.services.medicines
    name = view.entry_name(t, entry)
    parts = [t.gettext("⏹ Stopped: {name}.").format(name=name)]
    if stopped.cancelled:
        times = view.moments_text(t, stopped.cancelled)
        parts.append(
            t.ngettext(
                "Its reminder at {times} was cancelled.",
                "Its reminders at {times} were cancelled.",
                len(stopped.cancelled),
            ).format(times=times)
        )
    if stopped.kept:
        others = [
            e
            for e in await svc.entries(ctx.user.id)
            if any(svc.expected(e, at) for at in stopped.kept)
        ]
        parts.append(
            t.gettext(
                "{name} was taken off the reminders at {times}; they go on for {others}."
            ).format(
                name=name,
                times=view.moments_text(t, stopped.kept),
                others=t.list([view.entry_name(t, e) for e in others]),
            )
        )
    if not stopped.cancelled and not stopped.kept:
        parts.append(t.gettext("No reminder was planned for it."))
    elsewhere = [at for at in stopped.left if at not in stopped.kept]
    if elsewhere:
        parts.append(
            t.gettext("Reminders for your other medicines go on at {times}.").format(
                times=view.moments_text(t, elsewhere)
            )
        )
    return t.sentences(parts)


def register(r: Registry) -> None:
    r.menu_item("medicines", show)
    r.button("medicines", on_button)
    r.state(NEW_DOSE, on_new_dose)
