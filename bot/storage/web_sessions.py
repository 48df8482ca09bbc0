"""SQL for web chat sessions: visitors, their tokens (hashed), and a visitor's draft before
consent (issue 16). Every worker sees the same sessions."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.db import Database


class WebSessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, visitor: str, token_hash: str, now: int, expires_at: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO web_visitors (visitor, created_at, seen_at) VALUES (?, ?, ?)",
                (visitor, now, now),
            )
            await conn.execute(
                "INSERT INTO web_tokens (token_hash, visitor, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_hash, visitor, now, expires_at),
            )

    async def visitor(self, token_hash: str, now: int) -> str | None:
        """The visitor a live token belongs to."""
        value = await self.db.fetchval(
            "SELECT visitor FROM web_tokens WHERE token_hash = ? AND expires_at > ?",
            (token_hash, now),
        )
        return None if value is None else str(value)

    async def rotate(
        self, old_hash: str, new_hash: str, now: int, expires_at: int, grace_until: int
    ) -> str | None:
        """Replace a live token by a new one for the same visitor (sliding lifetime); the old
        one keeps working until `grace_until` (a page opened a moment ago still connects).
        Returns the visitor, or None if the old token is not live."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT visitor FROM web_tokens WHERE token_hash = ? AND expires_at > ?",
                (old_hash, now),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            visitor = str(row[0])
            await conn.execute(
                "UPDATE web_tokens SET expires_at = "
                "CASE WHEN expires_at < ? THEN expires_at ELSE ? END WHERE token_hash = ?",
                (grace_until, grace_until, old_hash),
            )
            await conn.execute(
                "INSERT INTO web_tokens (token_hash, visitor, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (new_hash, visitor, now, expires_at),
            )
            await conn.execute(
                "UPDATE web_visitors SET seen_at = ? WHERE visitor = ?", (now, visitor)
            )
            return visitor

    async def exists(self, visitor: str) -> bool:
        return (
            await self.db.fetchval("SELECT 1 FROM web_visitors WHERE visitor = ?", (visitor,))
            is not None
        )

    async def end(self, visitor: str) -> None:
        """Log the visitor out everywhere: their tokens and draft are gone."""
        await self.db.execute("DELETE FROM web_visitors WHERE visitor = ?", (visitor,))

    async def draft(self, visitor: str) -> dict[str, Any]:
        raw = await self.db.fetchval("SELECT draft FROM web_visitors WHERE visitor = ?", (visitor,))
        return json.loads(raw) if raw else {}

    async def save_draft(self, visitor: str, draft: dict[str, Any] | None) -> None:
        await self.db.execute(
            "UPDATE web_visitors SET draft = ? WHERE visitor = ?",
            (json.dumps(draft, ensure_ascii=False) if draft else None, visitor),
        )

    async def purge(self, now: int) -> int:
        """Forget expired tokens, then visitors left without any."""
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM web_tokens WHERE expires_at <= ?", (now,))
            cur = await conn.execute(
                "DELETE FROM web_visitors WHERE NOT EXISTS "
                "(SELECT 1 FROM web_tokens t WHERE t.visitor = web_visitors.visitor)"
            )
            return cur.rowcount
