"""Vaccines for adults: this season's flu vaccine and the one-time PPV23, each marked done or
declined (in elder mode after "✅ Yes"); and their reminders, rendered at send time.

Every button label and question is one whole msgid per vaccine and action, so that each
language can word it as a sentence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.i18n import N_
from bot.layout import notification
from bot.router import Registry
from bot.services.vaccines.adults import (
    ADULT_AGE,
    FLU,
    FLU_BEST_BY_MONTH,
    KIND,
    OUTCOMES,
    PPV23,
    VACCINES,
    row_season,
)
from handlers import promises
from handlers.resident import vaccines as main
from handlers.resident.vaccines_add import confirm, ok_tapped

if TYPE_CHECKING:
    from bot.domain.outbox import OutboxRow
    from bot.domain.residents import Resident
    from bot.i18n import Translator
    from bot.runtime import Runtime

SHOW = cb("adultvax", "show")
MARK_LABELS = {
    (FLU, "done"): N_("✅ I had the flu vaccine"),
    (FLU, "declined"): N_("🚫 I don't want the flu vaccine"),
    (PPV23, "done"): N_("✅ I had the PPV23 vaccine"),
    (PPV23, "declined"): N_("🚫 I don't want the PPV23 vaccine"),
}
MARK_QUESTIONS = {
    (FLU, "done"): N_("Save: you had this season's flu vaccine?"),
    (FLU, "declined"): N_("Save: you do not want the flu vaccine this season?"),
    (PPV23, "done"): N_("Save: you had the pneumococcal vaccine (PPV23)?"),
    (PPV23, "declined"): N_("Save: you do not want the pneumococcal vaccine (PPV23)?"),
}
UNDO_LABELS = {
    FLU: N_("↩️ Undo: flu vaccine"),
    PPV23: N_("↩️ Undo: PPV23 vaccine"),
}
# The vaccine inside a sentence ("I will remind you about {what} on …").
NAMES = {
    FLU: N_("the flu vaccine"),
    PPV23: N_("the pneumococcal vaccine (PPV23)"),
    "ppv23:repeat": N_("the second dose of the pneumococcal vaccine (PPV23)"),
}
UNDO_QUESTIONS = {
    FLU: N_("Undo what you saved about the flu vaccine?"),
    PPV23: N_("Undo what you saved about the pneumococcal vaccine (PPV23)?"),
}


def _state(t: Translator, outcome: str | None) -> str:
    if outcome == "done":
        return t.gettext("✅ done")
    if outcome == "declined":
        return t.gettext("🚫 declined")
    return t.gettext("not recorded yet")


def _mark_buttons(t: Translator, vaccine: str) -> tuple[Button, ...]:
    return tuple(
        Button(t.gettext(MARK_LABELS[vaccine, outcome]), cb("adultvax", "rec", vaccine, outcome))
        for outcome in ("done", "declined")
    )


def _subject(vaccine: str, season: int) -> str:
    return "ppv23:repeat" if vaccine == PPV23 and season == 1 else vaccine


def planned_line(
    t: Translator, rows: Sequence[OutboxRow], none: str, at: promises.Arrivals | None = None
) -> str:
    """ "I will remind you about <vaccine> on …" for each vaccine that has pending rows,
    named from the rows themselves (their key and season), at the times they go out."""
    subjects: dict[str, list[OutboxRow]] = {}
    for r in rows:
        subjects.setdefault(_subject(r.key, row_season(r)), []).append(r)
    about = [(t.gettext(NAMES[s]), subjects[s]) for s in NAMES if s in subjects]
    return promises.reminders_about(t, about, none, at)


def cancelled_line(t: Translator, vaccine: str, season: int, n: int) -> str:
    """What marking a vaccine did to its reminders: the rows actually cancelled."""
    what = t.gettext(NAMES[_subject(vaccine, season)])
    if n == 0:
        return t.gettext("Saved. No reminder about {what} was waiting.").format(what=what)
    return t.ngettext(
        "Saved. I cancelled {n} reminder about {what}.",
        "Saved. I cancelled {n} reminders about {what}.",
        n,
    ).format(n=n, what=what)


async def show(ctx: Ctx, edit: bool = False, head: str = "") -> None:
    svc = ctx.services.adult_vaccines
    status = await svc.status(ctx.user.id)
    lines = [
        *([head, ""] if head else []),
        ctx._("🧓 Vaccines for adults:"),
        ctx._(
            "• Flu vaccine, every season, for people aged {age} and over and people with a "
            "chronic illness: best by the end of October, still worth having later in the "
            "season. This season: {state}"
        ).format(age=ADULT_AGE, state=_state(ctx.t, status.flu)),
        ctx._(
            "• Pneumococcal vaccine (PPV23), for people aged {age} and over and people with "
            "diabetes: it lowers the risk of serious pneumococcal infections (some pneumonias, "
            "infections of the blood or brain), but does not prevent every pneumonia. One "
            "dose; if you had it before 65 or your immunity is weakened, a second dose 5 years "
            "later is recommended. Yours: {state}"
        ).format(age=svc.ppv23_age, state=_state(ctx.t, status.ppv23)),
    ]
    if status.ppv23_repeat_from is not None:
        lines.append(
            ctx._("• PPV23 second dose: recommended from {date}. Yours: {state}").format(
                date=ctx.t.date(status.ppv23_repeat_from),
                state=_state(ctx.t, status.ppv23_repeat),
            )
        )
    elig = status.eligibility
    if elig.eligible:
        lines.append(
            planned_line(
                ctx.t,
                status.reminders,
                ctx._("No reminder of them is waiting for you right now."),
                await promises.arrivals(ctx.services.send_times, status.reminders),
            )
        )
    elif elig.birth_year is None:
        lines.append(ctx._("To get these reminders, add your birth year under “❤️ My health”."))
    else:
        lines.append(ctx._("They are not yet recommended for you, so I send no reminders."))
    buttons: list[list[Button]] = []
    repeat_due = status.ppv23_repeat_from is not None and svc.today() >= status.ppv23_repeat_from
    ppv23_outcome = status.ppv23_repeat if repeat_due else status.ppv23
    for vaccine, outcome in ((FLU, status.flu), (PPV23, ppv23_outcome)):
        if outcome is None:
            buttons.append(list(_mark_buttons(ctx.t, vaccine)))
        else:
            buttons.append([Button(ctx._(UNDO_LABELS[vaccine]), cb("adultvax", "undo", vaccine))])
    buttons.append([Button(ctx._("📅 Book a vaccination visit"), main.BOOK)])
    ctx.say("\n".join(lines), buttons, back=main.MENU, edit=edit)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("show", "rec", "undo"))
    svc = ctx.services.adult_vaccines
    if action == "rec":
        data.expect(3, 4)
        vaccine, outcome = data.choice(1, VACCINES), data.choice(2, OUTCOMES)
        if ctx.elder and not ok_tapped(data, 3):
            question = ctx._(MARK_QUESTIONS[vaccine, outcome])
            confirm(ctx, question, cb("adultvax", "rec", vaccine, outcome, "ok"), SHOW)
            return
        season = await svc.season_of(ctx.user.id, vaccine)
        cancelled = await svc.record(ctx.user.id, vaccine, outcome)
        ctx.notice(ctx._("Noted."))
        head = cancelled_line(ctx.t, vaccine, season, cancelled)
    elif action == "undo":
        data.expect(2, 3)
        vaccine = data.choice(1, VACCINES)
        if ctx.elder and not ok_tapped(data, 2):
            question = ctx._(UNDO_QUESTIONS[vaccine])
            confirm(ctx, question, cb("adultvax", "undo", vaccine, "ok"), SHOW)
            return
        season = await svc.season_of(ctx.user.id, vaccine)
        # The reminder planned again (if any) is among the pending rows the screen names.
        await svc.undo(ctx.user.id, vaccine)
        ctx.notice(ctx._("Noted."))
        head = ctx._("Undone: {what} is not recorded any more.").format(
            what=ctx._(NAMES[_subject(vaccine, season)])
        )
    else:
        data.expect(1)
        head = ""
    # Elder mode came here from a question: the screen is a new message, not an edit.
    await show(ctx, edit=action != "show" and not ctx.elder, head=head)


async def render_adult(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The flu (once a season) or PPV23 (once) reminder, unless already done or declined."""
    vaccine = row.key
    if vaccine not in VACCINES:
        return []
    season = int(row.params.get("season", 0))
    if not await rt.services.adult_vaccines.still_wanted(resident.id, vaccine, season):
        return []
    svc = rt.services.adult_vaccines
    month = svc.today().month
    if vaccine == FLU and 9 <= month <= FLU_BEST_BY_MONTH:
        text = t.gettext(
            "💉 Flu season is here. The flu vaccine is best given by the end of October; it "
            "is recommended for people aged {age} and over and for people with a chronic "
            "illness. Ask your community health service centre."
        ).format(age=ADULT_AGE)
    elif vaccine == FLU:
        text = t.gettext(
            "💉 It is not too late for this season's flu vaccine: it still protects you for "
            "the rest of the season. It is recommended for people aged {age} and over and for "
            "people with a chronic illness. Ask your community health service centre."
        ).format(age=ADULT_AGE)
    elif season == 1:
        text = t.gettext(
            "💉 It is 5 years since you recorded your pneumococcal vaccine (PPV23), before "
            "the age of 65: a second dose is recommended now. Ask your community health "
            "service centre."
        )
    else:
        text = t.gettext(
            "💉 The pneumococcal vaccine (PPV23) lowers the risk of serious pneumococcal "
            "infections, such as some pneumonias and infections of the blood or brain. One "
            "dose is recommended for people aged {age} and over and for people with "
            "diabetes. Ask your community health service centre."
        ).format(age=svc.ppv23_age)
    rows = (
        _mark_buttons(t, vaccine),
        (Button(t.gettext("📅 Book a vaccination visit"), main.BOOK),),
    )
    return [notification(t, resident.elder_mode, text, rows)]


def register(r: Registry) -> None:
    r.top("adultvax", SHOW)
    r.button("adultvax", on_button)
    r.notification(KIND, render_adult)
