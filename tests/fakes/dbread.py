"""Rows straight from the database another process writes, synchronously, on either backend:
the SQLite file itself, or (with DOORSTEP_TEST_DB) the PostgreSQL database that file's path
maps to (bot.storage.pgtest). SQL is written with `?` placeholders, as in the stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from bot.storage import pgtest
from bot.storage.sqltext import to_pyformat


def read(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    url = pgtest.mapped_url(db)
    if url is not None:
        with psycopg.connect(url, autocommit=True) as conn:
            return [tuple(r) for r in conn.execute(to_pyformat(sql), params)]  # type: ignore[arg-type]
    conn = sqlite3.connect(db, timeout=30)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()
