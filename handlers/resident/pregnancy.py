"""My health → 🤰 Pregnancy: pregnant, breastfeeding or neither. The clinical rules treat
blood pressure or glucose above normal in pregnancy or while breastfeeding as an urgent
referral (国家基本公共卫生服务规范 第三版), so the resident records it here, by buttons (in
elder mode after "✅ Yes")."""

from __future__ import annotations

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Button
from bot.domain.clinical import Pregnancy
from bot.i18n import N_
from bot.router import Registry
from handlers.resident.health import HOME, PREGNANCY_LABELS
from handlers.resident.health import show as show_health

CHOICES = {
    Pregnancy.PREGNANT: N_("🤰 I am pregnant"),
    Pregnancy.BREASTFEEDING: N_("🤱 I am breastfeeding"),
    Pregnancy.NONE: N_("Neither"),
}
QUESTIONS = {
    Pregnancy.PREGNANT: N_("Save: you are pregnant?"),
    Pregnancy.BREASTFEEDING: N_("Save: you are breastfeeding?"),
    Pregnancy.NONE: N_("Save: you are neither pregnant nor breastfeeding?"),
}


async def show(ctx: Ctx) -> None:
    profile = await ctx.services.health.profile(ctx.user.id)
    ctx.say(
        ctx._(
            "🤰 Pregnancy and breastfeeding. Now: {status}. During pregnancy and while "
            "breastfeeding, blood pressure or blood sugar above normal needs a doctor the same "
            "day, so I judge your readings with this in mind."
        ).format(status=ctx._(PREGNANCY_LABELS[profile.pregnancy])),
        [Button(ctx._(label), cb("pregnancy", "set", p.value)) for p, label in CHOICES.items()],
        back=HOME,
        edit=True,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("show", "set"))
    if action == "show":
        data.expect(1)
        await show(ctx)
        return
    data.expect(2, 3)
    status = Pregnancy(data.choice(1, tuple(p.value for p in Pregnancy)))
    confirmed = len(data.parts) == 3 and data.choice(2, ("ok",)) == "ok"
    if ctx.elder and not confirmed:
        ctx.say(
            ctx._(QUESTIONS[status]),
            [
                Button(ctx._("✅ Yes"), cb("pregnancy", "set", status.value, "ok")),
                Button(ctx._("❌ No"), cb("pregnancy", "show")),
            ],
            cols=2,
            back=cb("pregnancy", "show"),
        )
        return
    await ctx.services.health.set_pregnancy(ctx.user.id, status)
    ctx.notice(ctx._("Saved."))
    await show_health(ctx)


def register(r: Registry) -> None:
    r.button("pregnancy", on_button)
