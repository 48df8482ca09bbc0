"""Catalogs are complete and compiled; locale negotiation; Babel formatting."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.config import ROOT
from bot.i18n import SUPPORTED, Catalogs, load_translations, negotiate

KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
METHOD_MAP = [("bot/**.py", "python"), ("handlers/**.py", "python")]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def source_msgids() -> set[str]:
    ids: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def load(locale: str):
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_source_msgid_is_translated(locale: str) -> None:
    catalog = load(locale)
    missing = []
    for msgid in sorted(source_msgids()):
        msg = catalog.get(msgid)
        if msg is None:
            # plural entries are keyed by their singular
            msg = next((m for m in catalog if isinstance(m.id, tuple) and m.id[0] == msgid), None)
        strings = (
            msg.string
            if msg is not None and isinstance(msg.string, tuple)
            else ((msg.string,) if msg is not None else ("",))
        )
        if msg is None or not all(strings) or msg.fuzzy:
            missing.append(msgid)
    assert not missing, f"{locale}: untranslated msgids (run scripts/i18n.py): {missing}"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_placeholders_survive_translation(locale: str) -> None:
    for msg in load(locale):
        if not msg.id or not msg.string:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) <= wanted | set(PLACEHOLDER.findall(ids[0])), (
                locale,
                msg.id,
            )


@pytest.mark.parametrize("locale", SUPPORTED)
def test_loaded_catalog_speaks_the_po_file(locale: str) -> None:
    """What the bot says is what the .po file says: every translated entry, read back through
    the loaded translations (compiled in memory, so no committed file can go stale)."""
    translations = load_translations(ROOT / "locales", locale)
    checked = 0
    for msg in load(locale):
        if not msg.id or not msg.string or msg.fuzzy or isinstance(msg.id, tuple):
            continue
        got = (
            translations.pgettext(msg.context, msg.id)
            if msg.context
            else translations.gettext(msg.id)
        )
        assert got == msg.string, (locale, msg.id)
        checked += 1
    assert checked > 100, f"{locale}: only {checked} entries checked"


@pytest.mark.parametrize(
    ("stored", "code", "expected"),
    [
        ("en", "zh-CN", "en"),
        (None, "zh", "zh_Hans"),
        (None, "zh-hans", "zh_Hans"),
        (None, "zh-CN", "zh_Hans"),
        (None, "zh-TW", "zh_Hans"),
        (None, "en-GB", "en"),
        (None, "fr", "zh_Hans"),
        (None, None, "zh_Hans"),
        (None, "!!", "zh_Hans"),
        ("xx", "en", "en"),
    ],
)
def test_negotiate(stored, code, expected) -> None:
    assert negotiate(stored, code, "zh_Hans") == expected


def test_dates_in_user_locale_and_shanghai_time() -> None:
    catalogs = Catalogs()
    moment = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)  # 01:30 next day in Shanghai
    zh, en = catalogs.get("zh_Hans"), catalogs.get("en")
    assert "25" in zh.date(moment) and "2026" in zh.date(moment) and "年" in zh.date(moment)
    assert en.date(moment) == "25 Nov 2026"
    assert zh.date(moment) == "2026年11月25日"
    assert en.time(moment) == "01:30"
    assert en.datetime(moment) == "25 Nov 2026, 01:30"
    assert zh.datetime(moment) == "2026年11月25日 01:30"
    assert zh.time(moment) == "01:30"
