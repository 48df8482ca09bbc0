"""Add a child: nickname (typed, or skipped), birth date by buttons (year → month → day, never
in the future), then the doses already given: a checklist by age group, with "all up to today"
as one tap. The checklist is also the card's "Doses given" screen.

Doses ticked here are recorded as given on their due date ("on time"); "Record a dose" on the
card records a dose with its real date. In elder mode, adding the child and every change to
the doses is asked first ("✅ Yes / ❌ No") and saved only on the second tap.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.residents import FlowState
from bot.domain.vaccines import ChildRecord
from bot.router import Registry
from bot.services.vaccines.children import NICKNAME_MAX, ChildError, ChildService
from bot.services.vaccines.engine import Plan, PlannedDose, Status
from bot.services.vaccines.model import add_span
from handlers.resident import vaccines as main
from handlers.resident import vaccines_view as view

NICK_STATE = "vx.nick"  # waiting for the typed nickname (no fields)


@dataclass(frozen=True)
class AddingChild(FlowState):
    """A child being added: the nickname given, while the birth date is picked."""

    NAME: ClassVar[str] = "vx.add"
    nick: str = ""


def parse_day(value: str, fmt: str) -> date:
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise StaleButton("bad date") from None


async def start(ctx: Ctx) -> None:
    ctx.set_state(NICK_STATE)
    ctx.say(
        ctx._(
            "What do you call your child? Type a nickname (for example Xiaobao), or tap Skip. "
            "Only you (and a guardian you share with) see it."
        ),
        [Button(ctx._("Skip ➡️"), cb("addchild", "skip"))],
        back=main.MENU,
    )


async def on_nickname(ctx: Ctx) -> None:
    nick = " ".join(ctx.msg.text.split())
    if not nick or len(nick) > NICKNAME_MAX:
        ctx.say(
            ctx._("Please type a short nickname (up to {n} characters), or tap Skip.").format(
                n=NICKNAME_MAX
            ),
            [Button(ctx._("Skip ➡️"), cb("addchild", "skip"))],
            back=main.MENU,
        )
        return
    ctx.enter(AddingChild(nick=nick))
    await years(ctx)


async def years(ctx: Ctx) -> None:
    first, today = ctx.services.children.birth_range()
    buttons = [
        Button(str(y), cb("addchild", "y", y)) for y in range(today.year, first.year - 1, -1)
    ]
    ctx.say(ctx._("In which year was your child born?"), buttons, cols=4, back=main.MENU)


def confirm(ctx: Ctx, question: str, yes: str, no: str) -> None:
    """Elder mode: ask before saving; `yes` saves, `no` goes back without saving."""
    ctx.say(
        question,
        [Button(ctx._("✅ Yes"), yes), Button(ctx._("❌ No"), no)],
        cols=2,
        back=no,
    )


def ok_tapped(data: Callback, index: int) -> bool:
    """Whether this is the elder-mode "✅ Yes" (`ok` as the last part, at `index`)."""
    return len(data.parts) == index + 1 and data.choice(index, ("ok",)) == "ok"


async def months(ctx: Ctx, year: int) -> None:
    first, today = ctx.services.children.birth_range()
    if not first.year <= year <= today.year:
        raise StaleButton("year out of range")
    last = today.month if year == today.year else 12
    buttons = [
        Button(ctx.t.month_name(m), cb("addchild", "m", f"{year}{m:02d}"))
        for m in range(1, last + 1)
    ]
    ctx.say(
        ctx._("In which month of {year}?").format(year=year),
        buttons,
        cols=4,
        back=cb("addchild", "years"),
        edit=True,
    )


async def days(ctx: Ctx, month: date) -> None:
    first, today = ctx.services.children.birth_range()
    if not first <= month <= today:
        raise StaleButton("month out of range")
    n = calendar.monthrange(month.year, month.month)[1]
    last = today.day if (month.year, month.month) == (today.year, today.month) else n
    buttons = [
        Button(str(d), cb("addchild", "d", f"{month.year}{month.month:02d}{d:02d}"))
        for d in range(1, last + 1)
    ]
    ctx.say(
        ctx._("On which day? ({month})").format(month=ctx.t.month(month)),
        buttons,
        cols=7,
        grid=True,
        back=cb("addchild", "y", month.year),
        edit=True,
    )


async def create(ctx: Ctx, born: date, confirmed: bool = False) -> None:
    adding = ctx.flow(AddingChild)
    nick = adding.nick if adding is not None else ""
    svc = ctx.services.children
    if ctx.elder:
        first, today = svc.birth_range()
        if not first <= born <= today:
            raise StaleButton("birth date out of range")
        if confirmed and adding is None:
            # Already added by an earlier "Yes" (or the flow was left): never add twice.
            raise StaleButton("no child being added")
        if not confirmed:
            name = nick or ctx._("your child")
            confirm(
                ctx,
                ctx._("Save: {name}, born {date}?").format(name=name, date=ctx.t.date(born)),
                cb("addchild", "d", born.strftime("%Y%m%d"), "ok"),
                cb("addchild", "years"),
            )
            return
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
    svc = ctx.services.children
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
    buttons = [[Button(ctx._("✅ All up to today were given"), cb("addchild", "all", cid))]]
    row: list[Button] = []
    for months, doses in groups.items():
        done = sum(1 for d in doses if d.status is Status.DONE)
        label = ctx._("{age} ({done}/{total})").format(
            age=view.age_group(ctx.t, months), done=done, total=len(doses)
        )
        lines.append(f"• {label}")
        # One dose a line: the names are long, and a list joined by commas would not read.
        lines.extend(
            "  "
            + ("✅ " if d.given else "⬜ ")
            + view.dose_label(ctx.t, svc, d.vaccine, d.number, d.dose)
            for d in doses
        )
        row.append(Button(label, cb("addchild", "g", cid, months)))
        if len(row) == 3:
            buttons.append(row)
            row = []
    if row:
        buttons.append(row)
    buttons.append([Button(ctx._("➡️ Done — show the next doses"), main.card_data(cid))])
    ctx.say("\n".join(lines), buttons, back=main.MENU, edit=not first)


async def group(ctx: Ctx, record: ChildRecord, months: int) -> None:
    svc = ctx.services.children
    doses = _reached(svc, record, svc.plan(record)).get(months)
    if not doses:
        raise StaleButton("no such age group")
    cid = record.child.id
    buttons = [
        Button(
            ("✅ " if d.given else "⬜ ")
            + view.dose_label(ctx.t, svc, d.vaccine, d.number, d.dose),
            cb("addchild", "t", cid, d.dose),
        )
        for d in doses
    ]
    buttons.append(
        Button(ctx._("✅ All of this age were given"), cb("addchild", "ga", cid, months))
    )
    ctx.say(
        ctx._("{age}: tap a dose to tick or untick it.").format(age=view.age_group(ctx.t, months)),
        buttons,
        back=cb("addchild", "list", cid),
        edit=not ctx.elder,  # elder mode comes back here from a question: a new message
    )


async def record_all(ctx: Ctx, record: ChildRecord, months: int | None, confirmed: bool) -> None:
    """Every dose reached so far (or of one age group) given on time."""
    svc = ctx.services.children
    cid = record.child.id
    if months is not None and months not in _reached(svc, record, svc.plan(record)):
        raise StaleButton("no such age group")
    if ctx.elder and not confirmed:
        if months is None:
            question = ctx._("Save: every dose up to today was given on time?")
            yes, no = cb("addchild", "all", cid, "ok"), cb("addchild", "list", cid)
        else:
            question = ctx._("Save: every dose of {age} was given?").format(
                age=view.age_group(ctx.t, months)
            )
            yes, no = cb("addchild", "ga", cid, months, "ok"), cb("addchild", "g", cid, months)
        confirm(ctx, question, yes, no)
        return
    n = await svc.all_up_to_today(record, months)
    ctx.notice(ctx.ngettext("{n} dose recorded", "{n} doses recorded", n).format(n=n))
    fresh = await svc.mine(ctx.user.id, cid)
    assert fresh is not None
    if months is None:
        await main.card(ctx, fresh)
    else:
        await checklist(ctx, fresh, first=ctx.elder)


async def toggle(ctx: Ctx, record: ChildRecord, dose: str, wanted: bool | None = None) -> None:
    """Tick or untick a dose. `wanted` is the state confirmed in elder mode (so a second tap
    on an old "Yes" does not undo the first)."""
    svc = ctx.services.children
    plan = svc.plan(record)
    planned = plan.get(dose)
    if planned is None or planned.status is Status.NOT_NEEDED:
        raise StaleButton("unknown dose")
    months = svc.dose_age_months(dose)
    was_given = planned.given is not None
    given = not was_given if wanted is None else wanted
    if given == was_given:
        ctx.notice(ctx._("Already up to date."))
        await group(ctx, record, months)
        return
    if ctx.elder and wanted is None:
        label = view.dose_label(ctx.t, svc, planned.vaccine, planned.number, dose)
        question = (
            ctx._("Save: {dose} was given?")
            if given
            else ctx._("Save: {dose} was not given after all?")
        )
        confirm(
            ctx,
            question.format(dose=label),
            cb("addchild", "t", record.child.id, dose, int(given), "ok"),
            cb("addchild", "g", record.child.id, months),
        )
        return
    if not given:
        await svc.unrecord(record, dose)
    else:
        on = max(min(planned.due, svc.today()), record.child.born)
        await svc.record_doses(record, {dose: on})
    fresh = await svc.mine(ctx.user.id, record.child.id)
    assert fresh is not None
    ctx.notice(ctx._("Saved."))
    await group(ctx, fresh, months)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("new", "skip", "years", "y", "m", "d", "list", "g", "t", "ga", "all"))
    if action == "new":
        await start(ctx)
    elif action == "skip":
        ctx.enter(AddingChild())
        await years(ctx)
    elif action == "years":
        await years(ctx)
    elif action == "y":
        await months(ctx, data.int_part(1))
    elif action == "m":
        await days(ctx, parse_day(data.part(1) + "01", "%Y%m%d"))
    elif action == "d":
        data.expect(2, 3)
        await create(ctx, parse_day(data.part(1), "%Y%m%d"), ok_tapped(data, 2))
    else:
        data.expect(2, 3, 4, 5)
        record = await main.mine(ctx, data, 1)
        if action == "list":
            data.expect(2)
            await checklist(ctx, record)
        elif action == "g":
            data.expect(3)
            await group(ctx, record, data.int_part(2))
        elif action == "t":
            data.expect(3, 5)
            wanted = None
            if len(data.parts) == 5:
                wanted = data.choice(3, ("0", "1")) == "1"
                data.choice(4, ("ok",))
            await toggle(ctx, record, data.part(2), wanted)
        elif action == "ga":
            data.expect(3, 4)
            await record_all(ctx, record, data.int_part(2), ok_tapped(data, 3))
        else:
            data.expect(2, 3)
            await record_all(ctx, record, None, ok_tapped(data, 2))


def register(r: Registry) -> None:
    r.top("addchild", main.MENU)
    r.button("addchild", on_button)
    r.state(NICK_STATE, on_nickname)
