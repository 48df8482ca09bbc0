"""Emergency signs in anything typed: "call 120" first, in every state and on every channel.

The router runs `guard` on every typed text before any other handling (before the privacy
consent too, and in the middle of any flow); the conversation state is left as it was, so a
resident who was booking can go on afterwards. Doctors typing a broadcast or an answer are
not interrupted (staff states). The reply is composed from what was done: "your team has been
told" only when the flag row for a signed team was written.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.callbacks import cb
from bot.context import HOME, Ctx
from bot.core import Button, Reply
from bot.domain.directory import Doctor
from bot.domain.questions import RedFlag
from bot.router import Registry
from bot.services.emergency import ALERT_KIND, Recorded
from bot.services.redflags import SignFileError, load_signs
from handlers.resident import directory_view as view

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
CRISIS_LINE = "12356"  # the national psychological-assistance line (NHC, from 2025)


def locale_key(t: Translator) -> str:
    return "en" if t.locale == "en" else "zh_Hans"


def emergency_text(ctx: Ctx, flag: RedFlag, done: Recorded) -> str:
    loc = locale_key(ctx.t)
    lines = [
        ctx._("🚑 Call 120 now: {sign}.").format(sign=flag.first.title[loc]),
        ctx._("While you wait for the ambulance:"),
    ]
    lines += [f"• {step}" for step in flag.first.waiting[loc]]
    if "suicide" in flag.ids:
        lines.append(
            ctx._("Psychological help line, day and night: ☎ {line}").format(line=CRISIS_LINE)
        )
        local = ctx.services.emergency.settings.crisis_line
        if local:
            lines.append(ctx._("Local help line: ☎ {line}").format(line=local))
    for other in flag.signs[1:2]:
        if other.id != "suicide":
            lines.append(ctx._("Also ({sign}):").format(sign=other.title[loc]))
            lines += [f"• {step}" for step in other.waiting[loc][:2]]
    if done.centre is not None:
        lines.append(
            ctx._("Your health centre: {name} ☎ {phone}").format(
                name=view.station_name(ctx, done.centre), phone=done.centre.phone
            )
        )
    if done.team_told and done.doctor is not None:
        lines.append(
            ctx._("✅ Your family doctor team ({team}) has been told.").format(
                team=done.doctor.team or view.doctor_name(ctx, done.doctor)
            )
        )
    return "\n".join(lines)


async def guard(ctx: Ctx) -> bool:
    """Answer an emergency sign at once; False (do nothing) for any other text."""
    service = ctx.services.emergency
    flag = service.check(ctx.msg.text)
    if flag is None:
        return False
    log.info("emergency sign answered (%s)", flag.first.id)  # no resident id with it
    done = await service.record(ctx.user.id, flag, ctx.msg.channel)
    buttons: list[list[Button]] = [[Button(ctx._("📞 Call 120"), url="tel:120")]]
    if "suicide" in flag.ids:
        buttons.append([Button(ctx._("📞 Call {line}").format(line=CRISIS_LINE), url="tel:12356")])
    if done.centre is not None and done.centre.phone:
        phone = "".join(c for c in done.centre.phone if c.isdigit() or c == "+")
        buttons.append([Button(ctx._("📞 Call the health centre"), url=f"tel:{phone}")])
    buttons.append([Button(ctx._("🏠 Home"), HOME)])
    ctx.reply(Reply(text=emergency_text(ctx, flag, done), buttons=tuple(map(tuple, buttons))))
    return True


async def flag_lines(ctx: Ctx, doctor: Doctor, first: int) -> tuple[list[str], list[Button]]:
    """The doctor's Flags: emergency words typed by the team's residents, newest first, with
    a card button each (numbered from `first`)."""
    events = await ctx.services.emergency.flags(doctor)
    if not events:
        return [], []
    loc = locale_key(ctx.t)
    signs = ctx.services.emergency.signs
    lines = [ctx._("🚨 Emergency signs typed, newest first:")]
    buttons = []
    for i, ev in enumerate(events, start=first):
        sign = signs.by_id(ev.sign)
        who = ev.name or ctx._("Resident #{id}").format(id=ev.resident_id)
        when = ctx.t.datetime(datetime.fromtimestamp(ev.created_at, ctx.t.tz))
        new = "🆕 " if ev.seen_at is None else ""
        title = sign.title[loc] if sign else ev.sign
        lines.append(f"{i}. {new}" + ctx.t.labelled(who, f"{title} · {when}"))
        buttons.append(Button(ctx._("🗂 Card {n}").format(n=i), cb("day", "card", ev.resident_id)))
    return lines, buttons


async def render_alert(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The urgent notice to a linked doctor of the team (the resident's words are not in it)."""
    signs = rt.services.emergency.signs
    sign = signs.by_id(str(row.params.get("sign", "")))
    event = await rt.services.emergency.store.get(int(row.params.get("event_id", 0)))
    if sign is None or event is None:
        return []
    when = t.time(datetime.fromtimestamp(event["created_at"], t.tz))
    text = t.gettext(
        "🚨 A resident of your team typed words that may mean an emergency ({sign}) at {time}. "
        "They were told to call 120. Open Flags on your desk for who it is."
    ).format(sign=sign.title[locale_key(t)], time=when)
    return [Reply(text=text, buttons=((Button(t.gettext("🚩 Flags"), cb("day", "flags")),),))]


async def check_content(rt: Runtime) -> None:
    """A broken sign list stops the bot at start-up, naming the sign."""
    try:
        load_signs(rt.settings.content_dir)
    except SignFileError as exc:
        raise SystemExit(f"content/redflags/signs.yaml: {exc}") from None


def register(r: Registry) -> None:
    r.text_guard(guard)
    r.notification(ALERT_KIND, render_alert)
    r.on_startup(check_content)
