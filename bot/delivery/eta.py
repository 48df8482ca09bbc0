"""When a stored outbox row will actually go out: one source for every "your next tip comes …",
"the reminder goes out …" and "the broadcast goes out …" the bot says.

Composed from the row as stored and the recipient's quiet hours, the same rule the dispatcher
applies when it claims the row (a non-urgent row claimed inside the window waits for its end),
so the promise cannot drift from what delivery does.
"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.delivery.quiet import QuietHours, quiet_hours_for, quiet_hours_of
from bot.domain.clock import Clock
from bot.domain.outbox import PENDING, SENDING, OutboxRow
from bot.domain.residents import Resident
from bot.storage.outbox import OutboxStore
from bot.storage.residents import ResidentStore


def send_time(row: OutboxRow, resident: Resident, settings: Settings, now: datetime) -> datetime:
    """The moment a pending row goes out: its due time (or now, if that has passed), moved to
    the end of the resident's quiet hours when it is not urgent."""
    return _at(row.due_at, row.urgent, quiet_hours_for(resident, settings), now)


def _at(due_at: datetime, urgent: bool, quiet: QuietHours, now: datetime) -> datetime:
    when = max(due_at, now)
    if urgent:
        return when
    return quiet.resume_at(when) or when


class SendTimes:
    """Reads rows back from the outbox and says when each goes out (None: not waiting)."""

    def __init__(
        self, outbox: OutboxStore, residents: ResidentStore, settings: Settings, clock: Clock
    ) -> None:
        self.outbox = outbox
        self.residents = residents
        self.settings = settings
        self.clock = clock

    async def of_row(self, row: OutboxRow) -> datetime | None:
        if row.status not in (PENDING, SENDING):
            return None
        resident = await self.residents.get(row.resident_id)
        if resident is None:
            return None
        return send_time(row, resident, self.settings, self.clock())

    async def state(self, dedupe_key: str) -> tuple[str, datetime | None] | None:
        """The row's status and, while it waits, when it goes out; None if there is no row."""
        row = await self.outbox.by_dedupe(dedupe_key)
        return None if row is None else (row.status, await self.of_row(row))

    async def of(self, dedupe_key: str) -> datetime | None:
        """When the row with this dedupe key goes out; None if there is none still waiting."""
        row = await self.outbox.by_dedupe(dedupe_key)
        return None if row is None else await self.of_row(row)

    async def of_group(self, group_key: str) -> tuple[datetime, datetime] | None:
        """The first and last send time of a group's rows still waiting (a broadcast's
        recipients may each have their own quiet hours); None when none is waiting."""
        now = self.clock()
        times = [
            _at(due, urgent, quiet_hours_of(qs, qe, self.settings), now)
            for due, urgent, qs, qe in await self.outbox.waiting_windows(group_key)
        ]
        return (min(times), max(times)) if times else None
