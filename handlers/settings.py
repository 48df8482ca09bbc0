"""Settings: language and elder mode (big buttons, short screens, confirm before saving)."""

from __future__ import annotations

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Button
from bot.i18n import SUPPORTED
from bot.router import Registry
from handlers.start import LANGUAGE_NAMES

BACK = cb("settings", "show")


async def show(ctx: Ctx, edit: bool = False) -> None:
    """The settings screen."""
    elder = ctx._("on") if ctx.elder else ctx._("off")
    ctx.say(
        ctx._("Settings\nLanguage: {language}\nElder mode: {elder}").format(
            language=LANGUAGE_NAMES.get(ctx.locale, ctx.locale), elder=elder
        ),
        [
            Button(ctx._("🌐 Language"), cb("settings", "lang")),
            Button(
                ctx._("🔠 Elder mode: turn off") if ctx.elder else ctx._("🔠 Elder mode: turn on"),
                cb("settings", "elder", "0" if ctx.elder else "1"),
            ),
            # A doctor's account that never consented as a resident stores nothing of its own.
            *(
                (
                    Button(ctx._("📄 My data"), cb("privacy", "export")),
                    Button(ctx._("🗑 Delete my data"), cb("privacy", "delete")),
                )
                if ctx.user.consented
                else ()
            ),
        ],
        cols=2,
        home=True,
        edit=edit,
    )


async def menu_entry(ctx: Ctx) -> None:
    await show(ctx)


async def set_language(ctx: Ctx, code: str) -> None:
    ctx.user = await ctx.services.residents.set_locale(ctx.user, code)
    ctx.t = ctx.rt.catalogs.get(code)
    await saved(ctx, ctx._("Language saved."))


async def saved(ctx: Ctx, note: str) -> None:
    """After a setting is saved: the main menu, or for a doctor's account that never
    consented as a resident (it reaches Settings from the desk) the desk."""
    if not ctx.user.consented:
        from handlers.doctor.desk import desk_instead_of_onboarding
        from handlers.start import show_privacy

        if not await desk_instead_of_onboarding(ctx, note):
            await show_privacy(ctx)
        return
    ctx.main_menu(note)


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("show", "lang", "setlang", "elder", "elderok"))
    data.expect(*{"show": (1,), "lang": (1,), "setlang": (2, 3)}.get(action, (2,)))
    if action == "show":
        await show(ctx, edit=True)
    elif action == "lang":
        buttons = [Button(LANGUAGE_NAMES[c], cb("settings", "setlang", c)) for c in SUPPORTED]
        ctx.say(ctx._("Choose your language."), buttons, cols=2, back=BACK, edit=True)
    elif action == "setlang":
        code = data.choice(1, SUPPORTED)
        if len(data.parts) == 3:
            data.choice(2, ("ok",))
        if ctx.elder and len(data.parts) != 3:
            ctx.say(
                ctx._("Switch the language to {language}?").format(language=LANGUAGE_NAMES[code]),
                [
                    Button(ctx._("✅ Yes"), cb("settings", "setlang", code, "ok")),
                    Button(ctx._("❌ No"), BACK),
                ],
                cols=2,
                back=BACK,
            )
            return
        await set_language(ctx, code)
    elif action == "elder":
        on = data.choice(1, ("0", "1")) == "1"
        question = (
            ctx._(
                "Turn on elder mode? Big buttons, short messages, Back and Home on every "
                "screen, and a confirmation before anything is saved."
            )
            if on
            else ctx._("Turn off elder mode?")
        )
        ctx.say(
            question,
            [
                Button(ctx._("✅ Yes"), cb("settings", "elderok", "1" if on else "0")),
                Button(ctx._("❌ No"), BACK),
            ],
            cols=2,
            back=BACK,
        )
    else:
        on = data.choice(1, ("0", "1")) == "1"
        ctx.user = await ctx.services.residents.set_elder_mode(ctx.user, on)
        ctx.notice(ctx._("Saved."))
        await saved(ctx, ctx._("Elder mode is on.") if on else ctx._("Elder mode is off."))


async def lang_command(ctx: Ctx) -> None:
    """/lang en or /lang zh: switch language directly (handy on text channels)."""
    wanted = ctx.msg.args.strip().lower().replace("-", "_")
    code = {
        "en": "en",
        "english": "en",
        "zh": "zh_Hans",
        "zh_hans": "zh_Hans",
        "zh_cn": "zh_Hans",
        "中文": "zh_Hans",
    }.get(wanted)
    if code is None:
        buttons = [Button(LANGUAGE_NAMES[c], cb("start", "lang", c)) for c in SUPPORTED]
        ctx.say(ctx._("Choose your language."), buttons, cols=2, home=False)
        return
    ctx.user = await ctx.services.residents.set_locale(ctx.user, code)
    ctx.t = ctx.rt.catalogs.get(code)
    if ctx.user.consented:
        ctx.main_menu(ctx._("Language saved."))
    else:
        from handlers.doctor.desk import desk_instead_of_onboarding
        from handlers.start import show_privacy

        if await desk_instead_of_onboarding(ctx, ctx._("Language saved.")):
            return

        await show_privacy(ctx)


def register(r: Registry) -> None:
    r.top("settings", BACK)
    r.menu_item("settings", menu_entry)
    r.command("settings", menu_entry)
    r.command("lang", lang_command, open=True)
    # Open: a doctor's account reaches language and elder mode from the desk before (or
    # without) consenting as a resident; the privacy buttons are shown only after consent.
    r.button("settings", on_button, open=True)
