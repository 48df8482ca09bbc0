"""Adding a medicine, by buttons: pick it from the list (or type a few characters, pinyin
initials too, or any name), then how much each time as the doctor said, when, before or after
meals, and a confirm screen (strength, start, end) with ✅ Save.

For a first medicine the path is: 💊 My medicines → the medicine → 1 → Morning → After meals →
✅ Save, six taps from the main menu (a test counts them). The draft lives in the conversation
state, so a restart resumes it; every button is checked against that state.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.medicines import (
    Meals,
    NewEntry,
)
from bot.router import Registry
from bot.services import medicines_view as view
from bot.services.medicines import same_ingredient
from bot.services.medicines_input import clean_name, is_number, parse_amount
from handlers.resident import medicines_draft as drafts
from handlers.resident import medicines_times as times
from handlers.resident.medicines_draft import AMOUNT, DRAFT, PICK

COMMON = ("amlodipine", "nifedipine-sr", "valsartan", "metformin", "aspirin", "atorvastatin")
AMOUNTS = {"h": "½", "1": "1", "2": "2", "3": "3"}
COUNTABLE = ("tablet", "capsule", "sachet")
END_DAYS = (7, 14, 28, 84)


# -- step 1: which medicine ------------------------------------------------------------------
async def picker(ctx: Ctx, prefix: str = "", edit: bool = False) -> None:
    """The most common medicines, the groups, and "type a name"; typed text searches. (Not
    `wants_text`: a name always has letters, so on text channels a typed number still picks
    an option.)"""
    catalog = ctx.services.medicines.catalog
    ctx.set_state(PICK)
    buttons = [
        Button(view.medicine_name(ctx.t, m), cb("addmed", "pick", m.id))
        for m in (catalog.get(i) for i in COMMON)
        if m is not None
    ]
    buttons += [
        Button("📋 " + (g.en if ctx.locale == "en" else g.zh), cb("addmed", "grp", g.id))
        for g in catalog.groups
    ]
    text = ctx._(
        "Which medicine? Tap it, or type a few letters of its name "
        "(pinyin initials work too, e.g. aldp), or type its full name."
    )
    ctx.say(
        (prefix + "\n\n" if prefix else "") + text,
        buttons,
        cols=2,
        back=cb("medicines", "list"),
        edit=edit,
    )


async def group(ctx: Ctx, group_id: str) -> None:
    catalog = ctx.services.medicines.catalog
    meds = catalog.in_group(group_id)
    if not meds:
        raise StaleButton("unknown group")
    ctx.set_state(PICK)
    ctx.say(
        ctx._("Which one? Or type its name."),
        [Button(view.medicine_name(ctx.t, m), cb("addmed", "pick", m.id)) for m in meds],
        cols=2,
        back=cb("addmed", "start"),
        edit=True,
    )


async def on_search(ctx: Ctx) -> None:
    """Typed text in the picker: matching medicines, and the typed name itself."""
    if ctx.msg.location is not None or ctx.msg.contact is not None:
        await picker(ctx, ctx._("Please type the medicine's name, or tap one."))
        return
    name = clean_name(ctx.msg.text)
    if name is None:
        await picker(ctx, ctx._("Please type the name in letters or characters (at most 40)."))
        return
    found = ctx.services.medicines.catalog.search(name)
    buttons = [Button(view.medicine_name(ctx.t, m), cb("addmed", "pick", m.id)) for m in found]
    buttons.append(Button(ctx._("✏️ Use “{name}”").format(name=name), cb("addmed", "free")))
    ctx.enter(drafts.Picking(typed=name))
    text = (
        ctx._("These medicines match “{text}”:").format(text=name)
        if found
        else ctx._("No medicine on our list matches “{text}”.").format(text=name)
    )
    ctx.say(
        text + "\n" + ctx._("Or type again."),
        buttons,
        cols=2,
        back=cb("addmed", "start"),
    )


async def chosen(ctx: Ctx, med_id: str | None) -> None:
    svc = ctx.services.medicines
    if med_id is None:
        picking = ctx.flow(drafts.Picking)
        typed = picking.typed if picking is not None else None
        if not typed:
            raise StaleButton("no typed name")
        known = svc.catalog.by_name(typed)
        draft: dict[str, Any] = {
            "cid": known.id if known else "",
            "med": typed,
            "name_en": "",
            "ing": known.ingredient_en if known else "",
            "unit": known.unit if known else "",
        }
    else:
        m = svc.catalog.get(med_id)
        if m is None:
            raise StaleButton("unknown medicine")
        draft = {
            "cid": m.id,
            "med": m.name_zh,
            "name_en": m.name_en,
            "ing": m.ingredient_en,
            "unit": m.unit,
        }
    draft.update(strength="", amount="", times=[], meals="", start=svc.today().isoformat(), end="")
    drafts.save(ctx, draft)
    await ask_amount(ctx, draft)


# -- step 2: how much ------------------------------------------------------------------------
async def ask_amount(ctx: Ctx, draft: dict[str, Any], edit: bool = True) -> None:
    name = drafts.name(ctx, draft)
    unit = draft["unit"]
    buttons: list[Button] = []
    if unit in COUNTABLE:
        buttons = [
            Button(view.dose_text(ctx.t, label, unit), cb("addmed", "amt", code))
            for code, label in AMOUNTS.items()
        ]
    elif not unit:
        buttons = [
            Button(view.dose_text(ctx.t, "1", u), cb("addmed", "amtu", u)) for u in COUNTABLE
        ]
    buttons.append(Button(ctx._("⌨️ Type another amount"), cb("addmed", "amtx")))
    # The screen also takes a typed amount: a typed "1" is one tablet, never option 1 (½).
    # wants_text letters the options on numbered channels, so the number stays the amount.
    drafts.save(ctx, draft, AMOUNT)
    ctx.say(
        ctx._("{name}\nHow much do you take each time, as your doctor told you?").format(name=name)
        + "\n"
        + ctx._(view.NO_DOSE_ADVICE),
        buttons,
        cols=2,
        back=cb("addmed", "start"),
        edit=edit,
        wants_text=True,
    )


async def on_amount(ctx: Ctx) -> None:
    draft = drafts.current(ctx)
    amount = parse_amount(ctx.msg.text) if ctx.msg.location is None else None
    if amount is None:
        ctx.say(
            ctx._(
                "Please type how much you take each time, as your doctor told you: "
                "a number like 1 or ½, or with its unit, like 10 units."
            )
        )
        # The amount buttons again, so a resident who typed by mistake can still tap.
        await ask_amount(ctx, draft, edit=False)
        return
    number_only = is_number(amount)
    draft["amount"] = amount
    if not number_only:
        draft["unit"] = ""  # the typed words carry the unit
    elif not draft["unit"]:
        draft["unit"] = "tablet"
    drafts.save(ctx, draft)
    await times.ask_when(ctx, draft, edit=False)


# -- step 5: confirm -------------------------------------------------------------------------
def _new_entry(draft: dict[str, Any]) -> NewEntry:
    return NewEntry(
        catalog_id=draft["cid"] or None,
        name=draft["med"],
        name_en=draft["name_en"],
        ingredient=draft["ing"],
        strength=draft["strength"],
        amount=draft["amount"],
        unit=draft["unit"],
        times=tuple(draft["times"]),
        meals=Meals(draft["meals"]),
        start_on=date.fromisoformat(draft["start"]),
        end_on=date.fromisoformat(draft["end"]) if draft["end"] else None,
    )


async def same_warning(ctx: Ctx, ingredient: str, skip: int = 0) -> str:
    """The "same active ingredient" note, or "" if no other medicine has it."""
    svc = ctx.services.medicines
    others = same_ingredient(await svc.entries(ctx.user.id), ingredient, skip)
    if not others:
        return ""
    return ctx._(
        "⚠️ {names} on your list has the same active ingredient ({ingredient}). Please check "
        "with your doctor or pharmacist that you are meant to take both."
    ).format(
        names=ctx.t.list([view.entry_name(ctx.t, e) for e in others]),
        ingredient=_ingredient_name(ctx, ingredient),
    )


def _ingredient_name(ctx: Ctx, ingredient: str) -> str:
    catalog = ctx.services.medicines.catalog
    m = next((m for m in catalog.medicines if m.ingredient_en == ingredient), None)
    if m is None:
        return ingredient
    return m.ingredient_en if ctx.locale == "en" else m.ingredient_zh


async def confirm(ctx: Ctx, draft: dict[str, Any], edit: bool = True) -> None:
    svc = ctx.services.medicines
    e = _new_entry(draft)
    start = e.start_on
    lines = [
        ctx._("Save this medicine?"),
        "💊 " + f"{drafts.name(ctx, draft)} {draft['strength']}".strip(),
        ctx._("Each time: {dose}, as your doctor told you").format(
            dose=view.dose_text(ctx.t, e.amount, e.unit)
        ),
        ctx._("When: {times}, {meals}").format(
            times=view.times_text(ctx.t, list(e.times)), meals=ctx._(view.MEALS_LABELS[e.meals])
        ),
        (
            ctx._("From {start} until {end}").format(
                start=ctx.t.date(start), end=ctx.t.date(e.end_on)
            )
            if e.end_on
            else ctx._("From {start}").format(start=ctx.t.date(start))
        ),
    ]
    warn = await same_warning(ctx, e.ingredient)
    if warn:
        lines.append(warn)
    buttons: list[Button] = [Button(ctx._("✅ Save"), cb("addmed", "save"))]
    med = svc.catalog.get(draft["cid"]) if draft["cid"] else None
    if med is not None and med.strengths and not draft["strength"]:
        lines.append(ctx._("Strength on your box? Tap it if you know it:"))
        buttons += [Button(s, cb("addmed", "str", i)) for i, s in enumerate(med.strengths[:4])]
    today = svc.today()
    if start == today:
        buttons.append(Button(ctx._("📅 Start tomorrow"), cb("addmed", "start1")))
    else:
        buttons.append(Button(ctx._("📅 Start today"), cb("addmed", "start0")))
    buttons.append(Button(ctx._("⏳ Set an end date"), cb("addmed", "endm")))
    ctx.say("\n".join(lines), buttons, cols=2, back=cb("addmed", "back", "meal"), edit=edit)


async def ask_end(ctx: Ctx, draft: dict[str, Any]) -> None:
    start = date.fromisoformat(draft["start"])
    buttons = [Button(ctx._("No end: I take it long-term"), cb("addmed", "end", 0))]
    for days in END_DAYS:
        last = start + timedelta(days=days - 1)
        label = ctx.ngettext("{n} week, until {date}", "{n} weeks, until {date}", days // 7)
        buttons.append(
            Button(label.format(n=days // 7, date=ctx.t.date(last)), cb("addmed", "end", days))
        )
    ctx.say(ctx._("Until when?"), buttons, cols=1, back=cb("addmed", "back", "conf"), edit=True)


async def save(ctx: Ctx, draft: dict[str, Any]) -> None:
    from handlers.resident import medicines as home

    svc = ctx.services.medicines
    entry_id, upcoming = await svc.add(ctx.user.id, _new_entry(draft))
    ctx.clear_state()
    ctx.notice(ctx._("Saved."))
    entry = await svc.store.entry(ctx.user.id, entry_id)
    assert entry is not None
    lines = [ctx._("✅ Saved: {line}").format(line=view.entry_line(ctx.t, entry))]
    mine = [
        at
        for at in upcoming
        if any(d.entry.id == entry_id for d in await svc.slot(ctx.user.id, at))
    ]
    if mine:
        when = ctx.t.datetime(svc.at_local(mine[0]))
        lines.append(
            ctx.ngettext(
                "🔔 {n} reminder is planned so far; the next at {when}.",
                "🔔 {n} reminders are planned so far; the next at {when}.",
                len(mine),
            ).format(n=len(mine), when=when)
        )
    else:
        lines.append(ctx._("No reminder is planned for it yet (none falls in the next two days)."))
    warn = await same_warning(ctx, entry.ingredient, skip=entry.id)
    if warn:
        lines.append(warn)
    await home.show_list(ctx, prefix="\n".join(lines))


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.part(0)
    if action == "start":
        await picker(ctx, edit=True)
        return
    if action == "grp":
        await group(ctx, data.part(1))
        return
    if action == "pick":
        await chosen(ctx, data.part(1))
        return
    if action == "free":
        await chosen(ctx, None)
        return
    draft = drafts.current(ctx)
    if action == "back":
        step = data.choice(1, ("amt", "when", "meal", "conf"))
        drafts.save(ctx, draft)
        if step == "amt":
            await ask_amount(ctx, draft)
        elif step == "when":
            await times.ask_when(ctx, draft)
        elif step == "meal":
            await times.ask_meals(ctx, draft)
        else:
            await confirm(ctx, draft)
        return
    if action in ("amt", "amtu"):
        if action == "amt":
            if draft["unit"] not in COUNTABLE:
                raise StaleButton("amount buttons for countable units only")
            draft["amount"] = AMOUNTS[data.choice(1, tuple(AMOUNTS))]
        else:
            if draft["unit"]:
                raise StaleButton("unit is known")
            draft["unit"] = data.choice(1, COUNTABLE)
            draft["amount"] = "1"
        drafts.save(ctx, draft)
        await times.ask_when(ctx, draft)
    elif action == "amtx":
        drafts.save(ctx, draft, AMOUNT)
        ctx.say(
            ctx._(
                "Type how much you take each time, as your doctor told you (e.g. 1, ½, 10 units)."
            ),
            back=cb("addmed", "back", "amt"),
            wants_text=True,
            edit=True,
        )
    elif not draft.get("amount"):
        raise StaleButton("no amount yet")
    elif action == "when":
        key = data.choice(1, (*times.PRESETS, "x"))
        if key == "x":
            draft["times"] = []
            drafts.save(ctx, draft)
            await times.ask_times(ctx, draft)
        else:
            await times.preset(ctx, draft, key)
    elif action == "part":
        await times.ask_hour(ctx, data.part(1))
    elif action == "hour":
        await times.ask_minute(ctx, data.int_part(1))
    elif action == "time":
        await times.add_time(ctx, draft, data.part(1))
    elif action == "tdone":
        if not draft.get("times"):
            raise StaleButton("no times chosen")
        await times.ask_meals(ctx, draft)
    elif not draft.get("times"):
        raise StaleButton("no times yet")
    elif action == "meal":
        draft["meals"] = data.choice(1, tuple(str(m) for m in Meals))
        drafts.save(ctx, draft)
        await confirm(ctx, draft)
    elif not draft.get("meals"):
        raise StaleButton("no meals answer yet")
    elif action == "str":
        med = ctx.services.medicines.catalog.get(draft["cid"])
        i = data.int_part(1)
        if med is None or i >= len(med.strengths):
            raise StaleButton("unknown strength")
        draft["strength"] = med.strengths[i]
        drafts.save(ctx, draft)
        await confirm(ctx, draft)
    elif action in ("start0", "start1"):
        today = ctx.services.medicines.today()
        start = today + timedelta(days=1 if action == "start1" else 0)
        draft["start"] = start.isoformat()
        if draft["end"] and date.fromisoformat(draft["end"]) < start:
            draft["end"] = ""
        drafts.save(ctx, draft)
        await confirm(ctx, draft)
    elif action == "endm":
        await ask_end(ctx, draft)
    elif action == "end":
        days = data.int_part(1)
        if days not in (0, *END_DAYS):
            raise StaleButton("unknown end")
        start = date.fromisoformat(draft["start"])
        draft["end"] = (start + timedelta(days=days - 1)).isoformat() if days else ""
        drafts.save(ctx, draft)
        await confirm(ctx, draft)
    elif action == "save":
        await save(ctx, draft)
    else:
        raise StaleButton(f"unknown action {action!r}")


async def on_draft_text(ctx: Ctx) -> None:
    """Typed text where buttons are asked for: say so and show the step again."""
    draft = drafts.current(ctx)
    ctx.say(ctx._("Please use the buttons for this step."))
    if not draft.get("amount"):
        await ask_amount(ctx, draft, edit=False)
    elif not draft.get("times"):
        await times.ask_when(ctx, draft, edit=False)
    elif not draft.get("meals"):
        await times.ask_meals(ctx, draft)
    else:
        await confirm(ctx, draft, edit=False)


def register(r: Registry) -> None:
    r.button("addmed", on_button)
    r.state(DRAFT, on_draft_text)
    r.state(PICK, on_search)
    r.state(AMOUNT, on_amount)
