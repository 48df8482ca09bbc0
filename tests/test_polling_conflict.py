"""Two `doorstep run` processes polling one bot (issue 14): Telegram answers 409 Conflict to
one poller when another polls. Neither crashes nor loops: the one that gets the Conflict
stops polling with a message for the operator, keeps running (delivery goes on) and stops
cleanly. Real processes over the fake Bot API server, which ends an older getUpdates with 409
when a newer one arrives, as Telegram does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands.run import CONFLICT_HELP
from tests.fakes.bot_process import fake_bot_api, log_tail, start_bot, stop, until


def polls(record: Path) -> int:
    if not record.exists():
        return 0
    return record.read_text("utf-8").count('"getUpdates"')


MARK = CONFLICT_HELP.split(":")[0] + ": Telegram answered 409 Conflict"


@pytest.mark.sqlite_only(
    "on PostgreSQL the cluster's poller lock lets one worker poll (tests/test_cluster_faults.py)"
)
async def test_a_second_poller_gets_a_message_not_a_crash_loop(tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    db = tmp_path / "bot.sqlite3"
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    with fake_bot_api(record, poll_wait=0.5) as url:
        # One after the other: two processes migrating one new SQLite file at once is not
        # what this test is about.
        bots = [start_bot(url, db, logs[0], global_rate=30, window=10)]
        try:
            await until(lambda: polls(record) > 0, 90, "the first bot to poll")
            bots.append(start_bot(url, db, logs[1], global_rate=30, window=10))
            await until(
                lambda: any(
                    MARK in log.read_text("utf-8", "replace") for log in logs if log.exists()
                ),
                90,
                "the operator message about the Conflict",
            )
            assert all(b.poll() is None for b in bots), log_tail(logs[0]) + log_tail(logs[1])
        finally:
            codes = [stop(b) for b in bots]
    assert codes == [0, 0], log_tail(logs[0]) + log_tail(logs[1])
    for log in logs:
        assert "Traceback" not in log.read_text("utf-8", "replace"), log_tail(log)
