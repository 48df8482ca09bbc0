"""Add a child: nickname (typed, or skipped), birth date by buttons (year → month → day, never
in the future), then the doses already given: a checklist by age group, with "all up to today"
as one tap. The checklist is also the card's "Doses given" screen.

Doses ticked here are recorded as given on their due date ("on time"); "Record a dose" on the
card records a dose with its real date.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.router import Registry
from bot.services.vaccines.children import NICKNAME_MAX, ChildError, ChildService
from bot.services.vaccines.engine import Plan, PlannedDose, Status
from bot.services.vaccines.model import add_span
from bot.storage.vaccines import ChildRecord
from handlers import vaccines as main
from handlers import vaccines_view as view

NICK_STATE = "vx.nick"
ADD_STATE = "vx.add"
MONTH_NAMES_EN = calendar.month_abbr


def parse_day(value: str, fmt: str) -> date:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise StaleButton("bad date") from None


async def start(ctx: Ctx) -> None:
    ctx.set_state(NICK_STATE)
    ctx.say(
        ctx._(
            "What do you call your child? Type a nickname (for example 小宝), or tap Skip. "
            "Only you (and a guardian you share with) see it."
        ),
        [Button(ctx._("Skip ➡️"), cb("vxa", "skip"))],
        back=main.MENU,
    )


async def on_nickname(ctx: Ctx) -> None:
    nick = " ".join(ctx.msg.text.split())
    if not nick or len(nick) > NICKNAME_MAX:
        ctx.say(
            ctx._("Please type a short nickname (up to {n} characters), or tap Skip.").format(
                n=NICKNAME_MAX
            ),
            [Button(ctx._("Skip ➡️"), cb("vxa", "skip"))],
            back=main.MENU,
        )
        return
    ctx.set_state(ADD_STATE, nick=nick)
    await years(ctx)


async def years(ctx: Ctx) -> None:
    first, today = ctx.service(ChildService).birth_range()
    buttons = [Button(str(y), cb("vxa", "y", y)) for y in range(today.year, first.year - 1, -1)]
    ctx.say(ctx._("In which year was your child born?"), buttons, cols=4, back=main.MENU)


def _month_label(ctx: Ctx, month: int) -> str:
    return MONTH_NAMES_EN[month] if ctx.locale == "en" else f"{month}月"


async def months(ctx: Ctx, year: int) -> None:
    first, today = ctx.service(ChildService).birth_range()
    if not first.year <= year <= today.year:
        raise StaleButton("year out of range")
    last = today.month if year == today.year else 12
    buttons = [
        Button(_month_label(ctx, m), cb("vxa", "m", f"{year}{m:02d}")) for m in range(1, last + 1)
    ]
    ctx.say(
        ctx._("In which month of {year}?").format(year=year),
        buttons,
        cols=4,
        back=cb("vxa", "years"),
        edit=True,
    )


async def days(ctx: Ctx, month: date) -> None:
    first, today = ctx.service(ChildService).birth_range()
    if not first <= month <= today:
        raise StaleButton("month out of range")
    n = calendar.monthrange(month.year, month.month)[1]
    last = today.day if (month.year, month.month) == (today.year, today.month) else n
    buttons = [
        Button(str(d), cb("vxa", "d", f"{month.year}{month.month:02d}{d:02d}"))
        for d in range(1, last + 1)
    ]
    ctx.say(
        ctx._("On which day? ({month})").format(month=ctx.t.date(month, format="yyyy-MM")),
        buttons,
        cols=7,
        back=cb("vxa", "y", month.year),
        edit=True,
    )


async def create(ctx: Ctx, born: date) -> None:
    nick = str(ctx.state.data.get("nick", "")) if ctx.state.name == ADD_STATE else ""
    svc = ctx.service(ChildService)
    try:
        child = await svc.add(ctx.user.id, nick, born)
    except ChildError as exc:
        if "too many" in str(exc):
            ctx.say(ctx._("You already follow the most children we allow."), back=main.MENU)
            return
        raise StaleButton(str(exc)) from None
    ctx.clear_state()
    record = await svc.mine(ctx.user.id, child.id)
    assert record is not None
    await checklist(ctx, record, first=True)


# -- the checklist ------------------------------------------------------------------------------


def _reached(svc: ChildService, record: ChildRecord, plan: Plan) -> dict[int, list[PlannedDose]]:
    """Doses whose age has come (the ones a parent may have had given), by age group."""
    today = svc.today()
    groups: dict[int, list[PlannedDose]] = {}
    for d in plan.doses:
        if d.status is Status.NOT_NEEDED:
            continue
        months = svc.dose_age_months(d.dose)
        if add_span(record.child.born, months, 0) <= today:
            groups.setdefault(months, []).append(d)
    return dict(sorted(groups.items()))


async def checklist(ctx: Ctx, record: ChildRecord, first: bool = False) -> None:
    svc = ctx.service(ChildService)
    groups = _reached(svc, record, svc.plan(record))
    name = view.child_name(ctx.t, record.child)
    cid = record.child.id
    if not groups:
        await main.card(ctx, record, head=ctx._("✅ Added."))
        return
    lines = [
        ctx._(
            "Which vaccines has {name} already had? Look in the vaccination book. Tap an age to "
            "tick its doses, or tap “All up to today” if every dose so far was given on time."
        ).format(name=name)
    ]
    buttons = [[Button(ctx._("✅ All up to today were given"), cb("vxa", "all", cid))]]
    row: list[Button] = []
    for months, doses in groups.items():
        done = sum(1 for d in doses if d.status is Status.DONE)
        label = f"{view.age_group(ctx.t, months)} ({done}/{len(doses)})"
        lines.append(
            f"• {label}: " + ", ".join(("✅" if d.given else "⬜") + d.dose for d in doses)
        )
        row.append(Button(label, cb("vxa", "g", cid, months)))
        if len(row) == 3:
            buttons.append(row)
            row = []
    if row:
        buttons.append(row)
    buttons.append([Button(ctx._("➡️ Done — show the next doses"), main.card_data(cid))])
    ctx.say("\n".join(lines), buttons, back=main.MENU, edit=not first)


async def group(ctx: Ctx, record: ChildRecord, months: int) -> None:
    svc = ctx.service(ChildService)
    doses = _reached(svc, record, svc.plan(record)).get(months)
    if not doses:
        raise StaleButton("no such age group")
    cid = record.child.id
    buttons = [
        Button(
            ("✅ " if d.given else "⬜ ")
            + view.dose_label(ctx.t, svc, d.vaccine, d.number, d.dose),
            cb("vxa", "t", cid, d.dose),
        )
        for d in doses
    ]
    buttons.append(Button(ctx._("✅ All of this age were given"), cb("vxa", "ga", cid, months)))
    ctx.say(
        ctx._("{age}: tap a dose to tick or untick it.").format(age=view.age_group(ctx.t, months)),
        buttons,
        back=cb("vxa", "list", cid),
        edit=True,
    )


async def toggle(ctx: Ctx, record: ChildRecord, dose: str) -> None:
    svc = ctx.service(ChildService)
    plan = svc.plan(record)
    planned = plan.get(dose)
    if planned is None or planned.status is Status.NOT_NEEDED:
        raise StaleButton("unknown dose")
    months = svc.dose_age_months(dose)
    if planned.given:
        await svc.unrecord(record, dose)
    else:
        on = max(min(planned.due, svc.today()), record.child.born)
        await svc.record_doses(record, {dose: on})
    fresh = await svc.mine(ctx.user.id, record.child.id)
    assert fresh is not None
    await group(ctx, fresh, months)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("new", "skip", "years", "y", "m", "d", "list", "g", "t", "ga", "all"))
    if action == "new":
        await start(ctx)
    elif action == "skip":
        ctx.set_state(ADD_STATE, nick="")
        await years(ctx)
    elif action == "years":
        await years(ctx)
    elif action == "y":
        await months(ctx, data.int_part(1))
    elif action == "m":
        await days(ctx, parse_day(data.part(1) + "01", "%Y%m%d"))
    elif action == "d":
        await create(ctx, parse_day(data.part(1), "%Y%m%d"))
    else:
        data.expect(2, 3)
        record = await main.mine(ctx, data, 1)
        svc = ctx.service(ChildService)
        if action == "list":
            await checklist(ctx, record)
        elif action == "g":
            await group(ctx, record, data.int_part(2))
        elif action == "t":
            await toggle(ctx, record, data.part(2))
        elif action == "ga":
            n = await svc.all_up_to_today(record, data.int_part(2))
            ctx.notice(ctx.ngettext("{n} dose recorded", "{n} doses recorded", n).format(n=n))
            fresh = await svc.mine(ctx.user.id, record.child.id)
            assert fresh is not None
            await checklist(ctx, fresh)
        else:
            n = await svc.all_up_to_today(record)
            ctx.notice(ctx.ngettext("{n} dose recorded", "{n} doses recorded", n).format(n=n))
            fresh = await svc.mine(ctx.user.id, record.child.id)
            assert fresh is not None
            await main.card(ctx, fresh)


def register(r: Registry) -> None:
    r.button("vxa", on_button)
    r.state(NICK_STATE, on_nickname)
