"""The medicine being added: its draft lives in the conversation state (so a restart resumes
it), and every step's button is checked against that state."""

from __future__ import annotations

from typing import Any

from bot.callbacks import StaleButton
from bot.context import Ctx

PICK = "med.pick"  # the picker is shown: typed text searches the list
DRAFT = "med.draft"  # a medicine is chosen: the following steps are buttons
AMOUNT = "med.amount"  # typing the amount


def current(ctx: Ctx) -> dict[str, Any]:
    if ctx.state.name not in (DRAFT, AMOUNT) or "med" not in ctx.state.data:
        raise StaleButton("no medicine being added")
    return dict(ctx.state.data)


def save(ctx: Ctx, draft: dict[str, Any], state: str = DRAFT) -> None:
    ctx.set_state(state, **draft)


def name(ctx: Ctx, draft: dict[str, Any]) -> str:
    """The chosen medicine's name in the reader's language (as `medicines_view.entry_name`)."""
    return str(draft["name_en"] if ctx.locale == "en" and draft["name_en"] else draft["med"])
