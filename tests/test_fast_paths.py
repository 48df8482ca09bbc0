"""Tier 1: the shortcuts that keep an update cheap behave exactly like the long way round.

- Reads run on the event loop's thread when quick, on the reader thread when not: same rows
  either way, and a read that overruns its budget is moved, not lost.
- Single-statement writes likewise run on the loop's thread: committed before they return,
  with foreign keys (cascades) on; one over its budget or refused by another process's lock
  is run again on the writer thread, applied exactly once.
- A reply's markup JSON is cached by its buttons: the same JSON as built afresh.
- Text replies go to the Bot API as raw calls with the markup as a JSON string: the fields
  must be exactly those PTB's markup objects would have sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.channels import telegram as tg
from bot.core import Button, Keyboard, KeyButton, Reply, Request
from bot.domain.residents import ConversationState
from bot.storage import sqlite as dbmod
from bot.storage.residents import ResidentStore
from bot.storage.sqlite import SqliteDatabase as Database

pytestmark = pytest.mark.sqlite_only("the SQLite backend's loop-thread fast paths")

# Enough SQLite VM steps to reach the budget check many times over.
SLOW_SQL = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
    "SELECT count(*), sum(i) FROM n"
)


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "fast.sqlite3")
    await database.open()
    yield database
    await database.close()


async def test_reads_see_every_committed_write_at_once(db: Database) -> None:
    store = ResidentStore(db)
    me = await store.create("t", "7")
    await store.save_state(me.id, ConversationState("ask", {"n": 1}))
    loaded = await store.load("t", "7")
    assert loaded is not None and loaded[1] == ConversationState("ask", {"n": 1})
    await store.update(me, locale="en")
    assert await db.fetchval("SELECT locale FROM residents WHERE id = ?", (me.id,)) == "en"
    assert [r["channel_user_id"] for r in await db.fetchall("SELECT * FROM residents")] == ["7"]


async def test_a_read_over_budget_moves_to_the_reader_thread_and_loses_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    expected = (20000, 20000 * 20001 // 2)
    # No budget at all: the read is interrupted at its first check, every time it is tried.
    monkeypatch.setattr(dbmod, "READ_BUDGET_S", -1.0)
    with caplog.at_level(logging.INFO, logger="bot.storage.sqlite"):
        for _ in range(dbmod._SLOW_STRIKES + 2):
            assert tuple(await db.fetchone(SLOW_SQL)) == expected  # type: ignore[arg-type]
            assert [tuple(r) for r in await db.fetchall(SLOW_SQL)] == [expected]
    moved = [r for r in caplog.records if "moved to the reader thread" in r.getMessage()]
    # After that many overruns the query is not tried on the loop any more.
    assert len(moved) == dbmod._SLOW_STRIKES
    # Quick reads are not affected by one slow query.
    assert await db.fetchval("SELECT 41 + 1") == 42


async def test_pragmas_and_writing_statements_still_work_through_the_read_calls(
    db: Database,
) -> None:
    assert await db.fetchval("PRAGMA busy_timeout") == dbmod.BUSY_TIMEOUT_MS
    # A statement that writes is refused by the loop's read-only connection and retried on
    # the reader connection, as before the shortcut existed.
    row = await db.fetchone(
        "WITH v(c, u) AS (SELECT 't', '9') "
        "INSERT INTO residents (channel, channel_user_id, created_at) "
        "SELECT c, u, 'now' FROM v RETURNING channel_user_id"
    )
    assert row is not None and row[0] == "9"
    assert await db.fetchval("SELECT count(*) FROM residents") == 1


async def test_a_read_error_is_raised_as_before(db: Database) -> None:
    with pytest.raises(Exception, match="no such table"):
        await db.fetchall("SELECT * FROM no_such_table")


async def test_writes_on_the_loop_are_committed_with_cascades(db: Database) -> None:
    store = ResidentStore(db)
    me = await store.create("t", "8")
    await store.save_state(me.id, ConversationState("ask", {"n": 2}))
    assert db._fast_writes == 2  # both on the loop's thread
    # Another connection (another process) sees the write at once: it is committed.
    other = sqlite3.connect(db.path)
    try:
        assert other.execute("SELECT state FROM conversations").fetchall() == [("ask",)]
        assert await store.delete(me.id)
        # ON DELETE CASCADE ran: foreign keys are on for the loop's writer too.
        assert other.execute("SELECT count(*) FROM conversations").fetchone() == (0,)
    finally:
        other.close()


SLOW_INSERT = (
    "INSERT INTO residents (channel, channel_user_id, created_at) "
    f"SELECT ?, CAST(s AS TEXT), 'now' FROM ({SLOW_SQL.replace('count(*), sum(i)', 'sum(i) AS s')})"
)


async def test_a_write_over_budget_moves_to_the_writer_thread_and_is_applied_once(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dbmod, "READ_BUDGET_S", -1.0)
    with caplog.at_level(logging.INFO, logger="bot.storage.sqlite"):
        for n in range(1, dbmod._SLOW_STRIKES + 3):
            assert await db.execute(SLOW_INSERT, (f"slow{n}",)) == 1
            # The interrupted attempt changed nothing: exactly one row per statement.
            assert await db.fetchval("SELECT count(*) FROM residents") == n
    moved = [r for r in caplog.records if "moved to the writer thread" in r.getMessage()]
    # After that many overruns the statement is not tried on the loop any more.
    assert len(moved) == dbmod._SLOW_STRIKES


async def test_a_write_waits_for_another_process_holding_the_lock(db: Database) -> None:
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
    try:
        # Refused on the loop (busy_timeout 0), so run on the writer thread, which waits.
        changed = await db.execute(
            "INSERT INTO residents (channel, channel_user_id, created_at) VALUES ('t', '1', 'x')"
        )
    finally:
        other.close()
    assert changed == 1
    assert await db.fetchval("SELECT count(*) FROM residents") == 1


async def test_loop_writes_are_checkpointed_off_the_loop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "_CHECKPOINT_EVERY", 3)
    checkpoints: list[str] = []
    run = db.reader.execute_fetchall

    async def spy(sql: str, params: object = ()) -> object:
        checkpoints.append(sql)
        return await run(sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(db.reader, "execute_fetchall", spy)
    for i in range(3):
        await db.execute(
            "INSERT INTO residents (channel, channel_user_id, created_at) VALUES ('t', ?, 'x')",
            (str(i),),
        )
    assert db._checkpointing is not None
    await db._checkpointing
    assert checkpoints == ["PRAGMA wal_checkpoint(PASSIVE)"]
    assert db._checkpointing is None


def test_cached_markup_is_the_markup_built_afresh() -> None:
    kb = Keyboard(rows=((KeyButton("A"), KeyButton("B", Request.LOCATION)),))
    inline = ((Button("✅ 好", data="v1:a:b"), Button("Map", url="https://example.org/m")),)
    for reply in (Reply(text="k", keyboard=kb), Reply(text="i", buttons=inline), Reply(text="-")):
        kb_ = reply.keyboard
        fresh = tg.keyboard_markup(kb_) if kb_ is not None else tg.inline_markup(reply)
        for _ in range(2):  # built, then from the cache
            wire = tg.wire_markup(reply)
            assert (None if wire is None else json.loads(wire)) == fresh
    # Rows given as lists are not hashable: still rendered, just not cached.
    listed = Reply(text="l", buttons=[[Button("x", data="v1:x")]])  # type: ignore[arg-type]
    assert json.loads(tg.wire_markup(listed) or "") == tg.inline_markup(listed)


def _wire(markup: tg.Markup | None) -> object:
    """The markup as the Bot API receives it."""
    return json.loads(tg._json(markup))


def test_inline_markup_is_what_ptb_would_send() -> None:
    reply = Reply(
        text="x",
        buttons=(
            (Button("✅ 好", data="v1:a:b"), Button("Map", url="https://example.org/m")),
            (Button("🏠 Home", data="v1:menu:home"),),
        ),
    )
    ptb = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ 好", callback_data="v1:a:b"),
                InlineKeyboardButton("Map", url="https://example.org/m"),
            ],
            [InlineKeyboardButton("🏠 Home", callback_data="v1:menu:home")],
        ]
    )
    assert _wire(tg.inline_markup(reply)) == ptb.to_dict()
    assert tg.inline_markup(Reply(text="no buttons")) is None


@pytest.mark.parametrize(("persistent", "one_time"), [(True, False), (False, True)])
def test_reply_keyboard_is_what_ptb_would_send(persistent: bool, one_time: bool) -> None:
    kb = Keyboard(
        rows=(
            (KeyButton("📍 Share location", Request.LOCATION), KeyButton("Plain")),
            (KeyButton("📞 Share phone", Request.CONTACT),),
        ),
        persistent=persistent,
        one_time=one_time,
    )
    ptb = ReplyKeyboardMarkup(
        [
            [KeyboardButton("📍 Share location", request_location=True), KeyboardButton("Plain")],
            [KeyboardButton("📞 Share phone", request_contact=True)],
        ],
        resize_keyboard=True,
        is_persistent=persistent,
        one_time_keyboard=one_time,
    )
    assert _wire(tg.keyboard_markup(kb)) == ptb.to_dict()
