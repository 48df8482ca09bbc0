"""Tier 3: `kill -9` in the middle of a doctor's broadcast loses nobody.

A real `doorstep run` long-polls a fake Bot API server (its own process, recording every call
to a JSONL file). The broadcast is planned as the doctor's confirm button plans it (the same
service call), the bot is killed with SIGKILL mid-broadcast and started again. Every recipient
gets the message; only rows claimed but unrecorded at the kill (the dispatcher's in-flight
window) may have gone out twice; the restarted bot finishes the broadcast and writes its
report.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.broadcasts import BroadcastService, Draft
from bot.services.directory import DirectoryService
from bot.storage.doctors import DoctorStore
from bot.storage.residents import ResidentStore
from tests.doctor_fixtures import WANG, bulk_signed, load_district

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 1000
FIRST_CHAT = 810_000
DOCTOR_CHAT = 555
WINDOW = 100
TEXT = "Flu vaccines have arrived at the centre."


async def plan_broadcast(db: Path) -> int:
    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    try:
        await load_district(rt)
        await bulk_signed(rt, RECIPIENTS, first=FIRST_CHAT, channel="telegram")
        residents = rt.service(ResidentStore)
        account = await residents.create("telegram", str(DOCTOR_CHAT))
        await residents.update(account, locale="en")
        await rt.service(DoctorStore).link_directly(
            WANG, account.id, "telegram", str(DOCTOR_CHAT), 0
        )
        doctor = await rt.service(DirectoryService).doctor(WANG)
        b = await rt.service(BroadcastService).create(
            doctor,
            Draft("hypertension", text=TEXT),
            ("telegram", str(DOCTOR_CHAT), None),
            large_confirmed=True,
        )
        assert b.total == RECIPIENTS
        return b.id
    finally:
        await rt.stop()


def read(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def calls(record: Path) -> list[dict]:
    if not record.exists():
        return []
    out = []
    for line in record.read_text("utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line being written right now
    return [c for c in out if c["method"] == "sendMessage" and c["status"] == 200]


def broadcast_chats(record: Path) -> list[int]:
    return [c["params"]["chat_id"] for c in calls(record) if TEXT in c["params"]["text"]]


async def until(predicate, limit: float, what: str) -> None:  # type: ignore[no-untyped-def]
    try:
        async with asyncio.timeout(limit):
            while not predicate():  # noqa: ASYNC110 - the condition is in another process
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    record = tmp_path / "calls.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.botapi",
            "--port",
            "0",
            "--record",
            str(record),
            "--poll-wait",
            "0.5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line
        yield line.rsplit(" ", 1)[1].strip(), record
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_bot(url: str, db: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "TELEGRAM_API_URL": url,
        "DOORSTEP_DB": str(db),
        "DOORSTEP_GLOBAL_RATE": "200",  # about 5 s for the broadcast: time to kill it mid-way
        "DOORSTEP_PER_CHAT_INTERVAL": "0",
        "DOORSTEP_DELIVERY_WINDOW": str(WINDOW),
        "DOORSTEP_QUIET_START": "00:00",  # the test may run at night in Shanghai
        "DOORSTEP_QUIET_END": "00:00",
    }
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "-v", "run"], cwd=ROOT, env=env, stderr=err
        )


async def test_kill_9_mid_broadcast_loses_nobody(
    tmp_path: Path, fake_server: tuple[str, Path]
) -> None:
    url, record = fake_server
    db = tmp_path / "broadcast.sqlite3"
    log = tmp_path / "bot.log"
    broadcast_id = await plan_broadcast(db)
    group = f"bc:{broadcast_id}"

    bot = start_bot(url, db, log)
    try:
        await until(lambda: len(broadcast_chats(record)) >= RECIPIENTS // 4, 120, "a quarter")
    finally:
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
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

    bot = start_bot(url, db, log)
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
                for c in calls(record)
                if c["params"]["chat_id"] == DOCTOR_CHAT
            ),
            30,
            "the doctor's report",
        )
    finally:
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, log.read_text("utf-8")[-3000:]

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
