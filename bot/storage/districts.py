"""SQL for districts (issue 14): the districts table, residents' districts, and operators'
announcements with their outbox rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.domain.districts import ALL_DISTRICTS, Announcement, AnnouncementCounts, District
from bot.domain.outbox import FAILED, PENDING, SENDING, SENT, SKIPPED, Planned
from bot.storage.db import Database
from bot.storage.outbox import insert_planned
from bot.storage.times import from_unix, iso, unix

# The outbox's "skipped" rows of a resident who blocked the bot carry this error text
# (bot/delivery/dispatcher.py); other skips are counted as "other".
_BLOCKED = "%unreachable%"
_BLOCKED_2 = "blocked%"
PAGE = 5000  # residents planned per transaction


def centre_scope(district: str, column: str) -> tuple[str, list[str]]:
    """An AND clause keeping rows whose centre (`column`, a station id) is in `district`;
    nothing for ALL_DISTRICTS."""
    if district == ALL_DISTRICTS:
        return "", []
    return (
        f" AND {column} IN (SELECT id FROM stations WHERE district_code = ?)",
        [district],
    )


def group_key(announcement_id: int) -> str:
    return f"an:{announcement_id}"


def dedupe_key(announcement_id: int, resident_id: int) -> str:
    return f"an:{announcement_id}:{resident_id}"


def _district(row: Any) -> District:
    return District(row["code"], row["name_zh"], row["name_en"])


def _announcement(row: Any) -> Announcement:
    return Announcement(
        id=row["id"],
        ident=row["ident"],
        district_code=row["district_code"],
        text_zh=row["text_zh"],
        text_en=row["text_en"],
        urgent=bool(row["urgent"]),
        scheduled_at=from_unix(row["scheduled_at"]),
        created_at=from_unix(row["created_at"]),
    )


class DistrictStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- districts ----------------------------------------------------------------------
    async def all(self) -> list[District]:
        rows = await self.db.fetchall("SELECT code, name_zh, name_en FROM districts ORDER BY code")
        return [_district(r) for r in rows]

    async def get(self, code: str) -> District | None:
        row = await self.db.fetchone(
            "SELECT code, name_zh, name_en FROM districts WHERE code = ?", (code,)
        )
        return None if row is None else _district(row)

    async def add(self, code: str, name_zh: str, name_en: str, now: datetime) -> bool:
        """Add a district, or rename one; True if it is new."""
        known = await self.get(code) is not None
        await self.db.execute(
            "INSERT INTO districts (code, name_zh, name_en, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, "
            "name_en = excluded.name_en",
            (code, name_zh, name_en, iso(now)),
        )
        return not known

    async def counts(self, code: str) -> dict[str, int]:
        """Rows of each kind that belong to the district (for `doorstep district list`)."""
        out: dict[str, int] = {}
        for table in ("stations", "doctors", "communities", "residents"):
            out[table] = int(
                await self.db.fetchval(
                    f"SELECT COUNT(*) FROM {table} WHERE district_code = ?", (code,)
                )
                or 0
            )
        return out

    # -- residents ----------------------------------------------------------------------
    async def resident_district(self, resident_id: int) -> str | None:
        value = await self.db.fetchval(
            "SELECT district_code FROM residents WHERE id = ?", (resident_id,)
        )
        return None if value is None else str(value)

    async def set_resident_district(self, resident_id: int, code: str) -> None:
        await self.db.execute(
            "UPDATE residents SET district_code = ? WHERE id = ? AND district_code <> ?",
            (code, resident_id, code),
        )

    async def community_district(self, town: str, community: str) -> str | None:
        """The district of a community: its own row, else the district of the teams that
        serve it (a community may be served without a communities row)."""
        value = await self.db.fetchval(
            "SELECT district_code FROM communities WHERE town = ? AND name_zh = ?",
            (town, community),
        )
        if value is None:
            value = await self.db.fetchval(
                "SELECT d.district_code FROM doctor_communities dc "
                "JOIN doctors d ON d.id = dc.doctor_id "
                "WHERE dc.town = ? AND dc.community = ? ORDER BY d.id LIMIT 1",
                (town, community),
            )
        return None if value is None else str(value)

    # -- announcements ------------------------------------------------------------------
    async def announcement(self, ident: str) -> Announcement | None:
        row = await self.db.fetchone("SELECT * FROM announcements WHERE ident = ?", (ident,))
        return None if row is None else _announcement(row)

    async def create_announcement(
        self,
        ident: str,
        district: str,
        text_zh: str,
        text_en: str,
        urgent: bool,
        scheduled_at: datetime,
        now: datetime,
    ) -> Announcement:
        """The announcement with this ident, created if it is new (a re-run finds it)."""
        await self.db.execute(
            "INSERT INTO announcements (ident, district_code, text_zh, text_en, urgent, "
            "scheduled_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (ident) DO NOTHING",
            (ident, district, text_zh, text_en, int(urgent), unix(scheduled_at), unix(now)),
        )
        made = await self.announcement(ident)
        assert made is not None
        return made

    async def get_announcement(self, announcement_id: int) -> Announcement | None:
        row = await self.db.fetchone("SELECT * FROM announcements WHERE id = ?", (announcement_id,))
        return None if row is None else _announcement(row)

    async def plan_announcement(
        self,
        announcement: Announcement,
        rows_for: Callable[[list[int]], list[Planned]],
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Plan one outbox row per consented resident of the district, PAGE residents per
        transaction, in id order; rows planned before (a re-run) are left as they are.
        Return how many residents the district has (the announcement's audience)."""
        total = int(
            await self.db.fetchval(
                "SELECT COUNT(*) FROM residents WHERE district_code = ? AND consent_at IS NOT NULL",
                (announcement.district_code,),
            )
            or 0
        )
        done, after = 0, 0
        now = unix(announcement.created_at)
        while True:
            rows = await self.db.fetchall(
                "SELECT r.id FROM residents r WHERE r.district_code = ? "
                "AND r.consent_at IS NOT NULL AND r.id > ? "
                "ORDER BY r.id LIMIT ?",
                (announcement.district_code, after, PAGE),
            )
            ids = [r[0] for r in rows]
            if not ids:
                break
            async with self.db.write() as conn:
                await insert_planned(conn, rows_for(ids), now)
            done += len(ids)
            after = ids[-1]
            if progress is not None:
                progress(done, total)
        return done

    async def announcement_counts(self, announcement_id: int) -> AnnouncementCounts:
        """Counts by outcome, from the stored outbox rows of the announcement."""
        rows = await self.db.fetchall(
            "SELECT status, "
            "CASE WHEN status = ? AND (last_error LIKE ? OR last_error LIKE ?) "
            "THEN 1 ELSE 0 END AS blocked, COUNT(*) AS n "
            "FROM outbox WHERE group_key = ? GROUP BY 1, 2",
            (SKIPPED, _BLOCKED, _BLOCKED_2, group_key(announcement_id)),
        )
        by: dict[str, int] = {}
        blocked = 0
        for r in rows:
            if r["blocked"]:
                blocked += r["n"]
            else:
                by[r["status"]] = by.get(r["status"], 0) + r["n"]
        total = sum(by.values()) + blocked
        sent, failed = by.pop(SENT, 0), by.pop(FAILED, 0)
        pending = by.pop(PENDING, 0) + by.pop(SENDING, 0)
        return AnnouncementCounts(total, sent, failed, blocked, pending, sum(by.values()))
