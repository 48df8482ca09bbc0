"""SQL for doctors' broadcasts: audiences, the broadcast rows and their outbox rows, progress
counted from the outbox by group key, and cancelling.

A broadcast and one outbox row per recipient are written in one transaction, so a broadcast
never exists half-planned; its rows share the group key `bc:<id>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from bot.domain.broadcasts import (
    AUDIENCES,
    Broadcast,
    DoctorUnlinked,
    NewBroadcast,
    Progress,
    Recipient,
)
from bot.domain.outbox import Planned
from bot.storage.db import Database
from bot.storage.outbox import OutboxStore, insert_planned
from bot.storage.times import from_unix


def group_key(broadcast_id: int) -> str:
    return f"bc:{broadcast_id}"


def dedupe_key(broadcast_id: int, resident_id: int) -> str:
    return f"bc:{broadcast_id}:{resident_id}"


def report_key(broadcast_id: int) -> str:
    """The dedupe key of the broadcast's final report to the doctor (one per broadcast)."""
    return f"bcr:{broadcast_id}"


def _broadcast(row: Any) -> Broadcast:
    values = dict(row)
    values["urgent"] = bool(values["urgent"])
    for key in ("scheduled_at", "created_at", "finished_at"):
        if values[key] is not None:
            values[key] = from_unix(values[key])
    return Broadcast(**values)


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


class BroadcastStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- audiences ----------------------------------------------------------------------
    async def audience(
        self,
        doctor_ids: Sequence[str],
        audience: str,
        *,
        community: tuple[str, str] | None = None,
        born_by: int | None = None,
    ) -> list[Recipient]:
        """Residents signed to one of `doctor_ids` in the audience, by id.

        Every audience is a subset of the team's signed residents: the doctor ids come from
        the server's own record of the doctor, never from button data.
        """
        if not doctor_ids or audience not in AUDIENCES or audience == "vaccine":
            return []
        sql = (
            "SELECT s.resident_id, r.unreachable_at FROM signings s "
            "JOIN residents r ON r.id = s.resident_id "
            f"WHERE s.doctor_id IN ({_marks(doctor_ids)})"
            # Only residents of the team's own district (issue 14).
            " AND r.district_code IN (SELECT d.district_code FROM doctors d "
            f"WHERE d.id IN ({_marks(doctor_ids)}))"
        )
        params: list[Any] = [*doctor_ids, *doctor_ids]
        if audience in ("hypertension", "diabetes2"):
            sql += (
                " AND EXISTS (SELECT 1 FROM health_conditions c "
                "WHERE c.resident_id = s.resident_id AND c.condition = ?)"
            )
            params.append(audience)
        elif audience == "elderly":
            if born_by is None:
                raise ValueError("the 65+ audience needs born_by")
            sql += (
                " AND EXISTS (SELECT 1 FROM health_profiles p "
                "WHERE p.resident_id = s.resident_id AND p.birth_year <= ?)"
            )
            params.append(born_by)
        elif audience == "community":
            if community is None:
                raise ValueError("the community audience needs a community")
            sql += (
                " AND EXISTS (SELECT 1 FROM resident_homes h "
                "WHERE h.resident_id = s.resident_id AND h.town = ? AND h.community = ?)"
            )
            params.extend(community)
        rows = await self.db.fetchall(sql + " ORDER BY s.resident_id", params)
        return [Recipient(r[0], r[1] is None) for r in rows]

    async def team_guardians(self, doctor_ids: Sequence[str]) -> list[tuple[int, int, bool]]:
        """(resident, child, reachable) for every child looked after by a resident signed to
        one of `doctor_ids` (the vaccine feature's `child_guardians`, read only)."""
        if not doctor_ids:
            return []
        rows = await self.db.fetchall(
            "SELECT g.resident_id, g.child_id, r.unreachable_at FROM child_guardians g "
            "JOIN signings s ON s.resident_id = g.resident_id "
            "JOIN residents r ON r.id = g.resident_id "
            f"WHERE s.doctor_id IN ({_marks(doctor_ids)}) ORDER BY g.resident_id, g.child_id",
            list(doctor_ids),
        )
        return [(r[0], r[1], r[2] is None) for r in rows]

    # -- broadcasts ---------------------------------------------------------------------
    async def created_since(self, doctor_id: str, since: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM broadcasts WHERE doctor_id = ? AND created_at >= ?",
                (doctor_id, since),
            )
        )

    async def create(
        self,
        new: NewBroadcast,
        recipients: Sequence[int],
        rows_for: Any,
        now: int,
        limit: int,
        since: int,
    ) -> Broadcast | None:
        """Insert the broadcast and its outbox rows (`rows_for(broadcast_id)` makes them) in
        one transaction; None if the doctor already made `limit` broadcasts since `since`
        (checked inside the transaction, so two quick taps cannot both pass). Raises
        DoctorUnlinked if the doctor has no linked account: checked in the same transaction,
        so a broadcast cannot slip in after a revoke has cancelled the doctor's others."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT 1 FROM doctor_links WHERE doctor_id = ?", (new.doctor_id,)
            ) as cur:
                if await cur.fetchone() is None:
                    raise DoctorUnlinked(new.doctor_id)
            async with conn.execute(
                "SELECT COUNT(*) FROM broadcasts WHERE doctor_id = ? AND created_at >= ?",
                (new.doctor_id, since),
            ) as cur:
                counted = await cur.fetchone()
                made = counted[0] if counted is not None else 0
            if made >= limit:
                return None
            scheduled_at = int(new.scheduled_at.timestamp())
            status = "scheduled" if scheduled_at > now else "sending"
            async with conn.execute(
                "INSERT INTO broadcasts (doctor_id, audience, audience_arg, text, template, "
                "urgent, scheduled_at, created_at, status, total, progress_channel, "
                "progress_user, progress_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING *",
                (
                    new.doctor_id,
                    new.audience,
                    new.audience_arg,
                    new.text,
                    new.template,
                    int(new.urgent),
                    scheduled_at,
                    now,
                    status,
                    len(recipients),
                    new.progress_channel,
                    new.progress_user,
                    new.progress_ref,
                ),
            ) as cur:
                row = await cur.fetchone()
            broadcast = _broadcast(row)
            planned: list[Planned] = rows_for(broadcast.id)
            for i in range(0, len(planned), 5000):
                await insert_planned(conn, planned[i : i + 5000], now)
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self.db.fetchone("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return None if row is None else _broadcast(row)

    async def status(self, broadcast_id: int) -> str | None:
        status = await self.db.fetchval(
            "SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        return cast("str | None", status)

    async def sending_status(self, broadcast_id: int) -> str | None:
        """The broadcast's status, or 'unlinked' while its doctor has no linked account (a
        revoked doctor's words do not go out, whatever the status says)."""
        row = await self.db.fetchone(
            "SELECT b.status, EXISTS (SELECT 1 FROM doctor_links l "
            "WHERE l.doctor_id = b.doctor_id) FROM broadcasts b WHERE b.id = ?",
            (broadcast_id,),
        )
        if row is None:
            return None
        return row[0] if row[1] else "unlinked"

    async def open_for(self, doctor_id: str) -> list[int]:
        """The doctor's scheduled or sending broadcasts, by id."""
        rows = await self.db.fetchall(
            "SELECT id FROM broadcasts WHERE doctor_id = ? "
            "AND status IN ('scheduled', 'sending') ORDER BY id",
            (doctor_id,),
        )
        return [r[0] for r in rows]

    async def unfinished(self) -> list[Broadcast]:
        """Broadcasts whose final report is not written yet (cancelled ones included)."""
        rows = await self.db.fetchall(
            "SELECT * FROM broadcasts WHERE finished_at IS NULL ORDER BY id"
        )
        return [_broadcast(r) for r in rows]

    async def recent(self, doctor_id: str, limit: int = 5) -> list[Broadcast]:
        rows = await self.db.fetchall(
            "SELECT * FROM broadcasts WHERE doctor_id = ? ORDER BY id DESC LIMIT ?",
            (doctor_id, limit),
        )
        return [_broadcast(r) for r in rows]

    async def mark_sending(self, broadcast_id: int) -> bool:
        return (
            await self.db.execute(
                "UPDATE broadcasts SET status = 'sending' WHERE id = ? AND status = 'scheduled'",
                (broadcast_id,),
            )
            > 0
        )

    async def set_progress_ref(self, broadcast_id: int, ref: str | None) -> None:
        await self.db.execute(
            "UPDATE broadcasts SET progress_ref = ? WHERE id = ?", (ref, broadcast_id)
        )

    async def progress(self, broadcast_id: int, now: int) -> Progress:
        """Count the broadcast's outbox rows by status (one indexed scan of the group)."""
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*), COUNT(*) FILTER (WHERE status = 'pending' AND due_at > ?) "
            "FROM outbox "
            "WHERE group_key = ? GROUP BY status",
            (now, group_key(broadcast_id)),
        )
        by = {r[0]: (r[1], r[2] or 0) for r in rows}
        count = {k: v[0] for k, v in by.items()}
        return Progress(
            total=sum(count.values()),
            sent=count.get("sent", 0),
            unreachable=count.get("skipped", 0) + count.get("failed", 0),
            cancelled=count.get("cancelled", 0),
            expired=count.get("expired", 0),
            pending=count.get("pending", 0),
            sending=count.get("sending", 0),
            waiting=by.get("pending", (0, 0))[1],
        )

    async def cancel(self, broadcast_id: int, doctor_id: str, now: int) -> int | None:
        """Cancel an open broadcast of `doctor_id`: the broadcast and, in the same transaction,
        every pending row of its group. Rows already claimed by the dispatcher check the
        broadcast's status when rendered. Returns rows cancelled, or None if not open/theirs."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE broadcasts SET status = 'cancelled' WHERE id = ? AND doctor_id = ? "
                "AND status IN ('scheduled', 'sending')",
                (broadcast_id, doctor_id),
            )
            if cur.rowcount == 0:
                return None
            return await OutboxStore(self.db).cancel_group(
                group_key(broadcast_id), datetime.fromtimestamp(now, UTC), conn=conn
            )

    async def finish(
        self, broadcast_id: int, p: Progress, now: int, status: str, report: Planned | None
    ) -> bool:
        """Write the final counts (outbox rows are pruned later; these stay) and plan the
        doctor's report, in one transaction: a crash leaves both or neither, and the report's
        dedupe key (`report_key`) keeps it to one. False if already finished."""
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE broadcasts SET status = ?, sent = ?, unreachable = ?, not_sent = ?, "
                "finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (status, p.sent, p.unreachable, p.cancelled + p.expired, now, broadcast_id),
            )
            if cur.rowcount == 0:
                return False
            if report is not None:
                await insert_planned(conn, [report], now)
        return True
