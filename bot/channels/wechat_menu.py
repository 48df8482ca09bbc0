"""The Official Account's custom menu, built from the main menu (`doorstep wechat menu push`).
A click sends `menu:<key>`, which the channel maps back to that main-menu entry."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, Translator
from bot.menu import MAIN_MENU

MENU_KEY_PREFIX = "menu:"
TOP_LEVEL = 3
PER_GROUP = 5
# Names on the menu bar must be short (16 bytes: 5 Chinese characters); entries in a list
# may be longer and use the main menu's own labels.
MENU_SHORT = {
    "doctor": N_("Family doctor"),
    "book": N_("Book a visit"),
    "stations": N_("Stations"),
    "tips": N_("Health tips"),
    "vaccines": N_("Vaccines"),
    "settings": N_("Settings"),
}
MENU_MORE = N_("More")
MENU_SERVICES = N_("Services")
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60


def _cut_bytes(label: str, limit: int) -> str:
    while len(label.encode()) > limit:
        label = label[:-1]
    return label


def _plain(label: str) -> str:
    """A label without its leading emoji: menu names are short and shown without icons."""
    i = 0
    while i < len(label) and not label[i].isalnum():
        i += 1
    return label[i:].strip() or label.strip()


def build_menu(t: Translator) -> dict[str, Any]:
    """The account's custom menu from MAIN_MENU: at most 3 entries on the bar; past that, the
    last bar entry opens a list of the rest (at most 5), and past 7 entries the first stays on
    the bar and two lists hold the rest (at most 11)."""
    short = {key: t.gettext(label) for key, label in MENU_SHORT.items()}
    more = t.gettext(MENU_MORE)
    items = list(MAIN_MENU)
    if len(items) > 1 + 2 * PER_GROUP:
        raise ValueError(f"MAIN_MENU has {len(items)} entries; a WeChat menu holds at most 11")

    def click(item: Any, limit: int, name: str | None = None) -> dict[str, Any]:
        shown = name or _plain(t.gettext(item.label))
        return {
            "type": "click",
            "name": _cut_bytes(shown, limit),
            "key": MENU_KEY_PREFIX + item.key,
        }

    if len(items) <= TOP_LEVEL:
        return {"button": [click(i, TOP_NAME_BYTES, short.get(i.key)) for i in items]}
    if len(items) > TOP_LEVEL - 1 + PER_GROUP:
        first, group, others = items[0], items[1 : 1 + PER_GROUP], items[1 + PER_GROUP :]
        return {
            "button": [
                click(first, TOP_NAME_BYTES, short.get(first.key)),
                {
                    "name": _cut_bytes(t.gettext(MENU_SERVICES), TOP_NAME_BYTES),
                    "sub_button": [click(i, SUB_NAME_BYTES) for i in group],
                },
                {
                    "name": _cut_bytes(more, TOP_NAME_BYTES),
                    "sub_button": [click(i, SUB_NAME_BYTES) for i in others],
                },
            ]
        }
    bar = [click(i, TOP_NAME_BYTES, short.get(i.key)) for i in items[: TOP_LEVEL - 1]]
    rest = [click(i, SUB_NAME_BYTES) for i in items[TOP_LEVEL - 1 :]]
    bar.append({"name": _cut_bytes(more, TOP_NAME_BYTES), "sub_button": rest})
    return {"button": bar}
