"""After a broadcast is confirmed: its progress message (edited by the progress loop, with a
Cancel button), the final report (an outbox row, rendered when sent), the doctor's list of
broadcasts, and each recipient's copy rendered in their own language at send time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import names
from bot.callbacks import Callback, StaleButton, cb
from bot.context import HOME, Ctx
from bot.core import Button, Reply
from bot.domain.broadcasts import Broadcast, Progress
from bot.domain.directory import Doctor
from bot.i18n import Translator, negotiate
from bot.router import Registry
from bot.services.broadcast_progress import REPORT_KIND, ProgressLoop
from bot.services.broadcasts import KIND, Template, group_key
from handlers.doctor.desk import MENU, require

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.runtime import Runtime

LIST = cb("progress", "list")


def progress_loop(rt: Runtime) -> ProgressLoop:
    return rt.delivery.progress


# -- the doctor's screens ----------------------------------------------------------------
async def show_list(ctx: Ctx, doctor: Doctor) -> None:
    service = ctx.services.broadcasts
    recent = await service.recent(doctor)
    if not recent:
        ctx.say(
            ctx._("You have not sent any broadcasts yet."),
            [Button(ctx._("📢 New broadcast"), cb("broadcast", "new"))],
            back=MENU,
            edit=True,
        )
        return
    lines = [ctx._("Your latest broadcasts:")]
    buttons = []
    for b in recent:
        p = await service.progress(b.id)
        made = ctx.t.datetime(b.created_at)
        lines.append(f"#{b.id} · {made} · " + summary(ctx.t, b, p))
        if b.finished_at is None and b.status != "cancelled":
            buttons.append(
                Button(ctx._("📊 Follow #{id}").format(id=b.id), cb("progress", "p", b.id))
            )
    ctx.say("\n".join(lines), buttons, back=MENU, edit=True)


async def follow(ctx: Ctx, doctor: Doctor, broadcast_id: int) -> None:
    """Make this message the broadcast's progress message."""
    service = ctx.services.broadcasts
    b = await service.mine(doctor, broadcast_id)
    if b is None:
        raise StaleButton("not the doctor's broadcast")
    await service.set_progress_ref(b.id, ctx.msg.message_ref)
    progress_loop(ctx.rt).touch(ctx.msg.channel, ctx.msg.user_id)
    p = await service.progress(b.id)
    final = b.finished_at is not None
    ctx.reply(progress_reply(ctx.t, b, p, final, await send_span(ctx.rt, b), ctx.now()))


async def cancel(ctx: Ctx, doctor: Doctor, broadcast_id: int) -> None:
    service = ctx.services.broadcasts
    if await service.cancel(doctor, broadcast_id) is None:
        raise StaleButton("not an open broadcast of this doctor")
    b = await service.mine(doctor, broadcast_id)
    assert b is not None
    progress_loop(ctx.rt).touch(ctx.msg.channel, ctx.msg.user_id)
    ctx.notice(ctx._("Cancelled."))
    ctx.reply(progress_reply(ctx.t, b, await service.progress(b.id), final=False))


async def ask_cancel(ctx: Ctx, doctor: Doctor, broadcast_id: int) -> None:
    """Cancelling cannot be undone: ask first, with what has gone out already."""
    service = ctx.services.broadcasts
    b = await service.mine(doctor, broadcast_id)
    if b is None or b.finished_at is not None or b.status == "cancelled":
        raise StaleButton("not an open broadcast of this doctor")
    sent, total, _ = counts(b, await service.progress(b.id))
    ctx.say(
        ctx._(
            "Cancel broadcast #{id}? {sent} of {total} have been sent; the rest will not go "
            "out. This cannot be undone."
        ).format(id=b.id, sent=ctx.t.number(sent), total=ctx.t.number(total)),
        [Button(ctx._("⛔ Yes, cancel it"), cb("progress", "xok", b.id))],
        back=cb("progress", "p", b.id),
        edit=False,  # a message of its own: the progress loop keeps editing the progress one
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("list", "p", "x", "xok"))
    doctor = await require(ctx, f"drp:{action}")
    if action == "list":
        data.expect(1)
        await show_list(ctx, doctor)
    elif action == "p":
        data.expect(2)
        await follow(ctx, doctor, data.int_part(1))
    elif action == "x":
        data.expect(2)
        await ask_cancel(ctx, doctor, data.int_part(1))
    else:
        data.expect(2)
        await cancel(ctx, doctor, data.int_part(1))


# -- texts shared by the screens, the progress loop and the recipients' messages -----------------
def header(t: Translator, doctor: Doctor) -> str:
    name = names.doctor_name(t.locale, doctor)
    return t.gettext("📢 From your family doctor {doctor}:").format(doctor=name) + "\n"


async def template_text(rt: Runtime, t: Translator, doctor: Doctor, template: Template) -> str:
    team = await rt.services.directory.team(doctor, signed=True)
    centre = team.centre
    values = {
        "doctor": names.doctor_name(t.locale, doctor),
        "centre": names.station_name(t.locale, centre) if centre else "",
        "phone": (centre.phone if centre else "") or doctor.phone,
    }
    return template.in_locale(template.text, t.locale).format(**values)


def counts(b: Broadcast, p: Progress) -> tuple[int, int, int]:
    """(sent, total, unreachable): a finished broadcast's as recorded when it finished (its
    outbox rows are pruned later, and a recipient's /delete removes theirs: history must not
    change); an open one's from its rows now."""
    if b.finished_at is not None:
        return b.sent, b.total, b.unreachable
    return p.sent, p.total or b.total, p.unreachable


