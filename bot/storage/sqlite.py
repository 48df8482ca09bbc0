"""The SQLite database: one writer connection, reader connections, migrations by number.

WAL lets readers go on while the writer commits, so reads never wait behind a broadcast's
writes. All writes are serialised by one lock: transactions (`Database.write()`) run on the
writer connection's thread and open with BEGIN IMMEDIATE so a write never fails half-way on a
lock upgrade; single statements (`Database.execute`) run on the event loop's own thread when
they are quick, like quick reads (see `Database._read_fast` and `Database._write_fast`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.db import Database, ForeignKey, load_migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# CPU time one read may take on the event loop before it is moved to the reader thread, and
# how often (in SQLite VM steps) that is checked. CPU time, not wall time: a quick read that
# happens to be preempted on a busy machine must not count as a slow one.
READ_BUDGET_S = 0.001
_PROGRESS_STEPS = 2000
# A query that overran the budget this many times always goes to the reader thread.
_SLOW_STRIKES = 2
_MAX_SLOW_TRACKED = 512
# Result codes (the low byte of an extended code) after which the reader thread retries the
# read: busy or locked (the loop never waits for a lock), interrupted (over the budget),
# read-only (a statement that writes; this connection is query_only).
_RETRY_ON_THREAD = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_READONLY}
)
_QUERY = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_CHANGE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# The loop-thread writer never checkpoints itself (a checkpoint writes the database file and
# syncs it, too slow for the event loop): after this many of its writes, the reader thread
# runs a passive checkpoint, as SQLite's auto-checkpoint would after about 1000 WAL pages.
_CHECKPOINT_EVERY = 256
# A migration that rebuilds a table other tables reference starts with this line: it runs
# with foreign keys off (SQLite's documented rebuild procedure; with them on, dropping the old
# table would cascade), and foreign_key_check must be clean afterwards.
FK_OFF_MARK = "-- doorstep: foreign-keys-off"


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    # Deleted rows are overwritten with zeros, not left in free pages (/delete, issue 16).
    await conn.execute("PRAGMA secure_delete=ON")
    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


class SqliteDatabase(Database):
    """Owns the connections. `fetchone`/`fetchall`/`fetchval` read, `write()` and `execute`
    write."""

    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.display = str(self.path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._fast: sqlite3.Connection | None = None
        self._fast_writer: sqlite3.Connection | None = None
        self._fast_thread: int | None = None
        self._fast_writes = 0
        self._checkpointing: asyncio.Task[Any] | None = None
        self._deadline = 0.0
        self._strikes: dict[str, int] = {}
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
        self._open_fast()

    def _open_fast(self) -> None:
        # Plain sqlite3, used only on the thread that opened it (the event loop's), checked in
        # _read_fast. busy_timeout 0: a read that would wait for a lock goes to the reader
        # thread instead. query_only: this connection never writes.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=0")
        conn.set_progress_handler(self._over_budget, _PROGRESS_STEPS)
        # The same for single-statement writes (see _write_fast), with the writer's settings:
        # synchronous=NORMAL and foreign keys (ON DELETE CASCADE) exactly as on the writer.
        writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        writer.execute("PRAGMA synchronous=NORMAL")
        writer.execute("PRAGMA foreign_keys=ON")
        writer.execute("PRAGMA busy_timeout=0")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.set_progress_handler(self._over_budget, _PROGRESS_STEPS)
        self._fast, self._fast_writer = conn, writer
        self._fast_thread = threading.get_ident()

    def _over_budget(self) -> bool:
        return time.thread_time() > self._deadline

    async def close(self) -> None:
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
            self._checkpointing = None
        for fast in (self._fast, self._fast_writer):
            if fast is not None:
                fast.close()
        self._fast = self._fast_writer = self._fast_thread = None
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
    async def write(self, exclusive: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error); SQLite's
        write transactions are always exclusive."""
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

    def _read_fast(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row] | None:
        """The rows, read on the calling (event loop) thread; None: use the reader thread.

        Nearly every read here is a point read through an index (the resident behind an
        update, their settings): SQLite answers in microseconds, while an aiosqlite call
        costs two thread switches, a future and a wake-up of the loop, several times the
        query, and was the largest share of the time an update took besides PTB itself. In
        WAL mode a reader never waits for the writer. The price is that a read holds the
        loop while it runs, so each read gets READ_BUDGET_S of CPU: a query still running
        then is interrupted and re-run on the reader thread, and after _SLOW_STRIKES overruns
        that query always goes there. A lock (another process recovering the WAL, a non-WAL
        client) also sends the read to the thread, which waits up to the busy timeout.
        """
        conn = self._fast
        if (
            conn is None
            or threading.get_ident() != self._fast_thread
            or not _QUERY.match(sql)  # PRAGMAs report the reader's settings
            or self._strikes.get(sql, 0) >= _SLOW_STRIKES
        ):
            return None
        self._deadline = time.thread_time() + READ_BUDGET_S
        try:
            # fetchall steps the statement to its end, so no read transaction stays open.
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            self._to_thread(sql, exc, "read", "reader")
            return None

    def _write_fast(self, sql: str, params: Sequence[Any]) -> int | None:
        """Rows changed by one INSERT/UPDATE/DELETE run on the event loop's thread; None: use
        the writer thread. The caller holds the write lock.

        The same trade as _read_fast, for the small writes an update makes (its conversation
        state, a setting): through aiosqlite each costs two thread switches and a wake-up of
        the loop, several times the write itself, and the update waits for them. A single
        statement in autocommit mode is its own transaction, committed (with the writer's
        synchronous=NORMAL) before this returns, so nothing is less durable than on the
        thread. Interrupted over READ_BUDGET_S of CPU, or refused by a lock another process
        holds (busy_timeout 0), it has changed nothing and is run again on the writer thread.
        """
        conn = self._fast_writer
        if (
            conn is None
            or threading.get_ident() != self._fast_thread
            or not _CHANGE.match(sql)
            or "RETURNING" in sql.upper()  # its rows would be left unread; the thread has it
            or self._strikes.get(sql, 0) >= _SLOW_STRIKES
        ):
            return None
        self._deadline = time.thread_time() + READ_BUDGET_S
        try:
            changed = conn.execute(sql, params).rowcount
        except sqlite3.OperationalError as exc:
            self._to_thread(sql, exc, "write", "writer")
            return None
        self._fast_writes += 1
        if self._fast_writes >= _CHECKPOINT_EVERY and self._checkpointing is None:
            self._fast_writes = 0
            self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())
        return changed

    def _to_thread(self, sql: str, exc: sqlite3.OperationalError, what: str, to: str) -> None:
        """Re-raise `exc` unless the statement should simply be retried on a thread."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code not in _RETRY_ON_THREAD:
            raise exc
        if code == sqlite3.SQLITE_INTERRUPT:
            if len(self._strikes) >= _MAX_SLOW_TRACKED:
                self._strikes.clear()
            self._strikes[sql] = self._strikes.get(sql, 0) + 1
            log.info("%s over %.1f ms, moved to the %s thread", what, READ_BUDGET_S * 1000, to)

    async def _checkpoint(self) -> None:
        # On the reader's thread: it never holds a write transaction, so the checkpoint never
        # waits behind one of ours, and the loop never waits for the checkpoint.
        try:
            await self.reader.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # the next checkpoint tries again; reads and writes go on
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)
        finally:
            self._checkpointing = None

    # On the reader thread, a read is one trip there (aiosqlite runs every call on the
    # connection's thread): execute_fetchall instead of execute + fetch + close.
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = self._read_fast(sql, params)
        if rows is None:
            rows = list(await self.reader.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        rows = self._read_fast(sql, params)
        if rows is None:
            rows = list(await self.reader.execute_fetchall(sql, params))
        return rows

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement as its own transaction; return rows changed.

        A single statement is atomic in autocommit mode and takes the write lock when it
        starts, so it needs no BEGIN IMMEDIATE (that guards read-then-write transactions).
        """
        async with self._write_lock:
            changed = self._write_fast(sql, params)
            if changed is not None:
                return changed
            cur = await self.writer.execute(sql, params)
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.write() as conn:
            await conn.executemany(sql, rows)

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it to zero bytes, so that rows just
        deleted (zeroed in the database by secure_delete) leave no copy in the -wal file.
        True if the WAL is empty now; a reader in the middle of a read can hold it up, so a
        busy checkpoint is retried a few times."""
        for _ in range(20):
            async with self._write_lock:
                async with self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                    row = await cur.fetchone()
            if row is not None and row[0] == 0:
                return True
            await asyncio.sleep(0.05)
        log.warning("WAL checkpoint after a deletion stayed busy; it runs again later")
        return False

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
            fk_off = mig.sql.startswith(FK_OFF_MARK)
            async with self._write_lock:
                if fk_off:  # a no-op inside a transaction: set before BEGIN
                    await self.writer.execute("PRAGMA foreign_keys=OFF")
                try:
                    # executescript commits implicitly, so the bookkeeping is part of it.
                    await self.writer.executescript(
                        f"BEGIN IMMEDIATE;\n{mig.sql}\n"
                        f"INSERT INTO schema_migrations (version, name) "
                        f"VALUES ({mig.version}, '{mig.name}');\n"
                        f"PRAGMA user_version={newest};\nCOMMIT;"
                    )
                    if fk_off:
                        async with self.writer.execute("PRAGMA foreign_key_check") as cur:
                            broken = list(await cur.fetchall())
                        if broken:
                            raise RuntimeError(
                                f"{mig.name} left {len(broken)} broken foreign key(s)"
                            )
                finally:
                    if fk_off:
                        await self.writer.execute("PRAGMA foreign_keys=ON")
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

    async def foreign_keys(self) -> list[ForeignKey]:
        # One query (the pragma as a table-valued function) rather than one PRAGMA per table,
        # in the order PRAGMA foreign_key_list gives, table by table as they were created.
        rows = await self.fetchall(
            'SELECT m.name AS child, f."table" AS parent, f."from" AS fk_col, f."to" AS parent_col '
            "FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' "
            "ORDER BY m.rowid, f.id, f.seq"
        )
        return [ForeignKey(r["child"], r["parent"], r["fk_col"], r["parent_col"]) for r in rows]

    async def tables(self) -> dict[str, list[str]]:
        rows = await self.fetchall(
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid"
        )
        out: dict[str, list[str]] = {}
        for table, column in rows:
            out.setdefault(table, []).append(column)
        return out
