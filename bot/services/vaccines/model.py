"""The schedule's data model: frozen dataclasses for editions, vaccines and doses, and the
calendar arithmetic ages and intervals use. Parsing and validation live in schedule.py."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

DOSE_CODE = re.compile(r"^(?P<vaccine>[A-Za-z][A-Za-z]*(?:-[A-Za-z]+)*)-(?P<n>[1-9][0-9]*)$")
AGE_UNITS = ("years", "months", "days")


class ScheduleError(ValueError):
    """A schedule file (or set of files) is invalid; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Age:
    """An age or interval: whole years and months first (clamped at month ends), then days."""

    years: int = 0
    months: int = 0
    days: int = 0

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    def after(self, start: date) -> date:
        """The date this span after `start`.

        Months are added on the calendar and the day is clamped to the end of a shorter month:
        born Jan 31 + 1 month is the last day of February; born Feb 29 + 1 year is Feb 28 in a
        common year. Days are added after the months.
        """
        return add_span(start, self.total_months, self.days)

    def __str__(self) -> str:
        parts = [f"{v} {unit}" for unit, v in zip(AGE_UNITS, self.astuple(), strict=True) if v]
        return " ".join(parts) or "0 days"

    def astuple(self) -> tuple[int, int, int]:
        return (self.years, self.months, self.days)


def add_span(start: date, months: int, days: int) -> date:
    """`start` plus whole calendar months (day clamped to the month's end) plus days."""
    result = start
    if months:
        m0 = start.month - 1 + months
        year = start.year + m0 // 12
        month = m0 % 12 + 1
        day = start.day
        if day > 28:
            day = min(day, calendar.monthrange(year, month)[1])
        result = date(year, month, day)
    if days:
        result += timedelta(days=days)
    return result


@dataclass(frozen=True)
class Limit:
    """An age limit with the text it comes from."""

    age: Age
    cite: str


@dataclass(frozen=True)
class Interval:
    """A minimum spacing after another dose (by default the previous dose of the vaccine)."""

    after: str
    span: Age
    cite: str


@dataclass(frozen=True)
class CatchUp:
    """An earlier age for a dose when another dose was missed (no longer given): MPSV-AC-1
    from 24 months for a child who will never get MPSV-A-2."""

    age: Age
    when_missed: str  # dose code
    cite: str


@dataclass(frozen=True)
class Cohort:
    """Who a vaccine is for: children born on or after a date, of one sex (None: any)."""

    born_from: date
    sex: str | None
    cite: str


@dataclass(frozen=True)
class DoseSpec:
    """One dose of one vaccine in one edition."""

    code: str
    vaccine: str
    number: int
    age: Age
    intervals: tuple[Interval, ...]
    complete_by: Limit | None
    no_longer_given: Limit | None
    replaces: tuple[str, ...] = ()
    note_zh: str | None = None
    note_en: str | None = None
    catch_up: CatchUp | None = None


@dataclass(frozen=True)
class Choice:
    """Membership in a live/inactivated style choice: group "JE", option "live"."""

    group: str
    option: str


@dataclass(frozen=True)
class Vaccine:
    code: str
    name_zh: str
    name_en: str
    protects_zh: str
    protects_en: str
    doses: tuple[DoseSpec, ...]
    choice: Choice | None = None
    note_zh: str | None = None
    note_en: str | None = None
    cohort: Cohort | None = None


@dataclass(frozen=True)
class Schedule:
    """One edition of a schedule, complete in itself."""

    series: str
    version: str
    effective: date
    title_zh: str
    title_en: str
    source: str
    vaccines: tuple[Vaccine, ...]
    source_url: str | None = None
    path: Path | None = None

    def vaccine(self, code: str) -> Vaccine | None:
        return next((v for v in self.vaccines if v.code == code), None)

    def dose(self, code: str) -> DoseSpec | None:
        for v in self.vaccines:
            for d in v.doses:
                if d.code == code:
                    return d
        return None

    @property
    def dose_codes(self) -> tuple[str, ...]:
        return tuple(d.code for v in self.vaccines for d in v.doses)


@dataclass(frozen=True)
class ScheduleSet:
    """All editions of one series, oldest first."""

    schedules: tuple[Schedule, ...]
    choice_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def series(self) -> str:
        return self.schedules[0].series

    def vaccine(self, code: str) -> Vaccine | None:
        """The newest edition's description of a vaccine (names, what it protects against)."""
        for sched in reversed(self.schedules):
            found = sched.vaccine(code)
            if found is not None:
                return found
        return None
