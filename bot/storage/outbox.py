"""Outbox rows: planned notifications, found by (status, due_at), deduplicated by key."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from bot.domain.districts import ALL_DISTRICTS
from bot.domain.outbox import (
    Claimed,
    FailedRow,
    OutboxRow,
    OutboxStatus,
    Planned,
    Result,
)
from bot.storage.cluster import NS_RESIDENT, PgCluster
from bot.storage.db import Database
from bot.storage.residents import _RESIDENT_COLUMNS, _resident
from bot.storage.times import from_unix, unix


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    return int(value.timestamp())


def _payload(p: Planned) -> str:
    body: dict[str, Any] = {"key": p.key, "params": p.params}
    if p.paid:
        # In the payload, not a column: only Telegram's paid broadcasts read it (no migration).
        body["paid"] = True
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def row_values(p: Planned, now: int) -> tuple[Any, ...]:
    return (
        p.resident_id,
        p.kind,
        _payload(p),
        _ts(p.due_at),
        _ts(p.expires_at) if p.expires_at else None,
        int(p.urgent),
        p.dedupe_key,
        p.group_key,
        now,
        now,
    )


_INSERT = (
    "INSERT INTO outbox (resident_id, kind, payload, due_at, expires_at, urgent, dedupe_key, "
    "group_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
)
INSERT_SQL = _INSERT + "ON CONFLICT (dedupe_key) DO NOTHING"
# The same insert, except that a row of the same kind cancelled earlier is planned again in
# place (fresh content, times and attempts): for a feature whose dedupe key stands for a slot
# that must stay free once cancelled, like a tip's day when the resident moves the tip.
INSERT_OR_REVIVE_SQL = _INSERT + (
    "ON CONFLICT (dedupe_key) DO UPDATE SET payload = excluded.payload, "
    "due_at = excluded.due_at, expires_at = excluded.expires_at, status = 'pending', "
    "attempts = 0, last_error = NULL, updated_at = excluded.updated_at "
    "WHERE outbox.status = 'cancelled' AND outbox.kind = excluded.kind"
)
# The same, for rows planned by a background job from a read made earlier: a resident deleted
# (/delete) between that read and this write gets no row, instead of a foreign-key error that
# would fail the whole page and the job with it. ?1 is the row's resident_id.
_INSERT_LIVE = (
    "INSERT INTO outbox (resident_id, kind, payload, due_at, expires_at, urgent, dedupe_key, "
    "group_key, created_at, updated_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
    "WHERE EXISTS (SELECT 1 FROM residents WHERE id = ?1) "
)
INSERT_OR_REVIVE_LIVE_SQL = _INSERT_LIVE + INSERT_OR_REVIVE_SQL[len(_INSERT) :]
# INSERT_SQL with the same guard: every planner that writes rows from an earlier read (the
# nightly vaccine, follow-up, adult-vaccine and weekly-summary jobs through `plan`) uses it.
INSERT_LIVE_SQL = _INSERT_LIVE + INSERT_SQL[len(_INSERT) :]
_TAKEN_SQL = "SELECT dedupe_key FROM outbox WHERE status != 'cancelled' AND dedupe_key IN ({})"
LIVE = ("pending", "sending", "sent")
# SQLite allows 32766 bound variables; stay far below so the IN (...) lists are cheap to build.
KEYS_PER_QUERY = 500


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _cancel_keys_sql(n: int) -> str:
    return (
        "UPDATE outbox SET status = 'cancelled', updated_at = ? "
        f"WHERE status = 'pending' AND dedupe_key IN ({_marks(n)})"
    )


# -- inside a caller's write transaction -------------------------------------------------------
# A feature whose own rows and outbox rows must commit together (a booking and its reminders)
# passes the connection of its `db.write()` block.


async def insert_planned(conn: Any, rows: Sequence[Planned], now_ts: int) -> None:
    """Insert planned rows, ignoring ones whose dedupe key exists."""
    if rows:
        await conn.executemany(INSERT_SQL, [row_values(p, now_ts) for p in rows])


async def cancel_keys(conn: Any, dedupe_keys: Sequence[str], now_ts: int) -> int:
    """Cancel pending rows by dedupe key; the rows cancelled."""
    if not dedupe_keys:
        return 0
    cur = await conn.execute(_cancel_keys_sql(len(dedupe_keys)), [now_ts, *dedupe_keys])
    return int(cur.rowcount)


async def taken_keys(conn: Any, dedupe_keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys a row holds that is not cancelled (at most KEYS_PER_QUERY)."""
    async with conn.execute(_TAKEN_SQL.format(_marks(len(dedupe_keys))), dedupe_keys) as cur:
        return {r[0] for r in await cur.fetchall()}


