"""How a stored reading is shown, everywhere: its value and the mark and wording of what the
clinical rules decided when it was stored (`health_readings.action` / `direction`, migration
0015). The resident's list, the doctor's card and Flags, the chart and /mydata all call
`reading_mark` / `reading_summary`, so a reading is never 🚨 in one view and ⚠️ in another.

Readings stored before the rules kept their decision have only the older flags: `danger`
means an urgent referral, `controlled` on target, anything else off target.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.clinical import Action, Direction
from bot.domain.health import Reading
from bot.i18n import N_, Translator

GLUCOSE_CONTEXT_LABELS = {
    "fasting": N_("fasting"),
    "after_meal": N_("2 h after a meal"),
}

URGENT, OFF_TARGET, ON_TARGET = "urgent", "off_target", "on_target"
PULSE = "pulse"  # health_readings.decided_by: the pulse decided a blood pressure reading's mark
EMOJI = {URGENT: "🚨", OFF_TARGET: "⚠️", ON_TARGET: "✅"}
WORDING = {
    Action.CALL_120: N_("emergency: call 120"),
    Action.COME_TODAY: N_("urgent: see a doctor today"),
    Action.RECHECK: N_("off target"),
    Action.ON_TARGET: N_("on target"),
}
RECHECK_WORDING = {Direction.LOW: N_("below target"), Direction.HIGH: N_("above target")}


@dataclass(frozen=True, slots=True)
class Mark:
    level: str  # URGENT / OFF_TARGET / ON_TARGET
    emoji: str
    wording: str  # an English msgid: translate with t.gettext


def decided(action: str | None, danger: bool, controlled: bool) -> Action:
    """The stored decision (or, for a reading stored before issue 15, its older flags)."""
    if action is not None:
        return Action(action)
    if danger:
        return Action.COME_TODAY
    return Action.ON_TARGET if controlled else Action.RECHECK


def mark(
    action: str | None, direction: str | None = None, danger: bool = False, controlled: bool = False
) -> Mark:
    """The mark of a stored decision: the one place severity becomes an emoji and words."""
    act = decided(action, danger, controlled)
    level = (
        URGENT
        if act in (Action.CALL_120, Action.COME_TODAY)
        else ON_TARGET
        if act is Action.ON_TARGET
        else OFF_TARGET
    )
    wording = WORDING[act]
    if act is Action.RECHECK and direction in RECHECK_WORDING:
        wording = RECHECK_WORDING[Direction(direction)]
    return Mark(level, EMOJI[level], wording)


def reading_mark(r: Reading) -> Mark:
    return mark(r.action, r.direction, r.danger, r.controlled)


def bp_text(
    t: Translator,
    systolic: int,
    diastolic: int,
    pulse: int | None = None,
    decided_by: str | None = None,
) -> str:
    """A blood pressure with its pulse. When the pulse decided the reading's mark (a fast
    pulse with diabetes, a slow pulse), the pulse leads: "pulse 112/min (128/78 mmHg)", so a
    flag never reads as if the blood pressure were off target (audit finding 4)."""
    pressure = f"{systolic}/{diastolic} mmHg"
    if pulse and decided_by == PULSE:
        return t.gettext("pulse {pulse}/min ({bp})").format(pulse=pulse, bp=pressure)
    if pulse:
        pressure += t.gettext(", pulse {pulse}").format(pulse=pulse)
    return pressure


def glucose_text(
    t: Translator, mmol: float, display: str | None = None, context: str | None = None
) -> str:
    """Glucose as entered, with one decimal (7.0 mmol/L, never 7), a meter's HI/LO as the
    word, and fasting / after a meal."""
    shown = display or f"{t.fixed(mmol, 1)} mmol/L"
    if context in GLUCOSE_CONTEXT_LABELS:
        shown = t.gettext("{value} ({context})").format(
            value=shown, context=t.gettext(GLUCOSE_CONTEXT_LABELS[context])
        )
    return shown


def reading_value(t: Translator, r: Reading) -> str:
    """A stored reading's value, the one way it is shown: the measure that decided its mark
    first (the resident's list, the doctor's Flags and card, the reply when it was saved)."""
    if r.kind == "bp":
        return bp_text(t, r.systolic or 0, r.diastolic or 0, r.pulse, r.decided_by)
    return glucose_text(t, r.glucose or 0.0, r.meter_display, r.context)


def reading_summary(t: Translator, r: Reading) -> str:
    """ "🚨 3.9 mmol/L (fasting) · urgent: see a doctor today": value, mark and wording."""
    m = reading_mark(r)
    return f"{m.emoji} {reading_value(t, r)} · {t.gettext(m.wording)}"