def summary(t: Translator, b: Broadcast, p: Progress) -> str:
    sent, total, unreachable = counts(b, p)
    text = t.gettext("sent {sent} / {total} · {unreachable} unreachable").format(
        sent=t.number(sent), total=t.number(total), unreachable=t.number(unreachable)
    )
    if b.status == "cancelled":
        text += " · " + t.gettext("cancelled")
    return text


async def send_span(rt: Runtime, b: Broadcast) -> tuple[datetime, datetime] | None:
    """When the broadcast's rows still waiting go out (first, last), read back from the outbox
    with each recipient's quiet hours: the progress message says "held until" from this."""
    return await rt.services.send_times.of_group(group_key(b.id))


def progress_reply(
    t: Translator,
    b: Broadcast,
    p: Progress,
    final: bool,
    span: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
) -> Reply:
    """The doctor's progress message: `sent 1,200 / 4,000 · 3 unreachable`. `span` (from
    `send_span`) says when the waiting rows go out: while none can go before a later time
    (quiet hours, a retry), it says they are held until then, not that it is going out."""
    lines = []
    at = b.scheduled_at
    soon = now + timedelta(minutes=1) if now is not None else None
    later = span if span is not None and soon is not None and span[1] > soon else None
    held = later is not None and soon is not None and later[0] > soon
    if b.status == "scheduled":
        lines.append(
            t.gettext("🕘 Broadcast #{id} is scheduled for {when}.").format(
                id=b.id, when=t.datetime(at)
            )
        )
    elif b.status == "cancelled":
        lines.append(
            t.gettext("⛔ Broadcast #{id} was cancelled: nothing more goes out.").format(id=b.id)
        )
    elif final:
        lines.append(t.gettext("✅ Broadcast #{id} finished.").format(id=b.id))
    elif held and later is not None:
        lines.append(
            # The time is read from the rows; why they wait (the residents' quiet hours, a
            # retry after a failed send) is not, so no reason is guessed.
            t.gettext("⏸ Broadcast #{id} is held: nothing goes out before {when}.").format(
                id=b.id, when=t.weekday_datetime(later[0])
            )
        )
    else:
        lines.append(t.gettext("📤 Broadcast #{id} is going out…").format(id=b.id))
    lines.append(summary(t, b, p))
    # The last held rows, unless the first line already named that one time.
    if (
        later is not None
        and not final
        and b.status == "sending"
        and (not held or later[1] != later[0])
    ):
        lines.append(
            t.gettext("⏸ The last are held until {when}.").format(when=t.weekday_datetime(later[1]))
        )
    # The message is edited by the progress loop, which knows no chat's mode: its navigation
    # row is the elder-mode one for everybody (back to the desk, and Home).
    desk = (Button(t.gettext("👩‍⚕️ Doctor's desk"), MENU), Button(t.gettext("🏠 Home"), HOME))
    if final or b.status == "cancelled":
        return Reply(text="\n".join(lines), buttons=(desk,), edit=True)
    cancel = Button(t.gettext("⛔ Cancel the broadcast"), cb("progress", "x", b.id))
    return Reply(text="\n".join(lines), buttons=((cancel,), desk), edit=True)


async def _doctor_translator(rt: Runtime, b: Broadcast) -> Translator:
    resident = await rt.services.doctors.account(b.doctor_id)
    locale = negotiate(resident.locale if resident else None, None, rt.settings.default_locale)
    return rt.catalogs.get(locale)


async def render_progress(rt: Runtime, b: Broadcast, p: Progress, final: bool) -> Reply:
    t = await _doctor_translator(rt, b)
    reply = progress_reply(t, b, p, final, await send_span(rt, b), rt.now())
    return Reply(text=reply.text, buttons=reply.buttons, edit=True)


def report_reply(t: Translator, b: Broadcast) -> Reply:
    """The final report, from the counts written when the broadcast finished."""
    text = t.gettext("Report for broadcast #{id}: {summary}.").format(
        id=b.id, summary=summary(t, b, Progress())
    )
    if b.not_sent:
        text = t.sentences([text, t.gettext("{n} not sent.").format(n=t.number(b.not_sent))])
    return Reply(text=text, buttons=((Button(t.gettext("👩‍⚕️ Doctor's desk"), MENU),),))


async def render_report(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The report row: only to the account still linked to the broadcast's doctor."""
    b = await rt.services.broadcasts.get(int(row.params.get("b", 0)))
    if b is None or b.finished_at is None:
        return []
    link = await rt.services.doctors.link_of(b.doctor_id)
    if link is None or link.resident_id != resident.id:
        return []
    return [report_reply(t, b)]


async def render_broadcast(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """One recipient's copy, in their language; nothing once the broadcast is cancelled."""
    service = rt.services.broadcasts
    broadcast_id = int(row.params.get("b", 0))
    b = await service.content(broadcast_id)
    if b is None or not await service.still_sending(broadcast_id):
        return []
    doctor = await rt.services.directory.doctor(b.doctor_id)
    if doctor is None:
        return []  # the doctor left the directory: their words no longer go out
    if not b.template:
        return [Reply(text=header(t, doctor) + b.text)]
    template = service.templates().get(b.template)
    if template is None:
        return []
    text = await template_text(rt, t, doctor, template)
    buttons: tuple[tuple[Button, ...], ...] = ()
    if template.book:
        buttons = ((Button(t.gettext("📅 Book a visit"), cb("book", "new", template.book)),),)
    return [Reply(text=text, buttons=buttons)]


def register(r: Registry) -> None:
    r.top("progress", MENU)
    r.button("progress", on_button, open=True)
    r.notification(KIND, render_broadcast)
    r.notification(REPORT_KIND, render_report)
