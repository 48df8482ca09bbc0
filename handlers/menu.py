"""The main menu, /help, and the kind answers for everything no feature took."""

from __future__ import annotations

from bot.callbacks import Callback
from bot.context import HOME, Ctx
from bot.core import Button
from bot.menu import menu_overview
from bot.router import Registry


async def home(ctx: Ctx) -> None:
    """Show the main menu."""
    ctx.clear_state()
    ctx.main_menu()


async def on_button(ctx: Ctx, data: Callback) -> None:
    if data.choice(0, ("home", "nooption")) == "nooption":
        await no_such_option(ctx, data)
        return
    data.expect(1)
    await home(ctx)


async def no_such_option(ctx: Ctx, data: Callback) -> None:
    """A typed number that is no option on the screen ("12" on a list of 11): the same
    screen again with a short hint, so nothing is lost (see bot.channels.numbered)."""
    data.expect(2)
    n = data.int_part(1)
    buttons = ctx.msg.screen_buttons
    if not buttons:
        await unknown_text(ctx)
        return
    hint = ctx._("There is no option {n} here. Please choose from 1 to {count}.").format(
        n=n, count=len(buttons)
    )
    text = hint + ("\n\n" + ctx.msg.screen_text if ctx.msg.screen_text else "")
    # The buttons as they were (their Back and Home among them), in the same order, so every
    # number keeps its meaning.
    ctx.say(text, [[b] for b in buttons], home=False)


async def help_(ctx: Ctx) -> None:
    """What the bot can do, and the commands."""
    ctx.say(
        ctx._("Doorstep helps you with community health services:")
        + "\n"
        + menu_overview(ctx.t, about=True)
        + "\n"
        + ctx._(
            "Commands: /menu main menu, /help this text, /mydata what we store about you, "
            "/delete delete your data, /start start again."
        ),
        [Button(ctx._("🏠 Home"), HOME)],
        home=False,
    )


def _back_to_menu(ctx: Ctx, text: str) -> None:
    ctx.say(text, [Button(ctx._("🏠 Home"), HOME)], home=False)


async def unknown_text(ctx: Ctx) -> None:
    _back_to_menu(
        ctx,
        ctx._("Sorry, I did not understand that. Please use the buttons, or tap Home."),
    )


async def unknown_command(ctx: Ctx) -> None:
    _back_to_menu(ctx, ctx._("I don't know that command. /help lists what I can do."))


async def media(ctx: Ctx) -> None:
    _back_to_menu(
        ctx,
        ctx._("I can't read pictures, stickers, voice or files yet. Please use the buttons."),
    )


async def edited(ctx: Ctx) -> None:
    _back_to_menu(
        ctx,
        ctx._("I saw you edited a message. I only read new messages: please send it again."),
    )


async def stale(ctx: Ctx) -> None:
    ctx.notice(ctx._("This button is no longer valid."))
    _back_to_menu(
        ctx,
        ctx._("That button is out of date, so nothing was changed. Here is the menu again."),
    )


async def coming_soon(ctx: Ctx) -> None:
    _back_to_menu(
        ctx,
        ctx._("This part of Doorstep is coming soon. Thank you for your patience."),
    )


async def error(ctx: Ctx) -> None:
    _back_to_menu(
        ctx,
        ctx._(
            "Sorry, something went wrong on our side. Nothing you entered was lost; "
            "please try again."
        ),
    )


def register(r: Registry) -> None:
    r.command("menu", home)
    r.command("help", help_, open=True)
    r.button("menu", on_button)
    # The "text" fallback (typed text nobody took) is handlers/resident/questions.py.
    r.fallback("unknown_command", unknown_command)
    r.fallback("media", media)
    r.fallback("edited", edited)
    r.fallback("stale", stale)
    r.fallback("coming_soon", coming_soon)
    r.fallback("error", error)
