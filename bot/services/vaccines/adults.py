"""Adult vaccines: the seasonal influenza vaccine and the 23-valent pneumococcal
polysaccharide vaccine (PPV23), by the birth year in the health profile and the conditions.

- Flu: for residents aged 60 and over and anyone with a chronic condition. Best given by the
  end of October, still worth giving through the season (中国流感疫苗预防接种技术指南): one
  reminder a month from September to March (key ``vxa:<resident>:flu:<season>:<month>``)
  until the resident marks it done or declined.
- PPV23: from the deployment's age (DOORSTEP_PPV23_AGE, default 65 per the 2020 expert
  consensus; a city programme funding 60+ sets 60 and names itself in
  DOORSTEP_PPV23_AGE_SOURCE), and for people with diabetes at any adult age (a risk group of
  the consensus; high blood pressure alone is not). One reminder (``vxa:<resident>:ppv23``);
  a dose recorded before 65 gets one repeat reminder 5 years later
  (``vxa:<resident>:ppv23:repeat``, season 1).
Marking a vaccine done or declined cancels its pending reminder rows (and says how many);
undoing the mark plans its reminder again (a cancelled row is revived). Every reminder is also
skipped at send time once done or declined, or no longer eligible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from bot.config import ConfigError, Settings
from bot.domain.clock import Clock
from bot.domain.outbox import PENDING, OutboxRow, Planned
from bot.domain.vaccines import AdultRecord
from bot.services.vaccines.reminder_plan import send_time
from bot.storage.health import HealthStore
from bot.storage.outbox import OutboxStore
from bot.storage.vaccines import VaccineStore

KIND = "adult_vaccine"
FLU = "flu"
PPV23 = "ppv23"
VACCINES = (FLU, PPV23)
OUTCOMES = ("done", "declined")
ADULT_AGE = 60  # flu: 60 and over (中国流感疫苗预防接种技术指南 priority group)
FLU_MONTHS = (9, 10, 11, 12, 1, 2, 3)  # the season; best by the end of October
FLU_BEST_BY_MONTH = 10
EXPIRES_AFTER = timedelta(days=7)
PPV23_AGE_DEFAULT = 65
PPV23_REPEAT_YEARS = 5
PPV23_REPEAT_BEFORE_AGE = 65
PPV23_RISK_CONDITIONS = ("diabetes2",)
PPV23_CONSENSUS = (
    "中华预防医学会《肺炎球菌性疾病免疫预防专家共识（2020版）》",
    "推荐≥65岁老年人接种1剂PPV23；2～64岁患有慢性心、肺、肝病、糖尿病等基础疾病或免疫功能"
    "低下者接种PPV23；65岁前接种过或免疫功能低下者，首剂5年后复种1剂。"
    " [non-verbatim: check against the source]",
)


@dataclass(frozen=True, slots=True)
class Ppv23Policy:
    """The deployment's PPV23 age and where it comes from (one place for every reader)."""

    age: int
    source: str
    quote: str
    reviewed: date


def ppv23_policy(settings: Settings) -> Ppv23Policy:
    """DOORSTEP_PPV23_AGE (default 65, the 2020 consensus) with its source: an age other than
    65 must name the programme that funds it in DOORSTEP_PPV23_AGE_SOURCE."""
    raw = settings.extra.get("DOORSTEP_PPV23_AGE", "").strip()
    source = settings.extra.get("DOORSTEP_PPV23_AGE_SOURCE", "").strip()
    if not raw:
        return Ppv23Policy(
            PPV23_AGE_DEFAULT, source or PPV23_CONSENSUS[0], PPV23_CONSENSUS[1], date(2026, 12, 4)
        )
    try:
        age = int(raw)
    except ValueError as exc:
        raise ConfigError(f"DOORSTEP_PPV23_AGE must be a whole number, got {raw!r}") from exc
    if not 50 <= age <= 80:
        raise ConfigError(f"DOORSTEP_PPV23_AGE must be between 50 and 80, got {age}")
    if age != PPV23_AGE_DEFAULT and not source:
        raise ConfigError(
            "DOORSTEP_PPV23_AGE differs from the 2020 consensus (65): name the programme "
            "that funds it in DOORSTEP_PPV23_AGE_SOURCE"
        )
    quote = PPV23_CONSENSUS[1] if age == PPV23_AGE_DEFAULT else f"{source}：{age}岁及以上"
    return Ppv23Policy(age, source or PPV23_CONSENSUS[0], quote, date(2026, 12, 4))


def flu_season(today: date) -> int:
    """The season a day belongs to: the year of the autumn it started (Jan-Aug: last year's)."""
    return today.year if today.month >= 9 else today.year - 1


