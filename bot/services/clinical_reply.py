"""The reply to a reading, composed from ONE decided action (issue 15 audit, finding 1).

The engine decides one Action per reading; this module is the only place an action becomes
words about urgency: the headline, where to go (the centre's phone, or the hospital's
emergency department when the centre is closed), when to measure again or see the doctor,
and the conditional "call 120 if ..." sign lists. Advice texts (bot/services/clinical_advice.py)
say what a value means and what to do meanwhile; they never name an urgency of their own
(`doorstep content check` refuses one that does), so one reply can never say "call 120" and
"go to the emergency department yourself", or "see a doctor today" and "measure again another
day". No chat library: handlers send the lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.clinical import Action, Decision, Direction
from bot.i18n import N_
from bot.services.clinical_advice import SIGNS, advice_text
from bot.services.clinical_rules import ClinicalContent

Gettext = Callable[[str], str]

# One headline per action: the urgency is stated here and nowhere else.
HEADLINE = {
    Action.CALL_120: N_("🚨 {value}: this is an emergency. Call 120 now."),
    Action.COME_TODAY: N_("🚨 {value}: please see a doctor today."),
    Action.RECHECK: N_("⚠️ Saved: {value}."),
    Action.ON_TARGET: N_("Saved: {value}."),
}
# Where to be seen today (COME_TODAY only: with 120 called, 120 takes the resident).
CENTRE_OPEN = N_("📞 {centre} (open now): {phone}")
CENTRE_CLOSED = N_("📞 {centre} (closed now): {phone}")
CLOSED_TODAY = N_(
    "The health centre is closed: to see a doctor today, go to the emergency department "
    "(急诊) of the nearest hospital."
)
# The one recheck statement of a RECHECK reply (the due date is the stored follow-up plan's).
RECHECK_BY = N_("Please see your family doctor for a recheck within 2 weeks, by {date}.")
RECHECK_BY_REMINDED = N_(
    "Please see your family doctor for a recheck within 2 weeks, by {date}. I will remind you."
)
RECHECK_STAYS = {
    Direction.LOW: N_(
        "Please measure again on another day, and see your family doctor if it stays low."
    ),
    Direction.HIGH: N_(
        "Please measure again on another day, and see your family doctor if it stays high."
    ),
}
# A value beyond what can be entered: the rules' action, if the meter really shows it.
BEYOND = {
    Action.CALL_120: N_("If the meter really shows this, call 120 now."),
    Action.COME_TODAY: N_("If the meter really shows this, please see a doctor today."),
}


# Every urgency text above, by id, for `doorstep content report` (the doctor signs these too).
URGENCY_TEXTS: dict[str, str] = {
    **{f"headline.{a.value}": m for a, m in HEADLINE.items()},
    "where.open": CENTRE_OPEN,
    "where.closed": CENTRE_CLOSED,
    "where.closed.ed": CLOSED_TODAY,
    "recheck.by": RECHECK_BY,
    "recheck.by.reminded": RECHECK_BY_REMINDED,
    **{f"recheck.stays.{d.value}": m for d, m in RECHECK_STAYS.items()},
    **{f"beyond.{a.value}": m for a, m in BEYOND.items()},
}


@dataclass(frozen=True, slots=True)
class Centre:
    """The centre to call, as the directory knows it now."""

    name: str
    phone: str
    closed: bool


def _split(gettext: Gettext, content: ClinicalContent, d: Decision) -> tuple[list[str], list[str]]:
    """The decision's advice in its language: (what it means / what to do, the sign lists)."""
    info = [advice_text(gettext, content, a) for a in d.advice if a not in SIGNS]
    signs = [advice_text(gettext, content, a) for a in d.advice if a in SIGNS]
    # With 120 called already, "call 120 if ..." is noise.
    return info, [] if d.action is Action.CALL_120 else signs


def reading_lines(
    gettext: Gettext,
    content: ClinicalContent,
    d: Decision,
    value: str,
    centre: Centre | None = None,
    recheck_due: str | None = None,
    reminded: bool = False,
) -> list[str]:
    """The reply to a stored reading: the headline of the decided action, the advice, then
    (by the same action) where to go or when to recheck, and last the conditional signs.
    `recheck_due` is the follow-up plan's due date, already formatted, when one was started."""
    info, signs = _split(gettext, content, d)
    lines = [gettext(HEADLINE[d.action]).format(value=value), *info]
    if d.action is Action.COME_TODAY and centre is not None:
        line = CENTRE_CLOSED if centre.closed else CENTRE_OPEN
        lines.append(gettext(line).format(centre=centre.name, phone=centre.phone))
        if centre.closed:
            lines.append(gettext(CLOSED_TODAY))
    if d.action is Action.RECHECK:
        if recheck_due is not None:
            line = RECHECK_BY_REMINDED if reminded else RECHECK_BY
            lines.append(gettext(line).format(date=recheck_due))
        else:
            direction = Direction.LOW if d.direction is Direction.LOW else Direction.HIGH
            lines.append(gettext(RECHECK_STAYS[direction]))
    return lines + signs


def beyond_lines(gettext: Gettext, content: ClinicalContent, d: Decision) -> list[str]:
    """A value outside the entry range: check it, and the action if it is real."""
    info, signs = _split(gettext, content, d)
    tail = BEYOND.get(d.action)
    return [*info, *([gettext(tail)] if tail else []), *signs]


TELL_DOCTOR = N_("Please tell your family doctor about it.")
URGENCY_TEXTS["event.tell"] = TELL_DOCTOR


def event_lines(
    gettext: Gettext,
    content: ClinicalContent,
    d: Decision,
    recheck_due: str | None,
    reminded: bool,
) -> list[str]:
    """A recorded event (a medicine side effect): its advice, the one recheck line (from the
    follow-up plan, only when one was planned), and the signs that mean 120 last."""
    info, signs = _split(gettext, content, d)
    if recheck_due is not None:
        line = RECHECK_BY_REMINDED if reminded else RECHECK_BY
        tail = gettext(line).format(date=recheck_due)
    else:
        tail = gettext(TELL_DOCTOR)
    return [*info, tail, *signs]
