"""`doorstep db copy` (issue 14): a whole database or one district, ids kept, counts verified
per table; SQLite to SQLite here, and SQLite -> PostgreSQL -> SQLite when a server is given
(DOORSTEP_TEST_DB)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from bot.storage.copy import CopyError, copy_database
from bot.storage.db import Database, open_database
from bot.storage.sqlite import SqliteDatabase
from tests.conftest import Clock
from tests.district_fixtures import SECOND, SECOND_WANG, start_two, stop_two


async def cli(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but the target's own migration bookkeeping), sorted."""
    out = {}
    for table, cols in (await db.tables()).items():
        if table == "schema_migrations" or table.startswith("cluster_"):
            continue
        rows = await db.fetchall(f'SELECT {", ".join(cols)} FROM "{table}"')
        out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


async def _source(settings: Settings, clock: Clock, tmp: Path) -> tuple[int, int]:
    """The two-district database at settings.db_path, with an outbox row planned."""
    two = await start_two(settings, clock, tmp)
    try:
        await two.a.db.execute(
            "INSERT INTO outbox (resident_id, kind, payload, due_at, dedupe_key, created_at, "
            "updated_at) VALUES (?, 'text', '{}', 1, 'k1', 1, 1)",
            (two.b_resident,),
        )
        return two.a_resident, two.b_resident
    finally:
        await stop_two(two)


async def test_whole_database_copy_keeps_every_row_and_id(
    settings: Settings, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _source(settings, clock, tmp_path)
    target = tmp_path / "copy.sqlite3"
    assert await cli(["db", "copy", str(settings.db_path), str(target)]) == 0
    out = capsys.readouterr().out
    assert "counts verified on both sides" in out
    assert "stations" in out and "residents" in out
    src, tgt = open_database(settings.db_path), open_database(target)
    await src.open(migrate=False)
    await tgt.open(migrate=False)
    try:
        before, after = await _snapshot(src), await _snapshot(tgt)
        version = after.pop("directory_meta")
        before.pop("directory_meta")
        assert after == before
        assert version  # bumped, so that a bot on the target reloads its directory
    finally:
        await src.close()
        await tgt.close()
    # Again into the same target: refused, and nothing changed there.
    assert await cli(["db", "copy", str(settings.db_path), str(target)]) == 1
    assert "not empty" in capsys.readouterr().err


async def test_one_district_copy_holds_only_that_district(
    settings: Settings, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_res, b_res = await _source(settings, clock, tmp_path)
    target = tmp_path / "songjiang.sqlite3"
    args = ["db", "copy", str(settings.db_path), str(target), "--district", SECOND]
    assert await cli(args) == 0
    out = capsys.readouterr().out
    assert f"district {SECOND!r}" in out
    assert "not a district's data, not copied" in out
    db = open_database(target)
    await db.open(migrate=False)
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM residents") == 1
        assert await db.fetchval("SELECT id FROM residents") == b_res  # the id kept
        assert (
            await db.fetchval("SELECT COUNT(*) FROM stations WHERE district_code <> ?", (SECOND,))
            == 0
        )
        assert await db.fetchval("SELECT COUNT(*) FROM stations") > 0
        assert await db.fetchval("SELECT doctor_id FROM signings") == SECOND_WANG
        assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 1
        assert await db.fetchval("SELECT COUNT(*) FROM residents WHERE id = ?", (a_res,)) == 0
    finally:
        await db.close()


async def test_copy_refuses_a_wrong_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not os.environ.get("DOORSTEP_TEST_DB"):
        assert (
            await cli(["db", "copy", str(tmp_path / "none.sqlite3"), str(tmp_path / "t.sqlite3")])
            == 1
        )
        assert "no such database file" in capsys.readouterr().err
    same = str(tmp_path / "x.sqlite3")
    assert await cli(["db", "copy", same, same]) == 2


async def test_unknown_district_is_refused(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    await _source(settings, clock, tmp_path)
    src, tgt = open_database(settings.db_path), open_database(tmp_path / "t.sqlite3")
    await src.open(migrate=False)
    await tgt.open()
    try:
        with pytest.raises(CopyError, match="no district 'nowhere'"):
            await copy_database(src, tgt, district="nowhere")
    finally:
        await src.close()
        await tgt.close()


@pytest.mark.skipif(
    not os.environ.get("DOORSTEP_TEST_DB"),
    reason="needs a PostgreSQL server: set DOORSTEP_TEST_DB=postgresql://... (README: Tests)",
)
async def test_sqlite_to_postgresql_and_back(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    from bot.storage import pgtest
    from bot.storage.postgres import PostgresDatabase

    await _source(settings, clock, tmp_path)
    source = open_database(settings.db_path)
    first = SqliteDatabase(tmp_path / "first.sqlite3")
    url = pgtest.mapped_url(tmp_path / "middle.pg")
    assert url is not None
    await pgtest.ensure(url)
    middle = PostgresDatabase(url)
    last = SqliteDatabase(tmp_path / "last.sqlite3")
    for db in (source, first, middle, last):
        await db.open(migrate=db is not source)
    try:
        await copy_database(source, first)
        report = await copy_database(first, middle)
        assert all(t.source == t.copied or t.note for t in report.tables)
        await copy_database(middle, last)
        one, two = await _snapshot(first), await _snapshot(last)
        one.pop("directory_meta")
        two.pop("directory_meta")
        assert one == two
        # The identity sequences moved past the copied ids: a new row gets a new id.
        top = await middle.fetchval("SELECT MAX(id) FROM residents")
        await middle.execute(
            "INSERT INTO residents (channel, channel_user_id, created_at) VALUES ('t', 'new', 'x')"
        )
        assert await middle.fetchval("SELECT id FROM residents WHERE channel_user_id = 'new'") > top
    finally:
        for db in (source, first, middle, last):
            await db.close()
