"""Vaccines for adults: this season's flu vaccine and the one-time PPV23, each marked done or
declined; and their reminders, rendered at send time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Button, Reply
from bot.router import Registry
from bot.services.vaccines.adults import (
    ADULT_AGE,
    FLU,
    KIND,
    OUTCOMES,
    PPV23,
    VACCINES,
    AdultVaccines,
)
from handlers import vaccines as main

if TYPE_CHECKING:
    from bot.i18n import Translator
    from bot.runtime import Runtime
    from bot.storage.outbox import OutboxRow
    from bot.storage.residents import Resident

SHOW = cb("vxd", "show")


def _state(t: Translator, outcome: str | None) -> str:
    if outcome == "done":
        return t.gettext("✅ done")
    if outcome == "declined":
        return t.gettext("🚫 declined")
    return t.gettext("not yet")


def _mark_buttons(t: Translator, vaccine: str) -> tuple[Button, ...]:
    return (
        Button(t.gettext("✅ I had it"), cb("vxd", "rec", vaccine, "done")),
        Button(t.gettext("🚫 I don't want it"), cb("vxd", "rec", vaccine, "declined")),
    )


async def show(ctx: Ctx, edit: bool = False) -> None:
    status = await ctx.service(AdultVaccines).status(ctx.user.id)
    lines = [
        ctx._(
            "🧓 Two vaccines are recommended for people aged {age} and over and for people "
            "with a chronic illness (such as high blood pressure or diabetes):"
        ).format(age=ADULT_AGE),
        ctx._("• Flu vaccine, every autumn (September to November). This season: {state}").format(
            state=_state(ctx.t, status.flu)
        ),
        ctx._("• Pneumococcal vaccine (PPV23), once. {state}").format(
            state=_state(ctx.t, status.ppv23)
        ),
    ]
    elig = status.eligibility
    if elig.eligible:
        lines.append(ctx._("I will remind you of them."))
    elif elig.birth_year is None:
        lines.append(ctx._("To get these reminders, add your birth year under “❤️ My health”."))
    else:
        lines.append(ctx._("They are not yet recommended for you, so I send no reminders."))
    buttons: list[list[Button]] = []
    for vaccine, outcome, label in (
        (FLU, status.flu, ctx._("Flu vaccine:")),
        (PPV23, status.ppv23, ctx._("PPV23:")),
    ):
        if outcome is None:
            done, declined = _mark_buttons(ctx.t, vaccine)
            buttons.append(
                [
                    Button(f"{label} {done.label}", done.data or ""),
                    Button(f"{label} {declined.label}", declined.data or ""),
                ]
            )
        else:
            buttons.append(
                [Button(ctx._("↩️ Undo {label}").format(label=label), cb("vxd", "undo", vaccine))]
            )
    buttons.append([Button(ctx._("📅 Book a vaccination visit"), main.BOOK)])
    ctx.say("\n".join(lines), buttons, back=main.MENU, edit=edit)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("show", "rec", "undo"))
    svc = ctx.service(AdultVaccines)
    if action == "rec":
        data.expect(3)
        await svc.record(ctx.user.id, data.choice(1, VACCINES), data.choice(2, OUTCOMES))
        ctx.notice(ctx._("Noted."))
    elif action == "undo":
        data.expect(2)
        await svc.undo(ctx.user.id, data.choice(1, VACCINES))
        ctx.notice(ctx._("Noted."))
    else:
        data.expect(1)
    await show(ctx, edit=action != "show")


async def render_adult(
    rt: Runtime, t: Translator, resident: Resident, row: OutboxRow
) -> list[Reply]:
    """The flu (once a season) or PPV23 (once) reminder, unless already done or declined."""
    vaccine = row.key
    if vaccine not in VACCINES:
        return []
    season = int(row.params.get("season", 0))
    if not await rt.service(AdultVaccines).still_wanted(resident.id, vaccine, season):
        return []
    if vaccine == FLU:
        text = t.gettext(
            "💉 Flu season is here. The flu vaccine is recommended every autumn for people "
            "aged {age} and over and for people with a chronic illness. Ask your community "
            "health service centre."
        ).format(age=ADULT_AGE)
    else:
        text = t.gettext(
            "💉 The pneumococcal vaccine (PPV23) protects against pneumonia and is given "
            "once. It is recommended for people aged {age} and over and for people with a "
            "chronic illness. Ask your community health service centre."
        ).format(age=ADULT_AGE)
    return [
        Reply(
            text=text,
            buttons=(
                _mark_buttons(t, vaccine),
                (Button(t.gettext("📅 Book a vaccination visit"), main.BOOK),),
            ),
        )
    ]


def register(r: Registry) -> None:
    r.button("vxd", on_button)
    r.notification(KIND, render_adult)
