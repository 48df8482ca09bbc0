"""A child's sex, asked on the card only when a vaccine of one sex depends on it: HPV, for
girls born on or after 2011-11-10 (the 2025-11 schedule edition). Buttons only; in elder mode
after "✅ Yes". Recording it re-plans the child's reminders."""

from __future__ import annotations

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.i18n import N_
from bot.router import Registry
from handlers.resident import vaccines as main
from handlers.resident import vaccines_view as view
from handlers.resident.vaccines_add import confirm, ok_tapped
from handlers.resident.vaccines_view import SEXES

QUESTIONS = {"female": N_("Save: {name} is a girl?"), "male": N_("Save: {name} is a boy?")}


async def on_button(ctx: Ctx, data: Callback) -> None:
    data.choice(0, ("set",))
    data.expect(3, 4)
    record = await main.mine(ctx, data, 1)
    sex = data.choice(2, tuple(SEXES))
    if ctx.elder and not ok_tapped(data, 3):
        question = ctx._(QUESTIONS[sex]).format(name=view.child_name(ctx.t, record.child))
        confirm(
            ctx,
            question,
            cb("childsex", "set", record.child.id, sex, "ok"),
            main.card_data(record.child.id),
        )
        return
    svc = ctx.services.children
    await svc.set_sex(record, sex)
    ctx.notice(ctx._("Saved."))
    fresh = await svc.mine(ctx.user.id, record.child.id)
    if fresh is not None:
        await main.card(ctx, fresh, edit=not ctx.elder)


def register(r: Registry) -> None:
    r.button("childsex", on_button)
