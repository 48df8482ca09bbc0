"""Adding a medicine, the steps after the amount: when (named times of day, or set times by
the part of the day, the hour and the minutes, within the deployment's cap) and before or
after meals."""

from __future__ import annotations

from typing import Any

from bot.callbacks import StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.medicines import MAX_TIMES_PER_DAY, SLOT_TIMES, Meals, Slot, parse_hhmm
from bot.services import medicines_view as view
from handlers.resident import medicines_draft as drafts

PRESETS: dict[str, tuple[Slot, ...]] = {
    "m": (Slot.MORNING,),
    "n": (Slot.NOON,),
    "e": (Slot.EVENING,),
    "b": (Slot.BEDTIME,),
    "me": (Slot.MORNING, Slot.EVENING),
    "mne": (Slot.MORNING, Slot.NOON, Slot.EVENING),
}
PARTS = {"am": range(5, 11), "mid": range(11, 15), "pm": range(15, 19), "eve": range(19, 24)}


# -- step 3: when ----------------------------------------------------------------------------
def _slot_label(ctx: Ctx, slot: Slot) -> str:
    labels = {
        Slot.MORNING: ctx._("🌅 Morning"),
        Slot.NOON: ctx._("☀️ Noon"),
        Slot.EVENING: ctx._("🌆 Evening"),
        Slot.BEDTIME: ctx._("🌙 Bedtime"),
    }
    return f"{labels[slot]} {view.clock(ctx.t, SLOT_TIMES[slot])}"


async def ask_when(ctx: Ctx, draft: dict[str, Any], edit: bool = True) -> None:
    buttons = [
        Button(_slot_label(ctx, slots[0]), cb("addmed", "when", k))
        for k, slots in PRESETS.items()
        if len(slots) == 1
    ]
    buttons.append(Button(ctx._("🌅🌆 Morning and evening"), cb("addmed", "when", "me")))
    buttons.append(Button(ctx._("🌅☀️🌆 Morning, noon, evening"), cb("addmed", "when", "mne")))
    buttons.append(Button(ctx._("🕐 Choose times"), cb("addmed", "when", "x")))
    ctx.say(
        ctx._("When do you take it?")
        + "\n"
        + ctx._("{name}: {dose}").format(
            name=drafts.name(ctx, draft),
            dose=view.dose_text(ctx.t, draft["amount"], draft["unit"]),
        ),
        buttons,
        cols=2,
        back=cb("addmed", "back", "amt"),
        edit=edit,
    )


async def ask_times(ctx: Ctx, draft: dict[str, Any]) -> None:
    """Set times: a part of the day, then the hour, then the minutes."""
    chosen_times = draft.get("times") or []
    lines = [ctx._("Choose a time: first the part of the day.")]
    if chosen_times:
        lines.append(
            ctx._("Chosen so far: {times}").format(times=view.times_text(ctx.t, chosen_times))
        )
    buttons = [
        Button(ctx._("Early morning to 10:59"), cb("addmed", "part", "am")),
        Button(ctx._("11:00 to 14:59"), cb("addmed", "part", "mid")),
        Button(ctx._("15:00 to 18:59"), cb("addmed", "part", "pm")),
        Button(ctx._("19:00 to 23:59"), cb("addmed", "part", "eve")),
    ]
    if chosen_times:
        buttons.append(Button(ctx._("✅ Done: these times"), cb("addmed", "tdone")))
    ctx.say("\n".join(lines), buttons, cols=2, back=cb("addmed", "back", "when"), edit=True)


async def ask_hour(ctx: Ctx, part: str) -> None:
    hours = PARTS.get(part)
    if hours is None:
        raise StaleButton("unknown part of day")
    ctx.say(
        ctx._("Which hour?"),
        [Button(f"{h:02d}:··", cb("addmed", "hour", h)) for h in hours],
        cols=3,
        back=cb("addmed", "when", "x"),
        edit=True,
    )


async def ask_minute(ctx: Ctx, hour: int) -> None:
    if not 5 <= hour <= 23:
        raise StaleButton("hour out of range")
    ctx.say(
        ctx._("And the minutes?"),
        [
            Button(
                view.clock(ctx.t, f"{hour:02d}:{m:02d}"), cb("addmed", "time", f"{hour:02d}{m:02d}")
            )
            for m in (0, 15, 30, 45)
        ],
        cols=2,
        back=cb("addmed", "when", "x"),
        edit=True,
    )


async def add_time(ctx: Ctx, draft: dict[str, Any], code: str) -> None:
    t = parse_hhmm(f"{code[:2]}:{code[2:]}") if len(code) == 4 and code.isdigit() else None
    if t is None or not 5 <= t.hour <= 23 or t.minute % 15:
        raise StaleButton("bad time")
    svc = ctx.services.medicines
    if not svc.cap.allows(t):
        assert svc.cap.start is not None and svc.cap.end is not None
        ctx.notice(ctx._("Not possible here."))
        ctx.say(
            ctx._(
                "This service sends medicine reminders between {start} and {end} only. "
                "Please choose a time in between."
            ).format(start=ctx.t.time(svc.cap.start), end=ctx.t.time(svc.cap.end)),
            [Button(ctx._("🕐 Choose times"), cb("addmed", "when", "x"))],
            back=cb("addmed", "back", "when"),
        )
        return
    times = sorted(set(draft.get("times") or []) | {view.hhmm(t)})
    if len(times) > MAX_TIMES_PER_DAY:
        raise StaleButton("too many times")
    draft["times"] = times
    drafts.save(ctx, draft)
    await ask_times(ctx, draft)


def _allowed_times(ctx: Ctx, times: list[str]) -> list[str] | None:
    cap = ctx.services.medicines.cap
    ok = [x for x in times if (p := parse_hhmm(x)) is not None and cap.allows(p)]
    return ok if len(ok) == len(times) else None


async def preset(ctx: Ctx, draft: dict[str, Any], key: str) -> None:
    times = [SLOT_TIMES[s] for s in PRESETS[key]]
    if _allowed_times(ctx, times) is None:
        cap = ctx.services.medicines.cap
        assert cap.start is not None and cap.end is not None
        ctx.say(
            ctx._(
                "This service sends medicine reminders between {start} and {end} only. "
                "Please choose a time in between."
            ).format(start=ctx.t.time(cap.start), end=ctx.t.time(cap.end)),
            [Button(ctx._("🕐 Choose times"), cb("addmed", "when", "x"))],
            back=cb("addmed", "back", "when"),
        )
        return
    draft["times"] = times
    drafts.save(ctx, draft)
    await ask_meals(ctx, draft)


# -- step 4: meals ---------------------------------------------------------------------------
async def ask_meals(ctx: Ctx, draft: dict[str, Any]) -> None:
    ctx.say(
        ctx._("Before or after meals, as your doctor told you?"),
        [Button(view.meals_choice(ctx.t, m), cb("addmed", "meal", str(m))) for m in Meals],
        cols=2,
        back=cb("addmed", "back", "when"),
        edit=True,
    )
