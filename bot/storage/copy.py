"""`doorstep db copy`: copy a whole database, or one district's rows, into another database
(SQLite to SQLite now; PostgreSQL joins as an Endpoint when its backend lands).

Tables are copied parents first (the order of their foreign keys), ids as they are, in one
transaction on the target; every table's rows are counted on both sides afterwards, and any
difference rolls the whole copy back. The target is migrated to the newest schema first and
must be at the source's version.

Which rows are a district's (`--district`), decided from the schema, so that a new feature's
table needs no code here:
  1. a table with `district_code` (stations, doctors, communities, residents, announcements);
  2. a table with a foreign key to such a table or to one decided by this rule (a resident's
     data, a child's doses), by its first such key;
  3. a table with `doctor_id`: that doctor's rows; with `centre_id` / `station_id`: that
     station's;
  4. anything else is deployment-wide (schema bookkeeping, WeChat tokens, nonces) and is not
     copied with --district; the report names it.
The audit log is a district's when its doctor or the resident it is about is (as
`doorstep audit --district` shows it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

BATCH = 1000
# Rows the target's own migrations write (merged, never doubled): the schema's bookkeeping,
# the directory's version counter, the default district.
BOOKKEEPING = ("schema_migrations",)
MERGED = {"directory_meta": ("key",), "districts": ("code",)}


class CopyError(Exception):
    """The copy cannot be made or did not verify; nothing was changed on the target."""


@dataclass(frozen=True, slots=True)
class ForeignKey:
    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def self_refs(self) -> tuple[ForeignKey, ...]:
        return tuple(f for f in self.foreign_keys if f.parent == self.name)


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    copied: int  # rows the target gained
    note: str = ""


@dataclass
class CopyReport:
    district: str | None
    tables: list[TableCount] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # deployment-wide, not copied


class Endpoint(Protocol):
    """One side of a copy: a database with the doorstep schema."""

    label: str

    def tables(self) -> list[Table]: ...
    def schema_version(self) -> int: ...
    def count(self, table: str, where: str, params: Sequence[Any]) -> int: ...
    def rows(
        self, table: str, columns: Sequence[str], where: str, params: Sequence[Any]
    ) -> Iterator[list[tuple[Any, ...]]]: ...
    def begin(self) -> None: ...
    def insert(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], merge: bool
    ) -> None: ...
    def update_refs(self, table: str, column: str, rows: list[tuple[Any, Any]]) -> None: ...
    def after_copy(self, tables: Sequence[Table]) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class SqliteEndpoint:
    """A SQLite database file, through the standard library (the copy runs in a command, not
    beside a running bot's event loop)."""

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=5000")

    def tables(self) -> list[Table]:
        out = []
        names = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY rowid"
        ).fetchall()
        for (name,) in names:
            cols = tuple(r[1] for r in self.conn.execute(f"PRAGMA table_info('{name}')"))
            fks = tuple(
                ForeignKey(r[3], r[2], r[4] or "id")
                for r in self.conn.execute(f"PRAGMA foreign_key_list('{name}')")
            )
            out.append(Table(name, cols, fks))
        return out

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def count(self, table: str, where: str, params: Sequence[Any]) -> int:
        return int(
            self.conn.execute(f'SELECT COUNT(*) FROM "{table}"{where}', list(params)).fetchone()[0]
        )

    def rows(
        self, table: str, columns: Sequence[str], where: str, params: Sequence[Any]
    ) -> Iterator[list[tuple[Any, ...]]]:
        cols = ", ".join(f'"{c}"' for c in columns)
        order = ' ORDER BY "id"' if "id" in columns else ""  # some are WITHOUT ROWID
        cur = self.conn.execute(f'SELECT {cols} FROM "{table}"{where}{order}', list(params))
        while batch := cur.fetchmany(BATCH):
            yield [tuple(r) for r in batch]

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def insert(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], merge: bool
    ) -> None:
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        verb = "INSERT OR IGNORE" if merge else "INSERT"
        self.conn.executemany(f'{verb} INTO "{table}" ({cols}) VALUES ({marks})', rows)

    def update_refs(self, table: str, column: str, rows: list[tuple[Any, Any]]) -> None:
        self.conn.executemany(f'UPDATE "{table}" SET "{column}" = ? WHERE id = ?', rows)

    def after_copy(self, tables: Sequence[Table]) -> None:
        # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself; tables with
        # AUTOINCREMENT keep their counter in sqlite_sequence, which the inserts advanced.
        broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise CopyError(f"{len(broken)} row(s) on the target point at rows not copied")
        # A bot running on the target reloads its directory when this moves.
        self.conn.execute(
            "UPDATE directory_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
        )

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


def fk_order(tables: Sequence[Table]) -> list[Table]:
    """Parents before children (self-references aside); ties in schema order."""
    by_name = {t.name: t for t in tables}
    done: set[str] = set()
    out: list[Table] = []

    def visit(t: Table, path: tuple[str, ...]) -> None:
        if t.name in done:
            return
        if t.name in path:
            raise CopyError(f"foreign keys form a cycle: {' -> '.join((*path, t.name))}")
        for fk in t.foreign_keys:
            if fk.parent != t.name and fk.parent in by_name:
                visit(by_name[fk.parent], (*path, t.name))
        done.add(t.name)
        out.append(t)

    for t in tables:
        visit(t, ())
    return out


