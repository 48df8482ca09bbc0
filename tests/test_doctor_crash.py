"""Tier 3: `kill -9` in the middle of a doctor's broadcast loses nobody.

A real `doorstep run` long-polls a fake Bot API server (its own process, recording every call
to a JSONL file). The broadcast is planned as the doctor's confirm button plans it (the same
service call), the bot is killed with SIGKILL mid-broadcast and started again. Every recipient
gets the message; only rows claimed but unrecorded at the kill (the dispatcher's in-flight
window) may have gone out twice; the restarted bot finishes the broadcast and writes its
report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.broadcasts import Draft
from tests.doctor_fixtures import WANG, bulk_signed, load_district
from tests.fakes.bot_process import (
    fake_bot_api,
    kill_9,
    log_tail,
    read,
    sent_messages,
    start_bot,
    stop,
    until,
)

RECIPIENTS = 1000
FIRST_CHAT = 810_000
DOCTOR_CHAT = 555
WINDOW = 100
RATE = 200  # about 5 s for the broadcast: time to kill it mid-way
TEXT = "Flu vaccines have arrived at the centre."


async def plan_broadcast(db: Path) -> int:
    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    try:
        await load_district(rt)
        await bulk_signed(rt, RECIPIENTS, first=FIRST_CHAT, channel="telegram")
        residents = rt.stores.residents
        account = await residents.create("telegram", str(DOCTOR_CHAT))
        await residents.update(account, locale="en")
        await rt.stores.doctors.link_directly(WANG, account.id, "telegram", str(DOCTOR_CHAT), 0)
        doctor = await rt.services.directory.doctor(WANG)
        b = await rt.services.broadcasts.create(
            doctor,
            Draft("hypertension", text=TEXT),
            ("telegram", str(DOCTOR_CHAT), None),
            large_confirmed=True,
        )
        assert b.total == RECIPIENTS
        return b.id
    finally:
        await rt.stop()


def broadcast_chats(record: Path) -> list[int]:
    return [c["params"]["chat_id"] for c in sent_messages(record) if TEXT in c["params"]["text"]]


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    record = tmp_path / "calls.jsonl"
    with fake_bot_api(record) as url:
        yield url, record


async def test_kill_9_mid_broadcast_loses_nobody(
    tmp_path: Path, fake_server: tuple[str, Path]
) -> None:
    url, record = fake_server
    db = tmp_path / "broadcast.sqlite3"
    log = tmp_path / "bot.log"
    broadcast_id = await plan_broadcast(db)
    group = f"bc:{broadcast_id}"

    bot = start_bot(url, db, log, global_rate=RATE, window=WINDOW)
    try:
        await until(lambda: len(broadcast_chats(record)) >= RECIPIENTS // 4, 120, "a quarter")
    finally:
        kill_9(bot)
    in_flight = {
        key
        for (key,) in read(
            db, "SELECT dedupe_key FROM outbox WHERE group_key = ? AND status = 'sending'", (group,)
        )
    }
    left = read(
        db, "SELECT COUNT(*) FROM outbox WHERE group_key = ? AND status = 'pending'", (group,)
    )
    assert left[0][0] or in_flight, "the broadcast finished before the kill"
    assert len(in_flight) <= WINDOW

    bot = start_bot(url, db, log, global_rate=RATE, window=WINDOW)
    try:
        await until(
            lambda: (
                read(db, "SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,))[0][0]
                == "done"
            ),
            120,
            "the broadcast to finish after the restart",
        )
        await until(
            lambda: any(
                "Report for broadcast" in c["params"]["text"]
                for c in sent_messages(record)
                if c["params"]["chat_id"] == DOCTOR_CHAT
            ),
            30,
            "the doctor's report",
        )
    finally:
        assert stop(bot) == 0, log_tail(log)

    sent, total = read(db, "SELECT sent, total FROM broadcasts WHERE id = ?", (broadcast_id,))[0]
    assert sent == total == RECIPIENTS
    counts = Counter(broadcast_chats(record))
    expected = set(range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS))
    assert set(counts) == expected, "somebody got nothing"
    twice = {chat for chat, n in counts.items() if n > 1}
    assert all(counts[chat] == 2 for chat in twice)
    ids = dict(read(db, "SELECT channel_user_id, id FROM residents WHERE channel = 'telegram'"))
    in_flight_chats = {chat for chat in expected if f"{group}:{ids[str(chat)]}" in in_flight}
    assert twice <= in_flight_chats, "a second copy outside the in-flight window"
    print(f"in flight at the kill: {len(in_flight)}; sent twice: {len(twice)}")
