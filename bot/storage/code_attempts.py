"""SQL for failed code guesses: counted per account, per address and overall (issue 16)."""

from __future__ import annotations

from bot.storage.db import Database


class CodeAttemptStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def counts(
        self, kind: str, resident_id: int, address: str | None, since: int
    ) -> tuple[int, int, int]:
        """Failed attempts of `kind` since `since`: (this account, this address, everyone)."""
        row = await self.db.fetchone(
            "SELECT "
            "(SELECT COUNT(*) FROM code_attempts WHERE kind = ? AND resident_id = ? AND at >= ?),"
            "(SELECT COUNT(*) FROM code_attempts WHERE kind = ? AND address = ? AND at >= ?),"
            "(SELECT COUNT(*) FROM code_attempts WHERE kind = ? AND at >= ?)",
            (kind, resident_id, since, kind, address, since, kind, since),
        )
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])

    async def add(
        self, kind: str, resident_id: int, address: str | None, now: int, forget_before: int
    ) -> int:
        """Record a failed attempt (forgetting ones older than the window); return how many
        failed attempts of `kind` everyone made in the window, this one included."""
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM code_attempts WHERE at < ?", (forget_before,))
            await conn.execute(
                "INSERT INTO code_attempts (kind, resident_id, address, at) VALUES (?, ?, ?, ?)",
                (kind, resident_id, address, now),
            )
            async with conn.execute(
                "SELECT COUNT(*) FROM code_attempts WHERE kind = ? AND at >= ?",
                (kind, forget_before),
            ) as cur:
                row = await cur.fetchone()
            return int(row[0]) if row else 0
