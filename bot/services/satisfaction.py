"""Satisfaction after visits (满意度): the day after an attended visit one message with five
buttons, asked once (an outbox row per visit, dedupe key `sat:<appointment>`); a comment is
asked only for a rating of 2 or less. Reports group answers per team and per centre and never
show a group of fewer than MIN_GROUP answers, nor a centre total from which such a group could
be worked out (the centre minus its shown teams).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.directory import Doctor
from bot.domain.outbox import Planned
from bot.domain.questions import SatisfactionGroup
from bot.services.directory import DirectoryService
from bot.storage.outbox import OutboxStore
from bot.storage.questions import SatisfactionStore

ASK_KIND = "satisfaction"
MIN_GROUP = 5
ASK_AT = time(10, 0)  # the day after the visit, at 10:00 (outside quiet hours)
LOOK_BACK_DAYS = 2  # visits marked attended late are still asked about
ASK_FOR_DAYS = 3  # an unsent question expires this long after the visit day
COMMENT_BELOW = 3  # a comment is asked for ratings below this (1 and 2)


class NotYourVisit(Exception):
    """The visit is not the resident's, was not attended, or is already rated."""


@dataclass(frozen=True, slots=True)
class Rated:
    appointment_id: int
    rating: int
    new: bool

    @property
    def wants_comment(self) -> bool:
        return self.new and self.rating < COMMENT_BELOW


def group(centre: str, team: str, counts: dict[int, int]) -> SatisfactionGroup:
    n = sum(counts.values())
    shown = n >= MIN_GROUP
    total = sum(r * c for r, c in counts.items())
    return SatisfactionGroup(
        centre_id=centre,
        team=team,
        answers=n,
        average=round(total / n, 2) if shown and n else None,
        counts=tuple(counts.get(r, 0) if shown else 0 for r in range(1, 6)),  # type: ignore[arg-type]
        shown=shown,
    )


def aggregate(rows: list[tuple[str, str, int, int]]) -> list[SatisfactionGroup]:
    """Groups per team, then per centre ('' team), with small groups suppressed."""
    teams: dict[tuple[str, str], dict[int, int]] = {}
    for centre, team, rating, n in rows:
        teams.setdefault((centre, team), {})
        teams[(centre, team)][rating] = teams[(centre, team)].get(rating, 0) + n
    out: list[SatisfactionGroup] = []
    for centre in sorted({c for c, _ in teams}):
        mine = {t: counts for (c, t), counts in teams.items() if c == centre}
        team_groups = [group(centre, t, counts) for t, counts in sorted(mine.items())]
        totals: dict[int, int] = {}
        for counts in mine.values():
            for r, c in counts.items():
                totals[r] = totals.get(r, 0) + c
        whole = group(centre, "", totals)
        hidden = sum(g.answers for g in team_groups if not g.shown)
        if whole.shown and 0 < hidden < MIN_GROUP and len(team_groups) > 1:
            # The centre minus its shown teams would reveal the hidden team's few answers.
            whole = SatisfactionGroup(centre, "", whole.answers, None, (0, 0, 0, 0, 0), False)
        out.extend(team_groups)
        out.append(whole)
    return out


class SatisfactionService:
    def __init__(
        self,
        store: SatisfactionStore,
        outbox: OutboxStore,
        directory: DirectoryService,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.directory = directory
        self.clock = clock
        self.tz = settings.tz
        self.district = settings.district  # reports cover this district's centres (issue 14)

    async def plan(self) -> int:
        """Ask about each attended visit of the last days, once (the job `satisfaction.plan`)."""
        now = self.clock()
        today = now.astimezone(self.tz).date()
        lo = datetime.combine(today - timedelta(days=LOOK_BACK_DAYS), time(0), tzinfo=self.tz)
        hi = datetime.combine(today, time(0), tzinfo=self.tz)  # visits before today only
        rows = []
        for v in await self.store.attended_between(int(lo.timestamp()), int(hi.timestamp())):
            day = datetime.fromtimestamp(v["start_at"], self.tz).date()
            ask = datetime.combine(day + timedelta(days=1), ASK_AT, tzinfo=self.tz)
            rows.append(
                Planned(
                    resident_id=v["resident_id"],
                    kind=ASK_KIND,
                    key="ask",
                    due_at=max(ask, now),
                    dedupe_key=f"sat:{v['id']}",
                    params={"appointment_id": v["id"], "doctor_id": v["doctor_id"]},
                    expires_at=datetime.combine(
                        day + timedelta(days=ASK_FOR_DAYS + 1), time(0), tzinfo=self.tz
                    ),
                )
            )
        return await self.outbox.plan(rows, now) if rows else 0

    async def answer(self, resident_id: int, appointment_id: int, rating: int) -> Rated:
        appt = await self.store.appointment(appointment_id)
        if (
            appt is None
            or appt["resident_id"] != resident_id
            or appt["status"] != "attended"
            or not 1 <= rating <= 5
        ):
            raise NotYourVisit(appointment_id)
        doctor = await self.directory.doctor(appt["doctor_id"])
        new = await self.store.answer(
            appointment_id,
            resident_id,
            appt["doctor_id"],
            doctor.centre_id if doctor else "",
            doctor.team if doctor else "",
            rating,
            int(self.clock().timestamp()),
        )
        stored = await self.store.get(appointment_id)
        return Rated(appointment_id, int(stored["rating"]) if stored else rating, new)

    async def appointment(self, appointment_id: int) -> Any:
        return await self.store.appointment(appointment_id)

    async def answered(self, appointment_id: int) -> bool:
        return await self.store.get(appointment_id) is not None

    async def comment(self, resident_id: int, appointment_id: int, text: str) -> bool:
        return await self.store.comment(appointment_id, resident_id, text.strip()[:500])

    async def report(self, since_days: int = 365) -> list[SatisfactionGroup]:
        since = int((self.clock() - timedelta(days=since_days)).timestamp())
        rows = [
            (r["centre_id"], r["team"], r["rating"], r["n"])
            for r in await self.store.counts(since, self.district)
        ]
        return aggregate(rows)

    async def for_doctor(self, doctor: Doctor) -> list[SatisfactionGroup]:
        """The doctor's own team and their centre, as the report shows them."""
        return [
            g
            for g in await self.report()
            if g.centre_id == doctor.centre_id and g.team in ("", doctor.team)
        ]
