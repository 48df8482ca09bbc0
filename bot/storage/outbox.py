"""Outbox rows: planned notifications, found by (status, due_at), deduplicated by key."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.storage.db import Database

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
EXPIRED = "expired"
SKIPPED = "skipped"
CANCELLED = "cancelled"
FINAL = (SENT, FAILED, EXPIRED, SKIPPED, CANCELLED)


@dataclass(frozen=True, slots=True)
class Planned:
    """A notification to plan. `key` names the content, rendered in the recipient's locale at
    send time; `dedupe_key` makes planning the same thing twice create one row."""

    resident_id: int
    kind: str
    key: str
    due_at: datetime
    dedupe_key: str
    params: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None
    urgent: bool = False
    group_key: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    resident_id: int
    kind: str
    key: str
    params: dict[str, Any]
    due_at: int
    expires_at: int | None
    urgent: bool
    status: str
    attempts: int
    last_error: str | None
    dedupe_key: str
    group_key: str | None


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    return int(value.timestamp())


def row_values(p: Planned, now: int) -> tuple[Any, ...]:
    return (
        p.resident_id,
        p.kind,
        json.dumps({"key": p.key, "params": p.params}, ensure_ascii=False, sort_keys=True),
        _ts(p.due_at),
        _ts(p.expires_at) if p.expires_at else None,
        int(p.urgent),
        p.dedupe_key,
        p.group_key,
        now,
        now,
    )


INSERT_SQL = (
    "INSERT INTO outbox (resident_id, kind, payload, due_at, expires_at, urgent, dedupe_key, "
    "group_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)


def to_row(r: Any) -> OutboxRow:
    payload = json.loads(r["payload"])
    return OutboxRow(
        id=r["id"],
        resident_id=r["resident_id"],
        kind=r["kind"],
        key=payload.get("key", ""),
        params=payload.get("params", {}),
        due_at=r["due_at"],
        expires_at=r["expires_at"],
        urgent=bool(r["urgent"]),
        status=r["status"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        dedupe_key=r["dedupe_key"],
        group_key=r["group_key"],
    )


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def plan(self, rows: Iterable[Planned], now: datetime, batch: int = 5000) -> int:
        """Insert planned rows, ignoring ones whose dedupe key exists; return rows added."""
        now_ts = _ts(now)
        added = 0
        chunk: list[tuple[Any, ...]] = []

        async def flush() -> int:
            async with self.db.write() as conn:
                before = conn.total_changes
                await conn.executemany(INSERT_SQL, chunk)
                return conn.total_changes - before

        for p in rows:
            chunk.append(row_values(p, now_ts))
            if len(chunk) >= batch:
                added += await flush()
                chunk = []
        if chunk:
            added += await flush()
        return added

    async def cancel(self, dedupe_keys: Sequence[str], now: datetime) -> int:
        """Cancel pending rows by dedupe key (e.g. a moved booking's reminders)."""
        if not dedupe_keys:
            return 0
        marks = ",".join("?" * len(dedupe_keys))
        return await self.db.execute(
            f"UPDATE outbox SET status = 'cancelled', updated_at = ? "
            f"WHERE status = 'pending' AND dedupe_key IN ({marks})",
            [_ts(now), *dedupe_keys],
        )

    async def cancel_prefix(self, prefix: str, now: datetime) -> int:
        """Cancel every pending row whose dedupe key starts with `prefix`."""
        return await self.db.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ? "
            "WHERE status = 'pending' AND dedupe_key >= ? AND dedupe_key < ?",
            (_ts(now), prefix, prefix + "\uffff"),
        )

    async def by_dedupe(self, dedupe_key: str) -> OutboxRow | None:
        r = await self.db.fetchone("SELECT * FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
        return None if r is None else to_row(r)

    async def for_resident(self, resident_id: int, kind: str | None = None) -> list[OutboxRow]:
        sql = "SELECT * FROM outbox WHERE resident_id = ?"
        params: list[Any] = [resident_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return [to_row(r) for r in await self.db.fetchall(sql + " ORDER BY due_at, id", params)]
