"""Vaccines menu: the children a resident looks after, each child's card (next doses, where
to go, book), sharing a child with a second guardian, and removing a child. Buttons only;
typing an invite code (`/child CODE`) is the one rare exception.

Every button carries the child's id and is re-checked: a child that is not (or no longer) the
resident's gets the "out of date, nothing changed" answer.
"""

from __future__ import annotations

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.directory import Station
from bot.domain.vaccines import ChildRecord
from bot.router import Registry
from bot.services.vaccines.children import CODE_LENGTH, INVITE_TTL
from handlers import promises
from handlers.resident import directory_view as dview
from handlers.resident import vaccines_view as view

MENU = cb("vaccines", "menu")
BOOK = cb("book", "new", "vaccination")
CODE_STATE = "vx.code"


def card_data(child_id: int) -> str:
    return cb("vaccines", "c", child_id)


async def menu(ctx: Ctx, edit: bool = False) -> None:
    """The Vaccines menu: children, add a child, a code from another guardian, adults."""
    ctx.clear_state()
    svc = ctx.services.children
    children = await svc.children(ctx.user.id)
    today = svc.today()
    buttons = [
        Button(
            f"👶 {view.child_name(ctx.t, c)} · {view.age_text(ctx.t, c.born, today)}",
            card_data(c.id),
        )
        for c in children
    ]
    buttons.append(Button(ctx._("➕ Add a child"), cb("addchild", "new")))
    buttons.append(Button(ctx._("🔑 I have a code from another parent"), cb("vaccines", "code")))
    buttons.append(
        Button(ctx._("🧓 Vaccines for adults (60+ or chronic illness)"), cb("adultvax", "show"))
    )
    text = (
        ctx._("💉 Vaccines. Tap a child to see the next doses, or add a child.")
        if children
        else ctx._(
            "💉 Vaccines. Add your child once, and I will remind you of every dose of the "
            "National Immunization Program — on time, and with catch-up if one was missed."
        )
    )
    ctx.say(text, buttons, home=True, edit=edit)


async def mine(ctx: Ctx, data: Callback, index: int) -> ChildRecord:
    record = await ctx.services.children.mine(ctx.user.id, data.int_part(index))
    if record is None:
        raise StaleButton("not this resident's child")
    return record


async def vaccination_place(ctx: Ctx) -> tuple[Station | None, bool]:
    """The nearest station offering vaccination to the resident's home community's town, else
    the district's main centre; and whether it was found from their home."""
    directory = ctx.services.directory
    home = await directory.home(ctx.user.id)
    if home is not None:
        point = await directory.town_point(home.town)
        if point is not None:
            nearby = await directory.nearest(*point, ctx.now(), k=1, need="vaccination")
            if nearby.places:
                return nearby.places[0].station, True
    main = await directory.main_centre()
    if main is not None and "vaccination" in main.service_keys:
        return main, False
    return None, False


async def where_lines(ctx: Ctx) -> list[str]:
    station, from_home = await vaccination_place(ctx)
    if station is None:
        return [ctx._("📍 Where to go: your community health service centre's vaccination clinic.")]
    lines = [
        ctx._("📍 Where to go: {name}, {address}, ☎ {phone}").format(
            name=dview.station_name(ctx, station),
            address=dview.station_address(ctx, station),
            phone=station.phone or "—",
        ),
        "  " + ctx._("Hours: {hours}").format(hours=dview.hours_text(ctx, station.hours)),
    ]
    if not from_home:
        lines.append(
            "  "
            + ctx._(
                "Set your home community under “My family doctor” to see the clinic nearest you."
            )
        )
    return lines


async def reminder_line(ctx: Ctx, record: ChildRecord) -> str:
    """The child's next reminder, read from this guardian's pending rows (none: say so)."""
    rows = await ctx.services.child_reminders.pending_for(ctx.user.id, record.child.id)
    name = view.child_name(ctx.t, record.child)
    if not rows:
        return ctx._("🔔 No reminder about {name} is planned right now.").format(name=name)
    at = await promises.arrivals(ctx.services.send_times, rows)
    first = min(rows, key=lambda r: (at[r.id], r.id))
    return ctx._("🔔 Next reminder about {name}: {when}.").format(
        name=name, when=promises.when(ctx.t, first, at)
    )


