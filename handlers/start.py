"""/start: welcome, language choice, and the privacy notice with consent."""

from __future__ import annotations

from bot.callbacks import Callback, cb
from bot.context import Ctx
from bot.core import Button, Kind
from bot.i18n import SUPPORTED
from bot.menu import menu_overview
from bot.router import Registry

LANGUAGE_NAMES = {"zh_Hans": "中文", "en": "English"}


def language_buttons(feature: str = "start") -> list[Button]:
    return [Button(LANGUAGE_NAMES[code], cb(feature, "lang", code)) for code in SUPPORTED]


async def start(ctx: Ctx) -> None:
    """Welcome the user and ask for their language."""
    ctx.say(
        ctx._(
            "Welcome to Doorstep (家门口健康): your community health services on your phone.\n"
            "Please choose your language."
        )
        + "\n请选择语言 / Choose your language",
        language_buttons(),
        cols=2,
        home=None if ctx.user.consented else False,  # before consent there is no menu yet
    )


async def show_privacy(ctx: Ctx) -> None:
    ctx.say(
        ctx._(
            "Privacy notice\n"
            "Doorstep stores what you tell it (your language, community, bookings, readings, "
            "children's vaccines) to remind you and to let your own family doctor team care "
            "for you. Nobody else sees it. You can see everything stored with /mydata and "
            "delete it all with /delete at any time.\n"
            "Do you agree?"
        ),
        [
            Button(ctx._("✅ I agree"), cb("start", "consent", "yes")),
            Button(ctx._("Not now"), cb("start", "consent", "no")),
        ],
        cols=2,
        home=False,
    )


async def on_button(ctx: Ctx, data: Callback) -> None:
    action = data.choice(0, ("lang", "consent", "privacy", "again"))
    data.expect(1 if action in ("privacy", "again") else 2)
    residents = ctx.services.residents
    if action == "again":
        await start(ctx)
    elif action == "lang":
        code = data.choice(1, SUPPORTED)
        ctx.user = await residents.set_locale(ctx.user, code)
        ctx.t = ctx.rt.catalogs.get(code)
        if ctx.user.consented:
            ctx.main_menu(ctx._("Language saved. Here is the main menu."))
        else:
            await show_privacy(ctx)
    elif action == "privacy":
        await show_privacy(ctx)
    elif data.choice(1, ("yes", "no")) == "yes":
        ctx.user = await residents.consent(ctx.user)
        ctx.notice(ctx._("Thank you."))
        how = (
            ctx._("Tap a button, or type a question in your own words.")
            if ctx.traits.has_buttons
            else ctx._("Send an option's number, or type a question in your own words.")
        )
        ctx.main_menu(
            ctx._("You're all set. The menu below has:") + "\n" + menu_overview(ctx.t) + "\n" + how
        )
    else:
        ctx.say(
            ctx._(
                "No problem. Until you agree, Doorstep uses nothing but your language "
                "choice. /mydata shows everything it keeps (your language, your chat account "
                "and what this chat needs to work) and /delete removes it. Tap below whenever "
                "you are ready."
            ),
            [Button(ctx._("Read the privacy notice"), cb("start", "privacy"))],
            home=False,
        )


async def consent_needed(ctx: Ctx) -> None:
    """Anything but the open routes before consent: explain and offer the notice (a linked
    doctor's account gets the doctor's desk instead)."""
    from handlers.doctor.desk import desk_instead_of_onboarding

    note = ""
    if ctx.msg.kind in (Kind.TEXT, Kind.COMMAND):
        note = ctx._("I did not understand that. Here is your desk.")
    if await desk_instead_of_onboarding(ctx, note):
        return
    if ctx.user.locale is None:
        await start(ctx)
        return
    ctx.say(
        ctx._("Before we start, please read the privacy notice and agree to it."),
        [Button(ctx._("Read the privacy notice"), cb("start", "privacy"))],
        home=False,
    )


def register(r: Registry) -> None:
    r.command("start", start, open=True)
    r.button("start", on_button, open=True)
    r.fallback("consent", consent_needed)
