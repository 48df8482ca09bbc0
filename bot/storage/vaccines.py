"""Children, their guardians and doses, share invites, adults' vaccine records; and the read-only
view of the vaccine reminders' outbox rows that re-planning needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.vaccines import AdultRecord, Child, ChildDoses, ChildRecord
from bot.storage.db import Database, inserted_id
from bot.storage.outbox import INSERT_LIVE_SQL
from bot.storage.times import from_unix


def parse_doses(text: str) -> dict[str, date]:
    """The doses of a `ChildDoses.doses` text: {code: date given}."""
    result: dict[str, date] = {}
    for item in text.split(" ") if text else ():
        code, _, on = item.partition("@")
        result[code] = date.fromisoformat(on)
    return result


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return int(value.timestamp())


def _child(r: Any) -> Child:
    return Child(
        r["id"],
        r["owner_id"],
        r["nickname"],
        date.fromisoformat(r["born"]),
        from_unix(r["created_at"]),
        r["sex"],
    )


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


_CHILD_COLS = "c.id, c.owner_id, c.nickname, c.born, c.created_at, c.sex"


class VaccineStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # SQLite concatenates in the primary key's (child, dose) order, as it reads them;
        # PostgreSQL is told that order.
        self._concat_doses = (
            "string_agg(d.dose || '@' || d.given_on, ' ' ORDER BY d.dose)"
            if db.dialect == "postgres"
            else "group_concat(d.dose || '@' || d.given_on, ' ')"
        )

    # -- children -----------------------------------------------------------------------
    async def add_child(self, owner_id: int, nickname: str, born: date, now: datetime) -> Child:
        ts = _ts(now)
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO children (owner_id, nickname, born, created_at) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (owner_id, nickname, born.isoformat(), ts),
            )
            child_id = await inserted_id(cur)
            await conn.execute(
                "INSERT INTO child_guardians (child_id, resident_id, role, added_at) "
                "VALUES (?, ?, 'owner', ?)",
                (child_id, owner_id, ts),
            )
        assert child_id is not None
        return Child(child_id, owner_id, nickname, born, from_unix(ts))

    async def children_of(self, resident_id: int) -> list[Child]:
        """The children a resident looks after (owned or shared), oldest entry first."""
        rows = await self.db.fetchall(
            f"SELECT {_CHILD_COLS} FROM child_guardians g JOIN children c ON c.id = g.child_id "
            "WHERE g.resident_id = ? ORDER BY c.id",
            (resident_id,),
        )
        return [_child(r) for r in rows]

    async def count_children(self, resident_id: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM child_guardians WHERE resident_id = ?", (resident_id,)
            )
        )

    async def record(self, child_id: int) -> ChildRecord | None:
        row = await self.db.fetchone(
            f"SELECT {_CHILD_COLS} FROM children c WHERE c.id = ?", (child_id,)
        )
        doses = await self.doses_of(child_id) if row is not None else None
        if row is None or doses is None:  # (or deleted in between)
            return None
        return ChildRecord(_child(row), doses.guardians, parse_doses(doses.doses))

    async def doses_after(self, after_id: int, limit: int) -> list[ChildDoses]:
        """Keyset pagination over every child (the daily job, the bench), in id order."""
        return await self._doses(
            "SELECT id, born, sex FROM children WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )

    async def doses_of(self, child_id: int) -> ChildDoses | None:
        found = await self._doses("SELECT id, born, sex FROM children WHERE id = ?", (child_id,))
        return found[0] if found else None

    async def _doses(self, children_sql: str, params: Sequence[Any]) -> list[ChildDoses]:
        # One row per child and guardian (the owner first, then by id), the doses concatenated
        # in the primary key's (child, dose) order: equal dose sets give equal texts.
        rows = await self.db.fetchall(
            f"SELECT c.id, c.born, g.resident_id, (SELECT {self._concat_doses} "
            "FROM child_doses d WHERE d.child_id = c.id), c.sex "
            f"FROM ({children_sql}) c LEFT JOIN child_guardians g ON g.child_id = c.id "
            "ORDER BY c.id, g.role <> 'owner', g.resident_id",
            params,
        )
        out: list[ChildDoses] = []
        i, n = 0, len(rows)
        while i < n:
            child_id, born, rid, doses, sex = rows[i]
            guardians = [] if rid is None else [rid]
            i += 1
            while i < n and rows[i][0] == child_id:
                guardians.append(rows[i][2])
                i += 1
            out.append(ChildDoses(child_id, tuple(guardians), born, doses or "", sex or ""))
        return out

    async def set_sex(self, child_id: int, sex: str) -> None:
        if sex not in ("female", "male"):
            raise ValueError(f"unknown sex {sex!r}")
        await self.db.execute("UPDATE children SET sex = ? WHERE id = ?", (sex, child_id))

    async def rename(self, child_id: int, nickname: str) -> None:
        await self.db.execute("UPDATE children SET nickname = ? WHERE id = ?", (nickname, child_id))

    async def leave(self, child_id: int, resident_id: int) -> bool:
        """The resident stops looking after the child. The last guardian leaving deletes the
        child; an owner leaving hands it over to the next guardian. True if the child is gone."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT resident_id FROM child_guardians WHERE child_id = ? AND resident_id <> ? "
                "ORDER BY added_at, resident_id LIMIT 1",
                (child_id, resident_id),
            ) as cur:
                heir = await cur.fetchone()
            if heir is None:
                await conn.execute("DELETE FROM children WHERE id = ?", (child_id,))
                return True
            await conn.execute(
                "UPDATE children SET owner_id = ? WHERE id = ? AND owner_id = ?",
                (heir[0], child_id, resident_id),
            )
            await conn.execute(
                "UPDATE child_guardians SET role = 'owner' WHERE child_id = ? AND resident_id = ? "
                "AND (SELECT owner_id FROM children WHERE id = ?) = ?",
                (child_id, heir[0], child_id, heir[0]),
            )
            await conn.execute(
                "DELETE FROM child_guardians WHERE child_id = ? AND resident_id = ?",
                (child_id, resident_id),
            )
            return False

    # -- doses --------------------------------------------------------------------------
    async def set_doses(self, child_id: int, doses: dict[str, date], now: datetime) -> None:
        """Record doses as given (a date recorded again replaces the old one)."""
        if not doses:
            return
        await self.db.executemany(
            "INSERT INTO child_doses (child_id, dose, given_on, recorded_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (child_id, dose) DO UPDATE SET given_on = excluded.given_on, "
            "recorded_at = excluded.recorded_at",
            [(child_id, dose, on.isoformat(), _ts(now)) for dose, on in doses.items()],
        )

    async def remove_doses(self, child_id: int, doses: Iterable[str]) -> int:
        codes = list(doses)
        if not codes:
            return 0
        return await self.db.execute(
            f"DELETE FROM child_doses WHERE child_id = ? AND dose IN ({_marks(codes)})",
            [child_id, *codes],
        )

    # -- sharing ------------------------------------------------------------------------
    async def add_invite(
        self, child_id: int, code_hash: str, now: datetime, expires: datetime
    ) -> None:
        await self.db.execute(
            "INSERT INTO child_invites (code_hash, child_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (code_hash, child_id, _ts(now), _ts(expires)),
        )

    async def redeem_invite(
        self, code_hash: str, resident_id: int, now: datetime, max_guardians: int
    ) -> tuple[str, int | None]:
        """Use an invite: ('ok', child_id), or ('unknown' | 'used' | 'expired' | 'already' |
        'full', child_id or None). Checked and used in one transaction, so a code works once."""
        ts = _ts(now)
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT child_id, expires_at, used_at FROM child_invites WHERE code_hash = ?",
                (code_hash,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return "unknown", None
            child_id = int(row[0])
            if row[2] is not None:
                return "used", child_id
            if row[1] <= ts:
                return "expired", child_id
            async with conn.execute(
                "SELECT resident_id FROM child_guardians WHERE child_id = ?", (child_id,)
            ) as cur:
                present = {r[0] for r in await cur.fetchall()}
            if resident_id in present:
                return "already", child_id
            if len(present) >= max_guardians:
                return "full", child_id
            await conn.execute(
                "UPDATE child_invites SET used_at = ? WHERE code_hash = ?", (ts, code_hash)
            )
            await conn.execute(
                "INSERT INTO child_guardians (child_id, resident_id, role, added_at) "
                "VALUES (?, ?, 'guardian', ?)",
                (child_id, resident_id, ts),
            )
            return "ok", child_id

    # -- adults -------------------------------------------------------------------------
    async def adult_records(self, resident_ids: Sequence[int]) -> dict[int, list[AdultRecord]]:
        out: dict[int, list[AdultRecord]] = {}
        ids = list(resident_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            for r in await self.db.fetchall(
                "SELECT resident_id, vaccine, season, outcome, recorded_on FROM adult_vaccines "
                f"WHERE resident_id IN ({_marks(part)})",
                part,
            ):
                out.setdefault(r[0], []).append(
                    AdultRecord(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]))
                )
        return out

    async def set_adult(
        self, resident_id: int, vaccine: str, season: int, outcome: str, on: date
    ) -> None:
        await self.db.execute(
            "INSERT INTO adult_vaccines (resident_id, vaccine, season, outcome, recorded_on) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resident_id, vaccine, season) DO UPDATE SET "
            "outcome = excluded.outcome, recorded_on = excluded.recorded_on",
            (resident_id, vaccine, season, outcome, on.isoformat()),
        )

    async def clear_adult(self, resident_id: int, vaccine: str, season: int) -> None:
        await self.db.execute(
            "DELETE FROM adult_vaccines WHERE resident_id = ? AND vaccine = ? AND season = ?",
            (resident_id, vaccine, season),
        )

    # -- the reminders' outbox rows (read-only view, plus reviving cancelled ones) ----------
    async def pending_keys(self, kind: str, lo: str, hi: str) -> set[str]:
        """Dedupe keys of pending rows of `kind` with lo <= key < hi (a child id range)."""
        # `+status`: without it SQLite picks the (status, due_at) index and reads every
        # pending row of the outbox for each batch of children; the key range is far narrower.
        rows = await self.db.fetchall(
            "SELECT dedupe_key FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? "
            f"AND {self.db.unindexed('status')} = 'pending' AND kind = ?",
            (lo, hi, kind),
        )
        return {r[0] for r in rows}

    async def outbox_row(self, row_id: int) -> tuple[int, str, str] | None:
        """(resident_id, kind, payload) of one outbox row, for a reminder's buttons."""
        r = await self.db.fetchone(
            "SELECT resident_id, kind, payload FROM outbox WHERE id = ?", (row_id,)
        )
        return None if r is None else (r[0], r[1], r[2])

    async def insert_outbox(self, values: Sequence[Sequence[Any]]) -> int:
        """Insert reminder rows given as `outbox.row_values` tuples, ignoring existing dedupe
        keys and residents deleted since the job read them (/delete meanwhile), in one
        transaction; the rows added. The daily job builds those tuples straight
        from per-cohort templates: a `Planned` and a JSON encoding per row cost more than the
        insert itself."""
        if not values:
            return 0
        async with self.db.write() as conn:
            before = conn.total_changes
            await conn.executemany(INSERT_LIVE_SQL, values)
            return conn.total_changes - before

    async def revive_cancelled(
        self, kind: str, rows: Sequence[tuple[str, datetime, datetime | None]], now: datetime
    ) -> int:
        """Put cancelled rows back to pending with new times: (dedupe_key, due_at, expires_at).

        The outbox ignores a planned key that exists, so a reminder cancelled by an edit (a dose
        recorded by mistake) and wanted again (the mistake undone) would otherwise never go."""
        if not rows:
            return 0
        async with self.db.write() as conn:
            before = conn.total_changes
            await conn.executemany(
                "UPDATE outbox SET status = 'pending', due_at = ?, expires_at = ?, updated_at = ? "
                "WHERE dedupe_key = ? AND kind = ? AND status = 'cancelled'",
                [(_ts(d), _ts(e) if e else None, _ts(now), k, kind) for k, d, e in rows],
            )
            return conn.total_changes - before
