"""Translations and locale-aware formatting.

English msgids, catalogs in locales/<locale>/LC_MESSAGES/messages.po. The .po files are the only
source: they are compiled in memory when loaded, so no compiled file can go stale or differ
between Babel releases.
Locale choice: the user's stored choice, then the channel's language code, then the default.
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from bot import datefmt
from bot.config import LOCALES_DIR

SUPPORTED = ("zh_Hans", "en")
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (translated where shown)."""
    return message


class CatalogMissing(RuntimeError):
    """A catalog (.po file) is missing from the locales directory."""


def negotiate(stored: str | None, language_code: str | None, default: str) -> str:
    """Pick the locale to speak: stored choice, then the client's language, then default."""
    if stored in SUPPORTED:
        return stored
    if language_code:
        try:
            loc = Locale.parse(language_code.replace("_", "-"), sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            loc = None
        if loc is not None:
            if loc.language == "zh":
                return "zh_Hans"
            if loc.language == "en":
                return "en"
    return default if default in SUPPORTED else SUPPORTED[0]


ListStyle = Literal[
    "standard", "standard-short", "or", "or-short", "unit", "unit-short", "unit-narrow"
]


@dataclass(frozen=True)
class Translator:
    """Everything a handler needs to speak one locale."""

    locale: str
    translations: gettext.NullTranslations
    tz: ZoneInfo

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    @property
    def babel_locale(self) -> Locale:
        return _babel_locale(self.locale)

    # Dates and times: one style per locale, all in bot/datefmt.py (no per-call formats).
    def date(self, value: dt.date | dt.datetime) -> str:
        """ "2026年12月4日" / "4 Dec 2026"."""
        return datefmt.shown("date", value, self.locale, self.tz)

    def weekday_date(self, value: dt.date | dt.datetime) -> str:
        """ "12月4日 周五" / "Fri 4 Dec"."""
        return datefmt.shown("weekday_date", value, self.locale, self.tz)

    def weekday_datetime(self, value: dt.datetime) -> str:
        """ "12月4日 周五 10:03" / "Fri 4 Dec, 10:03" (visits and planned messages)."""
        return datefmt.shown("weekday_datetime", value, self.locale, self.tz)

    def day_month(self, value: dt.date | dt.datetime) -> str:
        """ "12月4日" / "4 Dec" (chart axes, where the year is shown elsewhere)."""
        return datefmt.shown("day_month", value, self.locale, self.tz)

    def month(self, value: dt.date | dt.datetime) -> str:
        """A month of a year: "2026年12月" / "Dec 2026"."""
        return datefmt.shown("month", value, self.locale, self.tz)

    def time(self, value: dt.time | dt.datetime) -> str:
        """24-hour "10:03"."""
        return datefmt.shown("time", value, self.locale, self.tz)

    def datetime(self, value: dt.datetime) -> str:
        """ "2026年12月4日 10:03" / "4 Dec 2026, 10:03"."""
        return datefmt.shown("datetime", value, self.locale, self.tz)

    def duration(self, seconds: float) -> str:
        """ "3 hours" / "3小时" (how long answers usually take)."""
        return datefmt.duration(seconds, self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def fixed(self, value: float, places: int = 1) -> str:
        """A number with exactly `places` decimals in the user's locale (7.0, not 7)."""
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(value, format=pattern, locale=self.babel_locale)

    def month_name(self, month: int) -> str:
        """Month 1-12 as the user's locale writes it on its own ("Jan", "1月")."""
        return datefmt.month_name(month, self.locale)

    def weekday_name(self, index: int) -> str:
        """Weekday 0 (Monday) .. 6 in full ("Monday", "星期一")."""
        return datefmt.weekday_name(index, self.locale)

    def labelled(self, label: str, value: str) -> str:
        """ "label: value" with the locale's colon ("血压：150/95" / "BP: 150/95")."""
        return self.gettext("{label}: {value}").format(label=label, value=value)

    def sentences(self, parts: Sequence[str]) -> str:
        """Sentences run together the locale's way: a space after each in English, none
        in Chinese ("已停用。已取消提醒。"), where a space between sentences is a stray gap.
        Empty parts are left out. Every message that strings sentences together uses this."""
        joiner = "" if self.locale.startswith("zh") else " "
        return joiner.join(p for p in parts if p)

    def list(self, items: Sequence[str], style: ListStyle = "standard") -> str:
        """Items joined the locale's way: "A, B, and C" / "A、B和C"."""
        return format_list(list(items), style=style, locale=self.babel_locale)


@lru_cache(maxsize=8)
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)


@lru_cache(maxsize=16)
def _compiled(po: Path, mtime_ns: int) -> bytes:
    """The .po file compiled to .mo bytes (fuzzy entries left out, as pybabel compile does).

    Cached by path and modification time: tests build many runtimes, and an edited catalog is
    picked up by the next load.
    """
    with po.open("rb") as fh:
        catalog = read_po(fh)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def load_translations(locales_dir: Path, name: str) -> Translations:
    """The translations of one locale, compiled from its .po file."""
    po = locales_dir / name / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        raise CatalogMissing(f"{po} is missing")
    return Translations(io.BytesIO(_compiled(po, po.stat().st_mtime_ns)), domain=DOMAIN)


class Catalogs:
    """Loaded catalogs, one per supported locale; loading fails fast if one is missing."""

    def __init__(self, locales_dir: Path = LOCALES_DIR, tz: ZoneInfo | None = None) -> None:
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self._translators: dict[str, Translator] = {}
        for name in SUPPORTED:
            translations = load_translations(locales_dir, name)
            self._translators[name] = Translator(name, translations, self.tz)

    def get(self, locale: str) -> Translator:
        return self._translators.get(locale) or self._translators[SUPPORTED[0]]

    def all(self) -> list[Translator]:
        return list(self._translators.values())
