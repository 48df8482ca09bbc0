"""Tier 3: `kill -9` during a 2,000-message run loses nothing and repeats at most the rows in
flight.

Everything is real and in its own process: the fake Bot API server (recording every call to a
JSONL file) and `doorstep run` (long polling it through PTB's httpx client). The bot is killed
with SIGKILL mid-run, started again, and the server's record is compared with the outbox.

The bound: the dispatcher never has more than `delivery_window` rows claimed (`sending`) and
unrecorded, so at most that many messages can be sent twice. Here the window is 100, and the
test checks the sharper fact: every duplicate belongs to a row that was `sending` at the kill.
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
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.runtime import Runtime
from bot.storage.outbox import OutboxStore, Planned
from bot.storage.residents import ResidentStore

ROOT = Path(__file__).resolve().parent.parent
RESIDENTS = 1000
ROWS_EACH = 2
TOTAL = RESIDENTS * ROWS_EACH
WINDOW = 100
FIRST_CHAT = 700_000


def chat_of(i: int) -> int:
    return FIRST_CHAT + i % RESIDENTS


async def plan_rows(db: Path) -> None:
    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    try:
        residents = rt.service(ResidentStore)
        ids = [(await residents.create("telegram", str(chat_of(i)))).id for i in range(RESIDENTS)]
        now = datetime.now(UTC)
        rows = [
            Planned(
                ids[i % RESIDENTS],
                "text",
                "text",
                now,
                f"crash:{i}",
                params={"text": f"crash message {i}"},
            )
            for i in range(TOTAL)
        ]
        assert await rt.service(OutboxStore).plan(rows, now) == TOTAL
    finally:
        await rt.stop()


def statuses(db: Path) -> dict[str, set[str]]:
    """Dedupe keys by status, read straight from the file the bot writes."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        out: dict[str, set[str]] = {}
        for status, key in conn.execute("SELECT status, dedupe_key FROM outbox"):
            out.setdefault(status, set()).add(key)
        return out
    finally:
        conn.close()


def sent_texts(record: Path) -> list[tuple[int, str]]:
    if not record.exists():
        return []
    out = []
    for line in record.read_text("utf-8").splitlines():
        try:
            call = json.loads(line)
        except ValueError:
            continue  # a line being written right now
        if call["method"] == "sendMessage" and call["status"] == 200:
            out.append((call["params"]["chat_id"], call["params"]["text"]))
    return out


async def until(predicate, limit: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait generously for a condition; fail with `what` if it never comes."""
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
        # Fast enough for a short test, slow enough (about 4 s) to be killed mid-run.
        "DOORSTEP_GLOBAL_RATE": "500",
        "DOORSTEP_PER_CHAT_INTERVAL": "0",
        "DOORSTEP_DELIVERY_WINDOW": str(WINDOW),
        # The test may run at night in Shanghai: no quiet hours.
        "DOORSTEP_QUIET_START": "00:00",
        "DOORSTEP_QUIET_END": "00:00",
    }
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "-v", "run"], cwd=ROOT, env=env, stderr=err
        )


async def test_kill_9_mid_run_loses_nothing(tmp_path: Path, fake_server: tuple[str, Path]) -> None:
    url, record = fake_server
    db = tmp_path / "crash.sqlite3"
    log = tmp_path / "bot.log"
    await plan_rows(db)

    bot = start_bot(url, db, log)
    try:
        await until(lambda: len(sent_texts(record)) >= TOTAL // 4, 60, "the first quarter")
    finally:
        bot.send_signal(signal.SIGKILL)
        bot.wait(timeout=10)
    at_kill = statuses(db)
    in_flight = at_kill.get("sending", set())
    assert at_kill.get("pending") or in_flight, "the run finished before the kill"
    assert len(in_flight) <= WINDOW

    bot = start_bot(url, db, log)
    try:
        await until(
            lambda: not ({"pending", "sending"} & set(statuses(db))), 120, "every row to finish"
        )
    finally:
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, log.read_text("utf-8")[-3000:]

    final = statuses(db)
    assert set(final) == {"sent"} and len(final["sent"]) == TOTAL

    calls = sent_texts(record)
    counts = Counter(text for _, text in calls)
    expected = {f"crash message {i}" for i in range(TOTAL)}
    assert expected - set(counts) == set(), "messages lost"
    assert set(counts) == expected
    assert all(chat == chat_of(int(text.rsplit(" ", 1)[1])) for chat, text in calls)
    repeated = {text for text, n in counts.items() if n > 1}
    assert all(counts[text] == 2 for text in repeated)
    # Only rows claimed and unrecorded at the kill can have gone out twice.
    in_flight_texts = {f"crash message {key.split(':')[1]}" for key in in_flight}
    assert repeated <= in_flight_texts
    assert len(repeated) <= WINDOW
    print(f"in flight at the kill: {len(in_flight)}; sent twice: {len(repeated)}")
