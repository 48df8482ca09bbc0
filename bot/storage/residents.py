"""Residents and their conversation state: loaded together, once per update."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.domain.residents import ConversationState, Resident
from bot.storage.db import Database
from bot.storage.times import from_iso, iso


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _moment(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


def _column(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return iso(value) if isinstance(value, datetime) else value


_RESIDENT_COLUMNS = (
    "r.id, r.channel, r.channel_user_id, r.locale, r.elder_mode, r.consent_at, "
    "r.unreachable_at, r.quiet_start, r.quiet_end, r.created_at"
)


def _resident(row: Any) -> Resident:
    # By position, in _RESIDENT_COLUMNS' order: a name lookup in a row scans its columns.
    return Resident(
        row[0],
        row[1],
        row[2],
        row[3],
        bool(row[4]),
        _moment(row[5]),
        _moment(row[6]),
        row[7],
        row[8],
        _moment(row[9]),
    )


class ResidentStore:
    def __init__(self, db: Database, district: str = "default") -> None:
        self.db = db
        # The district a resident created here starts in (issue 14): the process's district;
        # choosing a home community moves them to that community's district.
        self.district = district

    async def load(self, channel: str, user_id: str) -> tuple[Resident, ConversationState] | None:
        """The resident and their conversation state in one read, or None if unknown."""
        row = await self.db.fetchone(
            f"SELECT {_RESIDENT_COLUMNS}, c.state, c.data FROM residents r "
            "LEFT JOIN conversations c ON c.resident_id = r.id "
            "WHERE r.channel = ? AND r.channel_user_id = ?",
            (channel, user_id),
        )
        if row is None:
            return None
        name, data = row[10], row[11]
        state = ConversationState(name, json.loads(data) if data and data != "{}" else {})
        return _resident(row), state

    async def get(self, resident_id: int) -> Resident | None:
        row = await self.db.fetchone(
            f"SELECT {_RESIDENT_COLUMNS} FROM residents r WHERE r.id = ?", (resident_id,)
        )
        return None if row is None else _resident(row)

    async def create(self, channel: str, user_id: str) -> Resident:
        """Insert the resident if new; return the stored row either way (safe to race).

        The insert is one statement (atomic on its own, one trip to the writer); whoever won
        a race, the row is committed when the read after it runs.
        """
        if self.district == "default":  # the column's default: the statement of old
            await self.db.execute(
                "INSERT INTO residents (channel, channel_user_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (channel, channel_user_id) DO NOTHING",
                (channel, user_id, _now_iso()),
            )
        else:
            await self.db.execute(
                "INSERT INTO residents (channel, channel_user_id, created_at, district_code) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel, channel_user_id) DO NOTHING",
                (channel, user_id, _now_iso(), self.district),
            )
        row = await self.db.fetchone(
            f"SELECT {_RESIDENT_COLUMNS} FROM residents r "
            "WHERE r.channel = ? AND r.channel_user_id = ?",
            (channel, user_id),
        )
        if row is None:
            # Deleted in between by another process (this user's own updates are serialised).
            raise RuntimeError("resident deleted while being created")
        return _resident(row)

    async def update(self, resident: Resident, **changes: Any) -> Resident:
        allowed = {
            "locale",
            "elder_mode",
            "consent_at",
            "unreachable_at",
            "quiet_start",
            "quiet_end",
        }
        bad = set(changes) - allowed
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        if not changes:
            return resident
        cols = ", ".join(f"{k} = ?" for k in changes)
        values = [_column(v) for v in changes.values()]
        await self.db.execute(f"UPDATE residents SET {cols} WHERE id = ?", [*values, resident.id])
        return replace(resident, **changes)

    async def mark_unreachable(self, resident_id: int) -> None:
        await self.db.execute(
            "UPDATE residents SET unreachable_at = ? WHERE id = ? AND unreachable_at IS NULL",
            (_now_iso(), resident_id),
        )

    async def mark_reachable(self, resident_id: int) -> None:
        await self.db.execute(
            "UPDATE residents SET unreachable_at = NULL "
            "WHERE id = ? AND unreachable_at IS NOT NULL",
            (resident_id,),
        )

    async def save_state(self, resident_id: int, state: ConversationState) -> None:
        if state.name is None:
            await self.db.execute("DELETE FROM conversations WHERE resident_id = ?", (resident_id,))
            return
        await self.db.execute(
            "INSERT INTO conversations (resident_id, state, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (resident_id) DO UPDATE SET state = excluded.state, "
            "data = excluded.data, updated_at = excluded.updated_at",
            (resident_id, state.name, json.dumps(state.data, ensure_ascii=False), _now_iso()),
        )

    async def export(self, resident_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the resident, found by following foreign keys from residents.

        New features need no export code: a table that references residents (or a table that
        does) is included automatically.
        """
        tables = await self._tables_by_reference()
        out: dict[str, list[dict[str, Any]]] = {}
        row = await self.db.fetchone("SELECT * FROM residents WHERE id = ?", (resident_id,))
        if row is None:
            return out
        out["residents"] = [dict(row)]
        ids: dict[str, set[Any]] = {"residents": {resident_id}}
        frontier = ["residents"]
        while frontier:
            parent = frontier.pop(0)
            for child, fk_col, parent_col in tables.get(parent, []):
                if child in out or (parent_col != "id" and parent_col is not None):
                    continue
                keys = sorted(ids[parent])
                if not keys:
                    continue
                marks = ",".join("?" * len(keys))
                rows = await self.db.fetchall(
                    f'SELECT * FROM "{child}" WHERE "{fk_col}" IN ({marks})', keys
                )
                out[child] = [dict(r) for r in rows]
                ids[child] = {r["id"] for r in rows if "id" in r.keys()}
                frontier.append(child)
        if row["channel"] == "web":
            # A web chat visitor's session is keyed by the visitor, the resident's
            # channel_user_id, not by a foreign key: found here, so /mydata lists it too.
            visitor = row["channel_user_id"]
            for table in ("web_visitors", "web_tokens"):
                rows = await self.db.fetchall(
                    f'SELECT * FROM "{table}" WHERE visitor = ?', (visitor,)
                )
                out[table] = [dict(r) for r in rows]
        return out

    async def _tables_by_reference(self) -> dict[str, list[tuple[str, str, str | None]]]:
        refs: dict[str, list[tuple[str, str, str | None]]] = {}
        for fk in await self.db.foreign_keys():
            refs.setdefault(fk.parent, []).append((fk.child, fk.fk_col, fk.parent_col))
        return refs

    async def discard(self, resident_id: int) -> None:
        """Remove a row that only stood in for a draft during one turn (a web visitor who has
        not consented: see bot.channels.web). Not /delete: the visitor's session stays."""
        await self.db.execute(
            "DELETE FROM residents WHERE id = ? AND consent_at IS NULL", (resident_id,)
        )

    async def delete(self, resident_id: int) -> bool:
        """Delete the resident and, by cascade, everything that references them.

        What must outlive them is kept without them: audit entries about the resident get a
        random pseudonym (drawn now, stored nowhere else) in place of their id. Their web
        sessions end. Then the WAL is checkpointed: with secure_delete the deleted rows are
        zeros in the database file, and the -wal file, which still held copies of them, is
        truncated.
        """
        subject = "anon-" + secrets.token_hex(8)
        mention = re.compile(rf"\baccount={resident_id}\b")
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT id, details FROM audit_log WHERE target_resident_id = ? OR details LIKE ?",
                (resident_id, f"%account={resident_id}%"),
            ) as cur:
                entries = await cur.fetchall()
            for entry_id, details in entries:
                await conn.execute(
                    "UPDATE audit_log SET target_resident_id = NULL, subject = ?, details = ? "
                    "WHERE id = ?",
                    (subject, mention.sub(f"account={subject}", details), entry_id),
                )
            await conn.execute(
                "DELETE FROM web_visitors WHERE visitor IN (SELECT channel_user_id FROM "
                "residents WHERE id = ? AND channel = 'web')",
                (resident_id,),
            )
            cur = await conn.execute("DELETE FROM residents WHERE id = ?", (resident_id,))
            deleted = cur.rowcount > 0
        if deleted:
            await self.db.checkpoint()
        return deleted
