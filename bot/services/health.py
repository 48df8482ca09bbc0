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

from bot.domain.clinical import Decision, Person, Pregnancy
from bot.domain.clock import Clock
from bot.domain.directory import Doctor, Station
from bot.domain.health import Condition, Facts, Flag, NewReading, Reading
from bot.domain.outbox import Planned
from bot.services import followup
from bot.services.clinical import ClinicalRules
from bot.services.followup import Due, History
from bot.services.readings import Assessment, BloodPressure, Glucose
from bot.storage.doctors import DoctorStore
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
    pregnancy: Pregnancy = Pregnancy.NONE

    def has(self, condition: str) -> bool:
        return any(c.condition == condition for c in self.conditions)

    def condition(self, condition: str) -> Condition | None:
        return next((c for c in self.conditions if c.condition == condition), None)


@dataclass(frozen=True, slots=True)
class Logged:
    """What logging a reading did, as stored: every reply is composed from this."""

    reading_id: int
    decision: Decision
    recheck_due: date | None  # set when this reading started a 2-week recheck
    reminded: bool = False  # reminder rows for that recheck exist in the outbox
    flag_id: int | None = None  # the flag row written for the doctor, if any
    # The signed doctor whose team has a doctor on Doorstep: someone who sees the flag.
    seen_by: Doctor | None = None

    @property
    def assessment(self) -> Assessment:
        return Assessment(controlled=self.decision.on_target, danger=self.decision.urgent)


@dataclass(frozen=True, slots=True)
class SideEffect:
    """A side effect recorded: the rules' advice and the recheck it started."""

    added: bool
    decision: Decision
    recheck_due: date | None
    reminded: bool


