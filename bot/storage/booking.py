"""SQL for slots and appointments.

The rules that decide whether a booking may be made live once, in bot.services.booking
(`BookingRules`); this module reads what they need (a `SlotCheck`) and asks them inside the
same write transaction (BEGIN IMMEDIATE) as the insert, so two residents tapping the last
place at once get one booking and one refusal. The booking's reminders are written
to the outbox in that same transaction: a booking never exists without its reminders, and a
cancelled one never keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from bot.domain.booking import BOOKED, CANCELLED, Appointment, BookResult, Problem, Slot, SlotCheck
from bot.domain.outbox import OutboxRow, Planned
from bot.storage.db import Conn, Database, inserted_id
from bot.storage.outbox import cancel_keys, insert_planned, pending_rows
from bot.storage.times import from_unix, unix


class Rules(Protocol):
    """The booking rules (bot.services.booking.BookingRules), asked inside transactions."""

    def slot_problem(
        self, check: SlotCheck, doctor_id: str, now: datetime, *, moving_from: int | None = None
    ) -> Problem | None: ...

    def active_problem(
        self, appointment: Appointment | None, resident_id: int, now: datetime
    ) -> Problem | None: ...


class Reminders(Protocol):
    """The booking rules' reminder policy (bot.services.booking), used inside transactions."""

    def plan(self, appointment: Appointment, now: datetime) -> Sequence[Planned]: ...

    def keys(self, appointment_id: int) -> Sequence[str]: ...


_SLOT_SQL = (
    "SELECT s.id, s.doctor_id, s.start_at, s.end_at, s.capacity, s.closed, s.closed_reason, "
    "(SELECT COUNT(*) FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked') "
    "AS taken FROM slots s"
)
_APPT_COLS = (
    "id, resident_id, slot_id, doctor_id, start_at, end_at, reason, status, note, moved_to, "
    "confirmed_at, created_at, updated_at"
)


def _slot(row: Any) -> Slot:
    return Slot(
        id=row["id"],
        doctor_id=row["doctor_id"],
        start_at=from_unix(row["start_at"]),
        end_at=from_unix(row["end_at"]),
        capacity=row["capacity"],
        closed=bool(row["closed"]),
        closed_reason=row["closed_reason"],
        taken=row["taken"],
    )


def appointment_of(row: Any) -> Appointment:
    """An appointments row (the `_APPT_COLS` columns) as the domain record."""
    values = dict(row)
    for key in ("start_at", "end_at", "created_at", "updated_at"):
        values[key] = from_unix(values[key])
    if values["confirmed_at"] is not None:
        values["confirmed_at"] = from_unix(values["confirmed_at"])
    return Appointment(**values)


