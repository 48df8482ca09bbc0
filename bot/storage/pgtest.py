"""The test suite on PostgreSQL: with DOORSTEP_TEST_DB=postgresql://... set, every SQLite file
path a test (or a child process it starts: they inherit the variable) opens maps to a
PostgreSQL database of its own, named from a hash of the path, so two processes of one test
reach the same database and no two tests share one.

Each is created from a template database that has every migration applied (CREATE DATABASE
... TEMPLATE copies files: far quicker than migrating each time). The template's name carries
a hash of the migrations and of the role, so a changed migration makes a new one.
DOORSTEP_TEST_RUN (set by tests/conftest.py) goes into every name, so one run drops its own
databases and nobody else's.

Unused unless DOORSTEP_TEST_DB is set; production never maps paths.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bot.storage.db import is_postgres, load_migrations

ENV = "DOORSTEP_TEST_DB"
RUN_ENV = "DOORSTEP_TEST_RUN"
PREFIX = "dt_"
_TEMPLATE_LOCK = 0x646F6F7274706C74
_NAME = re.compile(r"^[a-z0-9_]+$")


def admin_url() -> str | None:
    url = os.environ.get(ENV, "")
    return url if is_postgres(url) else None


def run_id() -> str:
    run = os.environ.get(RUN_ENV, "x").lower()
    return re.sub(r"[^a-z0-9]", "", run)[:12] or "x"


def with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def template_name() -> str:
    digest = hashlib.sha256()
    for mig in load_migrations("postgres"):
        digest.update(mig.name.encode() + b"\0" + mig.sql.encode())
    # And the role: only a template's owner may copy it, so two roles on one server (CI's and
    # a developer's) each build their own instead of failing on the other's.
    digest.update(b"\0role\0" + (urlsplit(admin_url() or "").username or "").encode())
    return f"{PREFIX}tpl_{digest.hexdigest()[:16]}"


def db_name(path: Path) -> str:
    digest = hashlib.sha256(str(path.absolute()).encode()).hexdigest()[:20]
    return f"{PREFIX}{run_id()}_{digest}"


def mapped_url(path: Path) -> str | None:
    admin = admin_url()
    return None if admin is None else with_dbname(admin, db_name(path))


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a test database name: {name!r}")
    return name


REGISTRY = "doorstep_test_databases"


async def ensure(url: str, path: Path | None = None) -> None:
    """Create the database `url` names from the migrated template, unless it exists; note
    which file path it stands for (`path`), so a test drops only its own databases (not one
    that a module-scoped fixture's server still uses)."""
    admin = admin_url()
    if admin is None:
        raise RuntimeError(f"{ENV} is not set")
    name = _ident(urlsplit(url).path.lstrip("/"))
    where = None if path is None else str(path.absolute())  # noqa: ASYNC240 - no I/O
    template = template_name()
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        if await _exists(conn, name):
            return
        # One process builds the template; the others wait for it on the lock.
        await conn.execute("SELECT pg_advisory_lock(%s)", (_TEMPLATE_LOCK,))
        try:
            if not await _exists(conn, template):
                await _build_template(conn, admin, template)
            if not await _exists(conn, name):
                await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {REGISTRY} (name TEXT PRIMARY KEY, path TEXT)"
            )
            await conn.execute(
                f"INSERT INTO {REGISTRY} (name, path) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (name, where),
            )
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_TEMPLATE_LOCK,))


async def _exists(conn: psycopg.AsyncConnection[Any], name: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return await cur.fetchone() is not None


async def _build_template(conn: psycopg.AsyncConnection[Any], admin: str, template: str) -> None:
    from bot.storage.postgres import PostgresDatabase

    building = _ident(template + "_new")
    execute = conn.execute
    await execute(f"DROP DATABASE IF EXISTS {building} WITH (FORCE)")
    # Code-point order for text, as SQLite compares (README, "PostgreSQL").
    await execute(
        f"CREATE DATABASE {building} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    db = PostgresDatabase(with_dbname(admin, building))
    await db.open(migrate=True)
    await db.close()
    # Renamed only when complete: a template that exists is a migrated one.
    await execute(f"ALTER DATABASE {building} RENAME TO {template}")


async def drop_run_databases(run: str | None = None) -> int:
    """Drop this run's databases (not the templates); return how many."""
    admin = admin_url()
    if admin is None:
        return 0
    prefix = f"{PREFIX}{run or run_id()}_"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        )
        names = [str(r[0]) for r in await cur.fetchall()]
        for name in names:
            await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    return len(names)
