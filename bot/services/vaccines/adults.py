"""Adult vaccines: the seasonal influenza vaccine every autumn and the one-time 23-valent
pneumococcal polysaccharide vaccine (PPV23), for residents aged 60 and over (by the birth year
in their health profile) and for people with a chronic condition.

Reminders: one flu reminder per season, planned on the first daily run in September-November
(key ``vxa:<resident>:flu:<season>``), and one PPV23 reminder ever (``vxa:<resident>:ppv23``).
Either is skipped at send time once the resident marked it done or declined, or is no longer
eligible; so nothing needs cancelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import TYPE_CHECKING

from bot.domain.clock import Clock
from bot.domain.outbox import Planned
from bot.domain.vaccines import AdultRecord
from bot.services.vaccines.reminder_plan import send_time
from bot.storage.health import HealthStore
from bot.storage.outbox import OutboxStore
from bot.storage.vaccines import VaccineStore

if TYPE_CHECKING:
    from bot.config import Settings

KIND = "adult_vaccine"
FLU = "flu"
PPV23 = "ppv23"
VACCINES = (FLU, PPV23)
OUTCOMES = ("done", "declined")
ADULT_AGE = 60
FLU_MONTHS = (9, 10, 11)
EXPIRES_AFTER = timedelta(days=7)


def flu_season(today: date) -> int:
    """The season a day belongs to: the year of the autumn it started (Jan-Aug: last year's)."""
    return today.year if today.month >= 9 else today.year - 1


def season_of(vaccine: str, today: date) -> int:
    return flu_season(today) if vaccine == FLU else 0


@dataclass(frozen=True, slots=True)
class Eligibility:
    birth_year: int | None
    conditions: tuple[str, ...]
    by_age: bool

    @property
    def eligible(self) -> bool:
        return self.by_age or bool(self.conditions)


def eligibility(birth_year: int | None, conditions: Iterable[str], today: date) -> Eligibility:
    """60 and over counts from the calendar year one turns 60 (only the birth year is known)."""
    by_age = birth_year is not None and today.year - birth_year >= ADULT_AGE
    return Eligibility(birth_year, tuple(sorted(conditions)), by_age)


@dataclass(frozen=True, slots=True)
class AdultStatus:
    eligibility: Eligibility
    season: int
    flu: str | None  # this season's outcome: done / declined / None
    ppv23: str | None


def outcome(records: Sequence[AdultRecord], vaccine: str, season: int) -> str | None:
    return next((r.outcome for r in records if r.vaccine == vaccine and r.season == season), None)


def adult_rows(
    resident_id: int,
    eligible: bool,
    records: Sequence[AdultRecord],
    today: date,
    tz: tzinfo,
) -> list[Planned]:
    """The adult reminders to plan today (pure)."""
    if not eligible:
        return []
    rows: list[Planned] = []
    due = send_time(today, tz)
    season = flu_season(today)
    if today.month in FLU_MONTHS and outcome(records, FLU, season) is None:
        rows.append(
            Planned(
                resident_id,
                KIND,
                FLU,
                due,
                f"vxa:{resident_id}:flu:{season}",
                {"season": season},
                due + EXPIRES_AFTER,
            )
        )
    if outcome(records, PPV23, 0) is None:
        rows.append(
            Planned(
                resident_id, KIND, PPV23, due, f"vxa:{resident_id}:ppv23", {}, due + EXPIRES_AFTER
            )
        )
    return rows


class AdultVaccines:
    def __init__(
        self,
        store: VaccineStore,
        health: HealthStore,
        outbox: OutboxStore,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.health = health
        self.outbox = outbox
        self.settings = settings
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    async def status(self, resident_id: int) -> AdultStatus:
        today = self.today()
        conditions = [c.condition for c in await self.health.conditions(resident_id)]
        elig = eligibility(await self.health.birth_year(resident_id), conditions, today)
        records = (await self.store.adult_records([resident_id])).get(resident_id, [])
        season = flu_season(today)
        return AdultStatus(elig, season, outcome(records, FLU, season), outcome(records, PPV23, 0))

    async def record(self, resident_id: int, vaccine: str, result: str) -> None:
        if vaccine not in VACCINES or result not in OUTCOMES:
            raise ValueError(f"bad adult vaccine record {vaccine}/{result}")
        today = self.today()
        await self.store.set_adult(resident_id, vaccine, season_of(vaccine, today), result, today)

    async def undo(self, resident_id: int, vaccine: str) -> None:
        if vaccine not in VACCINES:
            raise ValueError(f"bad adult vaccine {vaccine}")
        await self.store.clear_adult(resident_id, vaccine, season_of(vaccine, self.today()))

    async def plan_all(self) -> int:
        """The daily job: plan flu (in season) and PPV23 reminders for everyone eligible."""
        today = self.today()
        facts = await self.health.facts(None)
        eligible = [
            f.resident_id for f in facts if eligibility(f.birth_year, f.conditions, today).eligible
        ]
        records = await self.store.adult_records(eligible)
        tz = self.settings.tz
        rows = [
            row
            for rid in eligible
            for row in adult_rows(rid, True, records.get(rid, []), today, tz)
        ]
        return await self.outbox.plan(rows, self.clock())

    async def still_wanted(self, resident_id: int, vaccine: str, season: int) -> bool:
        """At send time: eligible, and not marked done or declined meanwhile."""
        status = await self.status(resident_id)
        if not status.eligibility.eligible:
            return False
        if vaccine == FLU:
            return season == status.season and status.flu is None
        return status.ppv23 is None
