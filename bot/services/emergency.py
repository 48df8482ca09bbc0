"""What happens when typed words carry an emergency sign: the event is recorded for the
resident's signed team (their Flags), the team's linked doctors get an urgent notification,
and the reply can say "your team has been told" only when both were really done.

The matching itself is the pure `bot.services.redflags.match`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from bot.config import Settings
from bot.domain.clinical import Decision
from bot.domain.clock import Clock
from bot.domain.directory import Doctor, Station
from bot.domain.doctors import NewAudit
from bot.domain.outbox import Planned
from bot.domain.questions import RedFlag, SignList
from bot.services.directory import DirectoryService
from bot.services.doctors import DoctorService
from bot.services.health import HealthService
from bot.services.questions_settings import QuestionSettings
from bot.services.redflags import (
    Judge,
    glucose_judge,
    glucose_setting,
    glucose_values,
    load_signs,
    match,
)
from bot.storage.outbox import OutboxStore
from bot.storage.questions import RedFlagStore

ALERT_KIND = "redflag_alert"
FLAGS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Recorded:
    """What was done about one red flag."""

    event_id: int | None  # the first flag row, when the resident has a signed team
    doctor: Doctor | None  # the signed doctor (their team sees the flag)
    alerted: int  # linked team doctors sent an urgent notification (they see Flags too)
    centre: Station | None  # the centre to call
    event_ids: tuple[int, ...] = ()  # one flag row per sign found

    @property
    def team_told(self) -> bool:
        """A flag row for a signed team that a linked doctor of the team can see."""
        return self.event_id is not None and self.doctor is not None and self.alerted > 0


@dataclass(frozen=True, slots=True)
class FlagEvent:
    id: int
    resident_id: int
    sign: str
    created_at: int
    seen_at: int | None
    name: str


class EmergencyService:
    def __init__(
        self,
        store: RedFlagStore,
        outbox: OutboxStore,
        directory: DirectoryService,
        doctors: DoctorService,
        health: HealthService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.directory = directory
        self.doctors = doctors
        self.health = health
        self.clock = clock
        self.content_dir = settings.content_dir
        self.settings = QuestionSettings.from_settings(settings)
        self._signs: SignList | None = None

    @property
    def signs(self) -> SignList:
        if self._signs is None:
            self._signs = load_signs(self.content_dir)
        return self._signs

    async def judge_for(self, resident_id: int) -> Judge:
        """Typed glucose values judged by the clinical rules for this resident (diabetes,
        pregnancy...), as their logged readings are."""
        return glucose_judge(self.health.clinical.content, await self.health.person(resident_id))

    async def check(self, text: str, resident_id: int | None = None) -> RedFlag | None:
        """The emergency signs in typed text; glucose values are judged for the resident."""
        # The resident's facts are read only when a value was typed (not on every message).
        wanted = resident_id is not None and bool(glucose_values(text))
        judge = await self.judge_for(resident_id) if resident_id is not None and wanted else None
        return match(self.signs, text, judge)

    async def typed_glucose(
        self, text: str, resident_id: int
    ) -> list[tuple[Decimal, Decision | None]]:
        """Each glucose value typed with the rules' decision on it for this resident: for the
        timing the words give, else the decision that holds either way; None where the timing
        changes the answer (ask which it was, never assume fasting)."""
        values = glucose_values(text)
        if not values:
            return []
        judge = await self.judge_for(resident_id)
        setting = glucose_setting(text)
        return [(v, judge(v, setting)) for v in values]

    async def record(self, resident_id: int, flag: RedFlag, channel: str) -> Recorded:
        """Write the flag for the signed team and alert its linked doctors (urgent, now)."""
        centre = await self.health.urgent_centre(resident_id)
        doctor = await self.directory.signed_doctor(resident_id)
        if doctor is None:
            return Recorded(None, None, 0, centre)
        now = self.clock()
        # One flag row per sign found, so the team's Flags shows every sign typed.
        event_ids = tuple(
            [
                await self.store.add(resident_id, sign.id, channel, doctor.id, int(now.timestamp()))
                for sign in flag.signs
            ]
        )
        event_id = event_ids[0]
        team = await self.doctors.team(doctor)
        links = [x for x in await self.doctors.links() if x.doctor_id in team]
        alerts = [
            Planned(
                resident_id=link.resident_id,
                kind=ALERT_KIND,
                key=flag.first.id,
                due_at=now,
                dedupe_key=f"rf:{event_id}:{link.resident_id}",
                params={
                    "event_id": event_id,
                    "sign": flag.first.id,
                    "signs": list(flag.ids),
                },
                expires_at=now + timedelta(hours=12),
                urgent=True,
            )
            for link in links
        ]
        alerted = await self.outbox.plan(alerts, now) if alerts else 0
        return Recorded(event_id, doctor, alerted, centre, event_ids)

    async def flags(self, doctor: Doctor) -> list[FlagEvent]:
        """The newest red-flag events of the team's residents (shown ones become seen)."""
        doctors = self.doctors
        team = await doctors.team(doctor)
        rows = await self.store.for_doctors(team, FLAGS_SHOWN)
        # Only residents the team may still reach (a resident who changed team is gone).
        reachable = [r for r in rows if await doctors.can_reach(doctor, r["resident_id"])]
        names = await doctors.names(doctor, [r["resident_id"] for r in reachable])
        if reachable:
            await doctors.audit(
                NewAudit(doctor.id, "view_flags", details=f"urgent={len(reachable)}")
            )
        await self.store.mark_seen(
            [r["id"] for r in reachable if r["seen_at"] is None], int(self.clock().timestamp())
        )
        return [
            FlagEvent(
                r["id"],
                r["resident_id"],
                r["sign"],
                r["created_at"],
                r["seen_at"],
                names.get(r["resident_id"], ""),
            )
            for r in reachable
        ]
