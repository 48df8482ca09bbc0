"""How vaccine things read in a chat: names, ages, a child's card. Shared by the vaccine
handlers and the reminders rendered at send time (so it takes a Translator, not a Ctx)."""

from __future__ import annotations

from datetime import date

from bot import names
from bot.callbacks import cb
from bot.core import Button
from bot.domain.vaccines import Child
from bot.i18n import N_, Translator
from bot.services.vaccines.children import ChildService
from bot.services.vaccines.dose_state import DoseState, Shown, states
from bot.services.vaccines.engine import Plan, PlannedDose, Reason
from bot.services.vaccines.model import add_span

NEXT_SHOWN = 4
SEXES = {"female": N_("👧 Girl"), "male": N_("👦 Boy")}


def child_name(t: Translator, child: Child) -> str:
    return child.nickname or t.gettext("your child")


def age_text(t: Translator, born: date, today: date) -> str:
    months = (today.year - born.year) * 12 + today.month - born.month
    if add_span(born, months, 0) > today:
        months -= 1
    if months < 1:
        days = (today - born).days
        return t.ngettext("{n} day old", "{n} days old", days).format(n=days)
    if months < 24:
        return t.ngettext("{n} month old", "{n} months old", months).format(n=months)
    return t.ngettext("{n} year old", "{n} years old", months // 12).format(n=months // 12)


def age_group(t: Translator, months: int) -> str:
    if months == 0:
        return t.gettext("At birth")
    if months < 24 or months % 12:
        return t.ngettext("{n} month", "{n} months", months).format(n=months)
    return t.ngettext("{n} year", "{n} years", months // 12).format(n=months // 12)


def vaccine_name(t: Translator, svc: ChildService, code: str) -> str:
    v = svc.vaccine(code)
    if v is None:
        return code
    return names.shown_name(t.locale, v.name_zh, v.name_en)


def protects(t: Translator, svc: ChildService, code: str) -> str:
    v = svc.vaccine(code)
    if v is None:
        return ""
    return v.protects_en if t.locale == "en" else v.protects_zh


def dose_label(t: Translator, svc: ChildService, vaccine: str, number: int, dose: str) -> str:
    """ "DTaP vaccine (…), dose 3" — the code too, as clinics write it in the vaccination book."""
    return t.gettext("{vaccine}, dose {n} ({code})").format(
        vaccine=vaccine_name(t, svc, vaccine), n=number, code=dose
    )


def _line(t: Translator, svc: ChildService, d: PlannedDose) -> str:
    return "• " + dose_label(t, svc, d.vaccine, d.number, d.dose)


def _against(t: Translator, svc: ChildService, d: PlannedDose) -> str:
    what = protects(t, svc, d.vaccine)
    return "  " + t.gettext("protects against {what}").format(what=what) if what else ""


def too_early_line(t: Translator, svc: ChildService, d: PlannedDose) -> str:
    """A dose recorded before its earliest age or minimum interval: it does not count."""
    assert d.given_too_early is not None
    return (
        _line(t, svc, d)
        + "\n  "
        + t.gettext(
            "given on {date}, before the schedule allows it, so it does not count; "
            "the dose stays planned below"
        ).format(date=t.date(d.given_too_early))
    )


def dose_when(t: Translator, s: DoseState, today: date) -> str:
    """When a dose may be given and whether it is late, from its one state (dose_state):
    the same words on the resident's card, the doctor's card and the reminders."""
    deadline = t.date(s.deadline) if s.deadline else "—"
    if s.shown is Shown.LATE:
        return t.gettext("late (should have been given by {deadline}): catch up now").format(
            deadline=deadline
        )
    if s.shown is Shown.LATE_WAITING:
        return t.gettext(
            "late (should have been given by {deadline}): catch up from {date}, after the "
            "gap an earlier dose needs"
        ).format(deadline=deadline, date=t.date(s.give_from))
    if s.shown is Shown.DUE_WHILE:
        return t.gettext("due since {date}: please give it soon").format(date=t.date(s.dose.due))
    if s.shown is Shown.DUE:
        if s.dose.due == today:
            return t.gettext("due today")
        if s.deadline:
            return t.gettext("due since {date}; give it by {deadline}").format(
                date=t.date(s.dose.due), deadline=deadline
            )
        # No give-by day in the schedule: say so (its rule is "as soon as possible",
        # 说明 一（二）1: 达到起始接种年龄时，应尽早接种) rather than leave the deadline out.
        return t.gettext(
            "due since {date}; the schedule sets no give-by day: give it as soon as you can"
        ).format(date=t.date(s.dose.due))
    if s.shown is Shown.UPCOMING:
        return t.gettext("from {date}").format(date=t.date(s.give_from))
    if s.shown is Shown.MISSED:
        return t.gettext("no longer given at this age: ask the vaccination clinic")
    return t.gettext("done")


SECTIONS = (
    (Shown.LATE, N_("⚠️ Late — please catch up now:")),
    (Shown.LATE_WAITING, N_("⚠️ Late — catch up as soon as it is allowed:")),
    (Shown.DUE_WHILE, N_("⏰ Due for a while — please give it soon:")),
    (Shown.DUE, N_("💉 Due now:")),
    (Shown.UPCOMING, N_("📅 Next:")),
)


def plan_lines(t: Translator, svc: ChildService, plan: Plan, today: date) -> list[str]:
    """Late, due, next, and ask-the-centre sections of a child's card, by dose_state."""
    lines: list[str] = []
    all_states = states(plan)
    early = [d for d in plan.doses if d.given_too_early is not None]
    if early:
        lines.append(t.gettext("⚠️ Recorded too early to count — ask the vaccination clinic:"))
        lines.extend(too_early_line(t, svc, d) for d in early)
    for shown, title in SECTIONS:
        group = [s for s in all_states if s.shown is shown]
        if shown is Shown.UPCOMING:
            group = group[:NEXT_SHOWN]
        if not group:
            continue
        lines.append(t.gettext(title))
        for s in group:
            lines.append(_line(t, svc, s.dose))
            lines.append("  " + dose_when(t, s, today))
            lines.append(_against(t, svc, s.dose))
    missed = [s for s in all_states if s.shown is Shown.MISSED]
    if missed:
        lines.append(t.gettext("❓ No longer given at this age — ask the vaccination clinic:"))
        lines.extend(_line(t, svc, s.dose) for s in missed)
    if all(s.shown is Shown.CLOSED for s in all_states):
        lines.append(t.gettext("🎉 All doses of the schedule are done."))
    return [line for line in lines if line]


def sex_question(t: Translator, child: Child, plan: Plan) -> tuple[str, list[Button]] | None:
    """When a dose waits for the child's sex (HPV, girls of the 2011-11-10 cohort): the card's
    question and its buttons (handled in handlers/vaccines_sex.py)."""
    if not any(d.reason is Reason.SEX_UNKNOWN for d in plan.doses):
        return None
    text = t.gettext(
        "👧 The HPV vaccine is free for girls born on or after 10 November 2011: two doses "
        "from age 13, 6 months apart. Is {name} a girl or a boy?"
    ).format(name=child_name(t, child))
    buttons = [
        Button(t.gettext(label), cb("childsex", "set", child.id, sex))
        for sex, label in SEXES.items()
    ]
    return text, buttons
