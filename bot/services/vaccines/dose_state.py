"""A dose's state as every view shows it: the resident's card, the doctor's card of the same
child, the reminders and the dose picker. One function (`dose_state`) decides it from the
planner's output, so no two screens can disagree about a dose.

The planner's `Status.OVERDUE` means the dose is past its deadline (`complete_by`), but it may
still have to wait for an earlier dose's minimum interval: then it is late *and* cannot be
given before `give_from`. Showing such a dose under "catch up now" was the contradiction on the
card, so it has its own state. A dose whose day has come and whose deadline has not passed is
due ("give it by" its deadline). One with no deadline that has been due for more than a month
is shown as "due for a while", not as "due now", but never called late: the schedule
(国家免疫规划疫苗儿童免疫程序及说明 2021, 一（二）2) asks to give it as early as possible and
sets it no deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.services.vaccines.engine import Plan, PlannedDose, Status
from bot.services.vaccines.model import add_span

WHILE_MONTHS = 1  # due for longer than this: "due for a while"


class Shown(StrEnum):
    LATE = "late"  # past its deadline; can be given today: catch up now
    LATE_WAITING = "late_waiting"  # past its deadline; not before `give_from` (an interval)
    DUE_WHILE = "due_while"  # no deadline, due for more than a month: give it soon
    DUE = "due"  # its day has come and it is timely
    UPCOMING = "upcoming"  # not before `give_from`
    MISSED = "missed"  # no longer given at this age: ask the clinic
    CLOSED = "closed"  # done, or not needed


ORDER = (
    Shown.LATE,
    Shown.LATE_WAITING,
    Shown.DUE_WHILE,
    Shown.DUE,
    Shown.UPCOMING,
    Shown.MISSED,
    Shown.CLOSED,
)
NOW = frozenset((Shown.LATE, Shown.DUE_WHILE, Shown.DUE))  # may be given today


@dataclass(frozen=True, slots=True)
class DoseState:
    dose: PlannedDose
    shown: Shown
    give_from: date  # the first day it may be given (today or later)
    deadline: date | None  # the schedule's "complete by", when it sets one

    @property
    def code(self) -> str:
        return self.dose.dose

    @property
    def now(self) -> bool:
        return self.shown in NOW


def dose_state(d: PlannedDose, today: date) -> DoseState:
    give_from = max(d.due, today)
    if d.status in (Status.DONE, Status.NOT_NEEDED):
        shown = Shown.CLOSED
    elif d.status is Status.MISSED:
        shown = Shown.MISSED
    elif d.status is Status.OVERDUE:
        shown = Shown.LATE if d.due <= today else Shown.LATE_WAITING
    elif d.status is Status.UPCOMING:
        shown = Shown.UPCOMING
    elif d.complete_by is None and add_span(d.due, WHILE_MONTHS, 0) <= today:
        shown = Shown.DUE_WHILE
    else:
        shown = Shown.DUE
    return DoseState(d, shown, give_from, d.complete_by)


def states(plan: Plan) -> list[DoseState]:
    """Every dose of the plan, in the order views list them: state, then first day."""
    out = [dose_state(d, plan.today) for d in plan.doses]
    out.sort(key=lambda s: (ORDER.index(s.shown), s.give_from))
    return out


def of(plan: Plan, codes: Iterable[str]) -> list[DoseState]:
    """The states of these doses (unknown codes left out), in the plan's view order."""
    wanted = set(codes)
    return [s for s in states(plan) if s.code in wanted]
