"""Typed questions from residents: common questions answered from content/faq, and "Ask my
team" (a ticket to the signed team or the centre's duty desk) with the answer coming back as a
notification carrying Thanks and Ask again, and a 1-5 rating once the ticket is closed.

Any typed text no other handler took lands here (after the emergency guard): a confident FAQ
match is answered, and a weak one gets the three best questions as buttons plus "Ask my team"
(the typed words kept in the state, so the resident need not type them again). Typed text never
joins a ticket by itself: a resident with a question still with the team gets the normal answer
plus "Add to my question"; only that button, "Ask again" under an answer, or typing after "Ask my
team" (whose screen says it adds to the open question) adds words to a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import HOME, Ctx
from bot.core import Button, Kind, Reply
from bot.domain.questions import FaqEntry, Route, Ticket, TicketStatus
from bot.domain.residents import FlowState
from bot.i18n import N_
from bot.router import Registry
from bot.services.faq import TOPICS, FaqFileError
from bot.services.tickets import (
    ANSWER_KIND,
    RATE_KIND,
    Asked,
    Desk,
    NoDesk,
    NotYourTicket,
)
from handlers import menu as fallback_menu
from handlers.resident import directory_view as view
from handlers.resident import health_typed

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class AskTeam(FlowState):
    """Typing a question (or a follow-up) for the team."""

    NAME: ClassVar[str] = "ask.text"
    ticket: int = 0  # the ticket the resident chose to add to; 0: a new question


@dataclass(frozen=True, slots=True)
class Draft(FlowState):
    """A weak FAQ match: the words typed wait for "Ask my team", so they need no retyping."""

    NAME: ClassVar[str] = "ask.draft"
    text: str = ""


@dataclass(frozen=True, slots=True)
class ConfirmAsk(FlowState):
    """Elder mode: the words, and the ticket they would join, waiting for ✅ Send."""

    NAME: ClassVar[str] = "ask.confirm"
    text: str = ""
    ticket: int = 0


ASK = AskTeam.NAME
DRAFT = Draft.NAME
MENU = cb("faq", "menu")
TOPIC_LABELS = {
    "signing": N_("✍️ Signing a family doctor"),
    "hours": N_("🕘 Opening hours"),
    "prescriptions": N_("💊 Long and extended prescriptions"),
    "referral": N_("🏥 Referral and specialists"),
    "insurance": N_("💳 Medical insurance"),
    "elderly_check": N_("🧓 Free check for 65+"),
    "vaccines": N_("💉 Vaccines"),
    "chronic": N_("❤️ Chronic-disease follow-up"),
    "smart_stations": N_("🩺 Smart health stations"),
    "home_care": N_("🛏 Home beds and home visits"),
    "doorstep": N_("📱 Using Doorstep"),
}


def _loc(ctx: Ctx) -> str:
    return "en" if ctx.locale == "en" else "zh_Hans"


def duration(t: Translator, seconds: float) -> str:
    return t.duration(seconds)


# -- common questions ----------------------------------------------------------------------------
async def show(ctx: Ctx) -> None:
    """The Questions screen: type a question, browse the topics, or ask the team."""
    ctx.clear_state()
    buttons = [Button(ctx._(TOPIC_LABELS[t]), cb("faq", "t", i)) for i, t in enumerate(TOPICS)]
    buttons.append(Button(ctx._("✍️ Ask my team"), cb("faq", "ask")))
    ctx.say(
        ctx._(
            "💬 Type your question in your own words, or pick a topic. "
            "For an emergency call 120 at once."
        ),
        buttons,
        cols=2,
        home=True,
    )


def answer_text(ctx: Ctx, entry: FaqEntry) -> str:
    loc = _loc(ctx)
    return "\n".join(
        [
            f"❓ {entry.question[loc]}",
            "",
            entry.answer[loc],
            "",
            ctx._("Source: {source} · reviewed {date}").format(
                source=entry.source[loc], date=ctx.t.date(entry.last_reviewed)
            ),
        ]
    )


def show_answer(ctx: Ctx, entry: FaqEntry, edit: bool = False) -> None:
    topic = TOPICS.index(entry.topic)
    ctx.say(
        answer_text(ctx, entry),
        [
            Button(ctx._("✍️ Ask my team"), cb("faq", "ask")),
            Button(ctx._("📚 More on this topic"), cb("faq", "t", topic)),
        ],
        cols=2,
        home=True,
        edit=edit,
    )


def show_topic(ctx: Ctx, topic_index: int) -> None:
    if not 0 <= topic_index < len(TOPICS):
        raise StaleButton("unknown topic")
    loc = _loc(ctx)
    entries = ctx.services.faq.content.by_topic(TOPICS[topic_index])
    ctx.say(
        ctx._(TOPIC_LABELS[TOPICS[topic_index]]),
        [Button(e.question[loc], cb("faq", "a", e.id)) for e in entries],
        back=MENU,
        edit=True,
    )


async def on_text(ctx: Ctx) -> None:
    """Typed text nobody else took: a common question, or suggestions; never silently added
    to a ticket (the resident is offered "Add to my question" when one is not closed)."""
    text = ctx.msg.text.strip() if ctx.msg.kind is Kind.TEXT else ""
    if not text or text.startswith("/"):
        await fallback_menu.unknown_text(ctx)
        return
    if await health_typed.answer(ctx, text):
        return  # a typed blood sugar or blood pressure: the clinical rules' answer
    found = ctx.services.faq.index.search(text)
    current = await ctx.services.tickets.open_ticket(ctx.user.id)
    add = (
        Button(ctx._("➕ Add this to my question"), cb("faq", "add", current.id))
        if current
        else None
    )
    if found.confident:
        entry = found.hits[0].entry
        if add is None:
            ctx.clear_state()
            show_answer(ctx, entry)
            return
        ctx.enter(Draft(text=text[:1000]))
        ctx.say(
            answer_text(ctx, entry)
            + "\n\n"
            + ctx._("Your words were not added to your question to the team. Add them?"),
            [
                add,
                Button(ctx._("📚 More on this topic"), cb("faq", "t", TOPICS.index(entry.topic))),
            ],
            cols=2,
            home=True,
        )
        return
    loc = _loc(ctx)
    ctx.enter(Draft(text=text[:1000]))
    buttons = [Button(h.entry.question[loc], cb("faq", "a", h.entry.id)) for h in found.hits]
    buttons.append(add or Button(ctx._("✍️ Ask my team"), cb("faq", "send")))
    # Say only what the buttons below offer: close questions when there are any, and either
    # asking the team or adding to the question already open.
    if found.hits:
        lead = ctx._("I am not sure I understood. Is it one of these?")
    else:
        lead = ctx._("I have no answer to that in my list of common questions.")
    if add is None:
        follow = ctx._("Or send it to a doctor: ✍️ Ask my team.")
    else:
        follow = ctx._("Or add it to the question you already asked.")
    ctx.say(ctx.t.sentences([lead, follow]), buttons, home=True)


# -- asking the team -----------------------------------------------------------------------------
def desk_name(ctx: Ctx, desk: Desk) -> str:
    centre = view.station_name(ctx, desk.centre)
    if desk.route is Route.TEAM:
        team = view.team_name(ctx, desk.doctor) if desk.doctor is not None else desk.team
        return names.team_at_centre(ctx.t, team, centre)
    return ctx._("the duty desk of {centre}").format(centre=centre)


async def expectations(ctx: Ctx, desk: Desk) -> str:
    """Working hours and the usual answer time, from the directory and past tickets."""
    service = ctx.services.tickets
    lines = [
        ctx._("They answer during working hours: {hours}.").format(
            hours=view.hours_text(ctx, desk.hours)
        )
    ]
    usual = await service.usual_answer_seconds(desk)
    if usual is not None:
        lines.append(
            ctx._("Questions are usually answered within {time}.").format(
                time=duration(ctx.t, usual)
            )
        )
    else:
        lines.append(
            ctx._("There are not enough answered questions yet to say how long it usually takes.")
        )
    if desk.route is Route.TEAM:
        lines.append(
            ctx._("If nobody answers within {time}, it goes to the centre's duty desk.").format(
                time=duration(ctx.t, service.settings.escalate_hours * 3600)
            )
        )
    lines.append(ctx._("For an emergency do not wait: call 120."))
    return "\n".join(lines)


async def ask_team(ctx: Ctx, follow_up: Ticket | None = None) -> None:
    """The screen to type a question. It adds to the resident's ticket when that is still
    open, or when they chose to follow up its answer (`follow_up`, from "Ask again"); an
    answered ticket is otherwise closed by the new question, and the screen says so."""
    service = ctx.services.tickets
    try:
        current = await service.open_ticket(ctx.user.id)
        adds = current is not None and (
            current.status is TicketStatus.OPEN
            or (follow_up is not None and current.id == follow_up.id)
        )
        desk = (
            await service.desk_of(current) if current is not None and adds else None
        ) or await service.desk_for(ctx.user.id)
    except NoDesk:
        ctx.say(
            ctx._("The district directory is not loaded yet. Please try again later."), home=True
        )
        return
    if current is not None and adds:
        intro = ctx._("Type what you want to add to your question to {desk}.")
    elif current is not None:
        intro = ctx._(
            "Type your new question for {desk}. Your earlier question was answered; "
            "it will be closed."
        )
    else:
        intro = ctx._("Type your question for {desk}. Write it in your own words.")
    ctx.enter(AskTeam(ticket=current.id if current is not None and adds else 0))
    ctx.say(
        intro.format(desk=desk_name(ctx, desk)) + "\n" + await expectations(ctx, desk),
        back=MENU,
        free_text=True,
    )


def sent_text(ctx: Ctx, asked: Asked) -> str:
    """What happened to the words, from what was stored: a new question (closing an answered
    one), added to the open one, or added to an answered one that waits again."""
    where = desk_name(ctx, asked.desk)
    if asked.created:
        if asked.viewers == 0:
            head = ctx._("Your question is saved for {desk} as a new question.")
        else:
            head = ctx._("✅ Your question was sent to {desk} as a new question.")
        head = head.format(desk=where)
        if asked.closed is not None:
            head += " " + ctx._("Your earlier question, already answered, is now closed.")
    elif asked.reopened:
        head = ctx._(
            "✅ Added to your answered question to {desk}. It is open again and waits for "
            "their reply."
        ).format(desk=where)
    else:
        head = ctx._("✅ Added to your open question to {desk}.").format(desk=where)
    if asked.viewers == 0:
        return (
            head
            + "\n"
            + ctx._(
                "But nobody there reads Doorstep questions yet. Please also call ☎ {phone}."
            ).format(phone=asked.desk.centre.phone or "—")
        )
    return head + " " + ctx._("Their answer will come here.")


async def send_to_team(ctx: Ctx, text: str, follow_up: int | None = None) -> None:
    """Send the words; in elder mode first ask, showing them and the desk they go to."""
    if ctx.elder:
        await confirm_send(ctx, text, follow_up)
        return
    await really_send(ctx, text, follow_up)


async def confirm_send(ctx: Ctx, text: str, follow_up: int | None) -> None:
    """Elder mode: nothing is sent before ✅ Send. The desk named is the one `ask` picks
    (`TicketService.destination`), so the screen says where the words will really go."""
    try:
        desk = await ctx.services.tickets.destination(ctx.user.id, follow_up)
    except NoDesk:
        ctx.say(
            ctx._("The district directory is not loaded yet. Please try again later."), home=True
        )
        return
    ctx.enter(ConfirmAsk(text=text[:1000], ticket=follow_up or 0))
    ctx.confirm(
        ctx._("Send this question to {desk}?").format(desk=desk_name(ctx, desk))
        + "\n\n"
        + f"“{text[:1000]}”",
        cb("faq", "ok"),
        MENU,
        yes_label=ctx._("✅ Send"),
        no_label=ctx._("❌ Do not send"),
    )


async def really_send(ctx: Ctx, text: str, follow_up: int | None = None) -> None:
    service = ctx.services.tickets
    try:
        asked = await service.ask(ctx.user.id, text, follow_up)
    except NoDesk:
        ctx.say(
            ctx._("The district directory is not loaded yet. Please try again later."), home=True
        )
        return
    ctx.clear_state()
    ctx.notice(ctx._("Saved."))
    ctx.say(sent_text(ctx, asked), home=True)


async def on_ask_text(ctx: Ctx) -> None:
    text = ctx.msg.text.strip() if ctx.msg.kind is Kind.TEXT else ""
    if not text:
        ctx.say(ctx._("Please type your question in words."), back=MENU, free_text=True)
        return
    flow = ctx.flow(AskTeam)
    await send_to_team(ctx, text, flow.ticket if flow is not None and flow.ticket else None)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("menu", "t", "a", "ask", "send", "add", "ok"))
    if action == "ok":
        pending = ctx.flow(ConfirmAsk)
        if pending is None or not pending.text:
            raise StaleButton("no question waiting to be sent")
        await really_send(ctx, pending.text, pending.ticket or None)
    elif action == "menu":
        await show(ctx)
    elif action == "t":
        show_topic(ctx, data.int_part(1))
    elif action == "a":
        entry = ctx.services.faq.content.entry(data.part(1))
        if entry is None:
            raise StaleButton("unknown FAQ entry")
        ctx.clear_state()
        show_answer(ctx, entry)
    elif action == "ask":
        await ask_team(ctx)
    else:
        draft = ctx.flow(Draft)
        if draft is None or not draft.text:
            raise StaleButton("no draft question")
        if action == "send":
            await send_to_team(ctx, draft.text)
            return
        # "Add to my question": the ticket the button names, if it is still the resident's.
        ticket = await _ticket_for(ctx, data.int_part(1))
        if ticket.status is TicketStatus.CLOSED:
            raise StaleButton("ticket closed")
        await send_to_team(ctx, draft.text, ticket.id)


# -- the answer comes back -----------------------------------------------------------------------
def rating_buttons(t: Translator, ticket_id: int) -> tuple[tuple[Button, ...], ...]:
    """One to five stars. No digit in the labels or the prompt: on a text channel a rating
    that arrives as a notification is numbered after the screen on display ([14] ⭐ ...), so
    "tap 4" would choose that screen's option 4."""
    return (
        tuple(Button("⭐" * n, cb("ticket", "r", ticket_id, n)) for n in (1, 2, 3)),
        tuple(Button("⭐" * n, cb("ticket", "r", ticket_id, n)) for n in (4, 5)),
    )


