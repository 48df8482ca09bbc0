"""Health tips: subscribe with buttons, read a tip now, the rhyme, feedback on every tip.

Scheduled tips are outbox rows of kind "tip" planned by `bot.services.tips`; the delivery
pipeline sends them and calls `render_tip` in the recipient's language at send time.
In elder mode every change (on, off, topics, time, frequency) is asked first and saved only
on "✅ Yes"; the "Yes" button carries the value chosen, so tapping it twice changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.tips import FREQUENCIES, SLOTS, Subscription
from bot.i18n import N_, Translator
from bot.layout import notification
from bot.router import Registry
from bot.services.tips import (
    KIND,
    RHYME_ID,
    SLOT_TIMES,
    TOPICS,
    Tip,
    plan_tips,
)

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

SHOW = cb("tips", "show")
SLOT_LABELS = {
    "morning": N_("🌅 Morning {time}"),
    "noon": N_("☀️ Noon {time}"),
    "evening": N_("🌇 Evening {time}"),
}
ACTIONS = (
    "show", "on", "off", "next", "rhyme", "topics", "tt", "time", "slot", "freq", "fq", "wd",
    "fb", "less",
)  # fmt: skip


# -- rendering a tip (scheduled or on demand) ---------------------------------------------
def tip_text(t: Translator, tip: Tip) -> str:
    header = t.gettext("💡 Health tip · {topic}").format(topic=t.gettext(TOPICS[tip.topic]))
    body = tip.text_in(t.locale)
    if tip.id == RHYME_ID and t.locale != "zh_Hans":
        # The rhyme is read in the original too: it is what residents see on the posters.
        body = tip.text_in("zh_Hans") + "\n\n" + body
    source = t.gettext("Source: {source}").format(source=tip.source_in(t.locale))
    return f"{header}\n\n{body}\n\n{source}"


def tip_buttons(t: Translator, tip: Tip, more: bool = False) -> tuple[tuple[Button, ...], ...]:
    """👍 helpful · 🔕 fewer tips; `more` adds "Another tip" (when read on demand)."""
    rows: tuple[tuple[Button, ...], ...] = (
        (
            Button(t.gettext("👍 Helpful"), cb("tips", "fb", tip.id, "up")),
            Button(t.gettext("🔕 Fewer tips"), cb("tips", "fb", tip.id, "less")),
        ),
    )
    if more:
        rows += ((Button(t.gettext("💡 Another tip"), cb("tips", "next")),),)
        # Read on demand from the tips screen: Back returns there (a tip that arrives on its
        # own has no screen behind it, only 🏠 Home).
        rows += ((Button(t.gettext("⬅️ Back"), SHOW),),)
    return rows


def tip_reply(t: Translator, tip: Tip, elder: bool, more: bool = False) -> Reply:
    """A tip with its buttons and 🏠 Home, in every mode (a tip arrives on its own)."""
    return notification(t, elder, tip_text(t, tip), tip_buttons(t, tip, more), home=True)


async def render_tip(rt: Runtime, t: Translator, resident: Resident, row: OutboxRow) -> list[Reply]:
    """A planned tip row, in the recipient's language. A tip removed from the content since
    it was planned renders as nothing (the pipeline then skips the row)."""
    tip = rt.services.tips.catalog.get(row.key)
    if tip is None:
        log.warning("tip %r of outbox row %s is no longer in the content", row.key, row.id)
        return []
    return [tip_reply(t, tip, resident.elder_mode)]


# -- screens ------------------------------------------------------------------------------
def _when(ctx: Ctx, sub: Subscription) -> str:
    slot = ctx._(SLOT_LABELS[sub.slot]).format(time=ctx.t.time(SLOT_TIMES[sub.slot]))
    if sub.frequency == "daily":
        return ctx._("Every day, {slot}").format(slot=slot)
    return ctx._("Every {weekday}, {slot}").format(weekday=_weekday(ctx, sub.weekday), slot=slot)


def _weekday(ctx: Ctx, index: int) -> str:
    return ctx.t.weekday_name(index)


def _due(ctx: Ctx, due: datetime) -> str:
    """`due` is when the planned row goes out (TipService.update reads it back)."""
    return ctx.t.weekday_datetime(due)


async def show(ctx: Ctx, edit: bool = False) -> None:
    """The Health tips screen: status and the buttons to change it."""
    svc = ctx.services.tips
    sub = await svc.subscription(ctx.user.id)
    reading = [
        Button(ctx._("💡 Another tip"), cb("tips", "next")),
        Button(ctx._("📜 Read the rhyme"), cb("tips", "rhyme")),
    ]
    if not sub.active:
        ctx.say(
            ctx._(
                "💡 Health tips\n"
                "Short, practical advice from community health services, sent at the time "
                "you choose. Tips are off."
            ),
            [Button(ctx._("🔔 Turn on tips"), cb("tips", "on")), *reading],
            cols=1,
            home=True,
            edit=edit,
            short=ctx._("💡 Health tips are off."),
        )
        return
    total = len(svc.catalog.topics_present())
    ctx.say(
        ctx._("💡 Health tips are on\nWhen: {when}\nTopics: {n} of {total}").format(
            when=_when(ctx, sub), n=len(sub.topics), total=total
        ),
        [
            *reading,
            Button(ctx._("🗂 Topics"), cb("tips", "topics")),
            Button(ctx._("⏰ Time of day"), cb("tips", "time")),
            Button(ctx._("📅 How often"), cb("tips", "freq")),
            Button(ctx._("🔕 Turn off tips"), cb("tips", "off")),
        ],
        cols=2,
        home=True,
        edit=edit,
        short=ctx._("💡 Tips are on: {when}").format(when=_when(ctx, sub)),
    )


async def menu_entry(ctx: Ctx) -> None:
    await show(ctx)


async def _saved(ctx: Ctx, due: datetime | None) -> None:
    ctx.notice(ctx._("Saved."))
    if due is not None:
        ctx.say(
            ctx._("Saved. Your next tip comes {when}.").format(when=_due(ctx, due)),
            [Button(ctx._("💡 Health tips"), SHOW)],
            home=True,
        )
    else:
        await show(ctx)


def _ask(ctx: Ctx, question: str, yes: str, no: str = SHOW) -> None:
    """Elder mode: nothing is saved before a second, explicit tap."""
    ctx.confirm(question, yes, no)


async def turn_on(ctx: Ctx, confirmed: bool) -> None:
    svc = ctx.services.tips
    current = await svc.subscription(ctx.user.id)
    if ctx.elder and not confirmed:
        _ask(
            ctx,
            ctx._("Turn on health tips? {when}.").format(
                when=_when(ctx, replace(current, active=True))
            ),
            cb("tips", "on", "ok"),
        )
        return
    sub, due = await svc.update(current, active=True)
    log.info("resident %s turned tips on", ctx.user.id)
    text = ctx._("🔔 Tips are on: {when}.").format(when=_when(ctx, sub))
    if due is not None:
        text += "\n" + ctx._("Your first tip comes {when}.").format(when=_due(ctx, due))
    ctx.say(
        text,
        [
            Button(ctx._("🗂 Topics"), cb("tips", "topics")),
            Button(ctx._("⏰ Time of day"), cb("tips", "time")),
            Button(ctx._("📅 How often"), cb("tips", "freq")),
        ],
        cols=2,
        back=SHOW,
    )


async def turn_off(ctx: Ctx, confirmed: bool) -> None:
    if ctx.elder and not confirmed:
        _ask(ctx, ctx._("Turn off health tips?"), cb("tips", "off", "ok"))
        return
    svc = ctx.services.tips
    await svc.update(await svc.subscription(ctx.user.id), active=False)
    log.info("resident %s turned tips off", ctx.user.id)
    ctx.notice(ctx._("Saved."))
    ctx.say(
        ctx._("🔕 Health tips are off. You can turn them on again at any time."),
        [Button(ctx._("🔔 Turn on tips"), cb("tips", "on"))],
        back=SHOW,
    )


async def topics_screen(ctx: Ctx, sub: Subscription, edit: bool) -> None:
    svc = ctx.services.tips
    buttons = [
        Button(("✅ " if key in sub.topics else "⬜ ") + ctx._(TOPICS[key]), cb("tips", "tt", key))
        for key in svc.catalog.topics_present()
    ]
    buttons.append(Button(ctx._("✔️ Done"), SHOW))
    ctx.say(
        ctx._("Choose the topics you want tips about. Tap a topic to switch it on or off."),
        buttons,
        cols=2,
        back=SHOW,
        edit=edit,
        short=ctx._("Tap a topic to switch it on or off."),
    )


async def toggle_topic(ctx: Ctx, key: str, wanted: bool | None = None) -> None:
    """Switch a topic on or off. `wanted` is the state confirmed in elder mode (so a second
    tap on an old "Yes" does not switch it back)."""
    svc = ctx.services.tips
    sub = await svc.subscription(ctx.user.id)
    on = key not in sub.topics if wanted is None else wanted
    if on == (key in sub.topics):
        ctx.notice(ctx._("Already up to date."))
        await topics_screen(ctx, sub, edit=False)
        return
    topics = sub.topics | {key} if on else sub.topics - {key}
    if not topics:
        ctx.notice(ctx._("Keep at least one topic."))
        await topics_screen(ctx, sub, edit=wanted is None)
        return
    if ctx.elder and wanted is None:
        question = (
            ctx._("Save: send me tips about {topic}?")
            if on
            else ctx._("Save: no more tips about {topic}?")
        )
        _ask(
            ctx,
            question.format(topic=ctx._(TOPICS[key])),
            cb("tips", "tt", key, int(on), "ok"),
            cb("tips", "topics"),
        )
        return
    if sub.active:
        sub, _ = await svc.update(sub, topics=frozenset(topics))
    else:
        sub = replace(sub, topics=frozenset(topics))
        await svc.store.save(sub, ctx.rt.now())
    ctx.notice(ctx._("Saved."))
    await topics_screen(ctx, sub, edit=wanted is None)


async def time_screen(ctx: Ctx) -> None:
    buttons = [
        Button(ctx._(SLOT_LABELS[s]).format(time=ctx.t.time(SLOT_TIMES[s])), cb("tips", "slot", s))
        for s in SLOTS
    ]
    ctx.say(ctx._("When would you like your tip?"), buttons, cols=1, back=SHOW, edit=True)


async def freq_screen(ctx: Ctx) -> None:
    ctx.say(
        ctx._("How often would you like a tip?"),
        [
            Button(ctx._("📅 Every day"), cb("tips", "fq", "daily")),
            Button(ctx._("🗓 Once a week"), cb("tips", "fq", "weekly")),
        ],
        cols=2,
        back=SHOW,
        edit=True,
    )


async def weekday_screen(ctx: Ctx) -> None:
    buttons = [Button(_weekday(ctx, i), cb("tips", "wd", i)) for i in range(7)]
    ctx.say(ctx._("On which day of the week?"), buttons, cols=3, back=cb("tips", "freq"))


async def change(ctx: Ctx, yes: str, confirmed: bool, **changes: object) -> None:
    """Save a new time or frequency; in elder mode only after "✅ Yes" (`yes` is its data)."""
    svc = ctx.services.tips
    sub = await svc.subscription(ctx.user.id)
    if not sub.active:
        changes["active"] = True  # choosing a time or frequency means they want tips
    if ctx.elder and not confirmed:
        after = replace(sub, **changes)  # type: ignore[arg-type]
        _ask(ctx, ctx._("Save: health tips {when}?").format(when=_when(ctx, after)), yes)
        return
    _, due = await svc.update(sub, **changes)
    await _saved(ctx, due)


def _ok(data: Callback, index: int) -> bool:
    """Whether the button is the elder-mode "✅ Yes" (an `ok` after its arguments)."""
    return len(data.parts) == index + 1 and data.choice(index, ("ok",)) == "ok"


async def another(ctx: Ctx) -> None:
    svc = ctx.services.tips
    sub = await svc.subscription(ctx.user.id)
    tip = await svc.another(ctx.user.id, sub.topics)
    if tip is None:  # only if the content has no tip of their topics
        ctx.say(ctx._("There are no tips for your topics yet."), back=SHOW)
        return
    ctx.reply(tip_reply(ctx.t, tip, ctx.elder, more=True))


async def rhyme(ctx: Ctx) -> None:
    tip = ctx.services.tips.catalog.get(RHYME_ID)
    if tip is None:
        raise RuntimeError("the hygiene rhyme is missing from content/tips")
    ctx.reply(tip_reply(ctx.t, tip, ctx.elder, more=True))


async def feedback(ctx: Ctx, data: Callback) -> None:
    data.expect(3)
    svc = ctx.services.tips
    tip = svc.catalog.get(data.part(1))
    if tip is None:
        raise StaleButton("unknown tip")
    verdict = {"up": "helpful", "less": "fewer"}[data.choice(2, ("up", "less"))]
    await svc.feedback(ctx.user.id, tip.id, verdict)
    log.info("resident %s: tip %s %s", ctx.user.id, tip.id, verdict)
    if verdict == "helpful":
        ctx.notice(ctx._("Thank you!"))
        ctx.say(
            ctx._("👍 Thank you! We are glad it helped."),
            [Button(ctx._("💡 Another tip"), cb("tips", "next"))],
            back=SHOW,
        )
        return
    sub = await svc.subscription(ctx.user.id)
    ctx.notice(ctx._("Noted."))
    if not sub.active:
        ctx.say(ctx._("Noted, thank you. Tips are not being sent to you."), back=SHOW)
        return
    options = [Button(ctx._("🔕 Turn off tips"), cb("tips", "off"))]
    if sub.frequency == "daily":
        options.insert(0, Button(ctx._("🗓 Once a week instead"), cb("tips", "less", "weekly")))
    options.append(Button(ctx._("Keep as it is"), SHOW))
    ctx.say(
        ctx._("Noted, thank you. Would you like fewer tips?"),
        options,
        cols=1,
        back=SHOW,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ACTIONS)
    if action == "show":
        data.expect(1)
        await show(ctx, edit=True)
    elif action == "on":
        data.expect(1, 2)
        await turn_on(ctx, _ok(data, 1))
    elif action == "off":
        data.expect(1, 2)
        await turn_off(ctx, _ok(data, 1))
    elif action == "next":
        data.expect(1)
        await another(ctx)
    elif action == "rhyme":
        data.expect(1)
        await rhyme(ctx)
    elif action == "topics":
        data.expect(1)
        await topics_screen(ctx, await ctx.services.tips.subscription(ctx.user.id), False)
    elif action == "tt":
        data.expect(2, 4)
        key = data.choice(1, frozenset(TOPICS))
        if len(data.parts) == 2:
            await toggle_topic(ctx, key)
        else:
            on = data.choice(2, ("0", "1")) == "1"
            data.choice(3, ("ok",))
            await toggle_topic(ctx, key, wanted=on)
    elif action == "time":
        data.expect(1)
        await time_screen(ctx)
    elif action == "slot":
        data.expect(2, 3)
        slot = data.choice(1, SLOTS)
        await change(ctx, cb("tips", "slot", slot, "ok"), _ok(data, 2), slot=slot)
    elif action == "freq":
        data.expect(1)
        await freq_screen(ctx)
    elif action == "fq":
        data.expect(2, 3)
        if data.choice(1, FREQUENCIES) == "weekly":
            data.expect(2)
            await weekday_screen(ctx)
        else:
            yes = cb("tips", "fq", "daily", "ok")
            await change(ctx, yes, _ok(data, 2), frequency="daily")
    elif action == "wd":
        data.expect(2, 3)
        day = data.int_part(1)
        if day > 6:
            raise StaleButton("weekday out of range")
        yes = cb("tips", "wd", day, "ok")
        await change(ctx, yes, _ok(data, 2), frequency="weekly", weekday=day)
    elif action == "fb":
        await feedback(ctx, data)
    else:  # "less": switch to weekly, on today's weekday
        data.expect(2)
        data.choice(1, ("weekly",))
        day = ctx.now().weekday()
        await change(ctx, cb("tips", "wd", day, "ok"), False, frequency="weekly", weekday=day)


async def check_content(rt: Runtime) -> None:
    """Load the tips at start-up: a broken content file stops the bot with a clear message."""
    catalog = rt.services.tips.catalog
    if catalog.get(RHYME_ID) is None:
        raise RuntimeError("content/tips must contain the hygiene rhyme (id hygiene-rhyme)")


async def catch_up(rt: Runtime) -> None:
    """If the bot was down at the nightly run, plan today's tips now (dedupe makes it safe).

    Not after the evening slot: a tip planned then would wait out the quiet hours and arrive
    next morning next to that day's own tip."""
    svc = rt.services.tips
    if svc.local_now().time() < SLOT_TIMES["evening"]:
        rt.spawn(plan_tips(rt), name="tips.catch-up")


def register(r: Registry) -> None:
    r.top("tips", SHOW)
    r.menu_item("tips", menu_entry)
    r.command("tips", menu_entry)
    r.button("tips", on_button)
    r.notification(KIND, render_tip)
    r.on_startup(check_content)
    r.on_background(catch_up)
    # 00:30 deployment time: the day's tips are planned before the first slot (08:30).
    r.job("tips.plan", plan_tips, trigger="cron", hour=0, minute=30)
