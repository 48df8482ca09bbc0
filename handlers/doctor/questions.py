"""The doctor's side of "Ask my team": Questions (N) on the desk, oldest first, each with the
resident's card and the whole thread; the doctor answers by typing, with a saved answer
(content/answers/saved.yaml) or with a common-question answer, each sent in the resident's
language. Also the doctor's notifications (a new question, an escalated one) and the desk's
satisfaction view. Every button names a ticket by id and is checked against the doctor's team
and centre on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button, Kind, Reply
from bot.domain.directory import Doctor
from bot.domain.doctors import NewAudit
from bot.domain.questions import Route, SatisfactionGroup, Ticket
from bot.domain.residents import FlowState
from bot.router import Registry
from bot.services.satisfaction import MIN_GROUP
from bot.services.tickets import (
    ESCALATED_KIND,
    MAX_TEXT,
    NEW_KIND,
    NotYourTicket,
    TicketService,
    answer_key,
)
from handlers import promises
from handlers.doctor.desk import MENU, NotADoctor, require
from handlers.resident.health import CONDITION_LABELS

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Answering(FlowState):
    """A doctor typing the answer to one ticket (a staff state: never interrupted)."""

    NAME: ClassVar[str] = "answers.type"
    ticket: int = 0
    text: str = ""  # the typed answer shown in the preview, sent only on "Send"


TYPING = Answering.NAME
LIST = cb("answers", "list")


async def desk_buttons(ctx: Ctx, doctor: Doctor) -> list[Button]:
    """The desk's entries of this feature (handlers/doctor/desk.py adds them)."""
    n = len(await ctx.services.tickets.queue(doctor))
    return [
        Button(ctx._("❓ Questions ({n})").format(n=n), LIST),
        Button(ctx._("⭐ Satisfaction"), cb("answers", "sat")),
    ]


async def _resident_locale(ctx: Ctx, resident_id: int) -> str:
    resident = await ctx.services.residents.get(resident_id)
    return "en" if resident is not None and resident.locale == "en" else "zh_Hans"


async def card_lines(ctx: Ctx, doctor: Doctor, ticket: Ticket) -> list[str]:
    """The resident's card: the team's full card when the doctor may see it (signed or a
    recent visit), else (duty desk, not signed) only age and conditions, audited."""
    rid = ticket.resident_id
    if await ctx.services.doctors.can_reach(doctor, rid):
        c = await ctx.services.doctor_day.card(doctor, rid)
        name, age, conditions = c.name, c.age, c.conditions
    else:
        profile = await ctx.services.health.profile(rid)
        name = ""
        age = ctx.now().year - profile.birth_year if profile.birth_year else None
        conditions = tuple(x.condition for x in profile.conditions)
        await ctx.services.doctors.audit(
            NewAudit(doctor.id, "view_ticket", rid, f"ticket={ticket.id}")
        )
    lines = [f"🗂 {name or ctx._('Resident #{id}').format(id=rid)}"]
    lines.append(
        ctx._("Age: {age}").format(age=age) if age is not None else ctx._("Age: not given")
    )
    listed = ctx.t.list([ctx._(CONDITION_LABELS.get(x, x)) for x in conditions])
    lines.append(ctx._("Conditions: {list}").format(list=listed or ctx._("none recorded")))
    return lines


async def show_list(ctx: Ctx, doctor: Doctor, edit: bool = True) -> None:
    queue = await ctx.services.tickets.queue(doctor)
    if not queue:
        ctx.say(ctx._("No questions are waiting. 🎉"), back=MENU, edit=edit)
        return
    await show_ticket(ctx, doctor, queue[0], len(queue), edit)


async def show_ticket(ctx: Ctx, doctor: Doctor, ticket: Ticket, n: int, edit: bool) -> None:
    service = ctx.services.tickets
    lines = [
        ctx.ngettext(
            "{n} question is waiting. The oldest:",
            "{n} questions are waiting. The oldest:",
            n,
        ).format(n=n)
    ]
    if ticket.route is Route.DUTY:
        lines.append(
            ctx._("📋 Duty desk (escalated)") if ticket.escalated_at else ctx._("📋 Duty desk")
        )
    lines += await card_lines(ctx, doctor, ticket)
    lines.append("")
    for m in await service.messages(ticket.id):
        when = ctx.t.datetime(datetime.fromtimestamp(m.created_at, ctx.t.tz))
        who = ctx._("Resident") if m.author == "resident" else ctx._("Team")
        lines.append(ctx.t.labelled(f"{who} · {when}", m.text))
    buttons = [Button(ctx._("✍️ Type an answer"), cb("answers", "type", ticket.id))]
    buttons += [
        Button(ctx._("💾 Saved answers"), cb("answers", "saved", ticket.id)),
        Button(ctx._("📚 Common-question answers"), cb("answers", "faqs", ticket.id)),
    ]
    ctx.say("\n".join(lines), buttons, back=MENU, edit=edit)