async def pending_rows(
    conn: Any, dedupe_keys: Sequence[str], statuses: Sequence[str] = ("pending",)
) -> list[OutboxRow]:
    """The rows holding these dedupe keys in these statuses, soonest first: what was actually
    planned (a caller reads them back to say what it promised, not what it meant to plan).
    A message due now may already be sending or sent when read back: pass those too."""
    if not dedupe_keys:
        return []
    sql = (
        f"SELECT * FROM outbox WHERE status IN ({_marks(len(statuses))}) AND dedupe_key IN "
        f"({_marks(len(dedupe_keys))}) ORDER BY due_at, id"
    )
    async with conn.execute(sql, [*statuses, *dedupe_keys]) as cur:
        return [to_row(r) for r in await cur.fetchall()]


def _due(result: Result) -> int | None:
    return None if result.due_at is None else unix(result.due_at)


def to_row(r: Any) -> OutboxRow:
    payload = json.loads(r["payload"])
    return OutboxRow(
        id=r["id"],
        resident_id=r["resident_id"],
        kind=r["kind"],
        key=payload.get("key", ""),
        params=payload.get("params", {}),
        due_at=from_unix(r["due_at"]),
        expires_at=None if r["expires_at"] is None else from_unix(r["expires_at"]),
        urgent=bool(r["urgent"]),
        status=r["status"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        dedupe_key=r["dedupe_key"],
        group_key=r["group_key"],
        paid=bool(payload.get("paid", False)),
    )


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def pending_by_keys(self, dedupe_keys: Sequence[str]) -> list[OutboxRow]:
        """The pending rows of these dedupe keys, soonest first."""
        return await pending_rows(self.db.reader, dedupe_keys)

    async def live_by_keys(self, dedupe_keys: Sequence[str]) -> list[OutboxRow]:
        """The rows of these keys that are going out or went out (pending, sending, sent)."""
        return await pending_rows(self.db.reader, dedupe_keys, LIVE)

    async def plan(self, rows: Iterable[Planned], now: datetime, batch: int = 5000) -> int:
        """Insert planned rows, ignoring ones whose dedupe key exists and ones for residents
        deleted (/delete) since the caller read them; return rows added."""
        now_ts = _ts(now)
        added = 0
        chunk: list[tuple[Any, ...]] = []

        async def flush() -> int:
            async with self.db.write() as conn:
                before = conn.total_changes
                await conn.executemany(INSERT_LIVE_SQL, chunk)
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
        return await self.db.execute(_cancel_keys_sql(len(dedupe_keys)), [_ts(now), *dedupe_keys])

    async def cancel_prefix(self, prefix: str, now: datetime) -> int:
        """Cancel every pending row whose dedupe key starts with `prefix`."""
        return await self.db.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ? "
            # `+status`: search the dedupe-key range, not every pending row (see pending_keys).
            f"WHERE {self.db.unindexed('status')} = 'pending' AND dedupe_key >= ? "
            "AND dedupe_key < ?",
            (_ts(now), prefix, prefix + "\uffff"),
        )

    async def cancel_group(self, group_key: str, now: datetime, conn: Any = None) -> int:
        """Cancel a group (e.g. a broadcast): its pending rows now, and the rows the dispatcher
        already claimed just before they would be sent. Pass `conn` to join a caller's
        transaction. Returns the pending rows cancelled."""
        sql_mark = (
            "INSERT INTO outbox_cancelled_groups (group_key, cancelled_at) VALUES (?, ?) "
            "ON CONFLICT (group_key) DO NOTHING"
        )
        sql_rows = (
            "UPDATE outbox SET status = 'cancelled', updated_at = ? "
            "WHERE group_key = ? AND status = 'pending'"
        )
        ts = _ts(now)
        if conn is not None:
            await conn.execute(sql_mark, (group_key, ts))
            return int((await conn.execute(sql_rows, (ts, group_key))).rowcount)
        async with self.db.write() as c:
            await c.execute(sql_mark, (group_key, ts))
            return (await c.execute(sql_rows, (ts, group_key))).rowcount

    async def cancelled_groups(self, since: int) -> set[str]:
        """Group keys cancelled at or after `since` (unix seconds)."""
        rows = await self.db.fetchall(
            "SELECT group_key FROM outbox_cancelled_groups WHERE cancelled_at >= ?", (since,)
        )
        return {r[0] for r in rows}

    async def due_count(self, channel: str, before: datetime) -> int:
        """Rows for residents of `channel` still to send that are due before `before`."""
        return int(
            await self.db.fetchval(
                "SELECT count(*) FROM outbox o JOIN residents r ON r.id = o.resident_id "
                "WHERE o.status IN ('pending', 'sending') AND o.due_at <= ? AND r.channel = ?",
                (_ts(before), channel),
            )
        )

    async def by_dedupe(self, dedupe_key: str) -> OutboxRow | None:
        r = await self.db.fetchone("SELECT * FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
        return None if r is None else to_row(r)

    async def waiting_windows(
        self, group_key: str
    ) -> list[tuple[datetime, bool, str | None, str | None]]:
        """A group's rows still waiting, as distinct (due_at, urgent, the resident's quiet_start,
        quiet_end): enough to say when they go out without reading every row."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT o.due_at, o.urgent, r.quiet_start, r.quiet_end FROM outbox o "
            "JOIN residents r ON r.id = o.resident_id "
            "WHERE o.group_key = ? AND o.status IN ('pending', 'sending')",
            (group_key,),
        )
        return [(from_unix(int(r[0])), bool(r[1]), r[2], r[3]) for r in rows]

    async def get(self, row_id: int) -> OutboxRow | None:
        """One row by id (a notification's buttons carry its row id)."""
        r = await self.db.fetchone("SELECT * FROM outbox WHERE id = ?", (row_id,))
        return None if r is None else to_row(r)

    # -- re-planning: what is pending, what is taken, bringing cancelled rows back -----------
    # Features that re-plan their notifications (follow-ups, vaccine reminders, tips) compare
    # the rows they want with the rows that exist; these are the outbox's side of that.

    async def pending_keys(self, kind: str, lo: str, hi: str | None = None) -> set[str]:
        """Dedupe keys of pending rows of `kind` with lo <= key < hi; without `hi`, every key
        starting with `lo` (a prefix)."""
        # `+status`: without it SQLite picks the (status, due_at) index and reads every
        # pending row of the outbox; the key range is far narrower.
        rows = await self.db.fetchall(
            "SELECT dedupe_key FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? "
            f"AND {self.db.unindexed('status')} = 'pending' AND kind = ?",
            (lo, lo + "\uffff" if hi is None else hi, kind),
        )
        return {r[0] for r in rows}

    async def pending_keys_by_resident(
        self, kind: str, prefix: str, resident_ids: Sequence[int] | None = None
    ) -> dict[int, set[str]]:
        """Dedupe keys of pending rows of `kind` starting with `prefix`, by resident; only
        `resident_ids` when given (None: everyone)."""
        sql = (
            "SELECT resident_id, dedupe_key FROM outbox WHERE status = 'pending' AND kind = ? "
            "AND dedupe_key >= ? AND dedupe_key < ?"
        )
        params: list[Any] = [kind, prefix, prefix + "\uffff"]
        if resident_ids is not None:
            if not resident_ids:
                return {}
            sql += f" AND resident_id IN ({_marks(len(resident_ids))})"
            params.extend(resident_ids)
        out: dict[int, set[str]] = {}
        for r in await self.db.fetchall(sql, params):
            out.setdefault(r[0], set()).add(r[1])
        return out

    async def taken_keys(self, dedupe_keys: Sequence[str]) -> set[str]:
        """Which of these dedupe keys a row holds that is not cancelled (a cancelled row's key
        is free to plan again)."""
        found: set[str] = set()
        for i in range(0, len(dedupe_keys), KEYS_PER_QUERY):
            part = list(dedupe_keys[i : i + KEYS_PER_QUERY])
            rows = await self.db.fetchall(_TAKEN_SQL.format(_marks(len(part))), part)
            found.update(r[0] for r in rows)
        return found

    async def revive_cancelled(
        self, kind: str, rows: Sequence[tuple[str, datetime, datetime | None]], now: datetime
    ) -> int:
        """Put cancelled rows of `kind` back to pending with new times: (dedupe_key, due_at,
        expires_at); the rows revived.

        `plan` ignores a dedupe key that exists, so a notification cancelled when a plan
        changed (a condition removed, a dose recorded by mistake) and wanted again (the
        condition re-added, the mistake undone) would otherwise never be sent."""
        if not rows:
            return 0
        async with self.db.write() as conn:
            before = conn.total_changes
            await conn.executemany(
                "UPDATE outbox SET status = 'pending', due_at = ?, expires_at = ?, updated_at = ? "
                "WHERE dedupe_key = ? AND kind = ? AND status = 'cancelled'",
                [
                    (_ts(due), _ts(exp) if exp else None, _ts(now), key, kind)
                    for key, due, exp in rows
                ],
            )
            return conn.total_changes - before

    async def for_resident(self, resident_id: int, kind: str | None = None) -> list[OutboxRow]:
        sql = "SELECT * FROM outbox WHERE resident_id = ?"
        params: list[Any] = [resident_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return [to_row(r) for r in await self.db.fetchall(sql + " ORDER BY due_at, id", params)]


# -- delivery: claiming, recording, catching up ------------------------------------------------
# The dispatcher moves rows pending -> sending (claimed) -> a final status, or back to pending
# with a later due_at. A row stays 'sending' only between its claim and the recording of its
# outcome; those rows are what a crash may send twice.


_RESULT_SQL = (
    "UPDATE outbox SET status = ?, due_at = COALESCE(?, due_at), attempts = attempts + ?, "
    "last_error = ?, updated_at = ? WHERE id = ? AND status = 'sending'"
)


def _channels_clause(channels: Sequence[str]) -> tuple[str, list[str]]:
    if not channels:
        raise ValueError("no channels to deliver to")
    return ",".join("?" * len(channels)), list(channels)


class DeliveryStore:
    """The dispatcher's queries on the outbox. Only rows of residents on `channels` (those this
    process can send to) are claimed, so a process never touches another channel's rows."""

    def __init__(self, db: Database, district: str = ALL_DISTRICTS) -> None:
        self.db = db
        # A process that serves one district (its own bot) sends only that district's rows;
        # ALL_DISTRICTS (one bot shared by all) sends everyone's.
        self.district = district

    def _district(self, alias: str) -> tuple[str, list[str]]:
        if self.district == ALL_DISTRICTS:
            return "", []
        return f" AND {alias}district_code = ?", [self.district]

    async def claim(self, now: int, limit: int, channels: Sequence[str]) -> list[Claimed]:
        """Mark up to `limit` due pending rows `sending` (claimed at `now`) in one transaction;
        return them, oldest due first, with their residents."""
        if limit <= 0:
            return []
        marks, chans = _channels_clause(channels)
        scope, district = self._district("r.")
        async with self.db.write() as conn:
            # CROSS JOIN keeps outbox as the outer loop, walking the (status, due_at) index in
            # order; otherwise SQLite may start from residents and sort every pending row.
            async with conn.execute(
                "UPDATE outbox SET status = 'sending', updated_at = ? WHERE id IN ("
                f" SELECT o.id FROM outbox o {self.db.outer_join} residents r"
                " ON r.id = o.resident_id"
                f" WHERE o.status = 'pending' AND o.due_at <= ? AND r.channel IN ({marks})"
                f"{scope} ORDER BY o.due_at, o.id LIMIT ?) RETURNING id",
                [now, now, *chans, *district, limit],
            ) as cur:
                ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return []
            id_marks = ",".join("?" * len(ids))
            async with conn.execute(
                f"SELECT * FROM outbox WHERE id IN ({id_marks}) ORDER BY due_at, id", ids
            ) as cur:
                rows = [to_row(r) for r in await cur.fetchall()]
            people = sorted({r.resident_id for r in rows})
            async with conn.execute(
                f"SELECT {_RESIDENT_COLUMNS} FROM residents r "
                f"WHERE r.id IN ({','.join('?' * len(people))})",
                people,
            ) as cur:
                residents = {r["id"]: _resident(r) for r in await cur.fetchall()}
        return [Claimed(r, residents[r.resident_id]) for r in rows]

    async def record(self, results: Sequence[Result], now: int) -> None:
        """Write the outcomes of claimed rows in one transaction."""
        if not results:
            return
        await self.db.executemany(
            _RESULT_SQL,
            [(r.status, _due(r), int(r.attempt), r.error, now, r.row_id) for r in results],
        )

    async def recover(self, now: int, channels: Sequence[str], own: bool = False) -> int:
        """Put rows a crashed process left `sending` back to pending; return how many.
        (`own`: PostgreSQL only, see PgDeliveryStore.recover.)

        Their messages may or may not have gone out: this is the in-flight window that can be
        delivered twice, never lost."""
        marks, chans = _channels_clause(channels)
        scope, district = self._district("r.")
        return await self.db.execute(
            "UPDATE outbox SET status = 'pending', updated_at = ?, "
            "last_error = 'interrupted while sending; resent after restart' "
            "WHERE status = 'sending' AND resident_id IN "
            f"(SELECT r.id FROM residents r WHERE r.channel IN ({marks}){scope})",
            [now, *chans, *district],
        )

    async def expire_overdue(self, now: int) -> int:
        """Mark pending rows whose expiry has passed `expired` (catch-up after downtime)."""
        return await self.db.execute(
            "UPDATE outbox SET status = 'expired', updated_at = ?, "
            "last_error = 'expired before it could be sent' "
            "WHERE status = 'pending' AND due_at <= ? AND expires_at IS NOT NULL "
            "AND expires_at <= ?",
            (now, now, now),
        )

    async def next_due(self, channels: Sequence[str]) -> int | None:
        """The due time of the earliest pending row this process could send, if any."""
        marks, chans = _channels_clause(channels)
        scope, district = self._district("r.")
        return cast(
            "int | None",
            await self.db.fetchval(
                f"SELECT o.due_at FROM outbox o {self.db.outer_join} residents r "
                "ON r.id = o.resident_id "
                f"WHERE o.status = 'pending' AND r.channel IN ({marks}){scope} "
                "ORDER BY o.due_at LIMIT 1",
                [*chans, *district],
            ),
        )

    async def open_count(self) -> int:
        """Rows not yet in a final state (pending or sending), for tests and benchmarks."""
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
            )
        )

    def _rows_of_district(self) -> tuple[str, list[str]]:
        """A condition keeping outbox rows of this store's district's residents."""
        if self.district == ALL_DISTRICTS:
            return "1 = 1", []
        return (
            "resident_id IN (SELECT id FROM residents WHERE district_code = ?)",
            [self.district],
        )

    async def status(self, now: int, failed_limit: int = 20) -> OutboxStatus:
        """The queue of this district's residents (all of them for ALL_DISTRICTS)."""
        mine, d = self._rows_of_district()
        by_status = {
            r[0]: r[1]
            for r in await self.db.fetchall(
                f"SELECT status, COUNT(*) FROM outbox WHERE {mine} GROUP BY status ORDER BY status",
                d,
            )
        }
        open_by_kind = {
            (r[0], r[1]): r[2]
            for r in await self.db.fetchall(
                "SELECT kind, status, COUNT(*) FROM outbox "
                f"WHERE status IN ('pending', 'sending', 'failed') AND {mine} "
                "GROUP BY kind, status ORDER BY kind, status",
                d,
            )
        }
        due_now = await self.db.fetchval(
            f"SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND due_at <= ? AND {mine}",
            (now, *d),
        )
        oldest = await self.db.fetchval(
            f"SELECT MIN(due_at) FROM outbox WHERE status = 'pending' AND due_at <= ? AND {mine}",
            (now, *d),
        )
        upcoming = await self.db.fetchval(
            f"SELECT MIN(due_at) FROM outbox WHERE status = 'pending' AND due_at > ? AND {mine}",
            (now, *d),
        )
        failed = [
            FailedRow(
                r["id"],
                r["resident_id"],
                r["kind"],
                r["attempts"],
                r["last_error"],
                from_unix(r["updated_at"]),
            )
            for r in await self.db.fetchall(
                "SELECT id, resident_id, kind, attempts, last_error, updated_at FROM outbox "
                f"WHERE status = 'failed' AND {mine} ORDER BY updated_at DESC, id DESC LIMIT ?",
                (*d, failed_limit),
            )
        ]
        return OutboxStatus(
            by_status,
            open_by_kind,
            int(due_now),
            None if oldest is None else from_unix(oldest),
            None if upcoming is None else from_unix(upcoming),
            failed,
        )

    async def retry_failed(self, now: int, kind: str | None = None, ids: Sequence[int] = ()) -> int:
        """Put failed rows (of this district's residents) back to pending, due now, with a
        fresh attempt budget."""
        mine, d = self._rows_of_district()
        sql = (
            "UPDATE outbox SET status = 'pending', due_at = ?, attempts = 0, last_error = NULL, "
            f"updated_at = ? WHERE status = 'failed' AND {mine}"
        )
        params: list[Any] = [now, now, *d]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if ids:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        return await self.db.execute(sql, params)

    async def prune(self, before: int) -> int:
        """Delete finished rows (not failed ones, which operators may still retry) last
        touched before `before`: the outbox is a delivery queue, not an archive."""
        return await self.db.execute(
            "DELETE FROM outbox WHERE status IN ('sent', 'expired', 'skipped', 'cancelled') "
            "AND updated_at < ?",
            (before,),
        )


# -- PostgreSQL: several workers claim from one outbox -------------------------------------
# A claim is `FOR UPDATE SKIP LOCKED`, so workers claiming at the same instant take disjoint
# rows without waiting for each other. It also takes a transaction-scoped advisory lock per
# resident and skips residents with a row in flight or sent in the last per-chat interval:
# one resident's rows are only ever in one worker's hands, so Telegram's one message per chat
# per second holds across workers. Each claimed row is written to `cluster_claims` with the
# worker's id; a worker's heartbeat lock (bot/storage/cluster.py) tells live claims from a
# dead worker's, which any worker puts back to pending (`recover`).

# Two steps: the first takes the next due rows in index order (cheap, whatever the backlog);
# the per-resident checks and advisory locks run on those candidates only. In the first
# WHERE they would be evaluated on every due row before the LIMIT (40 ms a claim at 3,000
# rows; at 100,000 the advisory locks exhausted the server's lock table). A candidate whose
# resident is busy elsewhere is simply not picked this time (its row lock ends at commit).
# A process that serves one district claims, recovers and waits for only its rows; NULL
# (ALL_DISTRICTS, a shared bot) means every district.
_PG_DISTRICT = "(%(district)s::text IS NULL OR r.district_code = %(district)s)"
_PG_CLAIM = (
    "WITH cand AS ("
    " SELECT o.id, o.resident_id, o.due_at FROM outbox o JOIN residents r ON r.id = o.resident_id"
    " WHERE o.status = 'pending' AND o.due_at <= %(now)s AND r.channel = ANY(%(channels)s)"
    f" AND {_PG_DISTRICT}"
    " ORDER BY o.due_at LIMIT %(scan)s FOR UPDATE OF o SKIP LOCKED),"
    " picked AS (SELECT c.id FROM cand c WHERE NOT EXISTS (SELECT 1 FROM outbox s"
    "  WHERE s.resident_id = c.resident_id AND (s.status = 'sending'"
    "  OR (s.status = 'sent' AND s.updated_at >= %(now)s - %(gap)s)))"
    " AND pg_try_advisory_xact_lock(%(ns)s, c.resident_id::int)"
    " ORDER BY c.due_at, c.id LIMIT %(limit)s),"
    " upd AS (UPDATE outbox SET status = 'sending', updated_at = %(now)s FROM picked"
    " WHERE outbox.id = picked.id RETURNING outbox.*),"
    " mine AS (INSERT INTO cluster_claims (row_id, worker) SELECT id, %(worker)s FROM upd"
    " ON CONFLICT (row_id) DO UPDATE SET worker = excluded.worker)"
    " SELECT * FROM upd ORDER BY due_at, id"
)
_PG_RESULT = (
    "UPDATE outbox SET status = %s, due_at = COALESCE(%s, due_at), attempts = attempts + %s, "
    "last_error = %s, updated_at = %s WHERE id = %s AND status = 'sending'"
)


class PgDeliveryStore(DeliveryStore):
    """The dispatcher's queries for a cluster of workers on PostgreSQL (see above). Reads and
    writes other than claiming and recording go through `Database` as on SQLite."""

    def __init__(
        self,
        db: Database,
        *,
        pg: PgCluster,
        per_chat_interval: float = 1.0,
        district: str = ALL_DISTRICTS,
    ) -> None:
        super().__init__(db, district)
        self.pg = pg
        self._pg_district = None if district == ALL_DISTRICTS else district
        # Whole seconds, rounded up: updated_at is unix seconds. Without a per-chat limit
        # (benchmarks) a resident's last send never holds back their next row.
        self._chat_gap = 0 if per_chat_interval <= 0 else int(-(-per_chat_interval // 1))

    async def claim(self, now: int, limit: int, channels: Sequence[str]) -> list[Claimed]:
        if limit <= 0:
            return []
        _channels_clause(channels)
        params = {
            "now": now,
            "channels": list(channels),
            "limit": limit,
            "scan": limit * 2,
            "worker": self.pg.worker,
            "gap": self._chat_gap if self._chat_gap else -(2**40),
            "ns": NS_RESIDENT,
            "district": self._pg_district,
        }
        async with self.pg.pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute(_PG_CLAIM, params)
                rows = [to_row(r) for r in await cur.fetchall()]
                if not rows:
                    return []
                people = sorted({r.resident_id for r in rows})
                cur = await conn.execute(
                    f"SELECT {_RESIDENT_COLUMNS} FROM residents r WHERE r.id = ANY(%s)",
                    (people,),
                )
                found = await cur.fetchall()
        residents = {r[0]: _resident(r) for r in found}
        return [Claimed(r, residents[r.resident_id]) for r in rows if r.resident_id in residents]

    async def record(self, results: Sequence[Result], now: int) -> None:
        if not results:
            return
        async with self.pg.pool.connection() as conn:
            async with conn.transaction():
                async with conn.cursor() as cur:
                    await cur.executemany(
                        _PG_RESULT,
                        [
                            (r.status, _due(r), int(r.attempt), r.error, now, r.row_id)
                            for r in results
                        ],
                    )
                await conn.execute(
                    "DELETE FROM cluster_claims WHERE row_id = ANY(%s)",
                    ([r.row_id for r in results],),
                )

    async def recover(self, now: int, channels: Sequence[str], own: bool = False) -> int:
        """Put rows claimed by dead workers (and rows `sending` with no claim, e.g. copied
        from SQLite) back to pending. Live workers' rows are left alone, so a worker starting
        next to others takes nothing from them. `own`: this worker's claims too (its
        dispatcher is not running, so nothing of its own is in flight: start-up catch-up)."""
        _channels_clause(channels)
        async with self.pg.pool.connection() as conn:
            cur = await conn.execute("SELECT DISTINCT worker FROM cluster_claims")
            workers = [r[0] for r in await cur.fetchall()]
        dead = [
            w for w in workers if (own and w == self.pg.worker) or not await self.pg.is_alive(w)
        ]
        async with self.pg.pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute(
                    "UPDATE outbox SET status = 'pending', updated_at = %(now)s, "
                    "last_error = 'interrupted while sending; resent after restart' "
                    "WHERE id IN (SELECT o.id FROM outbox o "
                    " JOIN residents r ON r.id = o.resident_id"
                    " LEFT JOIN cluster_claims c ON c.row_id = o.id"
                    " WHERE o.status = 'sending'"
                    " AND (c.row_id IS NULL OR c.worker = ANY(%(dead)s))"
                    f" AND {_PG_DISTRICT}"
                    " FOR UPDATE OF o SKIP LOCKED)",
                    {"now": now, "dead": dead, "district": self._pg_district},
                )
                back = int(cur.rowcount)
                if dead:
                    await conn.execute("DELETE FROM cluster_claims WHERE worker = ANY(%s)", (dead,))
        return back

    async def expire_overdue(self, now: int) -> int:
        async with self.pg.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE outbox SET status = 'expired', updated_at = %(now)s, "
                "last_error = 'expired before it could be sent' WHERE id IN ("
                " SELECT id FROM outbox WHERE status = 'pending' AND due_at <= %(now)s"
                " AND expires_at IS NOT NULL AND expires_at <= %(now)s FOR UPDATE SKIP LOCKED)",
                {"now": now},
            )
            return int(cur.rowcount)

    async def next_due(self, channels: Sequence[str]) -> int | None:
        _channels_clause(channels)
        async with self.pg.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT o.due_at FROM outbox o JOIN residents r ON r.id = o.resident_id "
                "WHERE o.status = 'pending' AND r.channel = ANY(%(channels)s) "
                f"AND {_PG_DISTRICT} ORDER BY o.due_at LIMIT 1",
                {"channels": list(channels), "district": self._pg_district},
            )
            got = await cur.fetchone()
        return None if got is None else int(got[0])
