"""Plan a day of medicine reminders for 100,000 residents with 3 medicines each.

Phases, in one run, on one SQLite file in a temp dir:

1. seed: N residents (reachable, consented), each with 3 active medicines at common times
   (08:00, 12:00, 18:00, 21:00, some at two or three times a day), by plain SQL: it stands in
   for data that exists;
2. plan: `MedicineService.plan_day(tomorrow)` (what the nightly job `meds.plan` runs) in a fresh
   child process, so its peak RSS (VmHWM) is the planner's alone: `plan_s`, `rows` (one
   reminder per resident and moment: the outbox rows the dispatcher will send; gentle repeats
   are planned later, only for moments left unanswered), `doses` (the doses they cover:
   doses are not rows, they follow from the medicines), `peak_rss_mb`; then the same day
   again (`rerun_s`; `rerun_added` must be 0: dedupe);
3. baseline, same run: `raw_insert_s`, a plain `executemany` of exactly the rows the planner
   wrote (read back from its database) into a copy of the seeded database, in one transaction.

Targets (issue 13): plan_s <= 10 s and peak_rss_mb <= 300.
Usage (from the repository root): python bench/medicines.py [--residents N]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai: planning tomorrow
SCHEDULES = (("08:00",), ("08:00", "18:00"), ("12:00",), ("21:00",), ("08:00", "12:00", "18:00"))
OUTBOX_COLUMNS = (
    "resident_id, kind, payload, due_at, expires_at, urgent, dedupe_key, group_key, "
    "created_at, updated_at"
)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _runtime(db: Path) -> Runtime:
    rt = Runtime(Settings.from_env({}, db_path=db), clock=lambda: NOW)
    await rt.start()
    return rt


async def _migrate(db: Path) -> None:
    rt = await _runtime(db)
    await rt.stop()


def seed(db: Path, n: int) -> None:
    asyncio.run(_migrate(db))
    rng = random.Random(13)
    conn = sqlite3.connect(db)
    now = NOW.isoformat()
    with conn:
        conn.executemany(
            "INSERT INTO residents (id, channel, channel_user_id, locale, consent_at, created_at) "
            "VALUES (?, 'telegram', ?, 'zh_Hans', ?, ?)",
            [(i, str(10_000 + i), now, now) for i in range(1, n + 1)],
        )
        conn.executemany(
            "INSERT INTO med_entries (resident_id, name, amount, unit, times, meals, start_on, "
            "created_at) VALUES (?, ?, '1', 'tablet', ?, 'after', '2026-01-01', 0)",
            [
                (i, name, ",".join(rng.choice(SCHEDULES)))
                for i in range(1, n + 1)
                for name in ("苯磺酸氨氯地平片", "盐酸二甲双胍片", "阿司匹林肠溶片")
            ],
        )
    conn.close()


async def _plan(db: Path) -> dict[str, float]:
    rt = await _runtime(db)
    svc = rt.services.medicines
    day = svc.today() + timedelta(days=1)
    t0 = time.perf_counter()
    rows = await svc.plan_day(day)
    plan_s = time.perf_counter() - t0
    doses = await rt.db.fetchval(
        "SELECT SUM(length(times) - length(replace(times, ',', '')) + 1) FROM med_entries"
    )
    t0 = time.perf_counter()
    again = await svc.plan_day(day)
    rerun_s = time.perf_counter() - t0
    await rt.stop()
    return {
        "plan_s": plan_s,
        "doses": doses,
        "rows": rows,
        "rerun_s": rerun_s,
        "rerun_added": again,
        "peak_rss_mb": _rss_mb(),
    }


def raw_insert(planned: Path, target: Path) -> float:
    """A plain executemany of the same outbox rows into the seeded copy."""
    src = sqlite3.connect(planned)
    rows = src.execute(f"SELECT {OUTBOX_COLUMNS} FROM outbox").fetchall()
    src.close()
    conn = sqlite3.connect(target)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    t0 = time.perf_counter()
    with conn:
        conn.executemany(
            f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--child-plan", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_plan:
        print(json.dumps(asyncio.run(_plan(args.child_plan))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "meds.sqlite3"
        t0 = time.perf_counter()
        seed(db, args.residents)
        seed_s = time.perf_counter() - t0
        copy = Path(tmp) / "baseline.sqlite3"
        shutil.copy(db, copy)
        out = subprocess.run(
            [sys.executable, __file__, "--child-plan", str(db)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        base = raw_insert(db, copy)
    result.update(
        residents=args.residents,
        medicines=3 * args.residents,
        seed_s=round(seed_s, 2),
        raw_insert_s=round(base, 3),
        ratio_vs_raw=round(result["plan_s"] / base, 2) if base else None,
        load_avg=round(os.getloadavg()[0], 2),
        target_plan_s=10,
        target_peak_rss_mb=300,
        ok=result["plan_s"] <= 10 and result["peak_rss_mb"] <= 300 and result["rerun_added"] == 0,
    )
    for key in ("plan_s", "rerun_s", "peak_rss_mb"):
        result[key] = round(result[key], 3)
    print(
        f"planned {result['rows']:,} reminder rows ({result['doses']:,} doses) for "
        f"{args.residents:,} residents in {result['plan_s']:.2f} s "
        f"(plain bulk insert of the same rows: {base:.2f} s), peak {result['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
