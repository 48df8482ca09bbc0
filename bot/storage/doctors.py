"""SQL for the doctor's side: linked accounts, invite codes, guesses, the audit log, and the
questions a doctor's screens ask about their team's residents (who is signed, names, visits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.booking import Appointment
from bot.domain.districts import ALL_DISTRICTS
from bot.domain.doctors import AuditEntry, DoctorLink, NewAudit, Redeem
from bot.domain.outbox import Planned
from bot.storage.booking import appointment_of
from bot.storage.db import Conn, Database
from bot.storage.outbox import cancel_keys, insert_planned
from bot.storage.times import from_unix


def _link(row: Any) -> DoctorLink:
    values = dict(row)
    values["linked_at"] = from_unix(values["linked_at"])
    return DoctorLink(**values)


async def _replace_link(
    conn: Conn, doctor_id: str, resident_id: int, channel: str, user_id: str, now: int
) -> None:
    """Link the account to the doctor in the caller's transaction. A link this replaces is
    audited in the same transaction: the doctor's previous account losing the desk
    (`link_taken_over`) and this account's previous doctor losing it (`unlinked`)."""
    async with conn.execute(
        "SELECT doctor_id, resident_id FROM doctor_links WHERE doctor_id = ? OR resident_id = ?",
        (doctor_id, resident_id),
    ) as cur:
        replaced = [(r["doctor_id"], r["resident_id"]) for r in await cur.fetchall()]
    audits = []
    for old_doctor, old_account in replaced:
        if (old_doctor, old_account) == (doctor_id, resident_id):
            continue  # the same account linking again
        if old_doctor == doctor_id:
            audits.append(
                (
                    now,
                    doctor_id,
                    "link_taken_over",
                    None,
                    f"account={old_account} replaced by account={resident_id}",
                )
            )
        else:
            audits.append(
                (
                    now,
                    old_doctor,
                    "unlinked",
                    None,
                    f"account={old_account} linked to doctor {doctor_id} instead",
                )
            )
    await conn.execute(
        "DELETE FROM doctor_links WHERE doctor_id = ? OR resident_id = ?",
        (doctor_id, resident_id),
    )
    await conn.execute(
        "INSERT INTO doctor_links (doctor_id, resident_id, channel, channel_user_id, "
        "linked_at) VALUES (?, ?, ?, ?, ?)",
        (doctor_id, resident_id, channel, user_id, now),
    )
    if audits:
        await conn.executemany(
            "INSERT INTO audit_log (at, doctor_id, action, target_resident_id, details) "
            "VALUES (?, ?, ?, ?, ?)",
            audits,
        )


def _audit(row: Any) -> AuditEntry:
    values = dict(row)
    values["at"] = from_unix(values["at"])
    return AuditEntry(**values)


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


_APPT_COLS = (
    "a.id, a.resident_id, a.slot_id, a.doctor_id, a.start_at, a.end_at, a.reason, a.status, "
    "a.note, a.moved_to, a.confirmed_at, a.created_at, a.updated_at"
)


class DoctorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- links --------------------------------------------------------------------------
    async def link_for_account(self, channel: str, user_id: str) -> DoctorLink | None:
        row = await self.db.fetchone(
            "SELECT * FROM doctor_links WHERE channel = ? AND channel_user_id = ?",
            (channel, user_id),
        )
        return None if row is None else _link(row)

    async def link_for_doctor(self, doctor_id: str) -> DoctorLink | None:
        row = await self.db.fetchone("SELECT * FROM doctor_links WHERE doctor_id = ?", (doctor_id,))
        return None if row is None else _link(row)

    async def links(self, district: str | None = None) -> list[DoctorLink]:
        """Every link, or with `district` those an operator of it may see: its own doctors'
        and links to doctors in no district's directory (left over), never another
        district's doctors."""
        if district is None:
            rows = await self.db.fetchall("SELECT * FROM doctor_links ORDER BY doctor_id")
        else:
            rows = await self.db.fetchall(
                "SELECT l.* FROM doctor_links l WHERE NOT EXISTS (SELECT 1 FROM doctors d"
                " WHERE d.id = l.doctor_id AND d.district_code <> ?) ORDER BY l.doctor_id",
                (district,),
            )
        return [_link(r) for r in rows]

    async def add_invite(self, doctor_id: str, code_hash: str, now: int, expires_at: int) -> None:
        await self.db.execute(
            "INSERT INTO doctor_invites (doctor_id, code_hash, created_at, expires_at) "
            "VALUES (?, ?, ?, ?)",
            (doctor_id, code_hash, now, expires_at),
        )

    async def redeem(
        self, code_hash: str, resident_id: int, channel: str, user_id: str, now: int
    ) -> tuple[Redeem, str | None]:
        """Use an invite: check, mark used and link the account in one transaction, so two
        accounts racing with the same code get one link. A new link replaces the doctor's old
        account and whatever this account was linked to before."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT id, doctor_id, expires_at, used_at FROM doctor_invites WHERE code_hash = ?",
                (code_hash,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return Redeem.UNKNOWN, None
            if row["used_at"] is not None:
                return Redeem.USED, row["doctor_id"]
            if row["expires_at"] <= now:
                return Redeem.EXPIRED, row["doctor_id"]
            doctor_id = row["doctor_id"]
            await conn.execute(
                "UPDATE doctor_invites SET used_at = ?, used_by = ? WHERE id = ?",
                (now, resident_id, row["id"]),
            )
            await _replace_link(conn, doctor_id, resident_id, channel, user_id, now)
        return Redeem.LINKED, doctor_id

    async def link_directly(
        self, doctor_id: str, resident_id: int, channel: str, user_id: str, now: int
    ) -> None:
        """Link without a code (the sandbox's demo doctor only)."""
        async with self.db.write() as conn:
            await _replace_link(conn, doctor_id, resident_id, channel, user_id, now)

    async def revoke(self, doctor_id: str, now: int) -> tuple[bool, int]:
        """Unlink the doctor's account and void their unused invites: (unlinked, voided)."""
        async with self.db.write() as conn:
            cur = await conn.execute("DELETE FROM doctor_links WHERE doctor_id = ?", (doctor_id,))
            unlinked = cur.rowcount > 0
            cur = await conn.execute(
                "UPDATE doctor_invites SET expires_at = ? WHERE doctor_id = ? "
                "AND used_at IS NULL AND expires_at > ?",
                (now, doctor_id, now),
            )
            return unlinked, cur.rowcount

    # -- audit --------------------------------------------------------------------------
    async def audit(self, entries: Sequence[NewAudit], now: int) -> None:
        await self.db.executemany(
            "INSERT INTO audit_log (at, doctor_id, action, target_resident_id, details) "
            "VALUES (?, ?, ?, ?, ?)",
            [(now, e.doctor_id, e.action, e.target_resident_id, e.details) for e in entries],
        )

    async def audit_since(
        self, since: int, doctor_id: str | None = None, district: str = ALL_DISTRICTS
    ) -> list[AuditEntry]:
        """Entries since `since`; of one district: entries by its doctors or about its
        residents (an entry with neither shows only for all districts)."""
        sql = "SELECT * FROM audit_log WHERE at >= ?"
        params: list[Any] = [since]
        if district != ALL_DISTRICTS:
            sql += (
                " AND (doctor_id IN (SELECT id FROM doctors WHERE district_code = ?)"
                " OR target_resident_id IN (SELECT id FROM residents WHERE district_code = ?))"
            )
            params += [district, district]
        if doctor_id is not None:
            sql += " AND doctor_id = ?"
            params.append(doctor_id)
        rows = await self.db.fetchall(sql + " ORDER BY at, id", params)
        return [_audit(r) for r in rows]

    # -- the team's residents -----------------------------------------------------------
    async def signed_to(
        self, doctor_ids: Sequence[str], district: str = ALL_DISTRICTS
    ) -> list[int]:
        """Residents signed to these doctors; of `district` only, when one is given."""
        if not doctor_ids:
            return []
        scope, params = "", []
        if district != ALL_DISTRICTS:
            scope = " AND r.district_code = ?"
            params = [district]
        rows = await self.db.fetchall(
            "SELECT s.resident_id FROM signings s JOIN residents r ON r.id = s.resident_id "
            f"WHERE s.doctor_id IN ({_marks(doctor_ids)}){scope} ORDER BY s.resident_id",
            [*doctor_ids, *params],
        )
        return [r[0] for r in rows]

    async def in_district(self, resident_id: int, district: str) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM residents WHERE id = ? AND district_code = ?", (resident_id, district)
        )
        return row is not None

    async def is_signed_to(self, resident_id: int, doctor_ids: Sequence[str]) -> bool:
        if not doctor_ids:
            return False
        row = await self.db.fetchone(
            f"SELECT 1 FROM signings WHERE resident_id = ? AND doctor_id IN ({_marks(doctor_ids)})",
            [resident_id, *doctor_ids],
        )
        return row is not None

    async def has_visit_with(self, resident_id: int, doctor_ids: Sequence[str], since: int) -> bool:
        """Whether the resident has a visit with one of these doctors that still gives the team
        access: booked (upcoming, or past but not marked yet) or attended, starting at or after
        `since`. Cancelled, moved and no-show bookings never count."""
        if not doctor_ids:
            return False
        row = await self.db.fetchone(
            "SELECT 1 FROM appointments WHERE resident_id = ? "
            f"AND doctor_id IN ({_marks(doctor_ids)}) "
            "AND status IN ('booked', 'attended') AND start_at >= ? LIMIT 1",
            [resident_id, *doctor_ids, since],
        )
        return row is not None

    async def names(self, resident_ids: Sequence[int], doctor_ids: Sequence[str]) -> dict[int, str]:
        """The name each resident gave in their newest signing request to one of `doctor_ids`
        (approved first). Names given to other teams are not this team's to see."""
        out: dict[int, str] = {}
        ids = list(dict.fromkeys(resident_ids))
        if not doctor_ids:
            return out
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = await self.db.fetchall(
                "SELECT resident_id, name FROM signing_requests "
                f"WHERE resident_id IN ({_marks(chunk)}) "
                f"AND doctor_id IN ({_marks(doctor_ids)}) "
                "ORDER BY resident_id, status = 'approved', id",
                [*chunk, *doctor_ids],
            )
            for r in rows:
                out[r[0]] = r[1]  # later rows (approved, newer) win
        return out

    # -- visits -------------------------------------------------------------------------
    async def visits_between(self, doctor_id: str, lo: int, hi: int) -> list[Appointment]:
        """The doctor's visits starting in [lo, hi), still booked or already marked."""
        rows = await self.db.fetchall(
            f"SELECT {_APPT_COLS} FROM appointments a WHERE a.doctor_id = ? "
            "AND a.start_at >= ? AND a.start_at < ? "
            "AND a.status IN ('booked', 'attended', 'no_show') ORDER BY a.start_at, a.id",
            (doctor_id, lo, hi),
        )
        return [appointment_of(r) for r in rows]

    async def next_visit(
        self, resident_id: int, doctor_ids: Sequence[str], now: int
    ) -> Appointment | None:
        """The resident's next booked visit with one of `doctor_ids` (visits with other teams
        are not shown)."""
        if not doctor_ids:
            return None
        row = await self.db.fetchone(
            f"SELECT {_APPT_COLS} FROM appointments a WHERE a.resident_id = ? "
            f"AND a.doctor_id IN ({_marks(doctor_ids)}) "
            "AND a.status = 'booked' AND a.start_at > ? ORDER BY a.start_at LIMIT 1",
            [resident_id, *doctor_ids, now],
        )
        return None if row is None else appointment_of(row)

    async def mark_visit(
        self,
        appointment_id: int,
        doctor_id: str,
        status: str,
        now: int,
        cancel: Sequence[str],
        notify: Sequence[Planned],
    ) -> Appointment | None:
        """Mark a booked visit of `doctor_id` attended or no_show; None if it is not (any
        more) such a visit. Its pending reminders are cancelled and `notify` planned in the
        same transaction.

        This writes the booking feature's `appointments` table: the booking service has no
        "attended / no-show" operation, and the doctor's day is the only place that sets them.
        Only rows still 'booked' change, so this never overrides the resident's own cancel.
        """
        if status not in ("attended", "no_show"):
            raise ValueError(f"not a visit outcome: {status}")
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE appointments SET status = ?, updated_at = ? "
                "WHERE id = ? AND doctor_id = ? AND status = 'booked'",
                (status, now, appointment_id, doctor_id),
            )
            if cur.rowcount == 0:
                return None
            await cancel_keys(conn, cancel, now)
            await insert_planned(conn, notify, now)
            async with conn.execute(
                f"SELECT {_APPT_COLS} FROM appointments a WHERE a.id = ?", (appointment_id,)
            ) as c2:
                row = await c2.fetchone()
        assert row is not None
        return appointment_of(row)