async def card(ctx: Ctx, record: ChildRecord, edit: bool = False, head: str = "") -> None:
    """A child's card: what is due, late, next, where to go; book, record, share, remove."""
    svc = ctx.services.children
    today = svc.today()
    plan = svc.plan(record)
    child = record.child
    lines = [head] if head else []
    lines.append(
        ctx._("👶 {name}, born {date} ({age})").format(
            name=view.child_name(ctx.t, child),
            date=ctx.t.date(child.born),
            age=view.age_text(ctx.t, child.born, today),
        )
    )
    lines.extend(view.plan_lines(ctx.t, svc, plan, today))
    lines.append(await reminder_line(ctx, record))
    question = view.sex_question(ctx.t, child, plan)
    if question is not None:
        lines += ["", question[0]]
    lines.append("")
    lines.extend(await where_lines(ctx))
    if len(record.guardians) > 1:
        lines.append(ctx._("👥 Shared with another guardian: you both get the reminders."))
    buttons = [
        *([question[1]] if question is not None else []),
        [Button(ctx._("📅 Book a vaccination visit"), BOOK)],
        [
            Button(ctx._("✅ Record a dose"), cb("vaxremind", "pick", child.id)),
            Button(ctx._("📋 Doses given"), cb("addchild", "list", child.id)),
        ],
        [
            Button(ctx._("👥 Share with another guardian"), cb("vaccines", "share", child.id)),
            Button(ctx._("🗑 Remove"), cb("vaccines", "rm", child.id)),
        ],
    ]
    ctx.say("\n".join(lines), buttons, back=MENU, edit=edit)


async def share(ctx: Ctx, record: ChildRecord) -> None:
    code = await ctx.services.children.invite(record)
    hours = int(INVITE_TTL.total_seconds() // 3600)
    ctx.say(
        ctx._(
            "Give this code to the other parent or guardian: {code}\n"
            "They open 💉 Vaccines → “I have a code” (or send /child {code}). The code works "
            "once, within {hours} hours. Then you both see {name}'s card and get the reminders."
        ).format(code=code, hours=hours, name=view.child_name(ctx.t, record.child)),
        back=card_data(record.child.id),
    )


async def ask_remove(ctx: Ctx, record: ChildRecord) -> None:
    shared = len(record.guardians) > 1
    text = (
        ctx._("Stop following {name}? The other guardian keeps the record and the reminders.")
        if shared
        else ctx._("Remove {name} and every dose recorded? This cannot be undone.")
    )
    ctx.confirm(
        text.format(name=view.child_name(ctx.t, record.child)),
        cb("vaccines", "rmok", record.child.id),
        card_data(record.child.id),
        yes_label=ctx._("🗑 Yes, remove"),
        no_label=ctx._("❌ No, keep"),
    )


async def remove(ctx: Ctx, record: ChildRecord) -> None:
    await ctx.services.children.leave(record, ctx.user.id)
    ctx.notice(ctx._("Removed."))
    await menu(ctx, edit=True)


async def ask_code(ctx: Ctx) -> None:
    ctx.set_state(CODE_STATE)
    ctx.say(
        ctx._("Please type the {n}-character code the other parent gave you.").format(
            n=CODE_LENGTH
        ),
        back=MENU,
    )


async def redeem(ctx: Ctx, code: str) -> None:
    result = await ctx.services.children.redeem(ctx.user.id, code, ctx.msg.address)
    if result.outcome == "ok" and result.child is not None:
        ctx.clear_state()
        record = await ctx.services.children.mine(ctx.user.id, result.child.id)
        if record is not None:
            await card(ctx, record, head=ctx._("✅ Done: you now follow this child's vaccines."))
            return
    messages = {
        "unknown": ctx._("This code is not right. Please check it and type it again."),
        "used": ctx._("This code was already used. Ask the other parent for a new one."),
        "expired": ctx._("This code has expired. Ask the other parent for a new one."),
        "already": ctx._("You already follow this child."),
        "full": ctx._("This child already has the most guardians we allow."),
        "too_many": ctx._("You already follow the most children we allow."),
        "limited": ctx._("Too many wrong codes. Please wait an hour and try again."),
    }
    ctx.say(messages.get(result.outcome, messages["unknown"]), back=MENU)


async def on_code_text(ctx: Ctx) -> None:
    await redeem(ctx, ctx.msg.text)


async def child_command(ctx: Ctx) -> None:
    """/child CODE: follow a child another parent shared; /child alone asks for the code."""
    if ctx.msg.args.strip():
        await redeem(ctx, ctx.msg.args)
    else:
        await ask_code(ctx)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("menu", "c", "share", "rm", "rmok", "code"))
    if action == "menu":
        data.expect(1)
        await menu(ctx, edit=True)
    elif action == "code":
        data.expect(1)
        await ask_code(ctx)
    else:
        data.expect(2)
        record = await mine(ctx, data, 1)
        if action == "c":
            await card(ctx, record)
        elif action == "share":
            await share(ctx, record)
        elif action == "rm":
            await ask_remove(ctx, record)
        else:
            await remove(ctx, record)


def register(r: Registry) -> None:
    r.top("vaccines", MENU)
    r.menu_item("vaccines", menu)
    r.command("vaccines", menu)
    r.command("child", child_command)
    r.button("vaccines", on_button)
    r.state(CODE_STATE, on_code_text)
