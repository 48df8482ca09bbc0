"""The README's description of the main menu is the menu the bot shows (a stale copy listed a
different set of entries)."""

import re
from pathlib import Path

from bot.menu import MAIN_MENU

README = Path(__file__).resolve().parents[1] / "README.md"


def _english(label: str) -> str:
    # Labels start with an emoji and a space: "👨‍⚕️ My family doctor" -> "My family doctor".
    return label.split(" ", 1)[1]


def test_readme_lists_the_main_menu_in_order() -> None:
    text = README.read_text("utf-8")
    m = re.search(r"Then the persistent main\s+menu: (.+?)\. `/menu`", text, re.S)
    assert m, "README's 'First conversations' no longer describes the main menu"
    listed = [part.strip() for part in re.sub(r"\s+", " ", m.group(1)).split("·")]
    assert listed == [_english(item.label) for item in MAIN_MENU]
    assert text.count("Then the persistent main") == 1
