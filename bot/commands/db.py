"""`doorstep db migrate`, `doorstep db check` and `doorstep db copy`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.commands.common import add_db_option, with_db
from bot.config import Settings, district_code
from bot.storage.copy import CopyError, CopyReport, copy_database
from bot.storage.db import Database, is_postgres, open_database, redact


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database maintenance")
    add_db_option(p)
    dbsub = p.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("migrate", help="apply pending schema migrations").set_defaults(func=migrate)
    dbsub.add_parser("check", help="integrity check and schema version").set_defaults(func=check)
    c = dbsub.add_parser(
        "copy",
        help="copy a database (or one district of it) into another, verified table by table",
        description="SOURCE and TARGET are SQLite files or postgresql:// URLs, either way "
        "round. The target is migrated first; ids are kept; every table's "
        "rows are counted on both sides, and any difference rolls the copy back.",
    )
    c.add_argument("source")
    c.add_argument("target")
    c.add_argument("--district", dest="copy_district", metavar="CODE", help="only this district")
    c.add_argument(
        "--allow-non-empty",
        action="store_true",
        help="copy into a target that already holds data (ids must not collide)",
    )
    c.set_defaults(func=copy)


def _db(args: argparse.Namespace, settings: Settings) -> Database:
    return open_database(with_db(args, settings).db_path)


async def migrate(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(args, settings)
    await db.open(migrate=False)
    try:
        applied = await db.migrate()
        version = await db.schema_version()
    finally:
        await db.close()
    print(f"applied {len(applied)} migration(s); schema version {version}")
    return 0


async def check(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(args, settings)
    await db.open(migrate=False)
    try:
        integrity, version, newest = await db.check()
    finally:
        await db.close()
    print(f"integrity: {integrity}")
    print(f"schema version: {version} (newest known: {newest})")
    return 0 if integrity == "ok" and version == newest else 1


async def _open(where: str, target: bool) -> Database:
    """The source is only read, never migrated (its version must match); the target gets the
    newest schema first (a new SQLite file is created)."""
    # (Under the test suite on PostgreSQL a file path names a database there: no file.)
    local = not is_postgres(where) and not os.environ.get("DOORSTEP_TEST_DB")
    if not target and local and not await asyncio.to_thread(Path(where).is_file):
        raise CopyError(f"{where}: no such database file")
    db = open_database(where if is_postgres(where) else Path(where))
    await db.open(migrate=target)
    if not target and await db.schema_version() == 0:
        await db.close()
        raise CopyError(f"{redact(where)}: not a doorstep database (no schema)")
    return db


def format_copy(report: CopyReport, source: str, target: str) -> str:
    what = f"district {report.district!r}" if report.district else "the whole database"
    lines = [f"copied {what} from {source} to {target}:"]
    width = max((len(t.table) for t in report.tables), default=5)
    lines.append(f"  {'table':<{width}} {'source':>9} {'copied':>9}")
    for t in report.tables:
        note = f"  ({t.note})" if t.note else ""
        lines.append(f"  {t.table:<{width}} {t.source:>9} {t.copied:>9}{note}")
    total = sum(t.source for t in report.tables)
    lines.append(f"{len(report.tables)} tables, {total} rows, counts verified on both sides")
    if report.skipped:
        lines.append("not a district's data, not copied: " + ", ".join(report.skipped))
    return "\n".join(lines)


async def copy(args: argparse.Namespace, settings: Settings) -> int:
    district = district_code(args.copy_district) if args.copy_district else None
    same = args.source == args.target
    if not same and not is_postgres(args.source) and not is_postgres(args.target):
        src, tgt = Path(args.source), Path(args.target)
        same = await asyncio.to_thread(lambda: src.resolve() == tgt.resolve())
    if same:
        print("doorstep db copy: SOURCE and TARGET are the same database", file=sys.stderr)
        return 2
    opened: list[Database] = []
    try:
        source = await _open(args.source, target=False)
        opened.append(source)
        target = await _open(args.target, target=True)
        opened.append(target)
        report = await copy_database(
            source,
            target,
            district=district,
            allow_non_empty=args.allow_non_empty,
            progress=_progress,
        )
    except CopyError as exc:
        print(f"doorstep db copy: {exc}", file=sys.stderr)
        return 1
    finally:
        for db in opened:
            await db.close()
    print(format_copy(report, redact(args.source), redact(args.target)))
    return 0


def _progress(table: str, n: int) -> None:
    if n % 10_000 == 0:
        print(f"… {table}: {n} rows", file=sys.stderr, flush=True)
