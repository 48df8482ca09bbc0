"""Which reminder each dose of a child's plan needs next. Pure: a function of the plan and today.

The delivery side stores reminders as rows keyed by `Reminder.key`, so planning again (daily,
or after a dose is recorded) never doubles one; a key changes only when the reminder's date
or kind does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.services.vaccines.engine import Plan, Status

WEEK = timedelta(days=7)
REMIND_BEFORE = timedelta(days=7)


class ReminderKind(StrEnum):
    SOON = "soon"  # 7 days before the due date
    DUE = "due"  # on the due date
    STILL_DUE = "still_due"  # weekly after the due date while still timely
    CATCH_UP = "catch_up"  # weekly once overdue
    ASK_CENTRE = "ask_centre"  # once, when a dose can no longer be given


@dataclass(slots=True)
class Reminder:
    """One reminder to store; read-only by convention (cheap to make by the hundred thousand)."""

    dose: str
    kind: ReminderKind
    on: date

    @property
    def key(self) -> str:
        """Dedupe key within one child: the same reminder planned again has the same key."""
        if self.kind is ReminderKind.ASK_CENTRE:
            return f"{self.dose}:{self.kind}"
        return f"{self.dose}:{self.kind}:{self.on.isoformat()}"


def _on_grid(earliest: date, born: date) -> date:
    """The first date on or after `earliest` on the child's weekly grid (its birth weekday).

    Keeping every weekly reminder of a child on one weekday lets the sender group them into
    one message, and gives each a stable date (and so a stable key) between planning runs.
    """
    return earliest + timedelta(days=-(earliest - born).days % 7)


def next_reminders(plan: Plan, today: date) -> list[Reminder]:
    """The next reminder (dated today or later) for each dose that needs one.

    - 7 days before the due date (`soon`), then on the due date (`due`);
    - past the due date, weekly on the child's birth weekday: `still_due` while timely,
      `catch_up` once overdue, starting at least a week after the due date;
    - `ask_centre` once, when the dose can no longer be given (or from the date it stops
      being given, if the weekly reminders would reach it).
    A dose waiting for an earlier dose that is still open gets none: its date moves until
    the earlier dose is given, and that earlier dose is the one to remind about.
    """
    result: list[Reminder] = []
    for d in plan.doses:
        if d.status is Status.MISSED:
            # The key has no date: stored once, it is a single message however often we plan.
            result.append(Reminder(d.dose, ReminderKind.ASK_CENTRE, today))
            continue
        if not d.open or d.waiting_for:
            continue
        if d.due >= today:
            soon = d.due - REMIND_BEFORE
            if soon >= today:
                result.append(Reminder(d.dose, ReminderKind.SOON, soon))
            else:
                result.append(Reminder(d.dose, ReminderKind.DUE, d.due))
            continue
        on = _on_grid(max(d.due + WEEK, today), plan.born)
        late = d.complete_by is not None and on > d.complete_by
        kind = ReminderKind.CATCH_UP if late else ReminderKind.STILL_DUE
        limit = d.no_longer_given_from
        if limit is not None and on >= limit:
            kind, on = ReminderKind.ASK_CENTRE, limit
        result.append(Reminder(d.dose, kind, on))
    return result


def due_reminders(plan: Plan, today: date) -> list[Reminder]:
    """The reminders to send today."""
    return [r for r in next_reminders(plan, today) if r.on == today]
