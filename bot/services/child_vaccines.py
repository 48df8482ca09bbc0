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
from bot.services.vaccines.dose_state import DoseState, Shown, states
from bot.services.vaccines.engine import Plan
from bot.storage.broadcasts import BroadcastStore
from bot.storage.vaccines import VaccineStore


@dataclass(frozen=True, slots=True)
class ChildStatus:
    """A child on the doctor's card: its open doses' states (bot.services.vaccines.dose_state,
    the same function as the resident's card), in view order."""

    nickname: str
    born: date
    today: date
    doses: tuple[DoseState, ...]  # open doses: late, due, then upcoming (missed last)

    @property
    def now(self) -> tuple[DoseState, ...]:
        """Late or due, and may be given today."""
        return tuple(s for s in self.doses if s.now)

    @property
    def next(self) -> DoseState | None:
        """The first dose that has to wait (late-waiting or upcoming)."""
        wait = (Shown.LATE_WAITING, Shown.UPCOMING)
        return min(
            (s for s in self.doses if s.shown in wait), key=lambda s: s.give_from, default=None
        )


def due_this_month(plan: Plan, today: date) -> bool:
    """A dose may be given before the month is out (late, due, or upcoming by its last day),
    by the same states as the cards: a late dose that must wait an interval into next month
    is not "due this month"."""
    last = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    return any(
        s.shown not in (Shown.CLOSED, Shown.MISSED) and s.give_from <= last for s in states(plan)
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
            open_doses = [x for x in states(plan) if x.shown is not Shown.CLOSED]
            out.append(ChildStatus(child.nickname, child.born, plan.today, tuple(open_doses)))
        return out
