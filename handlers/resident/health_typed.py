"""Health values typed in a message ("血糖6.5", "my sugar is 2.5", "血压160/100"): judged by the
clinical rules for this resident, by the same engine as a logged reading, and answered by the
same composer (bot/services/clinical_reply.py: one decided action, one urgency, one recheck
time), headed as not saved.

- Glucose: the timing the words give (空腹, "after dinner") is used. When they give none and
  fasting and after a meal would be answered differently, two buttons ask which it was
  (never assumed fasting); a value answered the same either way is answered at once.
- A low value the rules call urgent, or a low value with a symptom of low sugar, is answered
  by the emergency guard in any state (handlers/emergency.py `treat_first`), with this reply:
  treat it first, 120 only if drowsy, confused or unable to swallow.
- Blood pressure: judged as a home reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.domain.clinical import Action, Decision
from bot.domain.residents import FlowState
from bot.i18n import N_
from bot.router import Registry
from bot.services.clinical import HOME as HOME_SETTING
from bot.services.clinical import typed_blood_pressures
from bot.services.clinical_reply import beyond_lines, reading_lines
from bot.services.reading_view import bp_text, glucose_text
from bot.services.readings import CONTEXTS, ReadingError, check_bp
from bot.services.redflags import glucose_setting
from handlers.resident.health import HOME
from handlers.resident.health_log import urgent_centre

NOT_SAVED = N_("This value is not saved. To keep it for you and your doctor, log it in My health.")


@dataclass(frozen=True, slots=True)
class TypedGlucose(FlowState):
    """Typed glucose values waiting for "fasting or after a meal?" (tenths of mmol/L)."""

    NAME: ClassVar[str] = "health.typed_gl"
    tenths: tuple[int, ...] = ()


def _beyond(ctx: Ctx, value: Decimal) -> bool:
    q = ctx.services.clinical.content.measure("glucose").quantity("glucose")
    return q is not None and not q.low <= value <= q.high


async def _send(ctx: Ctx, label: str, blocks: list[tuple[str, Decision, bool]]) -> None:
    """Each value its own message (one urgency each), then the "not saved" note. A block is
    (the value shown, the rules' decision, beyond the entry range)."""
    content = ctx.services.clinical.content
    for shown, d, beyond in blocks:
        if beyond:
            lines = [ctx.t.labelled(ctx._(label), shown), *beyond_lines(ctx._, content, d)]
        else:
            centre = await urgent_centre(ctx) if d.action is Action.COME_TODAY else None
            lines = reading_lines(ctx._, content, d, shown, centre, saved=False)
        ctx.reply(Reply(text="\n".join(lines)))
    ctx.say(ctx._(NOT_SAVED), [Button(ctx._("❤️ My health"), HOME)], home=True)


async def send_glucose(
    ctx: Ctx, judged: list[tuple[Decimal, Decision]], setting: str | None
) -> None:
    blocks = [(glucose_text(ctx.t, float(v), None, setting), d, _beyond(ctx, v)) for v, d in judged]
    await _send(ctx, N_("Blood sugar"), blocks)


def ask_setting(ctx: Ctx, values: list[Decimal]) -> None:
    """The answer depends on the timing and the words did not say it: ask."""
    ctx.enter(TypedGlucose(tenths=tuple(int(v * 10) for v in values)))
    shown = ctx.t.list([glucose_text(ctx.t, float(v)) for v in values])
    ctx.say(
        ctx._(
            "🩸 Blood sugar {value}: what it means depends on when you measured it. When was it?"
        ).format(value=shown),
        [
            Button(ctx._("🌅 Fasting (before eating)"), cb("typed", "gl", "fasting")),
            Button(ctx._("🍽 2 hours after a meal"), cb("typed", "gl", "after_meal")),
        ],
        home=True,
    )


async def treat_first(ctx: Ctx, judged: tuple[tuple[Decimal, Decision], ...], text: str) -> None:
    """The emergency guard's reply to a typed low sugar (state kept: a flow goes on after)."""
    await send_glucose(ctx, list(judged), glucose_setting(text))


async def answer(ctx: Ctx, text: str) -> bool:
    """A typed glucose or blood-pressure value outside any flow: True if it answered."""
    if await _answer_bp(ctx, text):
        return True
    values = await ctx.services.emergency.typed_glucose(text, ctx.user.id)
    if not values:
        return False
    setting = glucose_setting(text)
    if any(d is None for _, d in values):
        ask_setting(ctx, [v for v, _ in values])
        return True
    ctx.clear_state()
    await send_glucose(ctx, [(v, d) for v, d in values if d is not None], setting)
    return True


async def _answer_bp(ctx: Ctx, text: str) -> bool:
    pairs = typed_blood_pressures(text)
    if not pairs:
        return False
    ctx.clear_state()
    rules = ctx.services.clinical
    person = await ctx.services.health.person(ctx.user.id)
    blocks: list[tuple[str, Decision, bool]] = []
    for systolic, diastolic in pairs:
        shown = bp_text(ctx.t, systolic, diastolic)
        try:
            d = rules.judge(check_bp(systolic, diastolic), person, HOME_SETTING)
        except ReadingError as exc:
            beyond = rules.beyond(exc)
            if beyond is None:
                ctx.reply(Reply(text="❗ " + ctx._(exc.msgid).format(**exc.params)))
                continue
            blocks.append((shown, beyond, True))
            continue
        blocks.append((shown, d, False))
    await _send(ctx, N_("Blood pressure"), blocks)
    return True


async def on_button(ctx: Ctx, data: Callback) -> None:
    """🌅 / 🍽 pressed for typed glucose values: the rules' answer for that timing."""
    data.expect(2)
    if data.part(0) != "gl":
        raise StaleButton("unknown typed value")
    setting = data.choice(1, CONTEXTS)
    waiting = ctx.flow(TypedGlucose)
    if waiting is None or not waiting.tenths:
        raise StaleButton("no typed glucose waiting")
    ctx.clear_state()
    judge = await ctx.services.emergency.judge_for(ctx.user.id)
    judged = []
    for tenths in waiting.tenths:
        value = Decimal(int(tenths)) / 10
        d = judge(value, setting)
        if d is not None:
            judged.append((value, d))
    await send_glucose(ctx, judged, setting)


def register(r: Registry) -> None:
    r.button("typed", on_button)
