"""Refill requests ("running low", 代配药 / 长处方) to the resident's signed family doctor team,
and the team's decisions: approve with a ready date and a station, decline with a reason, or
ask the resident to come in. Each decision and the resident's notification (an outbox row) are
written together; the resident is told in their own language when it is sent.

A request goes to the team of the doctor the resident is signed with. It is only called "sent"
when a doctor of that team has a linked Doorstep account and so sees it on their desk
(`RefillService.team_sees`); otherwise it is kept, and the resident is told to phone the team.

Long prescriptions: 国家卫生健康委、国家医保局《长期处方管理规范（试行）》(2021) allow up to 12
weeks for stable chronic patients; the family doctor decides in each case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot import names
from bot.domain.directory import Doctor, Station
from bot.domain.doctors import NewAudit
from bot.domain.medicines import MAX_REFILL_WEEKS, REFILL_KIND, Pickup, Refill, RefillStatus
from bot.domain.outbox import Planned
from bot.i18n import N_
from bot.router import UserError
from bot.services.directory import DirectoryService
from bot.services.doctors import DoctorService
from bot.services.hours import open_from
from bot.services.medicines import MedicineService
from bot.storage.medicines import MedicineStore

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.domain.clock import Clock
PICKUP_KINDS = ("centre", "station", "village_clinic")
READY_CHOICES = 5  # open days offered for "ready from" ...
READY_WITHIN_DAYS = 14  # ... among today and the next 13 days
# Why a team declines: the stored key, translated when read.
DECLINE_REASONS: dict[str, str] = {
    "see_doctor": N_("Your doctor needs to see you before prescribing again."),
    "not_stable": N_("A long prescription is only for a stable condition; please come in."),
    "not_listed": N_("This medicine cannot be prescribed at the community health centre."),
    "too_soon": N_("Your last prescription should last longer; please ask again nearer the time."),
}


def notice_key(refill_id: int, status: RefillStatus) -> str:
    """The dedupe key of the resident's notification about a decision: the one outbox row the
    doctor's "the resident gets a message" is read back from."""
    return f"mdf:{refill_id}:{status}"


class NotTheTeams(Exception):
    """The request is not waiting for this doctor's team (or its resident is out of reach)."""


@dataclass(frozen=True, slots=True)
class Sent:
    refill: Refill
    seen: bool  # a doctor of the team has a linked account and sees it on their desk
    doctor: Doctor


