"""A doctor's broadcast, composed with buttons: audience (with its exact size), the doctor's own
text or a preset, now or at a time today / tomorrow, urgent or not, a confirm screen with a
preview, and a second confirmation above 500 recipients. The confirm screen then becomes the
progress message (handlers/broadcast_progress.py).

The draft lives in the doctor's conversation state; every button re-checks the doctor and
that the draft has got as far as the button needs (an audience before the content, content
and a time before the confirm screen's buttons): a button from an older screen answers "out
of date" instead of acting on a half-made draft. The audience is recounted from the database
on each screen and again when it is sent.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, time, timedelta
from typing import ClassVar

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.broadcasts import AUDIENCES
from bot.domain.directory import Doctor
from bot.domain.residents import FlowState
from bot.i18n import N_
from bot.router import Registry
from bot.services.broadcasts import LARGE, MAX_TEXT, BroadcastError, Draft, group_key
from handlers.doctor.broadcast_progress import (
    header,
    progress_loop,
    progress_reply,
    send_span,
    template_text,
)
from handlers.doctor.desk import MENU, require

COMPOSE = "drb.compose"
TYPING = "drb.text"
AUDIENCE_LABELS = {
    "all": N_("All my signed residents"),
    "hypertension": N_("Hypertension patients"),
    "diabetes2": N_("Type-2 diabetes patients"),
    "elderly": N_("Residents 65 and over"),
    "vaccine": N_("Parents of children due a vaccine this month"),
    "community": N_("Residents of one community"),
}
TIMES = ("08:00", "09:00", "10:00", "14:00", "16:00", "19:00")
NEW = cb("broadcast", "new")


# What the draft must hold for each step's buttons.
AUDIENCE = "audience"
CONTENT = "content"
READY = "ready"


# -- composing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Composing(FlowState):
    """A broadcast being composed with buttons. `tok` names this draft (its confirm screen's
    buttons carry it); `at` is None until a time is chosen, "" for now, else ISO local time."""

    NAME: ClassVar[str] = COMPOSE
    tok: str = ""
    aud: str = ""
    com: str = ""  # the community's key, for the "community" audience
    tpl: str = ""
    text: str = ""
    at: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class TypingMessage(Composing):
    """The same draft while the doctor types their own message."""

    NAME: ClassVar[str] = TYPING


BACK_TO_AUDIENCE = cb("broadcast", "to", "aud")
BACK_TO_CONTENT = cb("broadcast", "to", "content")
BACK_TO_WHEN = cb("broadcast", "to", "when")


def _start(text: str, n: int = 20) -> str:
    """The first words of a typed message, for the button that keeps it."""
    return text if len(text) <= n else text[:n].rstrip() + "…"


def _draft(ctx: Ctx, needs: str = "", tok: str | None = None) -> Composing:
    """The draft being composed, checked to have what `needs` asks for; StaleButton if not
    (a button of an older screen, or of a compose that was restarted meanwhile). `tok` is
    the draft token a confirm-screen button carries: Send, urgent, Back and Discard act only
    on the draft that screen showed, never on a newer one."""
    if ctx.state.name not in (COMPOSE, TYPING):
        raise StaleButton("no broadcast being composed")
    d = Composing.from_data(ctx.state.data)
    if tok is not None and d.tok != tok:
        raise StaleButton("a button of another draft")
    if needs in (AUDIENCE, CONTENT, READY):
        if d.aud not in AUDIENCES:
            raise StaleButton("draft has no audience")
        if d.aud == "community" and not d.com:
            raise StaleButton("draft has no community")
    if needs in (CONTENT, READY) and not (d.tpl or d.text.strip()):
        raise StaleButton("draft has no content")
    if needs == READY and d.at is None:
        raise StaleButton("draft has no time")
    return d


async def _audience_text(ctx: Ctx, doctor: Doctor, d: Composing) -> tuple[str, int]:
    service = ctx.services.broadcasts
    recipients = await service.recipients(doctor, d.aud, d.com)
    audience = d.aud
    label = ctx._(AUDIENCE_LABELS[audience])
    if audience == "community":
        ref = await ctx.services.directory.community_by_key(d.com)
        label = ctx.t.labelled(label, ref.name) if ref else label
    unreachable = sum(1 for r in recipients if not r.reachable)
    text = ctx.ngettext("{label}: {n} resident", "{label}: {n} residents", len(recipients)).format(
        label=label, n=ctx.t.number(len(recipients))
    )
    if unreachable:
        text = ctx.t.sentences(
            [
                text,
                ctx._("({n} blocked the bot and will be counted as unreachable)").format(
                    n=ctx.t.number(unreachable)
                ),
            ]
        )
    return text, len(recipients)


async def start(ctx: Ctx, doctor: Doctor) -> None:
    service = ctx.services.broadcasts
    made = await service.made_today(doctor)
    if made >= service.per_day:
        ctx.say(
            ctx._(
                "You have reached today's limit of {n} broadcasts. Please try again tomorrow."
            ).format(n=service.per_day),
            back=MENU,
            edit=True,
        )
        return
    await ask_audience(ctx, doctor, Composing(tok=secrets.token_hex(3)))


async def ask_audience(ctx: Ctx, doctor: Doctor, d: Composing) -> None:
    """The first step; reached again by Back with the draft (its text) kept."""
    service = ctx.services.broadcasts
    made = await service.made_today(doctor)
    ctx.enter(d)
    buttons = [Button(ctx._(AUDIENCE_LABELS[key]), cb("broadcast", "a", key)) for key in AUDIENCES]
    ctx.say(
        ctx._("📢 New broadcast ({made} of {limit} today). Who should receive it?").format(
            made=made, limit=service.per_day
        ),
        buttons,
        back=MENU,
        edit=True,
    )


async def pick_audience(ctx: Ctx, doctor: Doctor, audience: str) -> None:
    d = _draft(ctx)
    if audience == "community":
        refs = await ctx.services.broadcasts.communities(doctor)
        ctx.say(
            ctx._("Which community?"),
            [
                Button(names.shown_name(ctx.locale, r.name, r.name_en), cb("broadcast", "c", r.key))
                for r in refs
            ],
            cols=2,
            back=BACK_TO_AUDIENCE,
            edit=True,
        )
        return
    d = replace(d, aud=audience, com="")
    await ask_content(ctx, doctor, d)


async def ask_content(ctx: Ctx, doctor: Doctor, d: Composing) -> None:
    text, count = await _audience_text(ctx, doctor, d)
    if count == 0:
        ctx.say(
            text + "\n" + ctx._("Nobody to send to: please pick another audience."),
            back=BACK_TO_AUDIENCE,
        )
        return
    ctx.enter(d)
    templates = ctx.services.broadcasts.templates()
    buttons = []
    if d.text:  # came Back: the typed message is kept, one tap carries it on
        buttons.append(
            Button(ctx._("➡️ Keep my message: {start}").format(start=_start(d.text)), BACK_TO_WHEN)
        )
    buttons.append(Button(ctx._("✍️ Type my own message"), cb("broadcast", "type")))
    buttons += [
        Button("📋 " + t.in_locale(t.title, ctx.locale), cb("broadcast", "t", t.key))
        for t in templates.values()
    ]
    ctx.say(text + "\n" + ctx._("What should it say?"), buttons, back=BACK_TO_AUDIENCE, edit=True)


async def on_text(ctx: Ctx) -> None:
    """The doctor's own words (the one place on Doorstep where typing is expected)."""
    doctor = await require(ctx, "drb:text")
    d = _draft(ctx, AUDIENCE)
    text = ctx.msg.text.strip()
    if not text:
        ctx.say(ctx._("Please type the message."))
        return
    if len(text) > MAX_TEXT:
        ctx.say(
            ctx._(
                "That is {n} characters; the most is {max}. Please shorten it and send it again."
            ).format(n=ctx.t.number(len(text)), max=ctx.t.number(MAX_TEXT))
        )
        return
    d = replace(d, text=text, tpl="")
    ctx.enter(d)
    await ask_when(ctx, doctor, d, edit=False)