def rate_hint(t: Translator) -> str:
    return t.gettext("Choose from one star (not helpful) to five stars (very helpful).")


async def _ticket_for(ctx: Ctx, ticket_id: int) -> Ticket:
    ticket = await ctx.services.tickets.ticket(ticket_id)
    if ticket is None or ticket.resident_id != ctx.user.id:
        raise StaleButton("not the resident's ticket")
    return ticket


async def on_ticket_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("thx", "again", "r"))
    ticket = await _ticket_for(ctx, data.int_part(1))
    service = ctx.services.tickets
    if action == "thx":
        closed = await service.close(ctx.user.id, ticket.id)
        ctx.notice(ctx._("Thank you."))
        if closed.rating is not None:
            ctx.say(ctx._("Thank you. This question is closed."), home=True)
            return
        ctx.reply(
            Reply(
                text=ctx._("Thank you. How helpful was the answer?") + " " + rate_hint(ctx.t),
                buttons=(*rating_buttons(ctx.t, ticket.id), (Button(ctx._("🏠 Home"), HOME),)),
            )
        )
    elif action == "again":
        # The resident chose to follow up this answer: their next words join this ticket
        # (reopening it); a closed one means a new question, to whoever answers them now.
        await ask_team(ctx, follow_up=ticket)
    else:
        data.expect(3)
        rating = data.int_part(2)
        try:
            new = await service.rate(ctx.user.id, ticket.id, rating)
        except NotYourTicket:
            raise StaleButton("bad rating") from None
        if not new:
            ctx.notice(ctx._("Already rated."))
            stored = await service.ticket(ticket.id)
            if stored is None or stored.rating is None:
                raise StaleButton("ticket not closed")
            ctx.say(
                ctx._("You already rated this answer: {n} of 5.").format(n=stored.rating),
                home=True,
            )
            return
        ctx.notice(ctx._("Saved."))
        ctx.say(ctx._("Thank you for your rating: {n} of 5.").format(n=rating), home=True)


