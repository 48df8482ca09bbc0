"""The SQL of My medicines: entries, planned doses and their answers, refill requests.

Dose reminders are outbox rows of kind `med_dose`, one per resident and moment (`params.at`,
unix seconds), whatever the number of medicines due then: the message is composed from the
doses still open when it is sent. Only answers are stored per dose (which doses were expected
follows from the entries: `Entry.expected_at`). Changes that touch answers and reminders
(stopping a medicine, answering a moment) run in one transaction with the outbox rows they
cancel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.domain.medicines import (
    DOSE_KIND,
    DoseStatus,
    Entry,
    Meals,
    NewEntry,
    Pickup,
    Refill,
    RefillStatus,
)
from bot.domain.outbox import Planned
from bot.storage.db import Database, inserted_id
from bot.storage.outbox import INSERT_OR_REVIVE_LIVE_SQL, KEYS_PER_QUERY, insert_planned

_ENTRY_COLUMNS = (
    "id, resident_id, catalog_id, name, name_en, ingredient, strength, amount, unit, times, "
    "meals, start_on, end_on, active, created_at, stopped_at"
)


def _param_at(dialect: str, table: str = "") -> str:
    """The slot a reminder row stands for: its payload's params.at (see the module
    docstring), an integer, in each dialect's JSON functions."""
    col = f"{table}.payload" if table else "payload"
    if dialect == "postgres":
        return f"(({col})::jsonb #>> '{{params,at}}')::bigint"
    return f"json_extract({col}, '$.params.at')"


def _entry(r: Any) -> Entry:
    return Entry(
        id=r["id"],
        resident_id=r["resident_id"],
        catalog_id=r["catalog_id"],
        name=r["name"],
        name_en=r["name_en"],
        ingredient=r["ingredient"],
        strength=r["strength"],
        amount=r["amount"],
        unit=r["unit"],
        times=tuple(t for t in r["times"].split(",") if t),
        meals=Meals(r["meals"]),
        start_on=date.fromisoformat(r["start_on"]),
        end_on=date.fromisoformat(r["end_on"]) if r["end_on"] else None,
        active=bool(r["active"]),
        created_at=r["created_at"],
        stopped_at=r["stopped_at"],
    )


def _refill(r: Any) -> Refill:
    items = json.loads(r["entries"])
    return Refill(
        id=r["id"],
        resident_id=r["resident_id"],
        doctor_id=r["doctor_id"],
        entry_ids=tuple(int(i["id"]) for i in items),
        names=tuple(str(i["name"]) for i in items),
        names_en=tuple(str(i.get("name_en", "")) for i in items),
        weeks=r["weeks"],
        pickup=Pickup(r["pickup"]),
        station_id=r["station_id"],
        family_name=r["family_name"],
        status=RefillStatus(r["status"]),
        ready_on=date.fromisoformat(r["ready_on"]) if r["ready_on"] else None,
        ready_station_id=r["ready_station_id"],
        reason=r["reason"],
        created_at=r["created_at"],
        decided_at=r["decided_at"],
    )


class MedicineStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._row_at = _param_at(db.dialect)
        self._pending_sql = (
            f"SELECT dedupe_key, {self._row_at} FROM outbox WHERE resident_id = ? AND kind = ? "
            "AND status = 'pending'"
        )
        self._concat_times = (
            "string_agg(e.times, ',' ORDER BY e.id)"
            if db.dialect == "postgres"
            else "group_concat(e.times, ',')"
        )
        # json_object's text; PostgreSQL's JSON text differs in spacing only.
        self._json_object = "jsonb_build_object" if db.dialect == "postgres" else "json_object"

    # -- entries --------------------------------------------------------------------------
    async def add(self, resident_id: int, e: NewEntry, now: int) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO med_entries (resident_id, catalog_id, name, name_en, ingredient, "
                "strength, amount, unit, times, meals, start_on, end_on, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    resident_id,
                    e.catalog_id,
                    e.name,
                    e.name_en,
                    e.ingredient,
                    e.strength,
                    e.amount,
                    e.unit,
                    ",".join(e.times),
                    str(e.meals),
                    e.start_on.isoformat(),
                    e.end_on.isoformat() if e.end_on else None,
                    now,
                ),
            )
            return await inserted_id(cur)

    async def entries(self, resident_id: int, active_only: bool = True) -> list[Entry]:
        sql = f"SELECT {_ENTRY_COLUMNS} FROM med_entries WHERE resident_id = ?"
        if active_only:
            sql += " AND active = 1"
        return [_entry(r) for r in await self.db.fetchall(sql + " ORDER BY id", (resident_id,))]

    async def entries_of(
        self, resident_ids: Sequence[int], stopped_since: int | None = None
    ) -> dict[int, list[Entry]]:
        """Entries of several residents: the active ones, and those stopped at or after
        `stopped_since` when given (their doses still count in that window)."""
        out: dict[int, list[Entry]] = {}
        for i in range(0, len(resident_ids), 500):
            part = list(resident_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            where = "active = 1" if stopped_since is None else "(active = 1 OR stopped_at >= ?)"
            params: list[Any] = [] if stopped_since is None else [stopped_since]
            for r in await self.db.fetchall(
                f"SELECT {_ENTRY_COLUMNS} FROM med_entries WHERE {where} "
                f"AND resident_id IN ({marks}) ORDER BY id",
                [*params, *part],
            ):
                out.setdefault(r["resident_id"], []).append(_entry(r))
        return out

    async def entry(self, resident_id: int, entry_id: int) -> Entry | None:
        r = await self.db.fetchone(
            f"SELECT {_ENTRY_COLUMNS} FROM med_entries WHERE id = ? AND resident_id = ?",
            (entry_id, resident_id),
        )
        return None if r is None else _entry(r)

    async def set_dose(self, resident_id: int, entry_id: int, amount: str, unit: str) -> bool:
        return (
            await self.db.execute(
                "UPDATE med_entries SET amount = ?, unit = ? "
                "WHERE id = ? AND resident_id = ? AND active = 1",
                (amount, unit, entry_id, resident_id),
            )
            > 0
        )

    async def stop(
        self, resident_id: int, entry_id: int, now: int, cancel_keys: Sequence[str]
    ) -> tuple[list[int], list[tuple[str, int]]] | None:
        """Stop a medicine and cancel these pending reminders (those left with no other
        medicine), together; (the moments of the rows cancelled, (dedupe key, moment) of the
        resident's reminders still pending after it), or None if it was not active."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE med_entries SET active = 0, stopped_at = ? "
                "WHERE id = ? AND resident_id = ? AND active = 1",
                (now, entry_id, resident_id),
            )
            if cur.rowcount == 0:
                return None
            cancelled: list[int] = []
            keys = list(cancel_keys)
            for i in range(0, len(keys), KEYS_PER_QUERY):
                part = keys[i : i + KEYS_PER_QUERY]
                async with conn.execute(
                    "UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE resident_id = ? "
                    f"AND status = 'pending' AND dedupe_key IN ({','.join('?' * len(part))}) "
                    f"RETURNING {self._row_at}",
                    [now, resident_id, *part],
                ) as c:
                    cancelled += [int(r[0]) for r in await c.fetchall()]
            async with conn.execute(self._pending_sql, (resident_id, DOSE_KIND)) as c:
                left = [(r[0], int(r[1])) for r in await c.fetchall()]
        return cancelled, left

    async def pending_reminders(self, resident_id: int) -> list[tuple[str, int]]:
        """(dedupe key, moment) of the resident's pending medicine reminders."""
        rows = await self.db.fetchall(self._pending_sql, (resident_id, DOSE_KIND))
        return [(r[0], int(r[1])) for r in rows]

    # -- planning -------------------------------------------------------------------------
    async def plan_rows(self, day: date, after_resident: int, limit: int) -> list[tuple[int, str]]:
        """(resident, the times of their active medicines that run on `day`, comma-separated)
        for up to `limit` reachable residents with id > after_resident, by resident."""
        iso = day.isoformat()
        rows = await self.db.fetchall(
            f"SELECT e.resident_id, {self._concat_times} FROM med_entries e "
            "JOIN residents r ON r.id = e.resident_id WHERE e.active = 1 AND e.resident_id > ? "
            "AND r.unreachable_at IS NULL AND e.start_on <= ? "
            "AND (e.end_on IS NULL OR e.end_on >= ?) "
            "GROUP BY e.resident_id ORDER BY e.resident_id LIMIT ?",
            (after_resident, iso, iso, limit),
        )
        return [(r[0], r[1]) for r in rows]

    async def write_plan(self, reminders: Sequence[tuple[Any, ...]]) -> int:
        """Insert reminder rows (outbox value tuples, as `outbox.row_values` builds) in one
        transaction; existing ones stay, cancelled ones come back, residents deleted since the
        plan was read get none. The rows added or revived."""
        async with self.db.write() as conn:
            before = conn.total_changes
            await conn.executemany(INSERT_OR_REVIVE_LIVE_SQL, reminders)
            return conn.total_changes - before

    async def plan_repeats(self, lo: int, hi: int, after: int, now: int) -> int:
        """Plan the repeat (`after` seconds past its moment) of each first reminder that was
        sent, whose moment is in [lo, hi), has no answer and no "later" row; the rows added.
        Any answer at a moment answers all of it (`answer`), so one is enough to skip it."""
        at = _param_at(self.db.dialect, "o")  # o's, also inside the subqueries
        obj = self._json_object
        return await self.db.execute(
            "INSERT INTO outbox (resident_id, kind, payload, due_at, expires_at, urgent, "
            "dedupe_key, group_key, created_at, updated_at) "
            f"SELECT o.resident_id, o.kind, CAST({obj}('key', 'repeat', 'params', "
            f"{obj}('at', {at})) AS TEXT), {at} + ?, o.expires_at, 1, "
            f"'mdr:' || o.resident_id || ':' || {at}, NULL, ?, ? FROM outbox o "
            # The first reminder's due_at is its moment, or later if a send was retried.
            "WHERE o.status = 'sent' AND o.due_at >= ? AND o.due_at < ? + 3600 AND o.kind = ? "
            f"AND o.dedupe_key >= 'md:' AND o.dedupe_key < 'md;' AND {at} >= ? "
            f"AND {at} < ? AND NOT EXISTS (SELECT 1 FROM med_doses d "
            f"WHERE d.resident_id = o.resident_id AND d.due_at = {at}) "
            "AND NOT EXISTS (SELECT 1 FROM outbox z WHERE z.dedupe_key "
            f"BETWEEN 'mdz:' || o.resident_id || ':' || {at} || ':' "
            f"AND 'mdz:' || o.resident_id || ':' || {at} || ';') "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            (after, now, now, lo, hi, DOSE_KIND, lo, hi),
        )

    # -- answers -------------------------------------------------------------------------
    async def answers(
        self, resident_ids: Sequence[int], lo: int, hi: int
    ) -> dict[tuple[int, int], tuple[str, int]]:
        """Stored answers with lo <= due_at < hi: (entry, due_at) -> (status, answered_at)."""
        out: dict[tuple[int, int], tuple[str, int]] = {}
        for i in range(0, len(resident_ids), 500):
            part = list(resident_ids[i : i + 500])
            rows = await self.db.fetchall(
                "SELECT entry_id, due_at, status, answered_at FROM med_doses WHERE resident_id "
                f"IN ({','.join('?' * len(part))}) AND due_at >= ? AND due_at < ?",
                [*part, lo, hi],
            )
            out.update({(r[0], r[1]): (r[2], r[3]) for r in rows})
        return out

    async def answer(
        self, resident_id: int, due_at: int, entry_ids: Sequence[int], status: DoseStatus, now: int
    ) -> int:
        """Store the answer for these doses (those not answered yet) and cancel the moment's
        other pending reminders (the repeat, a "later"); the doses answered."""
        async with self.db.write() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT INTO med_doses (resident_id, entry_id, due_at, status, answered_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (entry_id, due_at) DO NOTHING",
                [(resident_id, e, due_at, str(status), now) for e in entry_ids],
            )
            answered = conn.total_changes - before
            await conn.execute(
                "UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE resident_id = ? "
                f"AND kind = ? AND status = 'pending' AND {self._row_at} = ?",
                (now, resident_id, DOSE_KIND, due_at),
            )
            return answered

    async def snooze(self, resident_id: int, due_at: int, row: Planned, now: int) -> bool:
        """Replace the moment's pending reminders by one "later" row; False if that row
        exists already (the same button pressed twice)."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT 1 FROM outbox WHERE dedupe_key = ?", (row.dedupe_key,)
            ) as cur:
                if await cur.fetchone() is not None:
                    return False
            await conn.execute(
                "UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE resident_id = ? "
                f"AND kind = ? AND status = 'pending' AND {self._row_at} = ?",
                (now, resident_id, DOSE_KIND, due_at),
            )
            await insert_planned(conn, [row], now)
            return True

    async def residents_with_medicines(self, lo: int, hi: int) -> list[int]:
        """Reachable residents with a medicine that ran in [lo, hi): added before hi, and
        active or stopped after lo."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT e.resident_id FROM med_entries e JOIN residents r "
            "ON r.id = e.resident_id WHERE e.created_at < ? "
            "AND (e.active = 1 OR e.stopped_at >= ?) AND r.unreachable_at IS NULL "
            "ORDER BY e.resident_id",
            (hi, lo),
        )
        return [r[0] for r in rows]

    # -- refills --------------------------------------------------------------------------
    async def add_refill(
        self,
        resident_id: int,
        doctor_id: str,
        items: Sequence[tuple[int, str, str]],
        weeks: int,
        pickup: Pickup,
        station_id: str,
        family_name: str,
        now: int,
    ) -> int:
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO med_refills (resident_id, doctor_id, entries, weeks, pickup, "
                "station_id, family_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    resident_id,
                    doctor_id,
                    json.dumps(
                        [{"id": i, "name": n, "name_en": en} for i, n, en in items],
                        ensure_ascii=False,
                    ),
                    weeks,
                    str(pickup),
                    station_id,
                    family_name,
                    now,
                ),
            )
            return await inserted_id(cur)

    async def refill(self, refill_id: int) -> Refill | None:
        r = await self.db.fetchone("SELECT * FROM med_refills WHERE id = ?", (refill_id,))
        return None if r is None else _refill(r)

    async def refills_of(self, resident_id: int, limit: int = 5) -> list[Refill]:
        rows = await self.db.fetchall(
            "SELECT * FROM med_refills WHERE resident_id = ? ORDER BY created_at DESC, id DESC "
            "LIMIT ?",
            (resident_id, limit),
        )
        return [_refill(r) for r in rows]

    async def open_refills(self, doctor_ids: Sequence[str]) -> list[Refill]:
        """Requests waiting for a decision by one of these doctors' team, oldest first."""
        if not doctor_ids:
            return []
        rows = await self.db.fetchall(
            "SELECT * FROM med_refills WHERE status = 'requested' AND doctor_id IN "
            f"({','.join('?' * len(doctor_ids))}) ORDER BY created_at, id",
            list(doctor_ids),
        )
        return [_refill(r) for r in rows]

    async def decide_refill(
        self,
        refill_id: int,
        status: RefillStatus,
        doctor_id: str,
        now: int,
        notify: Planned,
        ready_on: date | None = None,
        ready_station_id: str = "",
        reason: str = "",
    ) -> Refill | None:
        """Decide a waiting request and plan the resident's notification, together; None if
        it was decided meanwhile."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE med_refills SET status = ?, ready_on = ?, ready_station_id = ?, "
                "reason = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'requested'",
                (
                    str(status),
                    ready_on.isoformat() if ready_on else None,
                    ready_station_id,
                    reason,
                    doctor_id,
                    now,
                    refill_id,
                ),
            )
            if cur.rowcount == 0:
                return None
            await insert_planned(conn, [notify], now)
            async with conn.execute("SELECT * FROM med_refills WHERE id = ?", (refill_id,)) as c:
                row = await c.fetchone()
        return _refill(row)