async def ask_when(ctx: Ctx, doctor: Doctor, d: Composing, edit: bool = True) -> None:
    ctx.enter(d)
    ctx.say(
        ctx._("When should it go out?"),
        [
            Button(ctx._("▶️ Now"), cb("broadcast", "w", "now")),
            Button(ctx._("🕘 Later today"), cb("broadcast", "w", "today")),
            Button(ctx._("📅 Tomorrow"), cb("broadcast", "w", "tom")),
        ],
        cols=3,
        back=BACK_TO_CONTENT,
        edit=edit,
    )


async def ask_time(ctx: Ctx, d: Composing, day: str) -> None:
    now = ctx.now()
    date_ = now.date() + timedelta(days=1 if day == "tom" else 0)
    buttons = []
    for hhmm in TIMES:
        at = datetime.combine(date_, time.fromisoformat(hhmm), tzinfo=now.tzinfo)
        if at > now:
            buttons.append(
                Button(ctx.t.time(at), cb("broadcast", "at", day, hhmm.replace(":", "")))
            )
    if not buttons:
        ctx.say(ctx._("No time is left today. Please pick tomorrow."), back=BACK_TO_WHEN, edit=True)
        ctx.enter(d)
        return
    ctx.enter(d)
    ctx.say(ctx._("At what time?"), buttons, cols=3, back=BACK_TO_WHEN, edit=True)


