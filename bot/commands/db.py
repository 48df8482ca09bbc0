"""`doorstep db migrate` and `doorstep db check`."""

from __future__ import annotations

import argparse

from bot.commands.common import add_db_option, with_db
from bot.config import Settings
from bot.storage.db import Database, open_database


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database maintenance")
    add_db_option(p)
    dbsub = p.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("migrate", help="apply pending schema migrations").set_defaults(func=migrate)
    dbsub.add_parser("check", help="integrity check and schema version").set_defaults(func=check)


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
