"""Opening hours: parse `Mon-Fri 08:00-16:30; Sat 08:00-11:30` and say whether a place is open.

Format: `;`-separated parts, each `DAYS RANGES`. DAYS is a day (`Mon`), a span (`Mon-Fri`), a
comma list (`Mon,Wed,Fri`) or `Daily`; RANGES are comma-separated `HH:MM-HH:MM` (end may be
`24:00`). The closing minute itself is closed. A range may not cross midnight (write it as two
parts). Public holidays are not modelled: the bot says so where it shows hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import datefmt

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """The hours text cannot be read; the message says why (shown in import reports)."""


@dataclass(frozen=True, slots=True)
class Span:
    """Open from `start` to `end` minutes after midnight; `end` is the first closed minute."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Hours:
    """Spans per weekday (Monday = 0). Empty when the source text was empty (unknown)."""

    week: tuple[tuple[Span, ...], ...]
    text: str

    @property
    def known(self) -> bool:
        return any(self.week)


@dataclass(frozen=True, slots=True)
class OpenStatus:
    """Open now? If open, until which minute; if closed, the next opening today (if any)."""

    known: bool
    open: bool
    until: int | None = None  # minutes after midnight; 1440 means open until midnight
    opens_today: int | None = None


def _day_index(name: str) -> int:
    try:
        return DAYS.index(name.strip().capitalize()[:3]) if len(name.strip()) == 3 else -1
    except ValueError:
        return -1


def _days(spec: str) -> list[int]:
    spec = spec.strip()
    if spec.lower() == "daily":
        return list(range(7))
    out: list[int] = []
    for item in spec.split(","):
        first, sep, last = item.partition("-")
        a = _day_index(first)
        if a < 0:
            raise HoursError(f"unknown day {first.strip()!r}")
        if not sep:
            out.append(a)
            continue
        b = _day_index(last)
        if b < 0:
            raise HoursError(f"unknown day {last.strip()!r}")
        if b < a:
            raise HoursError(f"day span {item.strip()!r} runs backwards")
        out.extend(range(a, b + 1))
    return out


def _span(text: str) -> Span:
    m = _RANGE.match(text.strip())
    if not m:
        raise HoursError(f"time range {text.strip()!r} is not like 08:00-16:30")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise HoursError(f"time range {text.strip()!r} has an impossible time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise HoursError(f"time range {text.strip()!r} ends before it starts")
    return Span(start, end)


def parse_hours(text: str) -> Hours:
    """Parse opening hours; raise HoursError with a reason. Empty text means "not known"."""
    week: list[list[Span]] = [[] for _ in range(7)]
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        days_spec, _, ranges = part.partition(" ")
        if not ranges.strip():
            raise HoursError(f"{part!r} needs days and times, like 'Mon-Fri 08:00-16:30'")
        spans = [_span(r) for r in ranges.split(",")]
        for day in _days(days_spec):
            week[day].extend(spans)
    for spans_of_day in week:
        spans_of_day.sort(key=lambda s: s.start)
    return Hours(tuple(tuple(d) for d in week), text.strip())


def hhmm(minutes: int) -> str:
    """Minutes after midnight as HH:MM (1440 is 24:00), written by `bot.datefmt`."""
    return datefmt.clock(minutes)


def open_status(hours: Hours, now: datetime) -> OpenStatus:
    """Whether the place is open at `now` (already in the place's time zone)."""
    if not hours.known:
        return OpenStatus(known=False, open=False)
    minute = now.hour * 60 + now.minute
    today = hours.week[now.weekday()]
    for span in today:
        if span.start <= minute < span.end:
            return OpenStatus(known=True, open=True, until=span.end)
    later = [s.start for s in today if s.start > minute]
    return OpenStatus(known=True, open=False, opens_today=min(later) if later else None)


def next_opening(hours: Hours, now: datetime) -> datetime | None:
    """When the place next opens after `now` (in the place's time zone, as `now`), or None
    when its hours are not known. Open at `now` itself: `now` (it is open already)."""
    if not hours.known:
        return None
    minute = now.hour * 60 + now.minute
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for ahead in range(8):
        spans = hours.week[(now.weekday() + ahead) % 7]
        for span in spans:
            if ahead == 0 and span.end <= minute:
                continue
            if ahead == 0 and span.start <= minute:
                return now
            day = midnight + timedelta(days=ahead)
            return day.replace(hour=span.start // 60, minute=span.start % 60)
    return None
