"""What the WeChat and web chat channels keep in SQLite, so every worker sees the same thing."""

from __future__ import annotations

import json
import secrets
from typing import Any

from bot.domain.channels import CachedToken, Claim, InboundRecord, PendingWeb, Window
from bot.domain.security import NonceSeen
from bot.storage.db import Database, inserted_id


class ChannelStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- numbered options -------------------------------------------------------------------
    async def save_options(self, resident_id: int, options: dict[str, Any], now: int) -> None:
        await self.db.execute(
            "INSERT INTO channel_options (resident_id, options, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (resident_id) DO UPDATE SET options = excluded.options, "
            "updated_at = excluded.updated_at",
            (resident_id, json.dumps(options, ensure_ascii=False), now),
        )

    async def load_options(self, resident_id: int) -> dict[str, Any]:
        raw = await self.db.fetchval(
            "SELECT options FROM channel_options WHERE resident_id = ?", (resident_id,)
        )
        return json.loads(raw) if raw else {}

    # -- WeChat's 48-hour customer-service window --------------------------------------------
    async def open_window(self, resident_id: int, now: int, budget: int) -> None:
        """The resident wrote (or clicked): the window restarts with a fresh message budget."""
        await self.db.execute(
            "INSERT INTO wechat_window (resident_id, last_inbound_at, cs_budget) VALUES (?, ?, ?) "
            "ON CONFLICT (resident_id) DO UPDATE SET last_inbound_at = excluded.last_inbound_at, "
            "cs_budget = excluded.cs_budget",
            (resident_id, now, budget),
        )

    async def window(self, resident_id: int) -> Window | None:
        row = await self.db.fetchone(
            "SELECT last_inbound_at, cs_budget FROM wechat_window WHERE resident_id = ?",
            (resident_id,),
        )
        return None if row is None else Window(row[0], row[1])

    async def take_budget(self, resident_id: int, wanted: int, opened_after: int) -> int:
        """Reserve up to `wanted` customer-service messages; 0 if the window is closed."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT cs_budget FROM wechat_window WHERE resident_id = ? AND last_inbound_at > ?",
                (resident_id, opened_after),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return 0
            granted: int = max(0, min(wanted, row[0]))
            if granted:
                await conn.execute(
                    "UPDATE wechat_window SET cs_budget = cs_budget - ? WHERE resident_id = ?",
                    (granted, resident_id),
                )
            return granted

    async def spend_all(self, resident_id: int) -> None:
        """WeChat said the quota is used up (45047): believe it."""
        await self.db.execute(
            "UPDATE wechat_window SET cs_budget = 0 WHERE resident_id = ?", (resident_id,)
        )

    async def close_window(self, resident_id: int) -> None:
        """WeChat said the window is closed (45015): believe it over our own clock."""
        await self.db.execute(
            "UPDATE wechat_window SET last_inbound_at = 0, cs_budget = 0 WHERE resident_id = ?",
            (resident_id,),
        )

    async def wake_deferred(self, resident_id: int, now: int, channel: str = "wechat") -> int:
        """The resident is back: outbox rows the channel deferred (WeChat's closed window or
        used-up quota; the sandbox while someone else played) are due again now. The
        dispatcher records such rows as 'deferred: <channel>...'."""
        return await self.db.execute(
            "UPDATE outbox SET due_at = ?, updated_at = ? "
            "WHERE resident_id = ? AND status = 'pending' AND due_at > ? "
            "AND last_error LIKE ?",
            (now, now, resident_id, now, f"deferred: {channel}%"),
        )

    # -- WeChat inbound deduplication ---------------------------------------------------------
    async def claim_inbound(self, key: str, now: int, lease: int) -> Claim | None:
        """Claim the message `key` for `lease` seconds: NEW for its first request, RETAKEN for
        a retry finding a claim that was never answered and is older than the lease (its
        worker stopped), None for a retry of a message answered or still being handled."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT status, claimed_at FROM wechat_inbound WHERE dedupe_key = ?", (key,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                await conn.execute(
                    "INSERT INTO wechat_inbound (dedupe_key, status, created_at, claimed_at) "
                    "VALUES (?, 'running', ?, ?)",
                    (key, now, now),
                )
                return Claim.NEW
            if row[0] == "running" and row[1] <= now - lease:
                await conn.execute(
                    "UPDATE wechat_inbound SET claimed_at = ? WHERE dedupe_key = ?", (now, key)
                )
                return Claim.RETAKEN
            return None

    async def finish_inbound(self, key: str, reply: str | None, openid: str) -> None:
        """Record the answer, tied to the resident so that it goes with them on /delete. If
        there is no resident (any more: this message deleted them), no answer is kept: it
        would name them."""
        await self.db.execute(
            "UPDATE wechat_inbound SET status = 'done', resident_id = r.id, "
            "reply = CASE WHEN r.id IS NULL THEN NULL ELSE ? END "
            "FROM (SELECT (SELECT id FROM residents WHERE channel = 'wechat' "
            "AND channel_user_id = ?) AS id) AS r WHERE dedupe_key = ?",
            (reply, openid, key),
        )

    async def remember_nonce(self, key: str, body_hash: str, expires_at: int) -> NonceSeen:
        """Remember a request's (timestamp, nonce) with its body until `expires_at`."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT body_hash FROM wechat_nonces WHERE nonce_key = ?", (key,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                await conn.execute(
                    "INSERT INTO wechat_nonces (nonce_key, body_hash, expires_at) VALUES (?, ?, ?)",
                    (key, body_hash, expires_at),
                )
                return NonceSeen.NEW
            return NonceSeen.SAME_BODY if row[0] == body_hash else NonceSeen.OTHER_BODY

    async def inbound(self, key: str) -> InboundRecord | None:
        row = await self.db.fetchone(
            "SELECT status, reply FROM wechat_inbound WHERE dedupe_key = ?", (key,)
        )
        return None if row is None else InboundRecord(row[0], row[1])

    async def purge_inbound(self, before: int, now: int | None = None) -> int:
        """Forget message claims created before `before`, and nonces expired by `now`."""
        if now is not None:
            await self.db.execute("DELETE FROM wechat_nonces WHERE expires_at < ?", (now,))
        return await self.db.execute("DELETE FROM wechat_inbound WHERE created_at < ?", (before,))

    # -- WeChat access token ------------------------------------------------------------------
    async def cached_token(self, app_id: str) -> CachedToken:
        row = await self.db.fetchone(
            "SELECT token, expires_at, refreshing_until FROM wechat_token WHERE app_id = ?",
            (app_id,),
        )
        return CachedToken(None, 0, 0) if row is None else CachedToken(row[0], row[1], row[2])

    async def lease_refresh(self, app_id: str, now: int, until: int) -> bool:
        """Take the refresh lease unless another worker holds a live one."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO wechat_token (app_id) VALUES (?) ON CONFLICT (app_id) DO NOTHING",
                (app_id,),
            )
            cur = await conn.execute(
                "UPDATE wechat_token SET refreshing_until = ? "
                "WHERE app_id = ? AND refreshing_until <= ?",
                (until, app_id, now),
            )
            return cur.rowcount == 1

    async def store_token(self, app_id: str, token: str, expires_at: int) -> None:
        await self.db.execute(
            "UPDATE wechat_token SET token = ?, expires_at = ?, refreshing_until = 0 "
            "WHERE app_id = ?",
            (token, expires_at, app_id),
        )

    async def release_lease(self, app_id: str) -> None:
        await self.db.execute(
            "UPDATE wechat_token SET refreshing_until = 0 WHERE app_id = ?", (app_id,)
        )

    async def invalidate_token(self, app_id: str, token: str) -> None:
        """Forget `token` if it is still the cached one (another worker may have refreshed)."""
        await self.db.execute(
            "UPDATE wechat_token SET expires_at = 0 WHERE app_id = ? AND token = ?",
            (app_id, token),
        )

    # -- web chat ------------------------------------------------------------------------------
    async def queue_web(self, resident_id: int, payload: list[dict[str, Any]], now: int) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO web_pending (resident_id, payload, created_at) VALUES (?, ?, ?) "
                "RETURNING id",
                (resident_id, json.dumps(payload, ensure_ascii=False), now),
            )
            return await inserted_id(cur)

    async def pending_web(self, resident_id: int) -> list[PendingWeb]:
        rows = await self.db.fetchall(
            "SELECT id, payload FROM web_pending WHERE resident_id = ? ORDER BY id",
            (resident_id,),
        )
        return [PendingWeb(r[0], json.loads(r[1])) for r in rows]

    async def drop_web(self, ids: list[int]) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            await self.db.execute(f"DELETE FROM web_pending WHERE id IN ({marks})", ids)

    # -- generated secrets ---------------------------------------------------------------------
    async def secret(self, name: str) -> str:
        """The stored secret `name`, generated on first use (all workers get the same one)."""
        await self.db.execute(
            "INSERT INTO channel_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_urlsafe(32)),
        )
        value = await self.db.fetchval("SELECT value FROM channel_secrets WHERE name = ?", (name,))
        assert value is not None
        return str(value)
