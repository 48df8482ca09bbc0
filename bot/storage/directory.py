"""SQL for the district directory, residents' homes, signing requests and signings."""

from __future__ import annotations

from dataclasses import astuple, fields, replace
from datetime import datetime
from typing import Any, TypeVar

from bot.domain.directory import (
    Community,
    Doctor,
    Home,
    Signing,
    SigningRequest,
    Station,
)
from bot.domain.districts import ALL_DISTRICTS, DEFAULT_DISTRICT
from bot.storage.db import Database
from bot.storage.times import from_iso, iso


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


R = TypeVar("R")


# The time columns of homes, signing requests and signings: ISO text here, datetimes above.
_TIMES = ("created_at", "updated_at", "decided_at", "signed_at")


def _row(cls: type[R], row: Any) -> R:
    values = dict(row)
    if "sample" in values:
        values["sample"] = bool(values["sample"])
    for key in _TIMES:
        if key in values and values[key] is not None:
            values[key] = from_iso(values[key])
    return cls(**values)


def _upsert_sql(table: str, cols: list[str]) -> str:
    marks = ", ".join("?" * len(cols))
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
        f"ON CONFLICT (id) DO UPDATE SET {sets}"
    )


def _values(item: Any) -> tuple[Any, ...]:
    return tuple(int(v) if isinstance(v, bool) else v for v in astuple(item))


_STATION_COLS = _columns(Station)
_DOCTOR_COLS = _columns(Doctor)
_COMMUNITY_COLS = _columns(Community)
_REQUEST_COLS = ", ".join(_columns(SigningRequest))


_KINDS = ("stations", "doctors", "communities")


