"""Tier 1: the storage layer on a real database (SQLite, or PostgreSQL with DOORSTEP_TEST_DB)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg
import pytest

from bot.domain.residents import ConversationState
from bot.storage.db import Database, load_migrations, open_database
from bot.storage.residents import ResidentStore
from bot.storage.sqlite import SqliteDatabase


@pytest.fixture
async def db(tmp_path: Path):
    database = open_database(tmp_path / "t.sqlite3")
    await database.open()
    yield database
    await database.close()


@pytest.mark.sqlite_only("SQLite's own pragmas")
async def test_pragmas(db: Database) -> None:
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA synchronous") == 1  # NORMAL
    assert await db.fetchval("PRAGMA busy_timeout") == 5000


async def test_migrations_are_numbered_and_applied_once(db: Database) -> None:
    migrations = load_migrations(db.dialect)
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    assert await db.schema_version() == migrations[-1].version
    assert await db.migrate() == []  # nothing left to apply
    integrity, version, newest = await db.check()
    assert integrity == "ok" and version == newest


async def test_failed_write_rolls_back(db: Database) -> None:
    store = ResidentStore(db)
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO residents (channel, channel_user_id, created_at) VALUES ('t','1','x')"
            )
            await conn.execute(
                "INSERT INTO residents (channel, channel_user_id, created_at) VALUES ('t','1','x')"
            )
    assert await store.load("t", "1") is None


async def test_create_is_idempotent_under_concurrency(db: Database) -> None:
    store = ResidentStore(db)
    made = await asyncio.gather(*(store.create("t", "42") for _ in range(20)))
    assert len({r.id for r in made}) == 1
    assert await db.fetchval("SELECT count(*) FROM residents") == 1


async def test_export_follows_foreign_keys_and_delete_cascades(db: Database) -> None:
    store = ResidentStore(db)
    me = await store.create("t", "1")
    other = await store.create("t", "2")
    await store.save_state(me.id, ConversationState("x", {"a": 1}))
    await store.save_state(other.id, ConversationState("y", {}))
    # A feature table two hops away is found without any export code.
    await db.execute(
        "CREATE TABLE kids (id INTEGER PRIMARY KEY, "
        "resident_id INTEGER REFERENCES residents(id) ON DELETE CASCADE, nick TEXT)"
    )
    await db.execute(
        "CREATE TABLE doses (id INTEGER PRIMARY KEY, "
        "kid_id INTEGER REFERENCES kids(id) ON DELETE CASCADE, code TEXT)"
    )
    await db.execute("INSERT INTO kids (id, resident_id, nick) VALUES (1, ?, 'A')", (me.id,))
    await db.execute("INSERT INTO kids (id, resident_id, nick) VALUES (2, ?, 'B')", (other.id,))
    await db.execute(
        "INSERT INTO doses (id, kid_id, code) VALUES (1, 1, 'BCG-1'), (2, 2, 'HepB-1')"
    )
    data = await store.export(me.id)
    assert [k["nick"] for k in data["kids"]] == ["A"]
    assert [d["code"] for d in data["doses"]] == ["BCG-1"]
    assert data["conversations"][0]["state"] == "x"
    assert await store.delete(me.id)
    assert await db.fetchval("SELECT count(*) FROM doses") == 1
    assert await db.fetchval("SELECT count(*) FROM conversations") == 1
    assert await store.get(other.id) is not None


async def test_every_resident_table_cascades(db: Database) -> None:
    """A table that points at residents without ON DELETE CASCADE would break /delete; the
    two that outlive a resident hold no identifier of theirs (audit entries are pseudonymised
    by ResidentStore.delete, code attempts count towards address and overall limits)."""
    outlive = {"audit_log", "code_attempts"}
    if db.dialect == "postgres":
        actions = {"c": "CASCADE", "n": "SET NULL", "a": "NO ACTION", "r": "RESTRICT"}
        found = [
            (r[0], actions.get(r[1], r[1]))
            for r in await db.fetchall(
                "SELECT conrelid::regclass::text, confdeltype::text FROM pg_constraint "
                "WHERE contype = 'f' AND confrelid = 'residents'::regclass"
            )
        ]
    else:
        found = []
        tables = [
            r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for fk in await db.fetchall(f'PRAGMA foreign_key_list("{table}")'):
                if fk["table"] == "residents":
                    found.append((table, fk["on_delete"]))
    assert len(found) > 20  # every feature's tables, not an empty query
    for table, on_delete in found:
        expected = "SET NULL" if table in outlive else "CASCADE"
        assert on_delete == expected, table


async def test_a_lower_numbered_migration_is_still_applied(db: Database) -> None:
    """A migration merged after higher-numbered ones ran (parallel work) is not skipped."""
    await db.execute("DROP TABLE outbox")  # nothing references it, on either backend
    await db.execute("DELETE FROM schema_migrations WHERE version = 2")
    integrity, version, newest = await db.check()
    assert version == -1  # partly migrated never looks current
    assert await db.migrate() == [2]
    assert await db.fetchval("SELECT count(*) FROM outbox") == 0
    integrity, version, newest = await db.check()
    assert integrity == "ok" and version == newest


@pytest.mark.sqlite_only("SQLite's table-rebuild procedure (PostgreSQL's 0012 alters in place)")
async def test_migration_12_keeps_every_row_of_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0012 rebuilds `residents` and `audit_log` (foreign keys off, as SQLite's procedure
    says): nothing pointing at a resident may be lost or cascade away on the way."""
    import bot.storage.sqlite as dbmod

    everything = load_migrations()
    monkeypatch.setattr(dbmod, "load_migrations", lambda: [m for m in everything if m.version < 12])
    old = SqliteDatabase(tmp_path / "old.sqlite3")
    await old.open()
    store = ResidentStore(old)
    a, b = await store.create("t", "a"), await store.create("t", "b")
    await store.save_state(a.id, ConversationState("x", {"k": 1}))
    await old.execute(
        "INSERT INTO children (id, owner_id, nickname, born, created_at) VALUES (1, ?, 'M', "
        "'2025-01-01', 0)",
        (a.id,),
    )
    await old.execute(
        "INSERT INTO child_guardians (child_id, resident_id, role, added_at) VALUES "
        "(1, ?, 'owner', 0), (1, ?, 'guardian', 1)",
        (a.id, b.id),
    )
    await old.execute(
        "INSERT INTO audit_log (at, doctor_id, action, target_resident_id, details) "
        "VALUES (1, 'd1', 'card_viewed', ?, '')",
        (b.id,),
    )
    await old.execute("INSERT INTO doctor_code_attempts (resident_id, at) VALUES (?, 5)", (a.id,))
    await old.close()

    monkeypatch.setattr(dbmod, "load_migrations", lambda: everything)
    db = SqliteDatabase(tmp_path / "old.sqlite3")
    await db.open()
    try:
        assert (await db.check())[0] == "ok"
        assert await db.fetchval("SELECT count(*) FROM residents") == 2
        assert await db.fetchval("SELECT count(*) FROM conversations") == 1
        assert await db.fetchval("SELECT count(*) FROM child_guardians") == 2
        assert await db.fetchval("SELECT target_resident_id FROM audit_log") == b.id
        assert await db.fetchval("SELECT count(*) FROM code_attempts WHERE kind = 'doctor'") == 1
        # The rebuilt table still hands a child over, and ids are not reused.
        store = ResidentStore(db)
        assert await store.delete(a.id)
        assert await db.fetchval("SELECT owner_id FROM children WHERE id = 1") == b.id
        assert (await store.create("t", "c")).id > b.id
        await store.delete(b.id)
        assert (await store.create("t", "d")).id > b.id + 1
    finally:
        await db.close()
