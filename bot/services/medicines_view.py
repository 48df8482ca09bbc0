"""How My medicines reads: doses, times, meals and one line per medicine, in the reader's
language. Screens, reminders, the weekly summary, the medicine card and the doctor's card all
use these, so a medicine reads the same everywhere."""

from __future__ import annotations

from datetime import datetime, time

from bot import names
from bot.domain.medicines import Entry, Meals, Medicine, parse_hhmm
from bot.i18n import N_, Translator

# The one wording of each meal relation: the add screen's buttons, the list, reminders, the
# card and the doctor's card all read it from here ("not tied to meals" is a fact the resident
# entered, never an instruction such as "with or without food").
MEALS_LABELS: dict[Meals, str] = {
    Meals.BEFORE: N_("before meals"),
    Meals.AFTER: N_("after meals"),
    Meals.ANY: N_("not tied to meals"),
}


def meals_choice(t: Translator, meals: Meals) -> str:
    """The add screen's button for a meal relation: its label, capitalised ("🍽 After meals";
    no dish on "Not tied to meals")."""
    label = t.gettext(MEALS_LABELS[meals])
    label = label[:1].upper() + label[1:]
    return label if meals is Meals.ANY else f"🍽 {label}"


NO_DOSE_ADVICE = N_(
    "Doorstep never suggests a dose: it keeps the dose your doctor told you, as you entered it."
)
NO_DOUBLE = N_("Never take two doses at once to make up for a missed one.")
LONG_RX_SOURCE = N_(
    "Long-term Prescription Management Standard (trial) (长期处方管理规范), National Health "
    "Commission and National Healthcare Security Administration, 2021"
)


def _count(amount: str) -> int:
    """1 for amounts up to one (½, 1), else 2: which plural form to use."""
    value = amount.replace("½", ".5").replace("¼", ".25")
    try:
        return 1 if float(value or "0") <= 1 else 2
    except ValueError:
        return 2


def dose_text(t: Translator, amount: str, unit: str) -> str:
    """'1 tablet', '½ tablet', '2 capsules', '10 units'; a typed dose with its own words as
    typed."""
    n = _count(amount)
    if unit == "tablet":
        return t.ngettext("{amount} tablet", "{amount} tablets", n).format(amount=amount)
    if unit == "capsule":
        return t.ngettext("{amount} capsule", "{amount} capsules", n).format(amount=amount)
    if unit == "sachet":
        return t.ngettext("{amount} sachet", "{amount} sachets", n).format(amount=amount)
    if unit == "iu":
        return t.ngettext("{amount} unit", "{amount} units", n).format(amount=amount)
    if unit == "puff":
        return t.ngettext("{amount} puff", "{amount} puffs", n).format(amount=amount)
    if unit == "ml":
        return t.gettext("{amount} ml").format(amount=amount)
    return amount


def clock(t: Translator, hhmm: str) -> str:
    """A stored 'HH:MM' in the reader's time format."""
    parsed = parse_hhmm(hhmm)
    return t.time(parsed) if parsed is not None else hhmm


def times_text(t: Translator, times: tuple[str, ...] | list[str]) -> str:
    return t.list([clock(t, x) for x in sorted(times)])


def moments_text(t: Translator, moments: tuple[int, ...] | list[int]) -> str:
    """Moments (unix seconds) as their times of day, each once ("08:00 and 20:00": today's
    and tomorrow's 08:00 read as one time)."""
    hhmms = sorted({hhmm(datetime.fromtimestamp(at, t.tz).time()) for at in moments})
    return times_text(t, hhmms)


def moment_text(t: Translator, at: int) -> str:
    return t.time(datetime.fromtimestamp(at, t.tz))


def medicine_name(t: Translator, m: Medicine) -> str:
    return names.medicine_name(t.locale, m)


def entry_name(t: Translator, e: Entry) -> str:
    """The medicine's name in the reader's language where the list has one, with the
    strength when the resident chose it."""
    return names.entry_name(t.locale, e)


def entry_line(t: Translator, e: Entry) -> str:
    """'Amlodipine besylate tablets 5 mg — 1 tablet · 08:00 · after meals'."""
    parts = [
        dose_text(t, e.amount, e.unit),
        times_text(t, e.times),
        t.gettext(MEALS_LABELS[e.meals]),
    ]
    line = f"{entry_name(t, e)} — {' · '.join(parts)}"
    if e.end_on is not None:
        line += " · " + t.gettext("until {date}").format(date=t.date(e.end_on))
    return line


def hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"
