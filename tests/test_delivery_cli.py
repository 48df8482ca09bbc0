"""Tier 1: `doorstep outbox status` and `doorstep outbox retry-failed` on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.domain.outbox import FAILED, SENT, Planned, Result
from bot.runtime import Runtime

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def _prepare(db: Path) -> None:
    rt = Runtime(Settings.from_env({}, db_path=db), clock=lambda: NOW)
    await rt.start()
    try:
        rid = (await rt.stores.residents.create("telegram", "5001")).id
        await rt.stores.outbox.plan(
            [
                Planned(rid, "text", "text", NOW, f"ops:{i}", params={"text": f"m{i}"})
                for i in range(4)
            ],
            NOW,
        )
        store = rt.stores.delivery
        ts = int(NOW.timestamp())
        claimed = await store.claim(ts, 3, ["telegram"])
        await store.record(
            [
                Result(claimed[0].row.id, SENT, attempt=True),
                Result(claimed[1].row.id, FAILED, attempt=True, error="rejected: Bad Request"),
                Result(claimed[2].row.id, FAILED, attempt=True, error="network error"),
            ],
            ts,
        )
    finally:
        await rt.stop()


async def _rows(db: Path) -> dict[str, tuple[str, int]]:
    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    try:
        rid = (await rt.stores.residents.load("telegram", "5001"))[0].id  # type: ignore[index]
        return {
            r.dedupe_key: (r.status, r.attempts) for r in await rt.stores.outbox.for_resident(rid)
        }
    finally:
        await rt.stop()


def test_status_shows_counts_and_failures_and_retry_requeues_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ops.sqlite3"
    asyncio.run(_prepare(db))
    monkeypatch.setenv("DOORSTEP_DB", str(db))

    assert main(["outbox", "status"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:8]}
    assert lines == {
        "pending": "1",
        "sending": "0",
        "sent": "1",
        "failed": "2",
        "expired": "0",
        "skipped": "0",
        "cancelled": "0",
    }
    assert "rejected: Bad Request" in out and "network error" in out
    assert "doorstep outbox retry-failed" in out

    assert main(["outbox", "retry-failed"]) == 0
    assert "2 failed row(s) queued again" in capsys.readouterr().out
    rows = asyncio.run(_rows(db))
    assert sorted(rows.values()) == [("pending", 0), ("pending", 0), ("pending", 0), ("sent", 1)]

    assert main(["outbox", "retry-failed"]) == 0
    assert "0 failed row(s)" in capsys.readouterr().out


def test_retry_failed_can_pick_rows_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ops.sqlite3"
    asyncio.run(_prepare(db))
    assert main(["outbox", "--db", str(db), "retry-failed", "--id", "2"]) == 0
    assert "1 failed row(s)" in capsys.readouterr().out
    rows = asyncio.run(_rows(db))
    assert rows["ops:1"] == ("pending", 0) and rows["ops:2"] == ("failed", 1)
