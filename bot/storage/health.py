"""SQL for chronic-disease management: profiles, conditions, readings, events, doctor flags."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast

from bot.domain.health import (
    CONDITIONS,
    EVENT_KINDS,
    PREGNANCY,
    SETTERS,
    Condition,
    Facts,
    Flag,
    NewReading,
    Reading,
    Stored,
)
from bot.storage.db import Database, inserted_id

# A follow-up visit counts as uncontrolled when the newest reading of the 14 days up to it was.
FOLLOWUP_READING_DAYS = 14


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return int(value.timestamp())


def _dt(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _reading(r: Any) -> Reading:
    return Reading(
        id=r["id"],
        resident_id=r["resident_id"],
        kind=r["kind"],
        systolic=r["systolic"],
        diastolic=r["diastolic"],
        pulse=r["pulse"],
        glucose=r["glucose"],
        taken_at=datetime.fromtimestamp(r["taken_at"], UTC),
        controlled=bool(r["controlled"]),
        danger=bool(r["danger"]),
        context=r["context"],
        setting=r["setting"],
        meter_display=r["meter_display"],
        action=r["action"],
        direction=r["direction"],
        decided_by=r["decided_by"],
    )


# Residents the daily scan looks at: a condition, or a birth year (the 65+ annual check).
_SUBJECTS = (
    "SELECT resident_id FROM health_conditions UNION "
    "SELECT resident_id FROM health_profiles WHERE birth_year IS NOT NULL"
)


def _marks(items: Sequence[Any]) -> str:
    return ",".join("?" * len(items))


class HealthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _day_start(self, days: int) -> str:
        """SQL for f.on_date (ISO date) plus `days` days, as unix seconds of that day's UTC
        midnight (each dialect's date functions)."""
        if self.db.dialect == "postgres":
            return f"CAST(EXTRACT(EPOCH FROM CAST(f.on_date AS date) + {days:d}) AS BIGINT)"
        return f"CAST(strftime('%s', f.on_date, '{days:+d} days') AS INTEGER)"

    # -- profile ----------------------------------------------------------------------------
    async def birth_year(self, resident_id: int) -> int | None:
        return cast(
            "int | None",
            await self.db.fetchval(
                "SELECT birth_year FROM health_profiles WHERE resident_id = ?", (resident_id,)
            ),
        )

    async def set_birth_year(self, resident_id: int, year: int, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO health_profiles (resident_id, birth_year, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (resident_id) DO UPDATE SET birth_year = excluded.birth_year, "
            "updated_at = excluded.updated_at",
            (resident_id, year, now.isoformat(timespec="seconds")),
        )

    async def pregnancy(self, resident_id: int) -> tuple[str | None, date | None]:
        row = await self.db.fetchone(
            "SELECT pregnancy, pregnancy_since FROM health_profiles WHERE resident_id = ?",
            (resident_id,),
        )
        if row is None or row[0] is None:
            return None, None
        return str(row[0]), date.fromisoformat(row[1]) if row[1] else None

    async def set_pregnancy(
        self, resident_id: int, status: str | None, since: date, now: datetime
    ) -> None:
        if status is not None and status not in PREGNANCY:
            raise ValueError(f"unknown pregnancy status {status!r}")
        await self.db.execute(
            "INSERT INTO health_profiles (resident_id, pregnancy, pregnancy_since, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET "
            "pregnancy = excluded.pregnancy, pregnancy_since = excluded.pregnancy_since, "
            "updated_at = excluded.updated_at",
            (
                resident_id,
                status,
                since.isoformat() if status else None,
                now.isoformat(timespec="seconds"),
            ),
        )

    # -- conditions -------------------------------------------------------------------------
    async def conditions(self, resident_id: int) -> list[Condition]:
        rows = await self.db.fetchall(
            "SELECT resident_id, condition, set_by, doctor_id, since FROM health_conditions "
            "WHERE resident_id = ? ORDER BY condition",
            (resident_id,),
        )
        return [
            Condition(
                r["resident_id"],
                r["condition"],
                r["set_by"],
                r["doctor_id"],
                date.fromisoformat(r["since"]),
            )
            for r in rows
        ]

    async def set_condition(
        self,
        resident_id: int,
        condition: str,
        set_by: str,
        since: date,
        doctor_id: str | None = None,
    ) -> bool:
        """Record a condition; True if it is new. A doctor's setting takes over a resident's
        own entry (keeping its start date); a resident's toggle never demotes a doctor's."""
        if condition not in CONDITIONS or set_by not in SETTERS:
            raise ValueError(f"unknown condition or setter: {condition}, {set_by}")
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO health_conditions (resident_id, condition, set_by, doctor_id, since) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resident_id, condition) DO NOTHING",
                (resident_id, condition, set_by, doctor_id, since.isoformat()),
            )
            added = cur.rowcount > 0
            if not added and set_by == "doctor":
                await conn.execute(
                    "UPDATE health_conditions SET set_by = 'doctor', doctor_id = ? "
                    "WHERE resident_id = ? AND condition = ?",
                    (doctor_id, resident_id, condition),
                )
        return added

    async def remove_condition(self, resident_id: int, condition: str) -> bool:
        return (
            await self.db.execute(
                "DELETE FROM health_conditions WHERE resident_id = ? AND condition = ?",
                (resident_id, condition),
            )
            > 0
        )

    # -- readings and flags -----------------------------------------------------------------
    async def add_reading(self, resident_id: int, r: NewReading) -> int:
        return (await self.store_reading(resident_id, r)).reading_id

    async def store_reading(self, resident_id: int, r: NewReading) -> Stored:
        """Store a reading; a danger-sign reading also raises a flag for the doctor, in the same
        transaction, so a flag is never lost between the two writes. Returns both ids, so a
        reply can say "flagged" only when the flag row exists."""
        flag_id: int | None = None
        async with self.db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO health_readings (resident_id, kind, systolic, diastolic, pulse, "
                "glucose, taken_at, controlled, danger, context, setting, meter_display, "
                "action, direction, rules, decided_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    resident_id,
                    r.kind,
                    r.systolic,
                    r.diastolic,
                    r.pulse,
                    r.glucose,
                    _ts(r.taken_at),
                    int(r.controlled),
                    int(r.danger),
                    r.context,
                    r.setting,
                    r.meter_display,
                    r.action,
                    r.direction,
                    r.rules or None,
                    r.decided_by,
                ),
            )
            reading_id = await inserted_id(cur)
            if r.danger:
                cur = await conn.execute(
                    "INSERT INTO health_flags (resident_id, reading_id, reason, created_at) "
                    "VALUES (?, ?, 'danger_reading', ?) RETURNING id",
                    (resident_id, reading_id, _ts(r.taken_at)),
                )
                flag_id = await inserted_id(cur) or None
        return Stored(reading_id, flag_id)

    async def readings(self, resident_id: int, since: datetime) -> list[Reading]:
        """The resident's readings taken at or after `since`, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM health_readings WHERE resident_id = ? AND taken_at >= ? "
            "ORDER BY taken_at, id",
            (resident_id, _ts(since)),
        )
        return [_reading(r) for r in rows]

    async def flags_for(self, resident_ids: Sequence[int], unseen_only: bool = False) -> list[Flag]:
        """Flags of these residents, newest first, each with its reading."""
        if not resident_ids:
            return []
        sql = (
            "SELECT f.id AS f_id, f.resident_id AS f_resident_id, f.reason, f.created_at, "
            "f.seen_at, r.id, r.resident_id, r.kind, r.systolic, r.diastolic, r.pulse, "
            "r.glucose, r.taken_at, r.controlled, r.danger, r.context, r.setting, "
            "r.meter_display, r.action, r.direction, r.decided_by FROM health_flags f "
            "LEFT JOIN health_readings r ON r.id = f.reading_id "
            f"WHERE f.resident_id IN ({_marks(resident_ids)})"
        )
        if unseen_only:
            sql += " AND f.seen_at IS NULL"
        rows = await self.db.fetchall(
            sql + " ORDER BY f.created_at DESC, f.id DESC", list(resident_ids)
        )
        return [
            Flag(
                id=r["f_id"],
                resident_id=r["f_resident_id"],
                reason=r["reason"],
                created_at=datetime.fromtimestamp(r["created_at"], UTC),
                seen_at=_dt(r["seen_at"]),
                reading=_reading(r) if r["id"] is not None else None,
            )
            for r in rows
        ]

    async def mark_flags_seen(self, flag_ids: Sequence[int], now: datetime) -> int:
        if not flag_ids:
            return 0
        return await self.db.execute(
            f"UPDATE health_flags SET seen_at = ? WHERE seen_at IS NULL "
            f"AND id IN ({_marks(flag_ids)})",
            [_ts(now), *flag_ids],
        )

    # -- follow-up events -------------------------------------------------------------------
    async def add_event(
        self, resident_id: int, kind: str, on_date: date, recorded_by: str, now: datetime
    ) -> bool:
        """Record a follow-up / referral / side effect / annual check; False if that very
        event (same kind, same day) was already recorded."""
        if kind not in EVENT_KINDS or recorded_by not in SETTERS:
            raise ValueError(f"unknown event kind or recorder: {kind}, {recorded_by}")
        return (
            await self.db.execute(
                "INSERT INTO health_events (resident_id, kind, on_date, recorded_by, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (resident_id, kind, on_date) DO NOTHING",
                (resident_id, kind, on_date.isoformat(), recorded_by, _ts(now)),
            )
            > 0
        )

    # -- what the follow-up plan needs ------------------------------------------------------
    async def facts(
        self, resident_ids: Sequence[int] | None = None, tz: tzinfo = UTC
    ) -> list[Facts]:
        """Plan inputs for these residents, or for everyone with a condition or a birth year
        (the daily scan). Six grouped queries, whatever the number of residents; `tz` is the
        zone follow-up dates are in."""
        if resident_ids is None:
            where, params = f" WHERE resident_id IN ({_SUBJECTS})", []
        elif not resident_ids:
            return []
        else:
            where, params = f" WHERE resident_id IN ({_marks(resident_ids)})", list(resident_ids)
        acc: dict[int, dict[str, Any]] = {}

        def slot(rid: int) -> dict[str, Any]:
            return acc.setdefault(rid, {"conditions": [], "last_event": {}})

        for r in await self.db.fetchall(
            "SELECT resident_id, birth_year FROM health_profiles" + where, params
        ):
            slot(r[0])["birth_year"] = r[1]
        for r in await self.db.fetchall(
            "SELECT resident_id, condition, since FROM health_conditions" + where, params
        ):
            s = slot(r[0])
            s["conditions"].append(r[1])
            since = date.fromisoformat(r[2])
            s["since"] = min(s.get("since", since), since)
        for r in await self.db.fetchall(
            "SELECT resident_id, kind, MAX(on_date) FROM health_events"
            + where
            + " GROUP BY resident_id, kind",
            params,
        ):
            slot(r[0])["last_event"][r[1]] = date.fromisoformat(r[2])
        if self.db.dialect == "postgres":
            newest_uncontrolled = (
                "SELECT DISTINCT ON (resident_id) resident_id, taken_at, direction "
                "FROM health_readings" + where + " AND controlled = 0 "
                "ORDER BY resident_id, taken_at DESC, id DESC"
            )
        else:
            # SQLite takes the bare column (direction) from the row holding the MAX.
            newest_uncontrolled = (
                "SELECT resident_id, MAX(taken_at), direction FROM health_readings"
                + where
                + " AND controlled = 0 GROUP BY resident_id"
            )
        for r in await self.db.fetchall(newest_uncontrolled, params):
            slot(r[0])["uncontrolled"] = r[1]
            slot(r[0])["uncontrolled_direction"] = r[2]
        await self._followups(where, params, tz, slot)
        out: list[Facts] = []
        for rid in sorted(acc):
            s = acc[rid]
            out.append(
                Facts(
                    resident_id=rid,
                    birth_year=s.get("birth_year"),
                    conditions=tuple(sorted(s["conditions"])),
                    condition_since=s.get("since"),
                    last_event=s["last_event"],
                    last_uncontrolled_at=_dt(s.get("uncontrolled")),
                    last_uncontrolled_direction=s.get("uncontrolled_direction"),
                    followups=tuple(s.get("followups", ())),
                )
            )
        return out

    async def _followups(self, where: str, params: list[Any], tz: tzinfo, slot: Any) -> None:
        """The two newest follow-up visits per resident, each with whether the newest reading
        of the 14 days up to the end of its day (local) was uncontrolled (False without one).
        One query, each visit's reading found through the (resident, taken_at) index."""
        # Local midnight as UTC seconds: the zone's current offset (China keeps no DST).
        offset = int((datetime.now(tz).utcoffset() or timedelta()).total_seconds())
        rows = await self.db.fetchall(
            "SELECT f.resident_id, f.on_date, (SELECT r.controlled FROM health_readings r "
            "WHERE r.resident_id = f.resident_id "
            f"AND r.taken_at >= {self._day_start(-FOLLOWUP_READING_DAYS)} - ? "
            f"AND r.taken_at < {self._day_start(1)} - ? "
            "ORDER BY r.taken_at DESC, r.id DESC LIMIT 1) "
            "FROM (SELECT resident_id, on_date, ROW_NUMBER() OVER (PARTITION BY resident_id "
            "ORDER BY on_date DESC) AS n FROM health_events"
            + where
            + " AND kind = 'followup') f WHERE f.n <= 2 ORDER BY f.resident_id, f.on_date DESC",
            [offset, offset, *params],
        )
        visits: dict[int, list[tuple[date, bool]]] = {}
        for rid, on_date, controlled in rows:
            visits.setdefault(rid, []).append(
                (date.fromisoformat(on_date), controlled is not None and not controlled)
            )
        for rid, items in visits.items():
            slot(rid)["followups"] = items