async def _all(conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    # One round trip to the connection's thread (execute + fetch + close would be three):
    # under a crowd of concurrent taps, the hops are what costs.
    return list(await conn.execute_fetchall(sql, params))


async def _one(conn: Conn, sql: str, params: Sequence[Any]) -> Any:
    rows = await _all(conn, sql, params)
    return rows[0] if rows else None


class BookingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- slots --------------------------------------------------------------------------
    async def sync_slots(
        self,
        doctor_id: str,
        wanted: Sequence[tuple[int, int]],
        window: tuple[int, int],
        capacity: int,
        now: datetime,
    ) -> int:
        """Make the doctor's future slots in `window` (unix seconds, end exclusive) match
        `wanted` (start, end) pairs: add missing ones, drop unwanted ones that nobody ever
        booked and the clinic did not close. Booked slots always stay. Returns slots added."""
        now_ts = unix(now)
        lo, hi = window
        async with self.db.write() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT INTO slots (doctor_id, start_at, end_at, capacity) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (doctor_id, start_at) DO NOTHING",
                [(doctor_id, s, e, capacity) for s, e in wanted],
            )
            added = conn.total_changes - before
            starts = {s for s, _ in wanted}
            async with conn.execute(
                "SELECT id, start_at FROM slots s WHERE doctor_id = ? AND start_at >= ? "
                "AND start_at < ? AND start_at > ? AND closed = 0 "
                "AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id)",
                (doctor_id, lo, hi, now_ts),
            ) as cur:
                unwanted = [r["id"] for r in await cur.fetchall() if r["start_at"] not in starts]
            if unwanted:
                await conn.executemany("DELETE FROM slots WHERE id = ?", [(i,) for i in unwanted])
        return added

    async def slot(self, slot_id: int) -> Slot | None:
        row = await self.db.fetchone(f"{_SLOT_SQL} WHERE s.id = ?", (slot_id,))
        return None if row is None else _slot(row)

    async def slots_between(self, doctor_id: str, lo: int, hi: int) -> list[Slot]:
        """All the doctor's slots starting in [lo, hi), open or not, in time order."""
        rows = await self.db.fetchall(
            f"{_SLOT_SQL} WHERE s.doctor_id = ? AND s.start_at >= ? AND s.start_at < ? "
            "ORDER BY s.start_at",
            (doctor_id, lo, hi),
        )
        return [_slot(r) for r in rows]

    async def free_slots(self, doctor_id: str, lo: int, hi: int) -> list[Slot]:
        """Open slots with a place left, starting in [lo, hi), in time order."""
        rows = await self.db.fetchall(
            f"SELECT * FROM ({_SLOT_SQL} WHERE s.doctor_id = ? AND s.start_at >= ? "
            "AND s.start_at < ? AND s.closed = 0) AS free WHERE taken < capacity ORDER BY start_at",
            (doctor_id, lo, hi),
        )
        return [_slot(r) for r in rows]

    async def nearest_free(
        self, doctor_id: str, around: int, lo: int, hi: int, limit: int
    ) -> list[Slot]:
        """Up to `limit` free slots in [lo, hi) nearest in time to `around`, in time order."""
        rows = await self.db.fetchall(
            f"SELECT * FROM ({_SLOT_SQL} WHERE s.doctor_id = ? AND s.start_at >= ? "
            "AND s.start_at < ? AND s.closed = 0) AS free WHERE taken < capacity "
            "ORDER BY ABS(start_at - ?), start_at LIMIT ?",
            (doctor_id, lo, hi, around, limit),
        )
        return sorted((_slot(r) for r in rows), key=lambda s: s.start_at)

    async def overbooked(self) -> list[Slot]:
        """Slots holding more active bookings than their capacity (should never exist)."""
        rows = await self.db.fetchall(
            f"SELECT * FROM ({_SLOT_SQL}) AS s2 WHERE taken > capacity ORDER BY start_at"
        )
        return [_slot(r) for r in rows]

    async def close(
        self,
        doctor_id: str,
        lo: int,
        hi: int,
        reason: str,
        now: datetime,
        reminders: Reminders,
        notice: Callable[[Appointment], Planned],
    ) -> tuple[int, list[Appointment]]:
        """Close the doctor's slots starting in [lo, hi): cancel their active bookings, drop
        those bookings' reminders and plan `notice(appointment)` for each affected resident.
        Returns (slots closed, bookings cancelled)."""
        now_ts = unix(now)
        async with self.db.write() as conn:
            # Only slots still open: a day closed before keeps its first reason.
            cur = await conn.execute(
                "UPDATE slots SET closed = 1, closed_reason = ? "
                "WHERE doctor_id = ? AND start_at >= ? AND start_at < ? AND closed = 0",
                (reason, doctor_id, lo, hi),
            )
            closed = cur.rowcount
            async with conn.execute(
                f"SELECT {_APPT_COLS} FROM appointments WHERE status = 'booked' "
                "AND doctor_id = ? AND slot_id IN (SELECT id FROM slots WHERE doctor_id = ? "
                "AND start_at >= ? AND start_at < ?) ORDER BY start_at, id",
                (doctor_id, doctor_id, lo, hi),
            ) as c:
                hit = [appointment_of(r) for r in await c.fetchall()]
            await conn.executemany(
                "UPDATE appointments SET status = 'cancelled', note = ?, updated_at = ? "
                "WHERE id = ?",
                [(reason, now_ts, a.id) for a in hit],
            )
            cancelled = [replace(a, status=CANCELLED, note=reason) for a in hit]
            await cancel_keys(conn, [k for a in hit for k in reminders.keys(a.id)], now_ts)
            await insert_planned(conn, [notice(a) for a in cancelled], now_ts)
        return closed, cancelled

    async def closed_reasons(self, doctor_id: str, lo: int, hi: int) -> list[str]:
        """The reasons of the doctor's closed slots starting in [lo, hi) (one per slot)."""
        rows = await self.db.fetchall(
            "SELECT closed_reason FROM slots WHERE doctor_id = ? AND start_at >= ? "
            "AND start_at < ? AND closed = 1 ORDER BY start_at",
            (doctor_id, lo, hi),
        )
        return [r[0] for r in rows]

    async def clinic_cancelled(self, resident_id: int, since: int) -> list[Appointment]:
        """Visits the clinic cancelled (a closed day: status cancelled with its reason in
        `note`) starting at or after `since`, that the resident has not acknowledged."""
        rows = await self.db.fetchall(
            f"SELECT {_APPT_COLS} FROM appointments WHERE resident_id = ? "
            "AND status = 'cancelled' AND note <> '' AND clinic_cancel_seen_at IS NULL "
            "AND start_at >= ? ORDER BY start_at, id",
            (resident_id, since),
        )
        return [appointment_of(r) for r in rows]

    async def acknowledge_clinic_cancel(
        self, resident_id: int, appointment_id: int, now: datetime
    ) -> bool:
        changed = await self.db.execute(
            "UPDATE appointments SET clinic_cancel_seen_at = ? WHERE id = ? AND resident_id = ? "
            "AND status = 'cancelled' AND note <> '' AND clinic_cancel_seen_at IS NULL",
            (unix(now), appointment_id, resident_id),
        )
        return changed > 0

    # -- appointments -------------------------------------------------------------------
    async def pending_reminders(self, dedupe_keys: Sequence[str]) -> list[OutboxRow]:
        """The pending outbox rows of these keys (a booking's reminders), soonest first."""
        return await pending_rows(self.db.reader, dedupe_keys)

    async def appointment(self, appointment_id: int) -> Appointment | None:
        row = await self.db.fetchone(
            f"SELECT {_APPT_COLS} FROM appointments WHERE id = ?", (appointment_id,)
        )
        return None if row is None else appointment_of(row)

    async def upcoming(self, resident_id: int, now: datetime) -> list[Appointment]:
        """The resident's active bookings that have not started yet, soonest first."""
        rows = await self.db.fetchall(
            f"SELECT {_APPT_COLS} FROM appointments WHERE resident_id = ? "
            "AND status = 'booked' AND start_at > ? ORDER BY start_at, id",
            (resident_id, unix(now)),
        )
        return [appointment_of(r) for r in rows]

    async def book(
        self,
        resident_id: int,
        slot_id: int,
        doctor_id: str,
        reason: str,
        now: datetime,
        rules: Rules,
        reminders: Reminders,
    ) -> BookResult:
        """Book `slot_id` (which must be `doctor_id`'s) if every rule allows it.

        A refusal may be decided on a plain read first: a slot seen full, closed or past can
        only have been so a moment ago, and refusing then is what an earlier tap would have
        got. Only the transaction can say yes, so no read can ever double-book. This keeps the
        crowd that loses a popular slot off the single writer."""
        now_ts = unix(now)
        params = _check_params(resident_id, slot_id, now_ts)
        seen = _check(await self.db.fetchone(_CHECK_SQL, params))
        problem = rules.slot_problem(seen, doctor_id, from_unix(now_ts))
        if problem is not None:
            return BookResult(problem=problem, slot=seen.slot)
        async with self.db.write() as conn:
            check = _check(await _one(conn, _CHECK_SQL, params))
            slot = check.slot
            problem = rules.slot_problem(check, doctor_id, from_unix(now_ts))
            if problem is not None:
                return BookResult(problem=problem, slot=slot)
            assert slot is not None
            appt = await _insert(conn, resident_id, slot, reason, now_ts)
            await insert_planned(conn, reminders.plan(appt, now), now_ts)
            planned = await pending_rows(conn, reminders.keys(appt.id))
        return BookResult(appointment=appt, slot=slot, reminders=tuple(planned))

    async def move(
        self,
        resident_id: int,
        appointment_id: int,
        slot_id: int,
        now: datetime,
        rules: Rules,
        reminders: Reminders,
    ) -> BookResult:
        """Move the resident's active booking to another slot of the same doctor: the new
        booking is made and the old one marked moved (its place freed) in one transaction."""
        now_ts = unix(now)
        async with self.db.write() as conn:
            old = await _active_of(conn, rules, resident_id, appointment_id, now_ts)
            check = _check(
                await _one(conn, _CHECK_SQL, _check_params(resident_id, slot_id, now_ts))
            )
            slot = check.slot
            if isinstance(old, Problem):
                return BookResult(problem=old, slot=slot)
            problem = rules.slot_problem(
                check, old.doctor_id, from_unix(now_ts), moving_from=old.slot_id
            )
            if problem is not None:
                return BookResult(problem=problem, slot=slot, previous=old)
            assert slot is not None
            new = await _insert(conn, resident_id, slot, old.reason, now_ts)
            await conn.execute(
                "UPDATE appointments SET status = 'moved', moved_to = ?, updated_at = ? "
                "WHERE id = ?",
                (new.id, now_ts, old.id),
            )
            await cancel_keys(conn, reminders.keys(old.id), now_ts)
            await insert_planned(conn, reminders.plan(new, now), now_ts)
            planned = await pending_rows(conn, reminders.keys(new.id))
        return BookResult(appointment=new, slot=slot, previous=old, reminders=tuple(planned))

    async def cancel(
        self,
        resident_id: int,
        appointment_id: int,
        now: datetime,
        rules: Rules,
        reminders: Reminders,
    ) -> BookResult:
        """Cancel the resident's active, not yet started booking; its place is free at once."""
        now_ts = unix(now)
        async with self.db.write() as conn:
            old = await _active_of(conn, rules, resident_id, appointment_id, now_ts)
            if isinstance(old, Problem):
                return BookResult(problem=old)
            await conn.execute(
                "UPDATE appointments SET status = 'cancelled', updated_at = ? WHERE id = ?",
                (now_ts, old.id),
            )
            await cancel_keys(conn, reminders.keys(old.id), now_ts)
        return BookResult(previous=replace(old, status=CANCELLED, updated_at=from_unix(now_ts)))

    async def confirm(
        self, resident_id: int, appointment_id: int, now: datetime, rules: Rules
    ) -> Appointment | Problem:
        """Record "I'll come" on the resident's active, upcoming booking."""
        now_ts = unix(now)
        async with self.db.write() as conn:
            old = await _active_of(conn, rules, resident_id, appointment_id, now_ts)
            if isinstance(old, Problem):
                return old
            await conn.execute(
                "UPDATE appointments SET confirmed_at = ?, updated_at = ? WHERE id = ?",
                (now_ts, now_ts, old.id),
            )
        return replace(old, confirmed_at=from_unix(now_ts), updated_at=from_unix(now_ts))


