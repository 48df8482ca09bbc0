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
from handlers.resident import health_typed

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
# Crisis lines (content/redflags/signs.yaml, sources crisis_12356 and hope_24): the national
# psychological-assistance line of the NHC (12356, every province from 2025) and the 希望24
# national 24-hour crisis-intervention line.
CRISIS_LINE = "12356"
HOPE_LINE = "400-161-9995"


def locale_key(t: Translator) -> str:
    return "en" if t.locale == "en" else "zh_Hans"


def emergency_text(ctx: Ctx, flag: RedFlag, done: Recorded) -> str:
    """Every sign found, most urgent first, each with what to do, said to the person with the
    sign or to whoever helps another person. A psychological crisis alone is headed by the
    crisis line (120 for immediate danger, as its sources say); any other sign by 120."""
    loc = locale_key(ctx.t)
    crisis = [s for s in flag.signs if s.crisis]
    lines: list[str] = []
    if flag.first.crisis:
        lines.append(
            ctx._(
                "💚 Please call the psychological crisis line now, day and night: ☎ {line}. "
                "In danger now or already hurt: call 120."
            ).format(line=CRISIS_LINE)
        )
        lines.append(ctx._("What to do now:"))
    else:
        lines.append(ctx._("🚑 Call 120 now: {sign}.").format(sign=flag.first.title[loc]))
        lines.append(ctx._("While you wait for the ambulance:"))
    lines += [f"• {step}" for step in flag.first.advice(loc, flag.about_self)]
    for other in flag.signs[1:]:
        lines.append(ctx._("Also ({sign}):").format(sign=other.title[loc]))
        lines += [f"• {step}" for step in other.advice(loc, flag.about_self)]
    if crisis:
        lines.append(
            ctx._("Psychological help lines, day and night: ☎ {line} · ☎ {hope}").format(
                line=CRISIS_LINE, hope=HOPE_LINE
            )
        )
        local = ctx.services.emergency.settings.crisis_line
        if local:
            lines.append(ctx._("Local help line: ☎ {line}").format(line=local))
    if done.centre is not None:
        lines.append(
            ctx._("Your health centre: {name} ☎ {phone}").format(
                name=view.station_name(ctx, done.centre), phone=done.centre.phone
            )
        )
    if done.team_told and done.doctor is not None:
        lines.append(
            ctx._("✅ Your family doctor team ({team}) has been told.").format(
                team=view.team_name(ctx, done.doctor)
            )
        )
    return "\n".join(lines)


async def guard(ctx: Ctx) -> bool:
    """Answer an emergency sign at once; False (do nothing) for any other text."""
    service = ctx.services.emergency
    flag = await service.check(ctx.msg.text, ctx.user.id)
    if flag is None:
        return False
    if not flag.ambulance:
        # A typed low sugar and nothing else: the clinical rules' reply (treat it first; 120
        # only if drowsy, confused or unable to swallow), as for a logged reading. No flag
        # row and no alert: the doctors' alert says "told to call 120", and nothing is saved.
        log.info("typed low sugar answered by the clinical rules")
        await health_typed.treat_first(ctx, flag.treat_first, ctx.msg.text)
        return True
    log.info("emergency sign answered (%s)", ",".join(flag.ids))  # no resident id with it
    done = await service.record(ctx.user.id, flag, ctx.msg.channel)
    call_120 = [Button(ctx._("📞 Call 120"), url="tel:120")]
    buttons: list[list[Button]] = [] if flag.first.crisis else [call_120]
    if any(s.crisis for s in flag.signs):
        buttons.append([Button(ctx._("📞 Call {line}").format(line=CRISIS_LINE), url="tel:12356")])
        buttons.append(
            [Button(ctx._("📞 Call {line}").format(line=HOPE_LINE), url="tel:4001619995")]
        )
    if flag.first.crisis:
        buttons.append(call_120)
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
    ids = row.params.get("signs") or [row.params.get("sign", "")]
    found = [s for s in (signs.by_id(str(i)) for i in ids) if s is not None]
    event = await rt.services.emergency.store.get(int(row.params.get("event_id", 0)))
    if not found or event is None:
        return []
    when = t.time(datetime.fromtimestamp(event["created_at"], t.tz))
    if all(s.crisis for s in found):
        told = t.gettext(
            "🚨 A resident of your team typed words that may mean a psychological crisis "
            "({sign}) at {time}. They were given the crisis lines, and 120 for immediate "
            "danger. Open Flags on your desk for who it is."
        )
    else:
        told = t.gettext(
            "🚨 A resident of your team typed words that may mean an emergency ({sign}) at "
            "{time}. They were told to call 120. Open Flags on your desk for who it is."
        )
    text = told.format(sign=t.list([s.title[locale_key(t)] for s in found]), time=when)
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
