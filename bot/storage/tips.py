"""Health tip subscriptions, per-resident tip history and feedback.

Planning writes the outbox rows and the history in one transaction, so a crash in the middle
of the nightly run never leaves a tip counted as sent without its row (or the other way round).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.tips import VERDICTS, PlannedTip, Subscription
from bot.storage.db import Database
from bot.storage.outbox import INSERT_OR_REVIVE_SQL, KEYS_PER_QUERY, row_values, taken_keys

_topic_cache: dict[str, frozenset[str]] = {}


def _topics(value: str) -> frozenset[str]:
    # Subscribers share a handful of topic combinations: parse each one once.
    found = _topic_cache.get(value)
    if found is None:
        found = frozenset(t for t in value.split(",") if t)
        if len(_topic_cache) < 4096:
            _topic_cache[value] = found
    return found


def _subscription(row: Any) -> Subscription:
    return Subscription(
        resident_id=row["resident_id"],
        active=bool(row["active"]),
        topics=_topics(row["topics"]),
        slot=row["slot"],
        frequency=row["frequency"],
        weekday=row["weekday"],
    )


def _ts(value: datetime) -> int:
    return int(value.timestamp())


_HISTORY_UPSERT = (
    "INSERT INTO tip_history (resident_id, tip_id, times, last_at) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (resident_id, tip_id) DO UPDATE SET times = tip_history.times + 1, "
    "last_at = excluded.last_at"
)


async def _existing(conn: Any, resident_ids: set[int]) -> set[int]:
    """Which of these residents still exist (at most KEYS_PER_QUERY ids)."""
    if not resident_ids:
        return set()
    ids = list(resident_ids)
    async with conn.execute(
        f"SELECT id FROM residents WHERE id IN ({','.join('?' * len(ids))})", ids
    ) as cur:
        return {r[0] for r in await cur.fetchall()}


class TipStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- subscriptions --------------------------------------------------------------------
    async def get(self, resident_id: int) -> Subscription | None:
        row = await self.db.fetchone(
            "SELECT * FROM tip_subscriptions WHERE resident_id = ?", (resident_id,)
        )
        return None if row is None else _subscription(row)

    async def save(self, sub: Subscription, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO tip_subscriptions "
            "(resident_id, active, topics, slot, frequency, weekday, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET "
            "active = excluded.active, topics = excluded.topics, slot = excluded.slot, "
            "frequency = excluded.frequency, weekday = excluded.weekday, "
            "updated_at = excluded.updated_at",
            (
                sub.resident_id,
                int(sub.active),
                ",".join(sorted(sub.topics)),
                sub.slot,
                sub.frequency,
                sub.weekday,
                _ts(now),
            ),
        )

    async def save_many(self, subs: Iterable[Sequence[Any]], now: datetime) -> None:
        """Bulk insert (resident_id, topics, slot, frequency, weekday) rows: seeding, benches."""
        now_ts = _ts(now)
        await self.db.executemany(
            "INSERT INTO tip_subscriptions "
            "(resident_id, active, topics, slot, frequency, weekday, updated_at) "
            "VALUES (?, 1, ?, ?, ?, ?, ?) ON CONFLICT (resident_id) DO NOTHING",
            ((rid, topics, slot, freq, wd, now_ts) for rid, topics, slot, freq, wd in subs),
        )

    async def due_page(
        self, after_id: int, limit: int, weekday: int, key_prefix: str, key_suffix: str
    ) -> list[Subscription]:
        """Active, reachable subscribers due on a day of this `weekday` (daily ones, and weekly
        ones on it) with no live (uncancelled) row `key_prefix || resident_id || key_suffix`,
        in resident id order after `after_id`. Keyset pagination: each page is one index
        range scan however far the run has got, and a re-run reads no history at all."""
        rows = await self.db.fetchall(
            "SELECT s.* FROM tip_subscriptions s JOIN residents r ON r.id = s.resident_id "
            "WHERE s.active = 1 AND s.resident_id > ? AND r.unreachable_at IS NULL "
            "AND (s.frequency = 'daily' OR s.weekday = ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox o "
            "                WHERE o.dedupe_key = ? || s.resident_id || ? "
            "                AND o.status != 'cancelled') "
            "ORDER BY s.resident_id LIMIT ?",
            (after_id, weekday, key_prefix, key_suffix, limit),
        )
        return [_subscription(r) for r in rows]

    # -- history --------------------------------------------------------------------------
    async def counts(self, resident_id: int) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT tip_id, times FROM tip_history WHERE resident_id = ?", (resident_id,)
        )
        return {r[0]: r[1] for r in rows}

    async def counts_between(self, first_id: int, last_id: int) -> dict[int, dict[str, int]]:
        """Tip counts of every resident with first_id <= id <= last_id (one range scan)."""
        out: dict[int, dict[str, int]] = {}
        # One fetchall: iterating the cursor would cross to aiosqlite's thread per 64 rows.
        rows = await self.db.fetchall(
            "SELECT resident_id, tip_id, times FROM tip_history WHERE resident_id BETWEEN ? AND ?",
            (first_id, last_id),
        )
        for rid, tip_id, times in rows:
            per = out.get(rid)
            if per is None:
                per = out[rid] = {}
            per[tip_id] = times
        return out

    async def count(self, resident_id: int, tip_id: str, now: datetime) -> None:
        """Record that a tip was shown (the "Another tip" button)."""
        await self.db.execute(_HISTORY_UPSERT, (resident_id, tip_id, _ts(now)))

    async def uncount(self, resident_id: int, tip_ids: Sequence[str]) -> None:
        """Give back tips whose planned rows were cancelled before they were sent."""
        async with self.db.write() as conn:
            for tip_id in tip_ids:
                await conn.execute(
                    "UPDATE tip_history SET times = times - 1 "
                    "WHERE resident_id = ? AND tip_id = ? AND times > 0",
                    (resident_id, tip_id),
                )

    # -- planning -------------------------------------------------------------------------
    async def plan(self, items: Sequence[PlannedTip], now: datetime) -> int:
        """Write outbox rows and count their tips, skipping rows whose dedupe key is taken
        (a cancelled row's key is free: that row is planned again, so a tip moved to another
        time leaves the day it left free for the nightly planner).

        The check and the writes share one BEGIN IMMEDIATE transaction, so a concurrent
        subscriber's own planning cannot make a tip count twice. Returns rows added.
        """
        if not items:
            return 0
        now_ts = _ts(now)
        added = 0
        async with self.db.write() as conn:
            for i in range(0, len(items), KEYS_PER_QUERY):
                part = items[i : i + KEYS_PER_QUERY]
                taken = await taken_keys(conn, [it.row.dedupe_key for it in part])
                # A resident deleted (/delete) since the planner read the page gets nothing:
                # their row and tip count would fail the page with a foreign-key error.
                live = await _existing(conn, {it.row.resident_id for it in part})
                fresh = [
                    it
                    for it in part
                    if it.row.dedupe_key not in taken and it.row.resident_id in live
                ]
                if not fresh:
                    continue
                await conn.executemany(
                    INSERT_OR_REVIVE_SQL, [row_values(it.row, now_ts) for it in fresh]
                )
                await conn.executemany(
                    _HISTORY_UPSERT,
                    [(it.row.resident_id, it.row.key, now_ts) for it in fresh if it.count],
                )
                added += len(fresh)
        return added

    # -- feedback -------------------------------------------------------------------------
    async def feedback(self, resident_id: int, tip_id: str, verdict: str, now: datetime) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        await self.db.execute(
            "INSERT INTO tip_feedback (resident_id, tip_id, verdict, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (resident_id, tip_id) DO UPDATE SET "
            "verdict = excluded.verdict, created_at = excluded.created_at",
            (resident_id, tip_id, verdict, _ts(now)),
        )

    async def feedback_of(self, resident_id: int) -> dict[str, str]:
        rows = await self.db.fetchall(
            "SELECT tip_id, verdict FROM tip_feedback WHERE resident_id = ?", (resident_id,)
        )
        return {r[0]: r[1] for r in rows}