def history_from(facts: Facts, tz: object) -> History:
    """Stored facts → the follow-up plan's input (dates in the deployment's zone)."""
    uncontrolled = (
        facts.last_uncontrolled_at.astimezone(tz).date()  # type: ignore[arg-type]
        if facts.last_uncontrolled_at is not None
        else None
    )
    ev = facts.last_event
    return History(
        last_uncontrolled_direction=facts.last_uncontrolled_direction,
        followups=facts.followups,
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
        clinical: ClinicalRules,
        doctor_links: DoctorStore,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.directory = directory
        self.settings = settings
        self.clock = clock
        self.clinical = clinical
        # Which doctors use the doctor side: "flagged for your doctor" is said only then.
        self.doctor_links = doctor_links

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    # -- profile ----------------------------------------------------------------------------
    async def profile(self, resident_id: int) -> HealthProfile:
        status, _since = await self.store.pregnancy(resident_id)
        return HealthProfile(
            resident_id,
            await self.store.birth_year(resident_id),
            tuple(await self.store.conditions(resident_id)),
            Pregnancy(status) if status else Pregnancy.NONE,
        )

    async def person(self, resident_id: int) -> Person:
        """What the clinical rules need to know about the resident (unknown counts as no)."""
        p = await self.profile(resident_id)
        age65 = p.birth_year is not None and followup.age_in(self.today().year, p.birth_year) >= 65
        return Person(diabetes=p.has("diabetes2"), age65=age65, pregnancy=p.pregnancy)

    async def set_pregnancy(self, resident_id: int, status: Pregnancy) -> None:
        value = None if status is Pregnancy.NONE else status.value
        await self.store.set_pregnancy(resident_id, value, self.today(), self.clock())

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
        """Store a validated reading with what the clinical rules decided. An urgent decision
        (come today, call 120) flags the reading for the resident's doctor; one off target
        starts the 2-week recheck (for residents with a condition)."""
        decision = self.clinical.judge(reading, await self.person(resident_id))
        now = self.clock()
        action, direction = decision.action.value, decision.direction.value
        rules = ",".join(decision.rule_ids)
        if isinstance(reading, BloodPressure):
            new = NewReading(
                "bp",
                now,
                decision.on_target,
                decision.urgent,
                systolic=reading.systolic,
                diastolic=reading.diastolic,
                pulse=reading.pulse,
                action=action,
                direction=direction,
                rules=rules,
                decided_by=decision.measure,
            )
        else:
            new = NewReading(
                "glucose",
                now,
                decision.on_target,
                decision.urgent,
                glucose=reading.mmol,
                context=reading.context,
                meter_display=reading.display,
                action=action,
                direction=direction,
                rules=rules,
                decided_by=decision.measure,
            )
        stored = await self.store.store_reading(resident_id, new)
        if stored.flag_id is not None:
            log.info("reading %s flagged for resident %s", stored.reading_id, resident_id)
        due, reminded = await self._recheck_started(resident_id, not decision.on_target)
        seen_by = await self.flag_seen_by(resident_id) if stored.flag_id is not None else None
        return Logged(stored.reading_id, decision, due, reminded, stored.flag_id, seen_by)

    async def _pending_recheck(self, resident_id: int, due: date) -> bool:
        """Reminder rows for the recheck due on `due` are pending in the outbox: the only
        ground for saying "I will remind you"."""
        prefix = f"{followup.reminder_prefix(resident_id)}{followup.Reason.RECHECK}:"
        pending = await self.outbox.pending_keys_by_resident(
            followup.NOTIFICATION_KIND, prefix, [resident_id]
        )
        key = f"{prefix}{due.isoformat()}:"
        return any(k.startswith(key) for k in pending.get(resident_id, ()))

    async def _recheck_started(
        self, resident_id: int, off_target: bool
    ) -> tuple[date | None, bool]:
        """Re-plan; if a recheck was started today: its due date and whether it is reminded."""
        dues = await self.replan(resident_id)
        recheck = next((d for d in dues if d.reason is followup.Reason.RECHECK), None)
        if recheck is None or not off_target or recheck.trigger != self.today():
            return None, False
        return recheck.due, await self._pending_recheck(resident_id, recheck.due)

    async def record_side_effect(self, resident_id: int, on_date: date | None = None) -> SideEffect:
        """A medicine side effect: recorded (re-planning the recheck), with the rules' advice."""
        added = await self.record_event(resident_id, "side_effect", on_date)
        dues = await self.due(resident_id)
        recheck = next(
            (d for d in dues if d.reason is followup.Reason.RECHECK and d.why == "side_effect"),
            None,
        )
        due = recheck.due if recheck is not None else None
        reminded = due is not None and await self._pending_recheck(resident_id, due)
        return SideEffect(added, self.clinical.side_effect(), due, reminded)

    async def flag_seen_by(self, resident_id: int) -> Doctor | None:
        """The signed doctor, if a doctor of that team uses Doorstep's doctor side: the only
        people who see this resident's flags (least privilege: signed residents only)."""
        from bot.services.doctors import team_ids

        directory = self.directory
        doctor = await directory.signed_doctor(resident_id)
        if doctor is None:
            return None
        snap = await directory.snapshot()
        team = set(team_ids(doctor, list(snap.doctors.values())))
        links = await self.doctor_links.links()
        return doctor if any(link.doctor_id in team for link in links) else None

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
        facts = await self.store.facts([resident_id], self.settings.tz)
        if not facts:
            return []
        return followup.plan(history_from(facts[0], self.settings.tz), self.today())

    async def replan(self, resident_id: int) -> list[Due]:
        """Plan this resident's reminders and cancel the ones no longer due; the plan."""
        facts = await self.store.facts([resident_id], self.settings.tz)
        pending = await self.outbox.pending_keys_by_resident(
            followup.NOTIFICATION_KIND, followup.reminder_prefix(resident_id), [resident_id]
        )
        plans = self._plan(facts)
        await self._apply(plans, pending)
        return plans.get(resident_id, ([], []))[0]

    async def replan_all(self) -> tuple[int, int]:
        """The daily scan: (reminders added, reminders cancelled) over every resident."""
        facts = await self.store.facts(None, self.settings.tz)
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
                    params={
                        "reason": str(r.reason),
                        "due": r.due.isoformat(),
                        **({"why": r.why} if r.why else {}),
                    },
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
