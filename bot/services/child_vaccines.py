"""What the doctor's side needs from children's vaccine plans: which parents have a child due
a vaccine this month, and a one-line status per child for the resident's card. Plans come
from the vaccine feature's own planner (ChildService), never recomputed here.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.broadcasts import Recipient
from bot.services.vaccines.children import ChildService
from bot.services.vaccines.engine import Plan, Status
from bot.storage.broadcasts import BroadcastStore
from bot.storage.vaccines import VaccineStore

NOW = (Status.DUE, Status.OVERDUE)


@dataclass(frozen=True, slots=True)
class ChildStatus:
    nickname: str
    born: date
    due_now: tuple[str, ...]  # dose codes due or overdue today
    next_dose: str | None  # the next upcoming dose and the day it may be given
    next_on: date | None


def due_this_month(plan: Plan, today: date) -> bool:
    """A dose is due or overdue now, or falls due before the month is out."""
    last = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    return any(
        d.status in NOW or (d.status is Status.UPCOMING and d.due <= last) for d in plan.doses
    )


class ChildVaccines:
    def __init__(
        self, children: ChildService, store: VaccineStore, broadcasts: BroadcastStore
    ) -> None:
        self.children = children
        self.store = store
        self.broadcasts = broadcasts

    async def parents_due(self, doctor_ids: Sequence[str]) -> list[Recipient]:
        """Residents of the team looking after a child due a vaccine this month."""
        today = self.children.today()
        out: dict[int, bool] = {}
        due: dict[int, bool] = {}
        for resident_id, child_id, reachable in await self.broadcasts.team_guardians(doctor_ids):
            if child_id not in due:
                record = await self.store.record(child_id)
                due[child_id] = record is not None and due_this_month(
                    self.children.plan(record), today
                )
            if due[child_id]:
                out[resident_id] = reachable
        return [Recipient(rid, ok) for rid, ok in sorted(out.items())]

    async def status(self, resident_id: int) -> list[ChildStatus]:
        """Each child the resident looks after, with what is due."""
        out = []
        for child in await self.children.children(resident_id):
            record = await self.children.mine(resident_id, child.id)
            if record is None:
                continue
            plan = self.children.plan(record)
            upcoming = sorted(
                (d for d in plan.doses if d.status is Status.UPCOMING), key=lambda d: d.due
            )
            out.append(
                ChildStatus(
                    nickname=child.nickname,
                    born=child.born,
                    due_now=tuple(d.dose for d in plan.doses if d.status in NOW),
                    next_dose=upcoming[0].dose if upcoming else None,
                    next_on=upcoming[0].due if upcoming else None,
                )
            )
        return out
