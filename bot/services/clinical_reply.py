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
# A value typed in a message (not saved as a reading): the same urgency, no "Saved".
HEADLINE_TYPED = {
    **HEADLINE,
    Action.RECHECK: N_("⚠️ {value}: not on target."),
    Action.ON_TARGET: N_("✅ {value}: on target."),
}
# Where to be seen today (COME_TODAY only: with 120 called, 120 takes the resident).
CENTRE_OPEN = N_("📞 {centre} (open now): {phone}")
CENTRE_CLOSED = N_("📞 {centre} (closed now): {phone}")
CLOSED_TODAY = N_(
    "The health centre is closed: to see a doctor today, go to the emergency department "
    "(急诊) of the nearest hospital."
)
# Closed now, but it opens again later today: "today" can wait until then (finding 4).
OPENS_TODAY = N_("It opens again today at {time}: please go then.")
# Closed until another day: a "today" urgency cannot wait, so the emergency department.
OPENS_LATER = N_(
    "It opens again on {when}. This should not wait until then: to see a doctor today, go to "
    "the emergency department (急诊) of the nearest hospital."
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
    **{f"headline.typed.{a.value}": m for a, m in HEADLINE_TYPED.items()},
    "where.open": CENTRE_OPEN,
    "where.closed": CENTRE_CLOSED,
    "where.closed.ed": CLOSED_TODAY,
    "where.closed.opens_today": OPENS_TODAY,
    "where.closed.opens_later": OPENS_LATER,
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
    # When closed: its next opening, already formatted ("08:00" when `opens_today`, else a
    # weekday and time); None when its hours do not say (then: the emergency department).
    opens: str | None = None
    opens_today: bool = False

    def where_lines(self, gettext: Gettext) -> list[str]:
        """The phone, open or closed; closed: when it opens, and the emergency department
        only when "today" cannot wait until then."""
        line = CENTRE_CLOSED if self.closed else CENTRE_OPEN
        lines = [gettext(line).format(centre=self.name, phone=self.phone)]
        if not self.closed:
            return lines
        if self.opens is None:
            lines.append(gettext(CLOSED_TODAY))
        elif self.opens_today:
            lines.append(gettext(OPENS_TODAY).format(time=self.opens))
        else:
            lines.append(gettext(OPENS_LATER).format(when=self.opens))
        return lines


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
    saved: bool = True,
) -> list[str]:
    """The reply to a stored reading (or, `saved=False`, a value typed in a message): the
    headline of the decided action, the advice, then (by the same action) where to go or when
    to recheck, and last the conditional signs. `recheck_due` is the follow-up plan's due
    date, already formatted, when one was started."""
    info, signs = _split(gettext, content, d)
    headline = HEADLINE if saved else HEADLINE_TYPED
    lines = [gettext(headline[d.action]).format(value=value), *info]
    if d.action is Action.COME_TODAY and centre is not None:
        lines += centre.where_lines(gettext)
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
