"""Read-only checks for /healthz: the database answers, and how much is waiting to be sent."""

from __future__ import annotations

from bot.domain.outbox import Backlog
from bot.storage.db import Database
from bot.storage.times import from_unix


class LivenessStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ping(self) -> bool:
        return bool(await self.db.fetchval("SELECT 1") == 1)

    async def backlog(self, now: int) -> Backlog:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FILTER (WHERE due_at <= ?), COUNT(*), "
            "MIN(due_at) FILTER (WHERE due_at <= ?) FROM outbox WHERE status = 'pending'",
            (now, now),
        )
        assert row is not None
        oldest = None if row[2] is None else from_unix(row[2])
        return Backlog(due=row[0], pending=row[1], oldest_due_at=oldest)