# -- inside a write transaction ----------------------------------------------------------------


# The slot, its active bookings, whether the resident holds it, and the resident's upcoming
# bookings: everything a booking decision needs, in one statement.
_CHECK_SQL = (
    "SELECT s.id, s.doctor_id, s.start_at, s.end_at, s.capacity, s.closed, s.closed_reason, "
    "(SELECT COUNT(*) FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked') "
    "AS taken, "
    "EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.resident_id = ? "
    "AND a.status = 'booked') AS held, "
    "(SELECT COUNT(*) FROM appointments a WHERE a.resident_id = ? AND a.status = 'booked' "
    "AND a.start_at > ?) AS future "
    "FROM slots s WHERE s.id = ?"
)


def _check_params(resident_id: int, slot_id: int, now_ts: int) -> tuple[int, ...]:
    return (resident_id, resident_id, now_ts, slot_id)


def _check(row: Any) -> SlotCheck:
    if row is None:
        return SlotCheck(None)
    return SlotCheck(_slot(row), held=bool(row["held"]), future=row["future"])


async def _active_of(
    conn: Conn, rules: Rules, resident_id: int, appointment_id: int, now_ts: int
) -> Appointment | Problem:
    row = await _one(conn, f"SELECT {_APPT_COLS} FROM appointments WHERE id = ?", (appointment_id,))
    appt = None if row is None else appointment_of(row)
    problem = rules.active_problem(appt, resident_id, from_unix(now_ts))
    if problem is not None:
        return problem
    assert appt is not None
    return appt


async def _insert(
    conn: Conn, resident_id: int, slot: Slot, reason: str, now_ts: int
) -> Appointment:
    cur = await conn.execute(
        "INSERT INTO appointments (resident_id, slot_id, doctor_id, start_at, end_at, reason, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            resident_id,
            slot.id,
            slot.doctor_id,
            unix(slot.start_at),
            unix(slot.end_at),
            reason,
            now_ts,
            now_ts,
        ),
    )
    return Appointment(
        id=await inserted_id(cur),
        resident_id=resident_id,
        slot_id=slot.id,
        doctor_id=slot.doctor_id,
        start_at=slot.start_at,
        end_at=slot.end_at,
        reason=reason,
        status=BOOKED,
        note="",
        moved_to=None,
        confirmed_at=None,
        created_at=from_unix(now_ts),
        updated_at=from_unix(now_ts),
    )
