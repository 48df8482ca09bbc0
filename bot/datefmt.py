"""The one place where dates and times are written for people to read.

Every date, time, month or weekday a resident, doctor or operator's chat sees goes through these
functions (reached as `Translator.date()`, `.time()`, ... in `bot.i18n`); a test
(`tests/test_date_formats.py`) fails when a handler or service formats one any other way.

One style per locale and kind of value, never ambiguous: the month is a word or is marked
(年/月/日), the year has four digits, times are 24-hour.

| kind         | zh_Hans              | en                  |
|--------------|----------------------|---------------------|
| date         | 2026年12月4日        | 4 Dec 2026          |
| time         | 10:03                | 10:03               |
| datetime     | 2026年12月4日 10:03  | 4 Dec 2026, 10:03   |
| weekday_date | 12月4日 周五         | Fri 4 Dec           |
| weekday_datetime | 12月4日 周五 10:03 | Fri 4 Dec, 10:03  |
| day_month    | 12月4日              | 4 Dec               |
| month        | 2026年12月           | Dec 2026            |

Babel writes the month and weekday names; values are shown in the deployment's time zone
(DOORSTEP_TZ, Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

Kind = Literal["date", "time", "datetime", "weekday_date", "weekday_datetime", "day_month", "month"]

PATTERNS: dict[str, dict[Kind, str]] = {
    "zh_Hans": {
        "date": "y年M月d日",
        "time": "HH:mm",
        "datetime": "y年M月d日 HH:mm",
        "weekday_date": "M月d日 EEE",
        "weekday_datetime": "M月d日 EEE HH:mm",
        "day_month": "M月d日",
        "month": "y年M月",
    },
    "en": {
        "date": "d MMM y",
        "time": "HH:mm",
        "datetime": "d MMM y, HH:mm",
        "weekday_date": "EEE d MMM",
        "weekday_datetime": "EEE d MMM, HH:mm",
        "day_month": "d MMM",
        "month": "MMM y",
    },
}


def _local(value: date | datetime | time, tz: ZoneInfo) -> datetime:
    """A naive datetime in local wall-clock time (aware values are converted to `tz`)."""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime(2000, 1, 1, value.hour, value.minute, value.second)


def shown(kind: Kind, value: date | datetime | time, locale: str, tz: ZoneInfo) -> str:
    """`value` written as `kind` in `locale` (zh_Hans or en; any other falls back to en)."""
    patterns = PATTERNS.get(locale) or PATTERNS["en"]
    # Formatted as a naive local datetime, so Babel never shifts it to another zone.
    return format_datetime(_local(value, tz), patterns[kind], locale=locale)


def duration(seconds: float, locale: str) -> str:
    """A length of time in words, rounded to its largest unit: "3 hours" / "3小时"."""
    from datetime import timedelta

    from babel.dates import format_timedelta

    return format_timedelta(timedelta(seconds=seconds), threshold=1.1, format="long", locale=locale)


def clock(minutes: int) -> str:
    """Minutes after midnight as a 24-hour clock, "08:00"; 1440 is "24:00" (a closing time,
    which no datetime can hold)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def month_name(month: int, locale: str) -> str:
    """Month 1-12 on its own, as on a picker button ("Jan", "1月")."""
    from babel import Locale

    return str(Locale.parse(locale).months["stand-alone"]["abbreviated"][month])


def weekday_name(index: int, locale: str) -> str:
    """Weekday 0 (Monday) .. 6 in full ("Monday", "星期一")."""
    from babel import Locale

    return str(Locale.parse(locale).days["format"]["wide"][index])