class DirectoryStore:
    """The directory of one district (`district`), or of all of them (ALL_DISTRICTS: a bot
    shared by several districts). Every read is scoped here, in SQL, so that no caller can
    see another district's rows by forgetting a filter; writes need one district."""

    def __init__(self, db: Database, district: str = DEFAULT_DISTRICT) -> None:
        self.db = db
        self.district = district

    def _scope(self, first: bool = True, alias: str = "") -> tuple[str, list[Any]]:
        """The WHERE (or AND) clause limiting a query to this store's district."""
        if self.district == ALL_DISTRICTS:
            return "", []
        return f" {'WHERE' if first else 'AND'} {alias}district_code = ?", [self.district]

    @property
    def write_district(self) -> str:
        if self.district == ALL_DISTRICTS:
            raise ValueError("choose one district (--district CODE) to change the directory")
        return self.district

    def _own(self, items: list[Any]) -> list[Any]:
        code = self.write_district
        return [replace(i, district_code=code) for i in items]

    # -- the directory ------------------------------------------------------------------
    async def version(self) -> int:
        value = await self.db.fetchval("SELECT value FROM directory_meta WHERE key = 'version'")
        return int(value or 0)

    async def count_stations(self) -> int:
        where, params = self._scope()
        return int(await self.db.fetchval(f"SELECT COUNT(*) FROM stations{where}", params) or 0)

    async def stations(self) -> list[Station]:
        where, params = self._scope()
        rows = await self.db.fetchall(
            f"SELECT {', '.join(_STATION_COLS)} FROM stations{where} ORDER BY id", params
        )
        return [_row(Station, r) for r in rows]

    async def doctors(self) -> list[Doctor]:
        where, params = self._scope()
        rows = await self.db.fetchall(
            f"SELECT {', '.join(_DOCTOR_COLS)} FROM doctors{where} ORDER BY id", params
        )
        return [_row(Doctor, r) for r in rows]

    async def communities(self) -> list[Community]:
        where, params = self._scope()
        rows = await self.db.fetchall(
            f"SELECT {', '.join(_COMMUNITY_COLS)} FROM communities{where} ORDER BY id", params
        )
        return [_row(Community, r) for r in rows]

    async def ids(self, kind: str) -> list[str]:
        """Every id of `kind` (stations, doctors, communities) in this district."""
        table = _KINDS[_KINDS.index(kind)]
        where, params = self._scope()
        return [r[0] for r in await self.db.fetchall(f"SELECT id FROM {table}{where}", params)]

    async def foreign_ids(self, kind: str) -> dict[str, str]:
        """Ids of `kind` that another district holds, with that district: an import into this
        district must not take them over (ids are unique across the deployment)."""
        table = _KINDS[_KINDS.index(kind)]
        rows = await self.db.fetchall(
            f"SELECT id, district_code FROM {table} WHERE district_code <> ?",
            (self.write_district,),
        )
        return {r[0]: r[1] for r in rows}

    async def by_ids(self, kind: str, ids: list[str]) -> dict[str, Any]:
        """The rows of `kind` with these ids (an import compares a chunk of its file)."""
        cls, cols = {
            "stations": (Station, _STATION_COLS),
            "doctors": (Doctor, _DOCTOR_COLS),
            "communities": (Community, _COMMUNITY_COLS),
        }[kind]
        out: dict[str, Any] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            where, params = self._scope(first=False)
            rows = await self.db.fetchall(
                f"SELECT {', '.join(cols)} FROM {kind} "
                f"WHERE id IN ({','.join('?' * len(part))}){where}",
                [*part, *params],
            )
            out.update((r["id"], _row(cls, r)) for r in rows)
        return out

    async def station_towns(self) -> dict[str, str]:
        where, params = self._scope()
        rows = await self.db.fetchall(f"SELECT id, town FROM stations{where}", params)
        return {r[0]: r[1] for r in rows}

    async def doctor_communities(self) -> list[tuple[str, str, str]]:
        """(doctor_id, town, community) for every community a team (of this district) serves."""
        where, params = self._scope(first=False, alias="d.")
        rows = await self.db.fetchall(
            "SELECT dc.doctor_id, dc.town, dc.community FROM doctor_communities dc "
            f"JOIN doctors d ON d.id = dc.doctor_id WHERE 1 = 1{where} "
            "ORDER BY dc.town, dc.community, dc.doctor_id",
            params,
        )
        return [(r[0], r[1], r[2]) for r in rows]

    @staticmethod
    async def _bump(conn: Any) -> None:
        await conn.execute(
            "UPDATE directory_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
        )

    async def apply_stations(self, upserts: list[Station], remove_ids: list[str]) -> int:
        """Write stations and remove others in one transaction; return doctors dropped
        because their centre is gone."""
        upserts = self._own(upserts)
        code = self.write_district
        async with self.db.write() as conn:
            if upserts:
                await conn.executemany(
                    _upsert_sql("stations", _STATION_COLS), [_values(s) for s in upserts]
                )
            if remove_ids:
                await conn.executemany(
                    "DELETE FROM stations WHERE id = ? AND district_code = ?",
                    [(i, code) for i in remove_ids],
                )
            cur = await conn.execute(
                "DELETE FROM doctors WHERE district_code = ? AND centre_id NOT IN "
                "(SELECT id FROM stations WHERE district_code = ?)",
                (code, code),
            )
            dropped = cur.rowcount
            # A centre may have moved town: the communities its teams serve move with it.
            await conn.execute(
                "UPDATE doctor_communities SET town = (SELECT s.town FROM doctors d "
                "JOIN stations s ON s.id = d.centre_id WHERE d.id = doctor_communities.doctor_id)"
            )
            await self._bump(conn)
        return dropped

    async def apply_doctors(
        self,
        upserts: list[Doctor],
        remove_ids: list[str],
        served: list[tuple[str, str, str]],
    ) -> None:
        """Write doctors and the communities they serve; remove others. One transaction."""
        upserts = self._own(upserts)
        code = self.write_district
        async with self.db.write() as conn:
            if upserts:
                await conn.executemany(
                    _upsert_sql("doctors", _DOCTOR_COLS), [_values(d) for d in upserts]
                )
                await conn.executemany(
                    "DELETE FROM doctor_communities WHERE doctor_id = ?",
                    [(d.id,) for d in upserts],
                )
                await conn.executemany(
                    "INSERT INTO doctor_communities (doctor_id, town, community) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    served,
                )
            if remove_ids:
                await conn.executemany(
                    "DELETE FROM doctors WHERE id = ? AND district_code = ?",
                    [(i, code) for i in remove_ids],
                )
            await self._bump(conn)

    async def apply_communities(self, upserts: list[Community], remove_ids: list[str]) -> None:
        upserts = self._own(upserts)
        code = self.write_district
        async with self.db.write() as conn:
            if upserts:
                # (town, name_zh) is unique too: a renamed id for the same place replaces it.
                await conn.executemany(
                    "DELETE FROM communities WHERE town = ? AND name_zh = ? AND id <> ? "
                    "AND district_code = ?",
                    [(c.town, c.name_zh, c.id, code) for c in upserts],
                )
                await conn.executemany(
                    _upsert_sql("communities", _COMMUNITY_COLS), [_values(c) for c in upserts]
                )
            if remove_ids:
                await conn.executemany(
                    "DELETE FROM communities WHERE id = ? AND district_code = ?",
                    [(i, code) for i in remove_ids],
                )
            await self._bump(conn)

    # -- residents' homes -----------------------------------------------------------------
    async def home(self, resident_id: int) -> Home | None:
        row = await self.db.fetchone(
            "SELECT resident_id, town, community, updated_at FROM resident_homes "
            "WHERE resident_id = ?",
            (resident_id,),
        )
        return None if row is None else _row(Home, row)

    async def set_home(self, resident_id: int, town: str, community: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO resident_homes (resident_id, town, community, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET town = excluded.town, "
            "community = excluded.community, updated_at = excluded.updated_at",
            (resident_id, town, community, iso(now)),
        )

    # -- signing requests and signings ----------------------------------------------------
    async def latest_request(self, resident_id: int) -> SigningRequest | None:
        """The open request if there is one, else the most recent decided one."""
        row = await self.db.fetchone(
            f"SELECT {_REQUEST_COLS} FROM signing_requests WHERE resident_id = ? "
            "ORDER BY status = 'pending' DESC, id DESC LIMIT 1",
            (resident_id,),
        )
        return None if row is None else _row(SigningRequest, row)

    async def request(self, request_id: int) -> SigningRequest | None:
        row = await self.db.fetchone(
            f"SELECT {_REQUEST_COLS} FROM signing_requests WHERE id = ?", (request_id,)
        )
        return None if row is None else _row(SigningRequest, row)

    async def open_request(
        self, resident_id: int, doctor_id: str, name: str, phone: str, now: datetime
    ) -> SigningRequest:
        """Create the resident's pending request, or update the one already open."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO signing_requests (resident_id, doctor_id, name, phone, status, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?) "
                "ON CONFLICT (resident_id) WHERE status = 'pending' DO UPDATE SET "
                "doctor_id = excluded.doctor_id, name = excluded.name, phone = excluded.phone, "
                "updated_at = excluded.updated_at",
                (resident_id, doctor_id, name, phone, iso(now), iso(now)),
            )
            async with conn.execute(
                f"SELECT {_REQUEST_COLS} FROM signing_requests "
                "WHERE resident_id = ? AND status = 'pending'",
                (resident_id,),
            ) as cur:
                row = await cur.fetchone()
        assert row is not None
        return _row(SigningRequest, row)

    async def move_pending(self, resident_id: int, doctor_id: str | None, now: datetime) -> bool:
        """Point the open request at another doctor, or withdraw it (delete) when None."""
        if doctor_id is None:
            changed = await self.db.execute(
                "DELETE FROM signing_requests WHERE resident_id = ? AND status = 'pending'",
                (resident_id,),
            )
        else:
            changed = await self.db.execute(
                "UPDATE signing_requests SET doctor_id = ?, updated_at = ? "
                "WHERE resident_id = ? AND status = 'pending' AND doctor_id <> ?",
                (doctor_id, iso(now), resident_id, doctor_id),
            )
        return changed > 0

    async def withdraw_pending(self, resident_id: int) -> bool:
        return (
            await self.db.execute(
                "DELETE FROM signing_requests WHERE resident_id = ? AND status = 'pending'",
                (resident_id,),
            )
            > 0
        )

    async def pending_for(self, doctor_id: str) -> list[SigningRequest]:
        rows = await self.db.fetchall(
            f"SELECT {_REQUEST_COLS} FROM signing_requests "
            "WHERE doctor_id = ? AND status = 'pending' ORDER BY created_at, id",
            (doctor_id,),
        )
        return [_row(SigningRequest, r) for r in rows]

    async def decide(
        self, request_id: int, doctor_id: str, approve: bool, reason: str, now: datetime
    ) -> SigningRequest | None:
        """Approve or decline a pending request addressed to `doctor_id`; None if it is not
        (any more) such a request. Approval records the signing in the same transaction."""
        at = iso(now)
        async with self.db.write() as conn:
            cur = await conn.execute(
                "UPDATE signing_requests SET status = ?, reason = ?, updated_at = ?, "
                "decided_at = ? WHERE id = ? AND doctor_id = ? AND status = 'pending'",
                ("approved" if approve else "declined", reason, at, at, request_id, doctor_id),
            )
            if cur.rowcount == 0:
                return None
            async with conn.execute(
                f"SELECT {_REQUEST_COLS} FROM signing_requests WHERE id = ?", (request_id,)
            ) as c2:
                row = await c2.fetchone()
            req: SigningRequest = _row(SigningRequest, row)
            if approve:
                await conn.execute(
                    "INSERT INTO signings (resident_id, doctor_id, request_id, signed_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (resident_id) DO UPDATE SET "
                    "doctor_id = excluded.doctor_id, request_id = excluded.request_id, "
                    "signed_at = excluded.signed_at",
                    (req.resident_id, doctor_id, request_id, at),
                )
        return req

    async def signing(self, resident_id: int) -> Signing | None:
        row = await self.db.fetchone(
            "SELECT resident_id, doctor_id, request_id, signed_at FROM signings "
            "WHERE resident_id = ?",
            (resident_id,),
        )
        return None if row is None else _row(Signing, row)
