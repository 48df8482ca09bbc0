"""`doorstep db copy`: copy a whole database, or one district's rows, into another database,
SQLite or PostgreSQL either way (through the `Database` API both backends share).

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

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.storage.db import Database

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


async def read_tables(db: Database) -> list[Table]:
    """The schema as the copy needs it: tables, columns, foreign keys (either backend)."""
    keys: dict[str, list[ForeignKey]] = {}
    for fk in await db.foreign_keys():
        keys.setdefault(fk.child, []).append(
            ForeignKey(fk.fk_col, fk.parent, fk.parent_col or "id")
        )
    return [
        Table(name, tuple(cols), tuple(keys.get(name, ())))
        for name, cols in (await db.tables()).items()
    ]


async def _count(conn: Any, table: str, where: str, params: Sequence[Any]) -> int:
    async with conn.execute(f'SELECT COUNT(*) FROM "{table}"{where}', list(params)) as cur:
        row = await cur.fetchone()
    return int(row[0])


async def _rows(
    db: Database, table: str, columns: Sequence[str], where: str, params: Sequence[Any]
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The source's rows in batches: by id (keyset) where the table has one, else at once
    (those tables hold one row per resident or fewer)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    if "id" not in columns:
        rows = await db.fetchall(f'SELECT {cols} FROM "{table}"{where}', list(params))
        if rows:
            yield [tuple(r) for r in rows]
        return
    joiner = " AND" if where else " WHERE"
    after: Any = None
    while True:
        more = f'{joiner} "id" > ?' if after is not None else ""
        args = [*params, after] if after is not None else list(params)
        rows = await db.fetchall(
            f'SELECT {cols} FROM "{table}"{where}{more} ORDER BY "id" LIMIT {BATCH}', args
        )
        if not rows:
            return
        batch = [tuple(r) for r in rows]
        yield batch
        after = batch[-1][columns.index("id")]


async def _after_copy(db: Database, conn: Any, tables: Sequence[Table]) -> None:
    if db.dialect == "sqlite":
        # INTEGER PRIMARY KEY goes on after the largest id by itself; foreign keys were
        # enforced row by row, and are checked once more over the whole target.
        async with conn.execute("PRAGMA foreign_key_check") as cur:
            broken = list(await cur.fetchall())
        if broken:
            raise CopyError(f"{len(broken)} row(s) on the target point at rows not copied")
    else:
        # Identity columns: the next id must come after the largest one copied.
        for t in tables:
            if "id" not in t.columns:
                continue
            async with conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (t.name,)) as cur:
                row = await cur.fetchone()
            if row is None or row[0] is None:
                continue  # a text id (stations, doctors): no sequence
            await conn.execute(
                'SELECT setval(CAST(? AS regclass), MAX("id")) '
                f'FROM "{t.name}" HAVING COUNT(*) > 0',
                (row[0],),
            )
    # A bot running on the target reloads its directory when this moves.
    await conn.execute(
        "UPDATE directory_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'"
    )


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


async def non_empty(target: Database, tables: Sequence[Table]) -> list[str]:
    """The tables holding rows of their own (beyond what the target's migrations wrote)."""
    full = []
    for t in tables:
        if t.name in BOOKKEEPING or t.name == "directory_meta":
            continue
        if t.name == "districts":
            n = await target.fetchval("SELECT COUNT(*) FROM districts WHERE code <> 'default'")
        else:
            n = await target.fetchval(f'SELECT COUNT(*) FROM "{t.name}"')
        if n:
            full.append(t.name)
    return full


async def copy_database(
    source: Database,
    target: Database,
    district: str | None = None,
    allow_non_empty: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every table (or `district`'s rows) from `source` into `target`, verified; both
    are open, the target migrated. One transaction on the target: all or nothing."""
    src_version, tgt_version = await source.schema_version(), await target.schema_version()
    if src_version != tgt_version:
        raise CopyError(
            f"schema versions differ: the source is at {src_version}, the target at "
            f"{tgt_version}; run `doorstep db migrate` on the older one first"
        )
    # A PostgreSQL cluster's coordination tables (cluster_*, bot/storage/cluster.py: claims,
    # job leases, send slots) describe the workers of that deployment, not its data: never
    # copied, and the workers of the target make their own.
    tables = fk_order([t for t in await read_tables(source) if not t.name.startswith("cluster_")])
    target_tables = {t.name: t for t in await read_tables(target)}
    missing = [t.name for t in tables if t.name not in target_tables]
    if missing:
        raise CopyError(f"the target lacks table(s): {', '.join(missing)}")
    if district is not None:
        if await source.fetchval("SELECT COUNT(*) FROM districts WHERE code = ?", (district,)) == 0:
            raise CopyError(f"the source has no district {district!r}")
    if not allow_non_empty:
        full = await non_empty(target, tables)
        if full:
            raise CopyError(
                f"the target is not empty ({', '.join(full[:5])}"
                f"{', ...' if len(full) > 5 else ''}); give --allow-non-empty to copy into it"
            )
    filters = district_filters(tables, district) if district is not None else {}
    report = CopyReport(district)
    async with target.write() as conn:
        for t in tables:
            if t.name in BOOKKEEPING:
                continue
            if district is not None and t.name not in filters:
                report.skipped.append(t.name)
                continue
            where, params = filters.get(t.name, ("", []))
            merge = t.name in MERGED
            columns = [c for c in t.columns if c in target_tables[t.name].columns]
            quoted = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            insert = f'INSERT INTO "{t.name}" ({quoted}) VALUES ({marks})'
            if merge:
                insert += " ON CONFLICT DO NOTHING"
            before = await _count(conn, t.name, where, params)
            refs = {fk.column: columns.index(fk.column) for fk in t.self_refs}
            later: list[tuple[str, Any, Any]] = []
            source_n = 0
            async for batch in _rows(source, t.name, columns, where, params):
                source_n += len(batch)
                if refs:
                    # A row may point at a later row of its own table (a moved visit): the
                    # reference is written once every row is in.
                    key = columns.index("id")
                    for row in batch:
                        later.extend(
                            (c, row[i], row[key]) for c, i in refs.items() if row[i] is not None
                        )
                    nulls = set(refs.values())
                    batch = [
                        tuple(None if i in nulls else v for i, v in enumerate(row)) for row in batch
                    ]
                await conn.executemany(insert, batch)
                if progress is not None:
                    progress(t.name, source_n)
            for column, value, row_id in later:
                await conn.execute(
                    f'UPDATE "{t.name}" SET "{column}" = ? WHERE "id" = ?', (value, row_id)
                )
            after = await _count(conn, t.name, where, params)
            if merge:
                ok, note = after >= source_n, "merged"  # rows the target had are kept
            else:
                ok, note = after - before == source_n, ""
            if not ok:
                raise CopyError(
                    f"{t.name}: {source_n} row(s) in the source, but the target gained "
                    f"{after - before}; nothing was copied"
                )
            report.tables.append(TableCount(t.name, source_n, after - before, note))
        await _after_copy(target, conn, tables)
    return report
