"""The SQLite database: one writer connection, one reader connection, migrations by number.

WAL lets readers go on while the writer commits, so reads never wait behind a broadcast's
writes. All writes go through `Database.write()`, which serialises them on one connection and
opens each transaction with BEGIN IMMEDIATE so a write never fails half-way on a lock upgrade.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """All migrations shipped in bot/storage/migrations, ordered by version number."""
    found: list[Migration] = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


class Database:
    """Owns the connections. Use `read()` for queries and `write()` for transactions."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self, migrate: bool = True) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        self._writer = await aiosqlite.connect(self.path, isolation_level=None)
        self._writer.row_factory = aiosqlite.Row
        await _configure(self._writer)
        if migrate:
            await self.migrate()
        self._reader = await aiosqlite.connect(self.path, isolation_level=None)
        self._reader.row_factory = aiosqlite.Row
        await _configure(self._reader)

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
        async with self._write_lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    # Reads and single statements take one trip to the connection's thread each (aiosqlite
    # runs every call there): execute_fetchall instead of execute + fetch + close.
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.reader.execute_fetchall(sql, params)
        return rows[0] if rows else None  # type: ignore[index]

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement as its own transaction; return rows changed.

        A single statement is atomic in autocommit mode and takes the write lock when it
        starts, so it needs no BEGIN IMMEDIATE (that guards read-then-write transactions).
        """
        async with self._write_lock:
            cur = await self.writer.execute(sql, params)
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.write() as conn:
            await conn.executemany(sql, rows)

    async def schema_version(self) -> int:
        async with self.writer.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def applied_versions(self) -> set[int]:
        async with self.writer.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ) as cur:
            if await cur.fetchone() is None:
                return set()
        async with self.writer.execute("SELECT version FROM schema_migrations") as cur:
            return {int(r[0]) for r in await cur.fetchall()}

    async def migrate(self) -> list[int]:
        """Apply every migration not yet applied, in version order; return those applied.

        Applied versions are recorded one by one (not only as a high-water mark), so a
        migration numbered below one already applied, e.g. merged from a parallel branch, is
        still applied. `user_version` holds the highest applied version for quick checks.
        """
        async with self._write_lock:
            await self.writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
                "DEFAULT (datetime('now')))"
            )
        done = await self.applied_versions()
        applied: list[int] = []
        for mig in load_migrations():
            if mig.version in done:
                continue
            log.info("applying migration %s", mig.name)
            newest = max([*done, *applied, mig.version])
            async with self._write_lock:
                # executescript commits implicitly, so the bookkeeping is part of the script.
                await self.writer.executescript(
                    f"BEGIN IMMEDIATE;\n{mig.sql}\n"
                    f"INSERT INTO schema_migrations (version, name) "
                    f"VALUES ({mig.version}, '{mig.name}');\n"
                    f"PRAGMA user_version={newest};\nCOMMIT;"
                )
            applied.append(mig.version)
        return applied

    async def check(self) -> tuple[str, int, int]:
        """Integrity check result, current schema version, newest known version.

        The current version is the highest applied migration, or -1 if any known migration
        is missing (so a partly migrated database never looks current).
        """
        async with self.writer.execute("PRAGMA integrity_check") as cur:
            rows = await cur.fetchall()
        result = "; ".join(str(r[0]) for r in rows)
        known = {m.version for m in load_migrations()}
        done = await self.applied_versions()
        newest = max(known, default=0)
        current = max(done, default=0) if known <= done else -1
        return result, current, newest