class RefillService:
    def __init__(
        self,
        store: MedicineStore,
        directory: DirectoryService,
        doctors: DoctorService,
        medicines: MedicineService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.directory = directory
        self.doctors = doctors
        self.medicines = medicines
        self.tz = settings.tz
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock().timestamp())

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    async def team_sees(self, doctor: Doctor) -> bool:
        """Whether a doctor of this doctor's team has a linked account (sees the desk)."""
        team = set(await self.doctors.team(doctor))
        return any(link.doctor_id in team for link in await self.doctors.links())

    async def stations(self, doctor: Doctor) -> list[Station]:
        """Where a refill may be picked up: the team's centre first, then the other centres,
        stations and village clinics of its town."""
        snap = await self.directory.snapshot()
        centre = snap.stations.get(doctor.centre_id)
        if centre is None:
            return []
        others = sorted(
            (
                s
                for s in snap.stations.values()
                if s.town == centre.town and s.kind in PICKUP_KINDS and s.id != centre.id
            ),
            key=lambda s: (PICKUP_KINDS.index(s.kind), s.name_zh),
        )
        return [centre, *others]

    async def ready_days(self, station: Station) -> list[date]:
        """The days a refill may be ready from at `station`: its next READY_CHOICES open days
        within READY_WITHIN_DAYS (today only while it has not closed for the day; the next
        days in a row when hours are unknown). Every open day up to the last one shown is
        shown, so "only days it is open" is the whole truth."""
        hours = await self.directory.hours(station)
        now = self.clock().astimezone(self.tz)
        days = (self.today() + timedelta(days=d) for d in range(READY_WITHIN_DAYS))
        return [d for d in days if open_from(hours, d, now)][:READY_CHOICES]

    async def station(self, station_id: str) -> Station | None:
        return (await self.directory.snapshot()).stations.get(station_id)

    async def request(
        self,
        resident_id: int,
        entry_ids: list[int],
        weeks: int,
        pickup: Pickup,
        station_id: str = "",
        family_name: str = "",
    ) -> Sent:
        doctor = await self.directory.signed_doctor(resident_id)
        if doctor is None:
            raise UserError(
                "Refills go through your signed family doctor. Please sign with a family "
                'doctor first ("My family doctor").'
            )
        if not 1 <= weeks <= MAX_REFILL_WEEKS:
            raise UserError("A refill can cover at most 12 weeks.")
        entries = {e.id: e for e in await self.store.entries(resident_id)}
        # Both names as the resident's list has them, so each reader sees theirs later.
        items = [
            (i, names.entry_name("zh_Hans", entries[i]), names.entry_name("en", entries[i]))
            for i in entry_ids
            if i in entries
        ]
        if not items:
            raise UserError("Please choose at least one of your medicines.")
        if pickup is Pickup.STATION:
            if station_id not in {s.id for s in await self.stations(doctor)}:
                raise UserError("Please choose the pick-up place again.")
        elif not family_name:
            raise UserError("Please give the name of the family member who picks it up.")
        refill_id = await self.store.add_refill(
            resident_id, doctor.id, items, weeks, pickup, station_id, family_name, self._now()
        )
        refill = await self.store.refill(refill_id)
        assert refill is not None
        return Sent(refill, await self.team_sees(doctor), doctor)

    async def latest(self, resident_id: int) -> list[Refill]:
        return await self.store.refills_of(resident_id)

    # -- the team's side ------------------------------------------------------------------
    async def waiting(self, doctor: Doctor) -> list[Refill]:
        """Requests waiting for the team, oldest first, of residents it may still reach."""
        team = await self.doctors.team(doctor)
        out = []
        for r in await self.store.open_refills(team):
            if await self.doctors.can_reach(doctor, r.resident_id):
                out.append(r)
        return out

    async def waiting_one(self, doctor: Doctor, refill_id: int) -> Refill:
        r = await self.store.refill(refill_id)
        team = await self.doctors.team(doctor)
        if (
            r is None
            or r.status is not RefillStatus.REQUESTED
            or r.doctor_id not in team
            or not await self.doctors.can_reach(doctor, r.resident_id)
        ):
            raise NotTheTeams(refill_id)
        return r

    async def _decide(
        self,
        doctor: Doctor,
        refill_id: int,
        status: RefillStatus,
        ready_on: date | None = None,
        station_id: str = "",
        reason: str = "",
    ) -> Refill:
        r = await self.waiting_one(doctor, refill_id)
        now = self.clock()
        notify = Planned(
            resident_id=r.resident_id,
            kind=REFILL_KIND,
            key=str(status),
            due_at=now,
            dedupe_key=notice_key(r.id, status),
            params={"refill": r.id},
            expires_at=now + timedelta(days=14),
        )
        done = await self.store.decide_refill(
            r.id, status, doctor.id, int(now.timestamp()), notify, ready_on, station_id, reason
        )
        if done is None:
            raise NotTheTeams(refill_id)
        await self.doctors.audit(
            NewAudit(doctor.id, f"refill_{status}", r.resident_id, f"refill={r.id}")
        )
        self.medicines.wake_delivery()
        return done

    async def approve(
        self, doctor: Doctor, refill_id: int, ready_on: date, station_id: str
    ) -> Refill:
        station = next((s for s in await self.stations(doctor) if s.id == station_id), None)
        if station is None or ready_on not in await self.ready_days(station):
            raise NotTheTeams(refill_id)
        return await self._decide(doctor, refill_id, RefillStatus.APPROVED, ready_on, station_id)

    async def decline(self, doctor: Doctor, refill_id: int, reason: str) -> Refill:
        if reason not in DECLINE_REASONS:
            raise NotTheTeams(refill_id)
        return await self._decide(doctor, refill_id, RefillStatus.DECLINED, reason=reason)

    async def come_in(self, doctor: Doctor, refill_id: int) -> Refill:
        return await self._decide(doctor, refill_id, RefillStatus.COME_IN)