async def _first_resident_text(ctx: Ctx, ticket: Ticket) -> str:
    messages = await ctx.services.tickets.messages(ticket.id)
    return " ".join(m.text for m in messages if m.author == "resident")


async def preview(ctx: Ctx, ticket: Ticket, text: str, send: str) -> None:
    ctx.say(
        ctx._("Send this answer?") + "\n\n" + text,
        [Button(ctx._("✅ Send"), send)],
        back=cb("answers", "open", ticket.id),
        edit=True,
    )


async def send_answer(ctx: Ctx, doctor: Doctor, ticket: Ticket, text: str) -> None:
    message_id = await ctx.services.tickets.answer(doctor, ticket.id, text)
    ctx.clear_state()
    if message_id is None:
        ctx.say(ctx._("A colleague answered this question first, or it was closed."), edit=True)
    else:
        # Composed from the notification row: "sent" only once it was, else when it goes out.
        state = await ctx.services.send_times.state(answer_key(message_id))
        ctx.notice(ctx._("Saved."))
        ctx.say(
            ctx._("✅ Your answer is saved on the question.")
            + " "
            + promises.delivery(
                ctx.t, state, ctx.now(), ctx._("The resident has been sent your answer.")
            ),
            edit=True,
        )
    await show_list(ctx, doctor, edit=False)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("list", "open", "type", "saved", "faqs", "s", "f", "sat", "send"))
    doctor = await require(ctx, f"answers:{action}")
    if action == "list":
        await show_list(ctx, doctor)
        return
    if action == "sat":
        await show_satisfaction(ctx, doctor)
        return
    service = ctx.services.tickets
    try:
        ticket = await service.for_doctor(doctor, data.int_part(1))
    except NotYourTicket:
        await ctx.services.doctors.denied(ctx.user, doctor, f"answers:{action}")
        raise NotADoctor(f"not the doctor's ticket: answers:{action}") from None
    if ticket.status != "open" and action != "open":
        raise StaleButton("ticket no longer open")
    loc = await _resident_locale(ctx, ticket.resident_id)
    if action == "open":
        await show_ticket(ctx, doctor, ticket, len(await service.queue(doctor)), edit=True)
    elif action == "send":  # the typed answer, after its preview
        flow = ctx.flow(Answering)
        if flow is None or flow.ticket != ticket.id or not flow.text:
            raise StaleButton("no typed answer for this question")
        await send_answer(ctx, doctor, ticket, flow.text)
    elif action == "type":
        ctx.enter(Answering(ticket=ticket.id))
        ctx.say(
            ctx._(
                "Type your answer (at most 2,000 characters). The resident reads it as you type it."
            ),
            back=cb("answers", "open", ticket.id),
            free_text=True,
        )
    elif action == "saved":
        saved = ctx.services.tickets.saved
        ctx.say(
            ctx._("Saved answers (sent in the resident's language):"),
            [Button(v[_own(ctx)][:60], cb("answers", "s", ticket.id, k)) for k, v in saved.items()],
            back=cb("answers", "open", ticket.id),
            edit=True,
        )
    elif action == "faqs":
        found = ctx.services.faq.index.search(await _first_resident_text(ctx, ticket))
        ctx.say(
            ctx._("Common questions closest to theirs:"),
            [
                Button(h.entry.question[_own(ctx)][:60], cb("answers", "f", ticket.id, h.entry.id))
                for h in found.hits
            ],
            back=cb("answers", "open", ticket.id),
            edit=True,
        )
    elif action == "s":
        data.expect(3, 4)
        chosen = ctx.services.tickets.saved.get(data.part(2))
        if chosen is None:
            raise StaleButton("unknown saved answer")
        if len(data.parts) == 4 and data.choice(3, ("ok",)):
            await send_answer(ctx, doctor, ticket, chosen[loc])
        else:
            await preview(
                ctx, ticket, chosen[loc], cb("answers", "s", ticket.id, data.part(2), "ok")
            )
    else:  # "f": a common question's answer, with its source
        data.expect(3, 4)
        entry = ctx.services.faq.content.entry(data.part(2))
        if entry is None:
            raise StaleButton("unknown FAQ entry")
        theirs = ctx.rt.catalogs.get(loc)  # the resident's language, not the doctor's
        text = (
            entry.answer[loc]
            + "\n"
            + theirs.gettext("Source: {source}").format(source=entry.source[loc])
        )
        if len(data.parts) == 4 and data.choice(3, ("ok",)):
            await send_answer(ctx, doctor, ticket, text)
        else:
            await preview(ctx, ticket, text, cb("answers", "f", ticket.id, entry.id, "ok"))


