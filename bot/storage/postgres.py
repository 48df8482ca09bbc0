"""The PostgreSQL backend: psycopg 3 (async) with a psycopg_pool connection pool.

Why psycopg and not asyncpg: not speed. bench/pgdriver.py measures both in one run, and
asyncpg was faster in most runs on this shared machine (claim loop 1.0-2.7x, point reads
1.1-3.8x). psycopg was kept because the stores' SQL, written for SQLite, runs on it almost
unchanged: executemany reports the rows it changed (the stores count inserted rows with
total_changes around executemany in a dozen places; asyncpg's executemany returns nothing),
string parameters go as untyped literals the server casts (asyncpg's binary codecs demand
the exact Python type per column), and SQLite's ?NNN maps to named parameters. Revisit with
a per-row count strategy if point-read speed on PostgreSQL becomes the bottleneck.

Every connection is in autocommit mode: a read is one statement, `execute` is one statement
(its own transaction), and `write()` opens an explicit transaction. An exclusive `write()`
takes a transaction-level advisory lock first, so exclusive write transactions are serialised
across every process sharing the database, as SQLite's BEGIN IMMEDIATE serialises them in one
file: a store's read-then-write stays atomic when several workers run.

After a server restart, each pooled connection fails once and the pool replaces it (checking
every connection before lending it would cost a round trip per statement: bench/pgdriver.py).
Reads are retried on a fresh connection; a write that fails raises psycopg.OperationalError
and the caller's own retry (the outbox's, the update queue's) applies.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from psycopg.types.numeric import Int8Dumper
from psycopg_pool import AsyncConnectionPool

from bot.storage.db import Database, ForeignKey, load_migrations, redact
from bot.storage.sqltext import bind, translate

log = logging.getLogger(__name__)

# Advisory lock keys (any 64-bit number; these spell "doorstep" write / migrate).
WRITE_LOCK = 0x646F6F7273747077
MIGRATE_LOCK = 0x646F6F727374706D
POOL_MIN = 1
POOL_MAX = 8  # write() transactions and the reader Conn
READERS = 2  # long-lived connections for fetchone/fetchall
CONNECT_TIMEOUT_S = 30.0
CODE_POINT_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8"})


class PgRow(tuple[Any, ...]):
    """A row by position or by column name, like sqlite3.Row (one subclass per column list)."""

    _names: ClassVar[tuple[str, ...]] = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    return type("PgRow", (PgRow,), {"_names": names, "_index": {n: i for i, n in enumerate(names)}})


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Any]:
    desc = cursor.description
    if desc is None:
        return tuple
    return _row_class(tuple(c.name for c in desc))


class _BoolAsInt(Int8Dumper):
    """Booleans are stored as 0/1 integers, as in the SQLite schema the stores share."""

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInt)


# The same row shape and adapters for other pools over this database (bot.storage.cluster).
pg_row_factory = _row_factory
pg_configure = _configure


class PgCursor:
    """The rows of one statement, already fetched (the aiosqlite cursor's API)."""

    lastrowid: int | None = None  # PostgreSQL has none: stores use RETURNING id

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    async def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    async def fetchall(self) -> list[Any]:
        rest = self._rows[self._at :]
        self._at = len(self._rows)
        return rest


class _Pending:
    """Awaitable, or usable with `async with`, like aiosqlite's execute()."""

    __slots__ = ("_coro",)

    def __init__(self, coro: Any) -> None:
        self._coro = coro

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> Any:
        return await self._coro

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        return None


_CHANGES = ("INSERT", "UPDATE", "DELETE", "MERGE")


class PgConn:
    """A psycopg connection behind the Conn API the stores use (see bot.storage.db.Conn)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any] | None, pool: Any = None) -> None:
        self._conn = conn
        self._pool = pool  # no fixed connection: each statement borrows one (Database.reader)
        self._changes = 0

    @property
    def total_changes(self) -> int:
        return self._changes

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Pending:
        return _Pending(self._run(sql, tuple(parameters or ()), many=False))

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Pending:
        return _Pending(self._run(sql, [tuple(p) for p in parameters], many=True))

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None) -> _Pending:
        return _Pending(self._fetchall(sql, parameters))

    async def _fetchall(self, sql: str, parameters: Iterable[Any] | None) -> list[Any]:
        cur = await self._run(sql, tuple(parameters or ()), many=False)
        return await cur.fetchall()

    async def _run(self, sql: str, params: Any, many: bool) -> PgCursor:
        if self._conn is None:
            async with self._pool.connection() as conn:
                return await self._on(conn, sql, params, many)
        return await self._on(self._conn, sql, params, many)

    async def _on(
        self, conn: psycopg.AsyncConnection[Any], sql: str, params: Any, many: bool
    ) -> PgCursor:
        query, numbered = translate(sql)
        async with conn.cursor() as cur:
            if many:
                if not params:
                    return PgCursor([], 0)
                await cur.executemany(query, [bind(p, numbered) for p in params])
            else:
                await cur.execute(query, bind(params, numbered))
            rows = await cur.fetchall() if cur.description is not None else []
            count = cur.rowcount
            status = (cur.statusmessage or "").split(" ", 1)[0]
        if status in _CHANGES and count > 0:
            self._changes += count
        return PgCursor(rows, count)


class PostgresDatabase(Database):
    """Owns a connection pool. Same API as the SQLite backend (bot.storage.db.Database)."""

    dialect = "postgres"

    def __init__(self, url: str, for_file: Path | None = None) -> None:
        self.url = url
        self.display = redact(url) if for_file is None else f"{redact(url)} (for {for_file})"
        self._for_file = for_file
        self._pool: AsyncConnectionPool[Any] | None = None
        self._lock = asyncio.Lock()
        # Slot 0: single-statement writes; slots 1..READERS: reads.
        self._direct_conns: list[psycopg.AsyncConnection[Any] | None] = [None] * (1 + READERS)
        self._direct_locks = [asyncio.Lock() for _ in range(1 + READERS)]
        self._turn = 0

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def open(self, migrate: bool = True) -> None:
        if self._for_file is not None:
            from bot.storage import pgtest

            await pgtest.ensure(self.url, self._for_file)
        try:
            # One connection first: a wrong address or password fails here at once, with
            # libpq's own message (which never contains the password).
            await self._direct(0)
        except psycopg.OperationalError as exc:
            log.warning("cannot connect to %s: %s", self.display, exc)
            raise
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.url,
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            open=False,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            configure=_configure,
            name="doorstep",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except Exception:
            await pool.close()
            await self.close()
            raise
        self._pool = pool
        if migrate:
            await self.migrate()

    async def close(self) -> None:
        for i, conn in enumerate(self._direct_conns):
            if conn is not None:
                await conn.close()
            self._direct_conns[i] = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def write(self, exclusive: bool = True) -> AsyncIterator[PgConn]:
        # In-process, waiting writers queue on the asyncio lock rather than each holding a
        # pooled connection while they wait on the advisory lock.
        if exclusive:
            await self._lock.acquire()
        try:
            async with AsyncExitStack() as stack:
                conn = await self._begin(stack, exclusive)
                yield PgConn(conn)
        finally:
            if exclusive:
                self._lock.release()

    async def _begin(self, stack: AsyncExitStack, exclusive: bool) -> psycopg.AsyncConnection[Any]:
        """A pooled connection in a new transaction (holding the write lock if exclusive),
        its exits pushed on `stack`. After a server restart a pooled connection fails at
        BEGIN, before anything was done: the pool drops it and the next one is tried."""
        for attempt in range(POOL_MAX + 1):
            inner = AsyncExitStack()
            conn: psycopg.AsyncConnection[Any] = await inner.enter_async_context(
                self.pool.connection()
            )
            try:
                await inner.enter_async_context(conn.transaction())
                if exclusive:
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            except psycopg.OperationalError:
                try:
                    await inner.__aexit__(*sys.exc_info())
                except psycopg.Error:
                    pass  # the broken connection's rollback; the pool discards it
                if attempt == POOL_MAX or not conn.broken:
                    raise
                continue
            stack.push_async_exit(inner)
            return conn
        raise AssertionError("unreachable")

    @property
    def reader(self) -> PgConn:
        return PgConn(None, self.pool)

    async def _direct(self, slot: int) -> psycopg.AsyncConnection[Any]:
        """A long-lived connection of its own (not borrowed from the pool: borrowing halves
        the rate of point reads, bench/pgdriver.py). psycopg serialises the statements of
        concurrent callers on one connection; a broken one is replaced here."""
        conn = self._direct_conns[slot]
        if conn is not None and not conn.closed:
            return conn
        async with self._direct_locks[slot]:
            conn = self._direct_conns[slot]
            if conn is None or conn.closed:
                conn = await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, row_factory=_row_factory
                )
                await _configure(conn)
                self._direct_conns[slot] = conn
            return conn

    async def _read(self, sql: str, params: Sequence[Any], one: bool) -> Any:
        query, numbered = translate(sql)
        values = bind(tuple(params), numbered)
        self._turn = (self._turn + 1) % READERS
        slot = 1 + self._turn
        # A read is safe to repeat: after a server restart the connection fails once and is
        # replaced, so the read is tried again on the new one.
        for attempt in range(2):
            conn = await self._direct(slot)
            try:
                cur = await conn.execute(query, values)
                return await (cur.fetchone() if one else cur.fetchall())
            except psycopg.OperationalError:
                if attempt == 1 or not conn.broken:
                    raise
        raise AssertionError("unreachable")

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        rows: list[Any] = await self._read(sql, params, one=False)
        return rows

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._read(sql, params, one=True)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        # Single statements share one connection (slot 0), in order, as on SQLite's writer.
        conn = await self._direct(0)
        query, numbered = translate(sql)
        cur = await conn.execute(query, bind(tuple(params), numbered))
        return int(cur.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.write() as conn:
            await conn.executemany(sql, rows)

    async def checkpoint(self) -> bool:
        # Nothing to do here: PostgreSQL keeps no side file of recent rows like SQLite's WAL;
        # deleted row versions are reclaimed by (auto)vacuum, and the server's own WAL and
        # backups are the operator's to manage (README, "PostgreSQL").
        return True

    async def applied_versions(self) -> set[int]:
        exists = await self.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not exists:
            return set()
        rows = await self.fetchall("SELECT version FROM schema_migrations")
        return {int(r[0]) for r in rows}

    async def schema_version(self) -> int:
        return max(await self.applied_versions(), default=0)

    async def migrate(self) -> list[int]:
        """Apply every PostgreSQL migration not yet applied, in version order, all in one
        transaction under an advisory lock: workers starting together apply them once."""
        applied: list[int] = []
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT "
                    "(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')))"
                )
                cur = await conn.execute("SELECT version FROM schema_migrations")
                done = {int(r[0]) for r in await cur.fetchall()}
                for mig in load_migrations("postgres"):
                    if mig.version in done:
                        continue
                    log.info("applying migration %s", mig.name)
                    # No parameters: the simple query protocol, several statements at once.
                    await conn.execute(mig.sql.encode("utf-8"))
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (mig.version, mig.name),
                    )
                    applied.append(mig.version)
        return applied

    async def check(self) -> tuple[str, int, int]:
        """PostgreSQL keeps its own consistency (no PRAGMA integrity_check): the result is
        "ok" when every table the migrations made is there, else the ones missing."""
        known = {m.version for m in load_migrations("postgres")}
        done = await self.applied_versions()
        newest = max(known, default=0)
        current = max(done, default=0) if known <= done else -1
        missing = [t for t in _expected_tables() if t not in await self.tables()]
        problems = ["missing tables: " + ", ".join(missing)] if missing else []
        collation = await self.fetchval(
            "SELECT datcollate FROM pg_database WHERE datname = current_database()"
        )
        if collation not in CODE_POINT_COLLATIONS:
            # Stores select key ranges (dedupe_key >= 'md:' AND < 'md;') as SQLite orders
            # text, by code point; a language collation orders punctuation differently.
            problems.append(
                f"collation {collation}: create the database with LC_COLLATE 'C' "
                "(text must sort by code point)"
            )
        return ("; ".join(problems) or "ok"), current, newest

    async def foreign_keys(self) -> list[ForeignKey]:
        # pg_constraint rather than information_schema: it keeps each key's column pairs in
        # order. Tables in creation order (their oid), as SQLite's rowid order gives them.
        rows = await self.fetchall(
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent, "
            "a.attname AS fk_col, af.attname AS parent_col "
            "FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, fcol, ord) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col "
            "JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fcol "
            "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace "
            "ORDER BY c.conrelid, c.oid, k.ord"
        )
        return [ForeignKey(r[0], r[1], r[2], r[3]) for r in rows]

    async def tables(self) -> dict[str, list[str]]:
        rows = await self.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
        out: dict[str, list[str]] = {}
        for table, column in rows:
            out.setdefault(table, []).append(column)
        return out


def _expected_tables() -> list[str]:
    names = {"schema_migrations"}
    for mig in load_migrations("postgres"):
        for dropped, created in _TABLE_DDL.findall(mig.sql):
            if created:
                names.add(created.lower())
            else:
                names.discard(dropped.lower())
    return sorted(names)


_TABLE_DDL = re.compile(
    r"DROP TABLE (?:IF EXISTS )?(\w+)|CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE
)
