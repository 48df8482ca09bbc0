"""One formatter per kind of value: dates and times shown to people come from bot/datefmt.py.

The styles are checked by example in both locales, and the code is scanned: a handler, service
or channel that writes a date any other way (strftime with a human format, Babel's date
functions, a `%` spec in an f-string, an ISO date poured into a message) fails this test.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import datefmt
from bot.config import ROOT
from bot.i18n import Catalogs

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 02:03 UTC is 10:03 in Shanghai, on Friday 4 December 2026.
MOMENT = datetime(2026, 12, 4, 2, 3, tzinfo=UTC)

EXPECTED = {
    "zh_Hans": {
        "date": "2026年12月4日",
        "time": "10:03",
        "datetime": "2026年12月4日 10:03",
        "weekday_date": "12月4日 周五",
        "weekday_datetime": "12月4日 周五 10:03",
        "day_month": "12月4日",
        "month": "2026年12月",
    },
    "en": {
        "date": "4 Dec 2026",
        "time": "10:03",
        "datetime": "4 Dec 2026, 10:03",
        "weekday_date": "Fri 4 Dec",
        "weekday_datetime": "Fri 4 Dec, 10:03",
        "day_month": "4 Dec",
        "month": "Dec 2026",
    },
}


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_one_unambiguous_style_per_locale(locale: str) -> None:
    t = Catalogs().get(locale)
    shown = {
        "date": t.date(MOMENT),
        "time": t.time(MOMENT),
        "datetime": t.datetime(MOMENT),
        "weekday_date": t.weekday_date(MOMENT),
        "weekday_datetime": t.weekday_datetime(MOMENT),
        "day_month": t.day_month(MOMENT),
        "month": t.month(MOMENT),
    }
    assert shown == EXPECTED[locale]
    for text in shown.values():
        assert "AM" not in text and "PM" not in text and "/" not in text


def test_local_values_are_not_shifted() -> None:
    # A date, a naive local time and an aware time all show the Shanghai wall clock.
    assert datefmt.shown("date", date(2026, 12, 31), "en", SHANGHAI) == "31 Dec 2026"
    assert datefmt.shown("time", time(8, 30), "zh_Hans", SHANGHAI) == "08:30"
    late = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Shanghai
    assert datefmt.shown("datetime", late, "zh_Hans", SHANGHAI) == "2027年1月1日 00:30"
    assert datefmt.clock(1440) == "24:00" and datefmt.clock(7 * 60 + 5) == "07:05"


def test_names_of_months_and_weekdays() -> None:
    zh, en = Catalogs().get("zh_Hans"), Catalogs().get("en")
    assert (zh.month_name(3), en.month_name(3)) == ("3月", "Mar")
    assert (zh.weekday_name(0), en.weekday_name(6)) == ("星期一", "Sunday")


# -- the code scan ----------------------------------------------------------------------------
# Where text for people is composed. bot/commands (the operator's terminal, ISO on purpose),
# bot/storage (machine values) and bot/datefmt.py itself are not scanned.
SCANNED = [
    ROOT / "handlers",
    ROOT / "bot" / "services",
    ROOT / "bot" / "channels",
    ROOT / "bot" / "web",
]
# strftime formats that never reach a person: callback data and iCalendar's UTC stamp.
MACHINE_FORMATS = {"%Y%m%d", "%Y%m%dT%H%M%SZ"}
BABEL_DATES = {"format_date", "format_datetime", "format_time", "format_skeleton"}
# Calls whose arguments become what a person reads.
SHOWN_CALLS = {"format", "Button", "Reply", "say", "main_menu", "gettext", "_"}


def _sources() -> list[Path]:
    return sorted(p for d in SCANNED for p in d.rglob("*.py"))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def date_formatting_outside_datefmt(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "babel.dates":
            found.append((node.lineno, "imports babel.dates"))
        if isinstance(node, ast.Call) and _name(node.func) == "strftime":
            fmt = node.args[0] if node.args else None
            if not (isinstance(fmt, ast.Constant) and fmt.value in MACHINE_FORMATS):
                found.append((node.lineno, "strftime with a human format"))
        if isinstance(node, ast.Call) and _name(node.func) in BABEL_DATES:
            found.append((node.lineno, f"calls {_name(node.func)}"))
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = ast.unparse(node.format_spec)
            if "%" in spec:
                found.append((node.lineno, f"date format spec {spec}"))
        if isinstance(node, ast.Call) and _name(node.func) in SHOWN_CALLS:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for inner in ast.walk(arg):
                    if isinstance(inner, ast.Call) and _name(inner.func) == "isoformat":
                        found.append((inner.lineno, "ISO date in a message"))
    return found


def test_no_date_is_formatted_for_people_outside_datefmt() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {why}"
        for path in _sources()
        for line, why in date_formatting_outside_datefmt(ast.parse(path.read_text("utf-8")))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "snippet",
    [
        'label = day.strftime("%d/%m")',
        "from babel.dates import format_date",
        'text = f"due {due:%Y-%m-%d}"',
        'ctx.say(ctx._("Due {d}").format(d=due.isoformat()))',
        "Button(day.isoformat(), data)",
        'x = format_datetime(now, "short")',
    ],
)
def test_the_scan_catches_each_way(snippet: str) -> None:
    assert date_formatting_outside_datefmt(ast.parse(snippet))


def test_the_scan_allows_machine_values() -> None:
    ok = 'key = f"tip:{rid}:{day.isoformat()}"\ncb("bk", "d", day.strftime("%Y%m%d"))'
    assert date_formatting_outside_datefmt(ast.parse(ok)) == []
    assert _sources(), "nothing scanned"
