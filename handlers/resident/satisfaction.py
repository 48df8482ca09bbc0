"""Satisfaction after visits (满意度): the question the day after an attended visit (five big
buttons, asked once), the rating, and a comment only for a rating of 2 or less."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import HOME, Ctx
from bot.core import Button, Kind, Reply
from bot.domain.residents import FlowState
from bot.i18n import N_
from bot.router import Registry
from bot.services.satisfaction import ASK_KIND, NotYourVisit

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Comment(FlowState):
    """A low rating was given: the comment for this visit is being typed."""

    NAME: ClassVar[str] = "survey.comment"
    appointment: int = 0


COMMENT = Comment.NAME
LABELS = {
    1: N_("😞 1 · Very unsatisfied"),
    2: N_("🙁 2 · Unsatisfied"),
    3: N_("😐 3 · Neither"),
    4: N_("🙂 4 · Satisfied"),
    5: N_("😀 5 · Very satisfied"),
}


async def render_ask(rt: Runtime, t: Translator, resident: Resident, row: OutboxRow) -> list[Reply]:
    service = rt.services.satisfaction
    appointment_id = int(row.params.get("appointment_id", 0))
    appt = await service.appointment(appointment_id)
    if appt is None or appt["status"] != "attended" or await service.answered(appointment_id):
        return []  # no longer attended (corrected), or answered already
    doctor = await rt.services.directory.doctor(appt["doctor_id"])
    who = ""
    if doctor is not None:
        who = names.doctor_name(t.locale, doctor)
    day = t.date(datetime.fromtimestamp(appt["start_at"], t.tz))
    text = t.gettext(
        "How satisfied were you with your visit to {doctor} on {date}? Tap one answer."
    ).format(doctor=who or t.gettext("your family doctor"), date=day)
    buttons = tuple(
        (Button(t.gettext(LABELS[n]), cb("survey", "r", appointment_id, n)),)
        for n in (5, 4, 3, 2, 1)
    )
    return [Reply(text=text, buttons=(*buttons, (Button(t.gettext("🏠 Home"), HOME),)))]


async def on_button(ctx: Ctx, data: Callback) -> None:
    data.expect(2, 3)
    action = data.choice(0, ("r", "skip"))
    appointment_id = data.int_part(1)
    service = ctx.services.satisfaction
    if action == "skip":
        if ctx.state.name != COMMENT:
            raise StaleButton("no comment asked")
        ctx.clear_state()
        ctx.say(ctx._("Thank you for your answer."), home=True)
        return
    rating = data.int_part(2)
    try:
        rated = await service.answer(ctx.user.id, appointment_id, rating)
    except NotYourVisit:
        raise StaleButton("not the resident's attended visit") from None
    if not rated.new:
        ctx.notice(ctx._("Already answered."))
        ctx.say(
            ctx._("You already answered for this visit: {n} of 5. Thank you.").format(
                n=rated.rating
            ),
            home=True,
        )
        return
    ctx.notice(ctx._("Saved."))
    if rated.wants_comment:
        ctx.enter(Comment(appointment=appointment_id))
        ctx.say(
            ctx._("We are sorry. What went wrong? Type a few words, or tap Skip."),
            [Button(ctx._("⏭ Skip"), cb("survey", "skip", appointment_id))],
            home=True,
            free_text=True,
        )
        return
    ctx.say(ctx._("Thank you for your answer: {n} of 5.").format(n=rating), home=True)


async def on_comment(ctx: Ctx) -> None:
    text = ctx.msg.text.strip() if ctx.msg.kind is Kind.TEXT else ""
    flow = ctx.flow(Comment)
    appointment_id = flow.appointment if flow is not None else 0
    if not text:
        ctx.say(
            ctx._("Please type a few words, or tap Skip."),
            [Button(ctx._("⏭ Skip"), cb("survey", "skip", appointment_id))],
            free_text=True,
        )
        return
    saved = await ctx.services.satisfaction.comment(ctx.user.id, appointment_id, text)
    ctx.clear_state()
    ctx.say(
        ctx._("Thank you. Your comment is saved for the centre.")
        if saved
        else ctx._("Your comment for this visit was already saved."),
        home=True,
    )


async def plan(rt: Runtime) -> None:
    await rt.services.satisfaction.plan()


async def escalate(rt: Runtime) -> None:
    await rt.services.tickets.escalate()


async def close_stale(rt: Runtime) -> None:
    await rt.services.tickets.close_stale()


async def catch_up(rt: Runtime) -> None:
    """After downtime: visits to ask about and tickets waiting too long are found at once."""
    await plan(rt)
    await escalate(rt)


def register(r: Registry) -> None:
    r.button("survey", on_button)
    r.state(COMMENT, on_comment)
    r.notification(ASK_KIND, render_ask)
    r.job("satisfaction.plan", plan, trigger="cron", hour="9-19", minute=5)
    r.job("tickets.escalate", escalate, trigger="interval", minutes=5)
    r.job("tickets.close", close_stale, trigger="cron", minute=20)
    r.on_background(catch_up)