async def _desk_label(rt: Runtime, t: Translator, ticket: Ticket, doctor_id: str | None) -> str:
    directory = rt.services.directory
    doctor = await directory.doctor(doctor_id) if doctor_id else None
    centre = (await directory.snapshot()).stations.get(ticket.centre_id)
    if doctor is not None:
        return names.doctor_and_team(t.locale, doctor)
    if centre is not None:
        return names.station_name(t.locale, centre)
    return t.gettext("your family doctor team")


async def render_answer(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The team's answer, read from the ticket at send time (nothing if it was deleted)."""
    service = rt.services.tickets
    message = await service.message(int(row.params.get("message_id", 0)))
    ticket = await service.ticket(int(row.params.get("ticket_id", 0)))
    if message is None or ticket is None or ticket.resident_id != resident.id:
        return []
    who = await _desk_label(rt, t, ticket, message.doctor_id)
    text = t.gettext("💬 {who} answered your question:").format(who=who) + "\n\n" + message.text
    buttons = (
        (
            Button(t.gettext("🙏 Thanks"), cb("ticket", "thx", ticket.id)),
            Button(t.gettext("💬 Ask again"), cb("ticket", "again", ticket.id)),
        ),
    )
    return [Reply(text=text, buttons=buttons)]


async def render_rate(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    ticket = await rt.services.tickets.ticket(int(row.params.get("ticket_id", 0)))
    if ticket is None or ticket.resident_id != resident.id or ticket.rating is not None:
        return []
    text = (
        t.gettext("Your question to the team has been closed. How helpful was the answer?")
        + " "
        + rate_hint(t)
    )
    return [Reply(text=text, buttons=rating_buttons(t, ticket.id))]


async def check_content(rt: Runtime) -> None:
    """A broken FAQ file stops the bot at start-up, naming the file and entry."""
    try:
        built = rt.services.faq.index  # loads the files and builds the index once
        assert built.entries
    except FaqFileError as exc:
        raise SystemExit(f"content/faq: {exc}") from None


def register(r: Registry) -> None:
    r.menu_item("questions", show)
    r.button("faq", on_button)
    r.button("ticket", on_ticket_button)
    r.state(ASK, on_ask_text)
    r.state(DRAFT, on_text)
    r.fallback("text", on_text)
    r.notification(ANSWER_KIND, render_answer)
    r.notification(RATE_KIND, render_rate)
    r.on_startup(check_content)
