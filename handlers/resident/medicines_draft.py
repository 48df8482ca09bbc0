"""The medicine being added: its draft lives in the conversation state as a typed flow (so a
restart resumes it), and every step's button is checked against that state. The steps read
and write it as a plain dict (`current` / `save`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from bot import names
from bot.callbacks import StaleButton
from bot.context import Ctx
from bot.domain.residents import FlowState

PICK = "med.pick"  # the picker is shown: typed text searches the list
DRAFT = "med.draft"  # a medicine is chosen: the following steps are buttons
AMOUNT = "med.amount"  # typing the amount


@dataclass(frozen=True)
class Picking(FlowState):
    """The picker is shown; `typed` is the name last typed (for "✏️ Use …")."""

    NAME: ClassVar[str] = PICK
    typed: str = ""


@dataclass(frozen=True)
class Draft(FlowState):
    """A chosen medicine and the answers so far."""

    NAME: ClassVar[str] = DRAFT
    cid: str = ""  # the list's id, or "" for a typed name
    med: str = ""  # the name as shown (the list's Chinese name, or as typed)
    name_en: str = ""
    ing: str = ""  # active ingredient (the list's, English), or ""
    unit: str = ""
    strength: str = ""
    amount: str = ""
    times: tuple[str, ...] = ()
    meals: str = ""
    start: str = ""  # ISO dates
    end: str = ""


@dataclass(frozen=True)
class TypingAmount(Draft):
    """The same draft while the amount is being typed."""

    NAME: ClassVar[str] = AMOUNT


def current(ctx: Ctx) -> dict[str, Any]:
    flow = ctx.flow(Draft) or ctx.flow(TypingAmount)
    if flow is None or not flow.med:
        raise StaleButton("no medicine being added")
    draft = asdict(flow)
    draft["times"] = list(draft["times"])
    return draft


def save(ctx: Ctx, draft: dict[str, Any], state: str = DRAFT) -> None:
    cls = TypingAmount if state == AMOUNT else Draft
    ctx.enter(cls.from_data({**draft, "times": tuple(draft.get("times") or ())}))


def name(ctx: Ctx, draft: dict[str, Any]) -> str:
    """The chosen medicine's name in the reader's language (as `medicines_view.entry_name`)."""
    return names.shown_name(ctx.locale, str(draft["med"]), str(draft["name_en"]))