def _own(ctx: Ctx) -> str:
    return "en" if ctx.locale == "en" else "zh_Hans"


async def on_typed(ctx: Ctx) -> None:
    doctor = await require(ctx, "answers:typed")
    flow = ctx.flow(Answering)
    ticket_id = flow.ticket if flow is not None else 0
    text = ctx.msg.text.strip() if ctx.msg.kind is Kind.TEXT else ""
    if not text:
        ctx.say(ctx._("Please type the answer as text."), free_text=True)
        return
    try:
        ticket = await ctx.services.tickets.for_doctor(doctor, ticket_id)
    except NotYourTicket:
        ctx.clear_state()
        raise NotADoctor("typed answer for a ticket not the doctor's") from None
    # Nothing is sent yet: the doctor sees the answer as the resident will, then confirms.
    text = text[:MAX_TEXT]
    ctx.enter(Answering(ticket=ticket.id, text=text))
    ctx.say(
        ctx._("Send this answer?")
        + "\n\n"
        + text
        + "\n\n"
        + ctx._("To change it, type the answer again."),
        [Button(ctx._("✅ Send"), cb("answers", "send", ticket.id))],
        back=cb("answers", "open", ticket.id),
        free_text=True,
    )


# -- satisfaction on the desk ---------------------------------------------------------------------
def group_line(ctx: Ctx, title: str, g: SatisfactionGroup | None) -> str:
    if g is None or g.answers == 0:
        return ctx._("{title}: no answers yet").format(title=title)
    if not g.shown or g.average is None:
        return ctx._("{title}: fewer than {min} answers, not shown").format(
            title=title, min=MIN_GROUP
        )
    return ctx._("{title}: {avg} of 5 from {n} answers").format(
        title=title, avg=ctx.t.number(g.average), n=ctx.t.number(g.answers)
    )


async def show_satisfaction(ctx: Ctx, doctor: Doctor) -> None:
    groups = await ctx.services.satisfaction.for_doctor(doctor)
    team = next((g for g in groups if g.team == doctor.team and g.team), None)
    centre = next((g for g in groups if g.team == ""), None)
    lines = [
        ctx._("⭐ Satisfaction after visits (last 12 months):"),
        group_line(ctx, ctx._("Your team"), team),
        group_line(ctx, ctx._("Your centre"), centre),
    ]
    ctx.say("\n".join(lines), back=MENU, edit=True)


# -- the doctor's notifications -------------------------------------------------------------------
async def _linked_doctor(rt: Runtime, resident: Resident) -> Doctor | None:
    return await rt.services.doctors.doctor_for(resident.channel, resident.channel_user_id)


def _still_waiting(doctor: Doctor | None, ticket: Ticket | None, service: TicketService) -> bool:
    return (
        doctor is not None
        and ticket is not None
        and service.sees(doctor, ticket)
        and ticket.status == "open"
    )


def _queue_button(t: Translator, n: int) -> Button:
    return Button(t.gettext("❓ Questions ({n})").format(n=n), LIST)


async def render_new(rt: Runtime, t: Translator, resident: Resident, row: OutboxRow) -> list[Reply]:
    doctor = await _linked_doctor(rt, resident)
    ticket = await rt.services.tickets.ticket(int(row.params.get("ticket_id", 0)))
    service = rt.services.tickets
    if (
        doctor is None
        or ticket is None
        or not service.sees(doctor, ticket)
        or ticket.status != "open"
    ):
        return []  # unlinked, moved or answered meanwhile: nothing to say
    n = len(await service.queue(doctor))
    text = t.ngettext(
        "❓ A resident asked your team a question. {n} question is waiting.",
        "❓ A resident asked your team a question. {n} questions are waiting.",
        n,
    ).format(n=n)
    return [
        Reply(text=text, buttons=((Button(t.gettext("❓ Questions ({n})").format(n=n), LIST),),))
    ]


async def render_escalated(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    doctor = await _linked_doctor(rt, resident)
    service = rt.services.tickets
    ticket = await service.ticket(int(row.params.get("ticket_id", 0)))
    if (
        doctor is None
        or ticket is None
        or not service.sees(doctor, ticket)
        or ticket.status != "open"
    ):
        return []
    n = len(await service.queue(doctor))
    text = t.gettext(
        "⏰ A resident's question was not answered in time and is now with your centre's duty "
        "desk. Please answer it."
    )
    return [
        Reply(text=text, buttons=((Button(t.gettext("❓ Questions ({n})").format(n=n), LIST),),))
    ]


def register(r: Registry) -> None:
    r.button("answers", on_button, open=True)
    r.state(TYPING, on_typed, open=True, staff=True)
    r.notification(NEW_KIND, render_new)
    r.notification(ESCALATED_KIND, render_escalated)