def _send_at(ctx: Ctx, d: Composing) -> datetime | None:
    if not d.at:
        return None
    return datetime.fromisoformat(d.at)


async def preview(ctx: Ctx, doctor: Doctor, d: Composing) -> str:
    """The message as the doctor's own language renders it."""
    if d.tpl:
        template = ctx.services.broadcasts.templates().get(d.tpl)
        if template is None:
            raise StaleButton("template gone")
        return await template_text(ctx.rt, ctx.t, doctor, template)
    return header(ctx.t, doctor) + d.text


async def confirm(ctx: Ctx, doctor: Doctor, d: Composing, edit: bool = True) -> None:
    ctx.enter(d)
    audience, count = await _audience_text(ctx, doctor, d)
    if not count:
        raise StaleButton("audience empty or unavailable")
    at = _send_at(ctx, d)
    when = ctx._("now") if at is None else ctx.t.datetime(at)
    urgent = (
        ctx._("Urgent: yes (also during quiet hours)")
        if d.urgent
        else ctx._("Urgent: no (waits for the end of quiet hours)")
    )
    text = "\n".join(
        [
            ctx._("Please check your broadcast:"),
            ctx._("To: {audience}").format(audience=audience),
            ctx._("When: {when}").format(when=when),
            urgent,
            "———",
            await preview(ctx, doctor, d),
        ]
    )
    toggle = ctx._("🔕 Not urgent") if d.urgent else ctx._("🚨 Mark urgent")
    ctx.say(
        text,
        [
            Button(
                ctx._("✅ Send to {n}").format(n=ctx.t.number(count)),
                cb("broadcast", "go", d.tok),
            ),
            Button(toggle, cb("broadcast", "u", d.tok)),
            Button(ctx._("❌ Discard"), cb("broadcast", "stop", d.tok)),
        ],
        back=BACK_TO_WHEN,
        edit=edit,
    )


async def _planned_notice(ctx: Ctx, broadcast_id: int) -> str:
    """When the broadcast's rows go out, read back from the outbox (non-urgent rows wait for
    each recipient's quiet hours to end)."""
    span = await ctx.services.send_times.of_group(group_key(broadcast_id))
    if span is None:
        return ctx._("Broadcast planned.")
    first, last = span
    if first == last:
        return ctx._("📢 Broadcast planned: it goes out {when}.").format(
            when=ctx.t.weekday_datetime(first)
        )
    return ctx._("📢 Broadcast planned: it goes out between {first} and {last}.").format(
        first=ctx.t.weekday_datetime(first), last=ctx.t.weekday_datetime(last)
    )


async def send(ctx: Ctx, doctor: Doctor, second: bool, tok: str) -> None:
    d = _draft(ctx, READY, tok)
    at = _send_at(ctx, d)
    if at is not None and at <= ctx.now():
        # The confirm screen named a time that has passed since: never send at another time
        # than the one the doctor saw. Nothing is sent; the time is asked again.
        ctx.say(
            ctx._("The time you chose, {time}, has passed, so nothing was sent.").format(
                time=ctx.t.weekday_datetime(at)
            ),
            edit=True,
        )
        await ask_when(ctx, doctor, replace(d, at=None), edit=False)
        return
    service = ctx.services.broadcasts
    recipients = await service.recipients(doctor, d.aud, d.com)
    count = len(recipients or [])
    if count > LARGE and not second:
        ctx.say(
            ctx._(
                "⚠️ This broadcast goes to {n} people. Messages cannot be taken back once "
                "sent. Send it to all {n}?"
            ).format(n=ctx.t.number(count)),
            [
                Button(
                    ctx._("✅ Yes, send to {n}").format(n=ctx.t.number(count)),
                    cb("broadcast", "go2", tok),
                )
            ],
            back=cb("broadcast", "back", tok),
            edit=True,
        )
        return
    draft = Draft(
        audience=d.aud,
        community=d.com,
        text=d.text,
        template=d.tpl,
        send_at=_send_at(ctx, d),
        urgent=d.urgent,
    )
    progress = (ctx.msg.channel, ctx.msg.user_id, ctx.msg.message_ref)
    try:
        made = await service.create(doctor, draft, progress, large_confirmed=second)
    except BroadcastError as exc:
        ctx.clear_state()
        ctx.say(ctx._(exc.msgid).format(**exc.params), back=MENU, edit=True)
        return
    ctx.clear_state()
    ctx.notice(await _planned_notice(ctx, made.id))
    progress_loop(ctx.rt).touch(ctx.msg.channel, ctx.msg.user_id)
    p = await service.progress(made.id)
    ctx.reply(progress_reply(ctx.t, made, p, False, await send_span(ctx.rt, made), ctx.now()))


