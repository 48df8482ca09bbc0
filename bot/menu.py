"""The main menu: one definition, rendered as a reply keyboard (Telegram), numbered options
(text channels) or a custom menu (WeChat)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.core import Keyboard, KeyButton
from bot.i18n import N_, Translator


@dataclass(frozen=True, slots=True)
class MenuItem:
    key: str
    label: str  # English msgid, translated where shown
    about: str = ""  # what it is for (English msgid), in /help


MAIN_MENU: tuple[MenuItem, ...] = (
    MenuItem(
        "doctor",
        N_("👨‍⚕️ My family doctor"),
        N_("your signed team, phone and clinic hours"),
    ),
    MenuItem("book", N_("📅 Book a follow-up"), N_("book, move or cancel a visit")),
    MenuItem("health", N_("❤️ My health"), N_("your readings and your health profile")),
    MenuItem("medicines", N_("💊 My medicines"), N_("your medicines, reminders and refills")),
    MenuItem(
        "stations",
        N_("📍 Nearest health station"),
        N_("the closest places and whether they are open now"),
    ),
    MenuItem("tips", N_("💡 Health tips"), N_("short health tips, at the time you choose")),
    MenuItem("vaccines", N_("💉 Vaccines"), N_("vaccine records and reminders")),
    MenuItem("questions", N_("💬 Questions"), N_("common questions, or ask your team")),
    MenuItem("settings", N_("⚙️ Settings"), N_("language and elder mode")),
)


def menu_overview(t: Translator, about: bool = False) -> str:
    """The main menu's entries, one a line, from MAIN_MENU (so a text that lists the menu
    never lists another one); with `about`, what each is for."""
    return "\n".join(
        f"• {t.gettext(item.label)}" + (f": {t.gettext(item.about)}" if about else "")
        for item in MAIN_MENU
    )


def main_menu_keyboard(t: Translator, elder: bool) -> Keyboard:
    """The main menu in `t`'s language; one object per language and mode (it is immutable),
    shown after most actions."""
    return _main_menu_keyboard(t, elder)


@lru_cache(maxsize=16)
def _main_menu_keyboard(t: Translator, elder: bool) -> Keyboard:
    per_row = 2 if elder else 3
    buttons = [KeyButton(t.gettext(item.label)) for item in MAIN_MENU]
    rows = tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
    return Keyboard(rows=rows, persistent=True)


def label_index(translators: list[Translator]) -> dict[str, str]:
    """Map every translated menu label (all locales) to its key, so a tap on an old keyboard
    still works after the user switched language."""
    index: dict[str, str] = {}
    for t in translators:
        for item in MAIN_MENU:
            index[t.gettext(item.label).strip()] = item.key
    return index
