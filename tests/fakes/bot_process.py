"""Real processes for crash tests: the fake Bot API server and `doorstep run`, each in its own
process, plus the helpers that read what they left behind (the server's JSONL record of every
call, the bot's SQLite file) and wait for it.

The fake is a fake of Telegram's servers, never of our code: the bot under test is the real
CLI, long polling over HTTP through PTB's httpx client.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fakes import dbread

ROOT = Path(__file__).resolve().parent.parent.parent


@contextmanager
def fake_bot_api(record: Path, poll_wait: float = 0.5) -> Iterator[str]:
    """Run `tests.fakes.botapi` as a process recording every call to `record`; yield its URL."""
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
            str(poll_wait),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_bot(
    url: str, db: Path, log: Path, *, global_rate: int, window: int
) -> subprocess.Popen[bytes]:
    """Start `doorstep -v run` against the fake at `url`, its stderr appended to `log`.

    `global_rate` sets how long a run takes (long enough to be killed mid-way); `window` is
    the dispatcher's in-flight window, the bound on what a crash may send twice."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123:ABC",
        "TELEGRAM_API_URL": url,
        "DOORSTEP_DB": str(db),
        "DOORSTEP_GLOBAL_RATE": str(global_rate),
        "DOORSTEP_PER_CHAT_INTERVAL": "0",
        "DOORSTEP_DELIVERY_WINDOW": str(window),
        # The test may run at night in Shanghai: no quiet hours.
        "DOORSTEP_QUIET_START": "00:00",
        "DOORSTEP_QUIET_END": "00:00",
    }
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "-v", "run"], cwd=ROOT, env=env, stderr=err
        )


def kill_9(bot: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the crash under test (nothing gets to clean up)."""
    bot.send_signal(signal.SIGKILL)
    bot.wait(timeout=10)


def stop(bot: subprocess.Popen[bytes]) -> int:
    """SIGTERM, the graceful stop; the exit status."""
    bot.send_signal(signal.SIGTERM)
    return bot.wait(timeout=30)


def log_tail(log: Path) -> str:
    return log.read_text("utf-8")[-3000:]


def sent_messages(record: Path) -> list[dict[str, Any]]:
    """The successful sendMessage calls the fake recorded, in order."""
    if not record.exists():
        return []
    out = []
    for line in record.read_text("utf-8").splitlines():
        try:
            call = json.loads(line)
        except ValueError:
            continue  # a line being written right now
        if call["method"] == "sendMessage" and call["status"] == 200:
            out.append(call)
    return out


def read(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows straight from the database another process writes (SQLite or PostgreSQL)."""
    return dbread.read(db, sql, params)


async def until(predicate: Callable[[], object], limit: float, what: str) -> None:
    """Wait generously for a condition; fail with `what` if it never comes (a guard against
    hanging, not a timing check)."""
    try:
        async with asyncio.timeout(limit):
            while not predicate():  # noqa: ASYNC110 - the condition is in another process
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None