async def on_button(ctx: Ctx, data: Callback) -> None:
    actions = (
        "new",
        "a",
        "c",
        "type",
        "t",
        "w",
        "at",
        "u",
        "go",
        "go2",
        "back",
        "stop",
        "to",
    )
    action = data.choice(0, actions)
    doctor = await require(ctx, f"drb:{action}")
    if action == "new":
        await start(ctx, doctor)
    elif action == "a":
        await pick_audience(ctx, doctor, data.choice(1, AUDIENCES))
    elif action == "c":
        d = _draft(ctx)
        refs = {r.key for r in await ctx.services.broadcasts.communities(doctor)}
        d = replace(d, aud="community", com=data.choice(1, frozenset(refs)))
        await ask_content(ctx, doctor, d)
    elif action == "type":
        d = _draft(ctx, AUDIENCE)
        ctx.enter(TypingMessage.from_data(asdict(d)))
        ctx.say(
            ctx._("Type your message (at most {max} characters) and send it.").format(
                max=ctx.t.number(MAX_TEXT)
            ),
            back=BACK_TO_CONTENT,
            edit=True,
        )
    elif action == "t":
        d = _draft(ctx, AUDIENCE)
        d = replace(d, tpl=data.choice(1, frozenset(ctx.services.broadcasts.templates())), text="")
        await ask_when(ctx, doctor, d)
    elif action == "w":
        d = _draft(ctx, CONTENT)
        when = data.choice(1, ("now", "today", "tom"))
        if when == "now":
            d = replace(d, at="")
            await confirm(ctx, doctor, d)
        else:
            await ask_time(ctx, d, when)
    elif action == "at":
        d = _draft(ctx, CONTENT)
        day = data.choice(1, ("today", "tom"))
        hhmm = data.choice(2, frozenset(t.replace(":", "") for t in TIMES))
        now = ctx.now()
        date_ = now.date() + timedelta(days=1 if day == "tom" else 0)
        at = datetime.combine(date_, time(int(hhmm[:2]), int(hhmm[2:])), tzinfo=now.tzinfo)
        if at <= now:
            raise StaleButton("that time has passed")
        d = replace(d, at=at.isoformat())
        await confirm(ctx, doctor, d)
    elif action == "u":
        d = _draft(ctx, READY, data.part(1))
        d = replace(d, urgent=not d.urgent)
        await confirm(ctx, doctor, d)
    elif action == "to":
        # Back one step, with the draft as it is: nothing typed or picked is lost.
        step = data.choice(1, ("aud", "content", "when"))
        if step == "aud":
            await ask_audience(ctx, doctor, _draft(ctx))
        elif step == "content":
            await ask_content(ctx, doctor, _draft(ctx, AUDIENCE))
        else:
            await ask_when(ctx, doctor, _draft(ctx, CONTENT))
    elif action in ("go", "go2"):
        await send(ctx, doctor, second=action == "go2", tok=data.part(1))
    elif action == "back":
        await confirm(ctx, doctor, _draft(ctx, READY, data.part(1)))
    else:
        _draft(ctx, tok=data.part(1))
        ctx.clear_state()
        ctx.say(ctx._("Discarded. Nothing was sent."), back=MENU, edit=True)


async def on_compose_text(ctx: Ctx) -> None:
    """Text while composing with buttons: point at the buttons."""
    await require(ctx, "drb:compose")
    ctx.say(ctx._("Please use the buttons above, or tap Discard."))


def register(r: Registry) -> None:
    r.top("broadcast", MENU)
    r.button("broadcast", on_button, open=True)
    r.state(TYPING, on_text, open=True, staff=True)
    r.state(COMPOSE, on_compose_text, open=True, staff=True)
