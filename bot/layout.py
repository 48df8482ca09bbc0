"""How buttons are laid out for a resident, outside a Ctx: the messages the delivery pipeline
renders (reminders, tips) follow the same elder-mode rules as `Ctx.say` does for screens —
at most two buttons per row, and always a way back to the main menu (🏠 Home)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.callbacks import cb
from bot.core import Button, Reply
from bot.i18n import N_, Translator

# The same data as bot.context.HOME (handled by handlers/menu.py); kept here so that this
# module does not import the context and the context could one day lay out with it.
HOME = cb("menu", "home")
HOME_LABEL = N_("🏠 Home")
ELDER_PER_ROW = 2


def rows_for(rows: Sequence[Sequence[Button]], elder: bool) -> list[tuple[Button, ...]]:
    """Rows as given; in elder mode a row of more than two buttons is split in twos."""
    out: list[tuple[Button, ...]] = []
    for row in rows:
        row = tuple(row)
        if elder and len(row) > ELDER_PER_ROW:
            out.extend(row[i : i + ELDER_PER_ROW] for i in range(0, len(row), ELDER_PER_ROW))
        elif row:
            out.append(row)
    return out


def notification(
    t: Translator,
    elder: bool,
    text: str,
    rows: Sequence[Sequence[Button]] = (),
    *,
    home: bool | None = None,
) -> Reply:
    """A rendered notification. Home is added in elder mode (like every screen there), or
    whenever `home` is True; never twice when a row already leads home."""
    laid = rows_for(rows, elder)
    wants_home = home if home is not None else elder
    if wants_home and not any(b.data == HOME for row in laid for b in row):
        laid.append((Button(t.gettext(HOME_LABEL), HOME),))
    return Reply(text=text, buttons=tuple(laid))
