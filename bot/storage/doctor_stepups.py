"""SQL for the web desk's step-up: a code sent to the doctor's own chat, then a grant."""

from __future__ import annotations

from bot.domain.security import StepUp
from bot.storage.db import Database


class DoctorStepUpStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def linked_account(self, doctor_id: str) -> int | None:
        """The doctor's linked account on a channel that proves who they are (not the web)."""
        value = await self.db.fetchval(
            "SELECT resident_id FROM doctor_links WHERE doctor_id = ? AND channel <> 'web'",
            (doctor_id,),
        )
        return None if value is None else int(value)

    async def put(self, resident_id: int, doctor_id: str, code_hash: str, expires_at: int) -> None:
        """A new code for this web account (any earlier code and grant end)."""
        await self.db.execute(
            "INSERT INTO doctor_stepups (resident_id, doctor_id, code_hash, expires_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET "
            "doctor_id = excluded.doctor_id, code_hash = excluded.code_hash, "
            "expires_at = excluded.expires_at, granted_until = 0",
            (resident_id, doctor_id, code_hash, expires_at),
        )

    async def get(self, resident_id: int) -> StepUp | None:
        row = await self.db.fetchone(
            "SELECT doctor_id, code_hash, expires_at, granted_until FROM doctor_stepups "
            "WHERE resident_id = ?",
            (resident_id,),
        )
        return None if row is None else StepUp(row[0], row[1], row[2], row[3])

    async def grant(self, resident_id: int, until: int) -> None:
        """The code was right: it is used up, and the desk is open until `until`."""
        await self.db.execute(
            "UPDATE doctor_stepups SET granted_until = ?, code_hash = '', expires_at = 0 "
            "WHERE resident_id = ?",
            (until, resident_id),
        )

    async def end(self, resident_id: int) -> None:
        await self.db.execute("DELETE FROM doctor_stepups WHERE resident_id = ?", (resident_id,))
