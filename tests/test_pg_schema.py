"""The two backends' schemas and the PostgreSQL plumbing: migrations mirrored one for one,
the same tables and columns after migrating, `?` translated only outside literals, and a
URL's password never shown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psycopg
import pytest

from bot.config import Settings
from bot.storage import pgtest
from bot.storage.db import load_migrations, open_database, redact
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SqliteDatabase
from bot.storage.sqltext import bind, to_pyformat, translate

PG_URL = pgtest.admin_url()
needs_pg = pytest.mark.skipif(PG_URL is None, reason="needs DOORSTEP_TEST_DB=postgresql://...")


def test_every_sqlite_migration_has_a_postgres_mirror_of_the_same_name() -> None:
    sqlite = [(m.version, m.name) for m in load_migrations("sqlite")]
    postgres = [(m.version, m.name) for m in load_migrations("postgres")]
    missing = sorted(set(sqlite) - set(postgres))
    extra = sorted(set(postgres) - set(sqlite))
    assert not missing, f"add PostgreSQL mirrors in bot/storage/migrations/postgres/: {missing}"
    assert not extra, f"PostgreSQL migrations without a SQLite original: {extra}"
    assert len(sqlite) >= 17


@needs_pg
async def test_both_backends_migrate_to_the_same_tables_and_columns(tmp_path: Path) -> None:
    lite = SqliteDatabase(tmp_path / "schema.sqlite3")
    await lite.open()
    assert PG_URL is not None
    pg = PostgresDatabase(pgtest.with_dbname(PG_URL, pgtest.db_name(tmp_path / "schema-pg")))
    await pgtest.ensure(pg.url)
    await pg.open()
    try:
        lite_tables = {t: sorted(c) for t, c in (await lite.tables()).items()}
        pg_tables = {t: sorted(c) for t, c in (await pg.tables()).items()}
        assert sorted(lite_tables) == sorted(pg_tables)
        for table, columns in lite_tables.items():
            assert pg_tables[table] == columns, table
        # /mydata and /delete find the same foreign keys on both.
        lite_fks = {(f.child, f.parent, f.fk_col, f.parent_col) for f in await lite.foreign_keys()}
        pg_fks = {(f.child, f.parent, f.fk_col, f.parent_col) for f in await pg.foreign_keys()}
        assert lite_fks == pg_fks
        assert len(pg_fks) > 30
        newest = load_migrations("postgres")[-1].version
        assert await pg.check() == ("ok", newest, newest)
        assert await pg.fetchval("SELECT 'md:' < 'md;' AND 'a' < 'B' IS FALSE") is True
        await pg.execute("DROP TABLE web_tokens")
        assert (await pg.check())[0] == "missing tables: web_tokens"
    finally:
        await lite.close()
        await pg.close()


def test_placeholders_are_translated_outside_literals_only() -> None:
    assert to_pyformat("SELECT * FROM t WHERE a = ? AND b = ?") == (
        "SELECT * FROM t WHERE a = %s AND b = %s"
    )
    # In a literal, a quoted identifier or a comment, ? stays and % is escaped for psycopg.
    assert to_pyformat("SELECT '?', 'it''s ?', \"a?\" FROM t WHERE x LIKE 'a%' AND y = ?") == (
        "SELECT '?', 'it''s ?', \"a?\" FROM t WHERE x LIKE 'a%%' AND y = %s"
    )
    assert to_pyformat("SELECT 5 % 2, ? -- why?\n") == "SELECT 5 %% 2, %s -- why?\n"
    assert to_pyformat("SELECT /* ? */ ?") == "SELECT /* ? */ %s"
    with pytest.raises(ValueError):
        to_pyformat("SELECT 'open")
    # SQLite's numbered ?NNN: one value used twice; a plain ? after it is the next number.
    assert translate("SELECT ?, ?2, ? WHERE id = ?1") == (
        "SELECT %(p1)s, %(p2)s, %(p3)s WHERE id = %(p1)s",
        True,
    )
    assert bind((7, 8, 9), True) == {"p1": 7, "p2": 8, "p3": 9}


def test_db_target_from_the_environment() -> None:
    url = "postgresql://bot:s3cret@db.example:5432/doorstep"
    assert Settings.from_env({"DOORSTEP_DB": url}).db_path == url
    assert Settings.from_env({"DOORSTEP_DB": "x/y.sqlite3"}).db_path == Path("x/y.sqlite3")
    assert "s3cret" not in repr(Settings.from_env({"DOORSTEP_DB": url}))
    assert redact(url) == "postgresql://bot:***@db.example:5432/doorstep"
    assert redact("postgresql://bot@db/doorstep") == "postgresql://bot@db/doorstep"
    if PG_URL is None:
        assert isinstance(open_database(Path("x.sqlite3")), SqliteDatabase)
    assert isinstance(open_database(url), PostgresDatabase)


async def test_a_password_in_the_url_is_never_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens on port 9 here: opening fails, and neither the logs, the error nor
    the database's own description show the password."""
    secret = "pw-" + os.urandom(6).hex()
    db = open_database(f"postgresql://doorstep:{secret}@127.0.0.1:9/doorstep?connect_timeout=2")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(psycopg.Error) as failed:
            await db.open()
    await db.close()
    out = capsys.readouterr()
    assert "cannot connect" in caplog.text  # logged, just without the secret
    for text in (caplog.text, str(failed.value), repr(db), db.display, out.out, out.err):
        assert secret not in text
    assert "***" in db.display


@needs_pg
async def test_reads_and_transactions_survive_the_server_dropping_every_connection(
    tmp_path: Path,
) -> None:
    """What a PostgreSQL restart does to a running process: every connection it holds is
    closed by the server. Reads and write transactions go on, on new connections."""
    db = open_database(tmp_path / "restart.sqlite3")
    await db.open()
    assert isinstance(db, PostgresDatabase)
    try:
        await db.execute("INSERT INTO directory_meta (key, value) VALUES ('k', '1')")
        async with db.write() as conn:  # a pooled connection exists now, idle
            await conn.execute("UPDATE directory_meta SET value = '2' WHERE key = 'k'")
        assert PG_URL is not None
        name = pgtest.db_name(tmp_path / "restart.sqlite3")
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchone()
        assert killed is not None and killed[0] >= 2
        assert await db.fetchval("SELECT value FROM directory_meta WHERE key = 'k'") == "2"
        async with db.write() as conn:
            await conn.execute("UPDATE directory_meta SET value = '3' WHERE key = 'k'")
        async with db.write(exclusive=False) as conn:
            await conn.execute("UPDATE directory_meta SET value = '4' WHERE key = 'k'")
        assert await db.fetchval("SELECT value FROM directory_meta WHERE key = 'k'") == "4"
    finally:
        await db.close()
