"""Plan vaccine reminders for 100,000 children into the outbox of a real SQLite file.

Phases, in one run on one SQLite file in a temp dir:

1. seed: N children (born over the last 7 years, one guardian each, a few with two), each with
   the doses due so far recorded on time, except that one child in five missed one dose;
2. baselines, same data, same run: `engine_s` — the engine alone (plan every child and build
   its rows, streamed in the same batches with the job's per-cohort cache, nothing written);
   `raw_insert_s` — a raw `executemany` of exactly those rows into a copy of the database;
3. plan: `ChildReminders.replan_all()` (what the daily job runs) in a fresh child process, so
   its peak RSS (VmHWM) is the planner's alone: `plan_s`, `rows`, `peak_rss_mb`; then the
   same day again (`rerun_s`; `rerun_rows` must be 0: dedupe).

Seeding and the raw baseline use plain SQL on purpose: they stand in for data that exists.
Usage (from the repository root): python bench/vaccines.py [--children N]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services.vaccines.engine import Status  # noqa: E402
from bot.services.vaccines.reminder_plan import BATCH, MessageCache  # noqa: E402
from bot.storage.outbox import INSERT_SQL  # noqa: E402

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _settings(db: Path) -> Settings:
    return Settings.from_env({}, db_path=db)


def _rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: a child started by fork + exec inherits the
    parent's ru_maxrss (Linux), which here holds the seeding and the baselines' rows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # Elsewhere: ru_maxrss (kilobytes on Linux, bytes on macOS; an upper bound either way).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _runtime(db: Path) -> Runtime:
    rt = Runtime(_settings(db), clock=lambda: NOW)
    await rt.start()
    return rt


async def seed(db: Path, n: int) -> None:
    rt = await _runtime(db)
    planner = rt.services.child_reminders.planner
    today = NOW.astimezone(rt.settings.tz).date()
    await rt.stop()
    rng = random.Random(6)
    by_birth: dict[date, dict[str, date]] = {}
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    ts = int(NOW.timestamp())
    owners = int(n * 0.85)
    conn.executemany(
        "INSERT INTO residents (id, channel, channel_user_id, consent_at, created_at) "
        "VALUES (?, 'telegram', ?, '2026-01-01', '2026-01-01')",
        ((i, str(10_000 + i)) for i in range(1, owners + n // 20 + 1)),
    )
    children, guardians, doses = [], [], []
    for cid in range(1, n + 1):
        born = today - timedelta(days=rng.randrange(0, 7 * 365))
        owner = rng.randrange(1, owners + 1)
        children.append((cid, owner, f"c{cid}", born.isoformat(), ts))
        guardians.append((cid, owner, "owner", ts))
        if cid % 20 == 0:
            guardians.append((cid, owners + cid // 20, "guardian", ts + 1))
        given = by_birth.get(born)
        if given is None:
            plan = planner.plan(born, {}, today)
            given = by_birth[born] = {
                d.dose: d.due
                for d in plan.doses
                if d.status in (Status.DUE, Status.OVERDUE) and not d.waiting_for
            }
        items = list(given.items())
        if items and rng.random() < 0.2:
            items.pop(rng.randrange(len(items)))
        doses.extend((cid, k, v.isoformat(), ts) for k, v in items)
    conn.executemany(
        "INSERT INTO children (id, owner_id, nickname, born, created_at) VALUES (?, ?, ?, ?, ?)",
        children,
    )
    conn.executemany("INSERT INTO child_guardians VALUES (?, ?, ?, ?)", guardians)
    conn.executemany("INSERT INTO child_doses VALUES (?, ?, ?, ?)", doses)
    conn.commit()
    conn.close()


async def engine_only(db: Path) -> tuple[float, list[tuple]]:
    """The same batches and plans as the daily job, nothing written: (seconds, row values)."""
    rt = await _runtime(db)
    reminders = rt.services.child_reminders
    store = rt.stores.vaccines
    reminders.planner  # noqa: B018 - load the schedule before timing
    today = reminders.today()
    ts = int(NOW.timestamp())
    values: list[tuple] = []
    start = time.perf_counter()
    cache = MessageCache(reminders.planner, today, rt.settings.tz)
    after = 0
    while children := await store.doses_after(after, BATCH):
        values.extend(reminders.values(children, today, ts, cache))
        after = children[-1].child_id
    elapsed = time.perf_counter() - start
    await rt.stop()
    return elapsed, values


def raw_insert(db: Path, values: list[tuple]) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    start = time.perf_counter()
    for i in range(0, len(values), 5000):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT_SQL, values[i : i + 5000])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


async def plan_phase(db: Path) -> dict[str, float | int]:
    rt = await _runtime(db)
    reminders = rt.services.child_reminders
    reminders.planner  # noqa: B018 - load the schedule before timing
    start = time.perf_counter()
    children, rows, _ = await reminders.replan_all()
    plan_s = time.perf_counter() - start
    start = time.perf_counter()
    _, rerun_rows, rerun_cancelled = await reminders.replan_all()
    rerun_s = time.perf_counter() - start
    await rt.stop()
    return {
        "children": children,
        "plan_s": round(plan_s, 2),
        "rows": rows,
        "peak_rss_mb": round(_rss_mb(), 1),
        "rerun_s": round(rerun_s, 2),
        "rerun_rows": rerun_rows + rerun_cancelled,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=100_000)
    ap.add_argument("--phase", choices=("all", "plan"), default="all")
    ap.add_argument("--db", type=Path)
    args = ap.parse_args()
    if args.phase == "plan":
        print(json.dumps(asyncio.run(plan_phase(args.db))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        start = time.perf_counter()
        asyncio.run(seed(db, args.children))
        print(f"seeded {args.children} children in {time.perf_counter() - start:.1f}s")
        engine_s, values = asyncio.run(engine_only(db))
        copy = Path(tmp) / "copy.sqlite3"
        shutil.copy(db, copy)
        raw_s = raw_insert(copy, values)
        copy.unlink()
        n_values = len(values)
        del values
        print(f"baseline: engine alone {engine_s:.2f}s; raw insert of {n_values} rows {raw_s:.2f}s")
        out = subprocess.run(
            [sys.executable, __file__, "--phase", "plan", "--db", str(db)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["rows"] == n_values, (result["rows"], n_values)
        result.update(
            {
                "engine_s": round(engine_s, 2),
                "raw_insert_s": round(raw_s, 2),
                "plan_vs_engine": round(result["plan_s"] / engine_s, 2),
                "plan_vs_engine_plus_raw": round(result["plan_s"] / (engine_s + raw_s), 2),
                "targets_met": result["plan_s"] <= 20 and result["peak_rss_mb"] <= 300,
            }
        )
        print(json.dumps(result))


if __name__ == "__main__":
    main()