def in_flu_season(today: date) -> bool:
    return today.month in FLU_MONTHS


@dataclass(frozen=True, slots=True)
class Eligibility:
    birth_year: int | None
    conditions: tuple[str, ...]
    by_age: bool  # flu: 60 and over
    ppv23_age: int = PPV23_AGE_DEFAULT
    ppv23_by_age: bool = False

    @property
    def flu(self) -> bool:
        return self.by_age or bool(self.conditions)

    @property
    def ppv23(self) -> bool:
        return self.ppv23_by_age or any(c in PPV23_RISK_CONDITIONS for c in self.conditions)

    @property
    def eligible(self) -> bool:
        return self.flu or self.ppv23


def eligibility(
    birth_year: int | None,
    conditions: Iterable[str],
    today: date,
    ppv23_age: int = PPV23_AGE_DEFAULT,
) -> Eligibility:
    """Ages count from the calendar year one reaches them (only the birth year is known)."""
    age = today.year - birth_year if birth_year is not None else None
    return Eligibility(
        birth_year,
        tuple(sorted(conditions)),
        age is not None and age >= ADULT_AGE,
        ppv23_age,
        age is not None and age >= ppv23_age,
    )


@dataclass(frozen=True, slots=True)
class AdultStatus:
    eligibility: Eligibility
    season: int
    flu: str | None  # this season's outcome: done / declined / None
    ppv23: str | None
    ppv23_repeat_from: date | None = None  # a dose before 65: the repeat is due from here
    ppv23_repeat: str | None = None  # the repeat's outcome
    reminders: tuple[OutboxRow, ...] = ()  # the adult reminders waiting in the outbox


def row_season(row: OutboxRow) -> int:
    """Which record a reminder row is about: the flu season, or PPV23's first dose (0) or
    repeat (1)."""
    return int(row.params.get("season", 0))


def rows_of(rows: Sequence[OutboxRow], vaccine: str, season: int) -> list[OutboxRow]:
    """The reminder rows of one vaccine record (a vaccine and its season)."""
    return [r for r in rows if r.key == vaccine and row_season(r) == season]


def outcome(records: Sequence[AdultRecord], vaccine: str, season: int) -> str | None:
    return next((r.outcome for r in records if r.vaccine == vaccine and r.season == season), None)


def ppv23_repeat_from(records: Sequence[AdultRecord], birth_year: int | None) -> date | None:
    """A PPV23 dose recorded before the year one turns 65: the repeat is due 5 years later."""
    first = next((r for r in records if r.vaccine == PPV23 and r.season == 0), None)
    if first is None or first.outcome != "done" or birth_year is None:
        return None
    if first.recorded_on.year - birth_year >= PPV23_REPEAT_BEFORE_AGE:
        return None
    on = first.recorded_on
    try:
        return on.replace(year=on.year + PPV23_REPEAT_YEARS)
    except ValueError:  # 29 February
        return on.replace(year=on.year + PPV23_REPEAT_YEARS, day=28)


def ppv23_season(records: Sequence[AdultRecord], birth_year: int | None, today: date) -> int:
    """Which PPV23 record a mark or an undo is about: the repeat (1) once it is due."""
    repeat = ppv23_repeat_from(records, birth_year)
    return 1 if repeat is not None and today >= repeat else 0


