"""The database interface every store uses, and the factory that picks a backend.

`DOORSTEP_DB` (or `--db`) is either a file path, SQLite (the embedded default, see
bot.storage.sqlite), or a `postgresql://` URL (see bot.storage.postgres). Stores call the same
methods on both: `fetchone`/`fetchall`/`fetchval` read, `execute` runs one statement on its own,
`write()` is one transaction. SQL is written once with `?` placeholders; the PostgreSQL backend
translates them in one place (bot.storage.sqltext). Where the two dialects differ, a store asks
`db.dialect`.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

Dialect = Literal["sqlite", "postgres"]

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)


class Row(Protocol):
    """A result row: by position or by column name, and `dict(row)`."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...
    async def fetchone(self) -> Any: ...
    async def fetchall(self) -> Iterable[Any]: ...


class Pending(Protocol):
    """What `Conn.execute` returns: await it, or `async with` it, for the cursor."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...
    async def __aenter__(self) -> Cursor: ...
    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None: ...


class PendingRows(Protocol):
    def __await__(self) -> Generator[Any, None, Iterable[Any]]: ...


class Conn(Protocol):
    """The connection inside `Database.write()` (and `Database.reader`)."""

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Pending: ...
    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Pending: ...
    def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> PendingRows: ...
    @property
    def total_changes(self) -> int: ...


async def inserted_id(cur: Cursor) -> int:
    """The id an `INSERT ... RETURNING id` made (both backends; no lastrowid on PostgreSQL)."""
    row = await cur.fetchone()
    if row is None:
        raise RuntimeError("INSERT ... RETURNING id returned no row")
    return int(row[0])


@dataclass(frozen=True)
class ForeignKey:
    child: str
    parent: str
    fk_col: str
    parent_col: str | None


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: Dialect = "sqlite") -> list[Migration]:
    """The migrations shipped for a backend, ordered by version number.

    SQLite's are bot/storage/migrations/NNNN_name.sql; PostgreSQL's mirror them one for one,
    same number and name, in bot/storage/migrations/postgres/ (tests/test_pg_schema.py fails
    when a mirror is missing).
    """
    package = "bot.storage.migrations" + (".postgres" if dialect == "postgres" else "")
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


def is_postgres(target: Path | str) -> bool:
    return isinstance(target, str) and bool(_URL.match(target))


def redact(target: Path | str) -> str:
    """The target as it may be logged or printed: a URL's password is replaced by ***."""
    if not is_postgres(target):
        return str(target)
    parts = urlsplit(str(target))
    if parts.password is None:
        return str(target)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def parse_target(value: str) -> Path | str:
    """`DOORSTEP_DB` / `--db`: a PostgreSQL URL stays a string, anything else is a path."""
    return value if is_postgres(value) else Path(value)


class Database(ABC):
    """One backend's connections. Stores use only these methods (and `dialect`)."""

    dialect: Dialect
    # Where the database is, safe to log and print (a URL's password is never in it).
    display: str

    def unindexed(self, column: str) -> str:
        """`column` such that the planner does not pick its index: SQLite's `+column` (its
        documented way); PostgreSQL's planner goes by statistics and takes the column as is."""
        return f"+{column}" if self.dialect == "sqlite" else column

    @property
    def outer_join(self) -> str:
        """An inner join that keeps the left table as SQLite's outer loop (CROSS JOIN, SQLite's
        documented way to fix the join order); a plain JOIN on PostgreSQL."""
        return "CROSS JOIN" if self.dialect == "sqlite" else "JOIN"

    @abstractmethod
    async def open(self, migrate: bool = True) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def write(self, exclusive: bool = True) -> AbstractAsyncContextManager[Conn]:
        """One write transaction, committed at the end, rolled back on error.

        exclusive (the default): no other exclusive write transaction runs at the same time,
        in this process or (on PostgreSQL) any other, so a read-then-write inside is as
        atomic as SQLite's BEGIN IMMEDIATE. exclusive=False (PostgreSQL) skips that lock, for
        transactions that make their own guarantees (e.g. FOR UPDATE SKIP LOCKED claims);
        on SQLite every write transaction is exclusive anyway.
        """

    @property
    @abstractmethod
    def reader(self) -> Conn:
        """A connection for reads outside a transaction (`Conn` API)."""

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement as its own transaction; return rows changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def checkpoint(self) -> bool:
        """After a deletion: leave no copy of deleted rows beside the database (see each
        backend). True when done."""

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def applied_versions(self) -> set[int]: ...

    @abstractmethod
    async def migrate(self) -> list[int]: ...

    @abstractmethod
    async def check(self) -> tuple[str, int, int]:
        """Integrity check result, current schema version, newest known version."""

    @abstractmethod
    async def foreign_keys(self) -> list[ForeignKey]:
        """Every foreign key, table by table in the order the tables were created."""

    @abstractmethod
    async def tables(self) -> dict[str, list[str]]:
        """Every table of the schema and its columns (in order)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.display}>"


def open_database(target: Path | str) -> Database:
    """The backend for a target: a `postgresql://` URL or a SQLite file path.

    Under the test suite with DOORSTEP_TEST_DB set to a PostgreSQL URL, a file path maps to
    its own PostgreSQL database instead (bot.storage.pgtest), the same one from every process.
    """
    if is_postgres(target):
        from bot.storage.postgres import PostgresDatabase

        return PostgresDatabase(str(target))
    if os.environ.get("DOORSTEP_TEST_DB"):  # the test suite on PostgreSQL only
        from bot.storage import pgtest

        mapped = pgtest.mapped_url(Path(target))
        if mapped is not None:
            from bot.storage.postgres import PostgresDatabase

            return PostgresDatabase(mapped, for_file=Path(target))
    from bot.storage.sqlite import SqliteDatabase

    return SqliteDatabase(target)
