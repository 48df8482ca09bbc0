"""A resident's health record for chronic-disease management, and the follow-up reminders
planned from it.

Every change that can move the follow-up plan (a condition, a birth year, a reading, a recorded
follow-up) re-plans that resident's reminders at once; a daily job re-plans everyone so that
reminders follow the calendar even when nothing was recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.clock import Clock
from bot.domain.directory import Station
from bot.domain.health import Condition, Facts, Flag, NewReading, Reading
from bot.domain.outbox import Planned
from bot.services import followup
from bot.services.followup import Due, History
from bot.services.readings import Assessment, BloodPressure, Glucose, assess
from bot.storage.health import HealthStore
from bot.storage.outbox import OutboxStore

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.directory import DirectoryService

log = logging.getLogger(__name__)

EARLIEST_BIRTH_YEAR = 1900
READINGS_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class HealthProfile:
    resident_id: int
    birth_year: int | None
    conditions: tuple[Condition, ...]

    def has(self, condition: str) -> bool:
        return any(c.condition == condition for c in self.conditions)

    def condition(self, condition: str) -> Condition | None:
        return next((c for c in self.conditions if c.condition == condition), None)


@dataclass(frozen=True, slots=True)
class Logged:
    reading_id: int
    assessment: Assessment
    recheck_due: date | None  # set when this reading started a 2-week recheck


def history_from(facts: Facts, tz: object) -> History:
    """Stored facts → the follow-up plan's input (dates in the deployment's zone)."""
    uncontrolled = (
        facts.last_uncontrolled_at.astimezone(tz).date()  # type: ignore[arg-type]
        if facts.last_uncontrolled_at is not None
        else None
    )
    ev = facts.last_event
    return History(
        conditions=frozenset(facts.conditions),
        condition_since=facts.condition_since,
        birth_year=facts.birth_year,
        last_followup=ev.get("followup"),
        last_uncontrolled=uncontrolled,
        last_side_effect=ev.get("side_effect"),
        last_referral=ev.get("referral"),
        last_annual_check=ev.get("annual_check"),
    )


class HealthService:
    def __init__(
        self,
        store: HealthStore,
        outbox: OutboxStore,
        directory: DirectoryService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.directory = directory
        self.settings = settings
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    # -- profile ----------------------------------------------------------------------------
    async def profile(self, resident_id: int) -> HealthProfile:
        return HealthProfile(
            resident_id,
            await self.store.birth_year(resident_id),
            tuple(await self.store.conditions(resident_id)),
        )

    async def birth_year(self, resident_id: int) -> int | None:
        """The resident's birth year, if they gave it (adult vaccines and the 65+ check)."""
        return await self.store.birth_year(resident_id)

    def birth_years(self) -> range:
        """Birth years a resident can pick: 1900 up to this year."""
        return range(EARLIEST_BIRTH_YEAR, self.today().year + 1)

    async def set_birth_year(self, resident_id: int, year: int) -> None:
        if year not in self.birth_years():
            raise ValueError(f"birth year out of range: {year}")
        await self.store.set_birth_year(resident_id, year, self.clock())
        await self.replan(resident_id)

    async def set_condition(
        self,
        resident_id: int,
        condition: str,
        set_by: str = "resident",
        doctor_id: str | None = None,
    ) -> bool:
        added = await self.store.set_condition(
            resident_id, condition, set_by, self.today(), doctor_id
        )
        await self.replan(resident_id)
        return added

    async def remove_condition(self, resident_id: int, condition: str) -> bool:
        removed = await self.store.remove_condition(resident_id, condition)
        await self.replan(resident_id)
        return removed

    # -- readings ---------------------------------------------------------------------------
    async def log_reading(self, resident_id: int, reading: BloodPressure | Glucose) -> Logged:
        """Store a validated reading; a danger sign flags the resident for their doctor, an
        uncontrolled one starts the 2-week recheck (for residents with a condition)."""
        result = assess(reading)
        now = self.clock()
        if isinstance(reading, BloodPressure):
            new = NewReading(
                "bp",
                now,
                result.controlled,
                result.danger,
                systolic=reading.systolic,
                diastolic=reading.diastolic,
                pulse=reading.pulse,
            )
        else:
            new = NewReading("glucose", now, result.controlled, result.danger, glucose=reading.mmol)
        reading_id = await self.store.add_reading(resident_id, new)
        if result.danger:
            log.info("danger-sign reading %s flagged for resident %s", reading_id, resident_id)
        dues = await self.replan(resident_id)
        recheck = next((d for d in dues if d.reason is followup.Reason.RECHECK), None)
        started = recheck is not None and not result.controlled and recheck.trigger == self.today()
        return Logged(reading_id, result, recheck.due if started and recheck else None)

    async def readings(self, resident_id: int, days: int = READINGS_WINDOW_DAYS) -> list[Reading]:
        return await self.store.readings(resident_id, self.clock() - timedelta(days=days))

    async def flags_for(self, resident_ids: Sequence[int], unseen_only: bool = False) -> list[Flag]:
        """Danger-sign flags of these residents for their doctor, newest first."""
        return await self.store.flags_for(resident_ids, unseen_only)

    async def mark_flags_seen(self, flag_ids: Sequence[int]) -> int:
        return await self.store.mark_flags_seen(flag_ids, self.clock())

    # -- follow-ups -------------------------------------------------------------------------
    async def record_event(
        self,
        resident_id: int,
        kind: str,
        on_date: date | None = None,
        recorded_by: str = "resident",
    ) -> bool:
        """A follow-up done, a referral, a side effect or an annual check; re-plans reminders.
        False if the same event was already recorded for that day."""
        day = on_date or self.today()
        if day > self.today():
            raise ValueError("events are recorded when they happened, not ahead")
        added = await self.store.add_event(resident_id, kind, day, recorded_by, self.clock())
        await self.replan(resident_id)
        return added

    async def due(self, resident_id: int) -> list[Due]:
        facts = await self.store.facts([resident_id])
        if not facts:
            return []
        return followup.plan(history_from(facts[0], self.settings.tz), self.today())

    async def replan(self, resident_id: int) -> list[Due]:
        """Plan this resident's reminders and cancel the ones no longer due; the plan."""
        facts = await self.store.facts([resident_id])
        pending = await self.outbox.pending_keys_by_resident(
            followup.NOTIFICATION_KIND, followup.reminder_prefix(resident_id), [resident_id]
        )
        plans = self._plan(facts)
        await self._apply(plans, pending)
        return plans.get(resident_id, ([], []))[0]

    async def replan_all(self) -> tuple[int, int]:
        """The daily scan: (reminders added, reminders cancelled) over every resident."""
        facts = await self.store.facts(None)
        pending = await self.outbox.pending_keys_by_resident(followup.NOTIFICATION_KIND, "fu:")
        return await self._apply(self._plan(facts), pending)

    def _plan(self, facts: list[Facts]) -> dict[int, tuple[list[Due], list[Planned]]]:
        tz = self.settings.tz
        today, now = self.today(), self.clock()
        out: dict[int, tuple[list[Due], list[Planned]]] = {}
        for f in facts:
            dues = followup.plan(history_from(f, tz), today)
            rows = [
                Planned(
                    resident_id=f.resident_id,
                    kind=followup.NOTIFICATION_KIND,
                    key=f"followup.{r.stage}",
                    due_at=r.at,
                    dedupe_key=r.dedupe_key,
                    params={"reason": str(r.reason), "due": r.due.isoformat()},
                    expires_at=r.expires_at,
                )
                for r in followup.reminders(f.resident_id, dues, now, tz)
            ]
            out[f.resident_id] = (dues, rows)
        return out

    async def _apply(
        self,
        plans: dict[int, tuple[list[Due], list[Planned]]],
        pending: dict[int, set[str]],
    ) -> tuple[int, int]:
        wanted = {p.dedupe_key for _, rows in plans.values() for p in rows}
        stale = sorted(k for keys in pending.values() for k in keys if k not in wanted)
        now = self.clock()
        cancelled = 0
        for i in range(0, len(stale), 500):
            cancelled += await self.outbox.cancel(stale[i : i + 500], now)
        rows = [p for _, planned in plans.values() for p in planned]
        added = await self.outbox.plan(rows, now)
        if added < len(rows):
            # Some keys existed: bring back the ones an earlier re-plan cancelled.
            added += await self.outbox.revive_cancelled(
                followup.NOTIFICATION_KIND,
                [(p.dedupe_key, p.due_at, p.expires_at) for p in rows],
                now,
            )
        return added, cancelled

    # -- who to call ------------------------------------------------------------------------
    async def urgent_centre(self, resident_id: int) -> Station | None:
        """The centre to call in an emergency: the signed (or serving) team's centre, else the
        centre nearest the resident's town, else the district's main centre."""
        directory = self.directory
        team = await directory.team_for_resident(resident_id)
        if team is not None and team.centre is not None and team.centre.phone:
            return team.centre
        home = await directory.home(resident_id)
        if home is not None:
            point = await directory.town_point(home.town)
            if point is not None:
                nearby = await directory.nearest(*point, now=self.clock(), k=10)
                for place in nearby.places:
                    if place.station.kind == "centre" and place.station.phone:
                        return place.station
        main = await directory.main_centre()
        return main if main is not None and main.phone else None


def pick_due(dues: list[Due], reason: str) -> Due | None:
    return next((d for d in dues if str(d.reason) == reason), None)


def local_date(value: datetime, tz: object) -> date:
    return value.astimezone(tz).date()  # type: ignore[arg-type]