def adult_rows(
    resident_id: int,
    elig: Eligibility | bool,
    records: Sequence[AdultRecord],
    today: date,
    tz: tzinfo,
) -> list[Planned]:
    """The adult reminders to plan today (pure). `elig` True means eligible for both."""
    flu_ok = elig if isinstance(elig, bool) else elig.flu
    ppv_ok = elig if isinstance(elig, bool) else elig.ppv23
    birth_year = None if isinstance(elig, bool) else elig.birth_year
    rows: list[Planned] = []
    due = send_time(today, tz)
    season = flu_season(today)
    if flu_ok and in_flu_season(today) and outcome(records, FLU, season) is None:
        rows.append(
            Planned(
                resident_id,
                KIND,
                FLU,
                due,
                f"vxa:{resident_id}:flu:{season}:{today.month:02d}",
                {"season": season},
                due + EXPIRES_AFTER,
            )
        )
    if ppv_ok and outcome(records, PPV23, 0) is None:
        rows.append(
            Planned(
                resident_id, KIND, PPV23, due, f"vxa:{resident_id}:ppv23", {}, due + EXPIRES_AFTER
            )
        )
    repeat = ppv23_repeat_from(records, birth_year)
    if repeat is not None and today >= repeat and outcome(records, PPV23, 1) is None:
        rows.append(
            Planned(
                resident_id,
                KIND,
                PPV23,
                due,
                f"vxa:{resident_id}:ppv23:repeat",
                {"season": 1},
                due + EXPIRES_AFTER,
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

    @property
    def ppv23_age(self) -> int:
        return ppv23_policy(self.settings).age

    async def _records(self, resident_id: int) -> list[AdultRecord]:
        return (await self.store.adult_records([resident_id])).get(resident_id, [])

    async def status(self, resident_id: int) -> AdultStatus:
        today = self.today()
        conditions = [c.condition for c in await self.health.conditions(resident_id)]
        birth_year = await self.health.birth_year(resident_id)
        elig = eligibility(birth_year, conditions, today, self.ppv23_age)
        records = await self._records(resident_id)
        season = flu_season(today)
        waiting = await self._pending(resident_id)
        return AdultStatus(
            elig,
            season,
            outcome(records, FLU, season),
            outcome(records, PPV23, 0),
            ppv23_repeat_from(records, birth_year),
            outcome(records, PPV23, 1),
            tuple(waiting),
        )

    async def season_of(self, resident_id: int, vaccine: str) -> int:
        """Which record of `vaccine` a mark or an undo now is about (flu: this season)."""
        return await self._season(resident_id, vaccine)

    async def _season(self, resident_id: int, vaccine: str) -> int:
        today = self.today()
        if vaccine == FLU:
            return flu_season(today)
        records = await self._records(resident_id)
        return ppv23_season(records, await self.health.birth_year(resident_id), today)

    async def _pending(self, resident_id: int) -> list[OutboxRow]:
        return [r for r in await self.outbox.for_resident(resident_id, KIND) if r.status == PENDING]

    async def record(self, resident_id: int, vaccine: str, result: str) -> int:
        """Save done / declined and cancel that vaccine's pending reminders: the number of
        reminder rows cancelled (what the reply tells the resident)."""
        if vaccine not in VACCINES or result not in OUTCOMES:
            raise ValueError(f"bad adult vaccine record {vaccine}/{result}")
        season = await self._season(resident_id, vaccine)
        await self.store.set_adult(resident_id, vaccine, season, result, self.today())
        waiting = rows_of(await self._pending(resident_id), vaccine, season)
        return await self.outbox.cancel([r.dedupe_key for r in waiting], self.clock())

    async def undo(self, resident_id: int, vaccine: str) -> list[OutboxRow]:
        """Forget the mark and plan that vaccine's reminder again, as the daily job would at
        the next sending time (a row cancelled by the mark is revived); the vaccine's reminder
        rows now pending (none when it is out of season or no longer recommended)."""
        if vaccine not in VACCINES:
            raise ValueError(f"bad adult vaccine {vaccine}")
        season = await self._season(resident_id, vaccine)
        await self.store.clear_adult(resident_id, vaccine, season)
        now, tz = self.clock(), self.settings.tz
        day = self.today()
        if send_time(day, tz) <= now:  # today's sending time has passed: tomorrow's
            day += timedelta(days=1)
        conditions = [c.condition for c in await self.health.conditions(resident_id)]
        birth_year = await self.health.birth_year(resident_id)
        elig = eligibility(birth_year, conditions, day, self.ppv23_age)
        wanted = [
            p
            for p in adult_rows(resident_id, elig, await self._records(resident_id), day, tz)
            if p.key == vaccine and int(p.params.get("season", 0)) == season
        ]
        await self.outbox.plan(wanted, now)
        await self.outbox.revive_cancelled(
            KIND, [(p.dedupe_key, p.due_at, p.expires_at) for p in wanted], now
        )
        return rows_of(await self._pending(resident_id), vaccine, season)

    async def plan_all(self) -> int:
        """The daily job: plan flu (in season) and PPV23 reminders for everyone eligible."""
        today = self.today()
        facts = await self.health.facts(None)
        age = self.ppv23_age
        elig = {f.resident_id: eligibility(f.birth_year, f.conditions, today, age) for f in facts}
        eligible = [rid for rid, e in elig.items() if e.eligible]
        records = await self.store.adult_records(eligible)
        tz = self.settings.tz
        rows = [
            row
            for rid in eligible
            for row in adult_rows(rid, elig[rid], records.get(rid, []), today, tz)
        ]
        return await self.outbox.plan(rows, self.clock())

    async def still_wanted(self, resident_id: int, vaccine: str, season: int) -> bool:
        """At send time: eligible, and not marked done or declined meanwhile."""
        status = await self.status(resident_id)
        if vaccine == FLU:
            return status.eligibility.flu and season == status.season and status.flu is None
        if season == 1:
            return status.ppv23_repeat_from is not None and status.ppv23_repeat is None
        return status.eligibility.ppv23 and status.ppv23 is None