def district_filters(tables: Sequence[Table], district: str) -> dict[str, tuple[str, list[Any]]]:
    """The WHERE clause selecting `district`'s rows of each table that has any (the rules in
    this module's docstring); tables missing from the answer are deployment-wide."""
    by_name = {t.name: t for t in tables}
    out: dict[str, tuple[str, list[Any]]] = {}

    def subset(parent: str, column: str) -> tuple[str, list[Any]] | None:
        where = decide(by_name[parent]) if parent in by_name else None
        if where is None:
            return None
        clause, params = where
        return f'SELECT "{column}" FROM "{parent}"{clause}', params

    def decide(t: Table) -> tuple[str, list[Any]] | None:
        if t.name in out:
            return out[t.name]
        found: tuple[str, list[Any]] | None = None
        if t.name == "districts":
            found = (" WHERE code = ?", [district])
        elif "district_code" in t.columns:
            found = (" WHERE district_code = ?", [district])
        elif t.name == "audit_log":
            found = (
                " WHERE doctor_id IN (SELECT id FROM doctors WHERE district_code = ?)"
                " OR target_resident_id IN (SELECT id FROM residents WHERE district_code = ?)",
                [district, district],
            )
        else:
            for fk in t.foreign_keys:
                if fk.parent == t.name:
                    continue
                sub = subset(fk.parent, fk.parent_column)
                if sub is not None:
                    found = (f' WHERE "{fk.column}" IN ({sub[0]})', sub[1])
                    break
            if found is None:
                for column, parent in (
                    ("doctor_id", "doctors"),
                    ("centre_id", "stations"),
                    ("station_id", "stations"),
                ):
                    if column in t.columns:
                        sub = subset(parent, "id")
                        if sub is not None:
                            found = (f' WHERE "{column}" IN ({sub[0]})', sub[1])
                            break
        if found is not None:
            out[t.name] = found
        return found

    for t in tables:
        decide(t)
    return out


def is_empty(target: Endpoint, tables: Sequence[Table]) -> list[str]:
    """The tables holding rows of their own (beyond what the target's migrations wrote)."""
    full = []
    for t in tables:
        if t.name in BOOKKEEPING:
            continue
        if t.name == "directory_meta":
            continue
        if t.name == "districts":
            n = target.count(t.name, " WHERE code <> ?", ["default"])
        else:
            n = target.count(t.name, "", [])
        if n:
            full.append(t.name)
    return full


def copy_database(
    source: Endpoint,
    target: Endpoint,
    district: str | None = None,
    allow_non_empty: bool = False,
    progress: Any = None,
) -> CopyReport:
    """Copy every table (or `district`'s rows) from `source` into `target`, verified."""
    src_version, tgt_version = source.schema_version(), target.schema_version()
    if src_version != tgt_version:
        raise CopyError(
            f"schema versions differ: {source.label} is at {src_version}, {target.label} at "
            f"{tgt_version}; run `doorstep db migrate` on the older one first"
        )
    tables = fk_order(source.tables())
    target_tables = {t.name: t for t in target.tables()}
    missing = [t.name for t in tables if t.name not in target_tables]
    if missing:
        raise CopyError(f"the target lacks table(s): {', '.join(missing)}")
    if district is not None:
        if source.count("districts", " WHERE code = ?", [district]) == 0:
            raise CopyError(f"{source.label} has no district {district!r}")
    if not allow_non_empty:
        full = is_empty(target, tables)
        if full:
            raise CopyError(
                f"{target.label} is not empty ({', '.join(full[:5])}"
                f"{', ...' if len(full) > 5 else ''}); give --allow-non-empty to copy into it"
            )
    filters = district_filters(tables, district) if district is not None else {}
    report = CopyReport(district)
    target.begin()
    try:
        for t in tables:
            if t.name in BOOKKEEPING:
                continue
            if district is not None and t.name not in filters:
                report.skipped.append(t.name)
                continue
            where, params = filters.get(t.name, ("", []))
            merge = t.name in MERGED
            # Only columns both sides know (they are at one schema version, so: all).
            columns = [c for c in t.columns if c in target_tables[t.name].columns]
            before = target.count(t.name, where, params)
            refs = [fk.column for fk in t.self_refs]
            later: dict[str, list[tuple[Any, Any]]] = {c: [] for c in refs}
            source_n = 0
            for batch in source.rows(t.name, columns, where, params):
                source_n += len(batch)
                if refs:
                    at = {c: columns.index(c) for c in refs}
                    key = columns.index("id")
                    for row in batch:
                        for c, i in at.items():
                            if row[i] is not None:
                                later[c].append((row[i], row[key]))
                    batch = [
                        tuple(None if i in at.values() else v for i, v in enumerate(row))
                        for row in batch
                    ]
                target.insert(t.name, columns, batch, merge)
                if progress is not None:
                    progress(t.name, source_n)
            for c, pairs in later.items():
                if pairs:
                    target.update_refs(t.name, c, pairs)
            after = target.count(t.name, where, params)
            note = ""
            if merge:
                # Merged rows the target had already are kept; every source row is there.
                ok = after >= source_n
                note = "merged"
            else:
                ok = after - before == source_n
            if not ok:
                raise CopyError(
                    f"{t.name}: {source_n} row(s) in the source, but the target gained "
                    f"{after - before}; nothing was copied"
                )
            report.tables.append(TableCount(t.name, source_n, after - before, note))
        target.after_copy(tables)
        target.commit()
    except BaseException:
        target.rollback()
        raise
    return report
