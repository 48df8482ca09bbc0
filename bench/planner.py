"""The nightly tip planner on 100,000 subscribers, and dispatcher start-up on 1,000,000 rows.

Phases, all in one run on one SQLite file in a temp dir:

1. seed: N residents, each subscribed (mixed topics and times of day) with a tip history of
   0-20 tips already sent (about 10 N history rows), as after some weeks of service;
2. baseline: on a copy of that database, a raw `executemany` of N outbox rows with the same
   columns and payload shape as the planner writes (no reading, no choosing, no history);
3. plan: `TipService.plan_day` for tomorrow, in a fresh child process so its peak RSS
   (getrusage ru_maxrss) is the planner's alone: `plan_s`, `rows`, `peak_rss_mb`; then the
   same day again (`rerun_s`, `rerun_rows` must be 0: dedupe);
4. start-up: the outbox is filled to 1,000,000 open rows (the planned day plus later days,
   with some rows a crash left `sending` and some overdue and expired), then a fresh child
   process times what a restart does before it can send: `Runtime.start()` (open, migrate),
   `Dispatcher.start()` (catch-up: recover interrupted rows, expire stale ones, spawn the
   loops) and the first `next_due` lookup: `startup_s`. Baseline: `Runtime.start()` alone on
   the same file (`runtime_start_s`).

Seeding and the baseline use raw SQL on purpose: they stand in for data that already exists.
Usage (from the repository root): python bench/planner.py [--subscribers N --open-rows M]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.core import Reply  # noqa: E402
from bot.domain.outbox import OutboxRow  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services.tips import SLOT_TIMES, TOPICS, dedupe_key  # noqa: E402
from bot.storage.outbox import INSERT_SQL  # noqa: E402

CHANNEL = "bench"
SEED = 20261124


def _settings(db: Path) -> Settings:
    return Settings.from_env({}, db_path=db)


def _rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _tomorrow(settings: Settings) -> date:
    return datetime.now(UTC).astimezone(settings.tz).date() + timedelta(days=1)


# -- phase 1: seed ---------------------------------------------------------------------------
async def seed(db: Path, n: int) -> None:
    rt = Runtime(_settings(db))
    await rt.start()  # creates the schema
    await rt.stop()
    rng = random.Random(SEED)
    catalog = load_ids()
    topics = list(TOPICS)
    slots = list(SLOT_TIMES)
    now = int(time.time())
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    with conn:
        conn.executemany(
            "INSERT INTO residents (id, channel, channel_user_id, locale, consent_at, created_at) "
            "VALUES (?, ?, ?, ?, '2026-01-01', '2026-01-01')",
            (
                (i, CHANNEL, str(10_000_000 + i), "zh_Hans" if i % 3 else "en")
                for i in range(1, n + 1)
            ),
        )

    def subs() -> Iterator[tuple[Any, ...]]:
        for i in range(1, n + 1):
            chosen = topics if i % 2 else rng.sample(topics, rng.randint(1, len(topics)))
            yield (i, ",".join(sorted(chosen)), slots[i % 3], "daily", 0, now)

    def history() -> Iterator[tuple[Any, ...]]:
        for i in range(1, n + 1):
            for tip_id in rng.sample(catalog, rng.randint(0, 20)):
                yield (i, tip_id, 1, now)

    with conn:
        conn.executemany(
            "INSERT INTO tip_subscriptions "
            "(resident_id, active, topics, slot, frequency, weekday, updated_at) "
            "VALUES (?, 1, ?, ?, ?, ?, ?)",
            subs(),
        )
        conn.executemany(
            "INSERT INTO tip_history (resident_id, tip_id, times, last_at) VALUES (?, ?, ?, ?)",
            history(),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def load_ids() -> list[str]:
    from bot.services.tips import load_catalog

    return [t.id for t in load_catalog(ROOT / "content" / "tips").tips]


# -- phase 2: baseline -----------------------------------------------------------------------
def baseline(db: Path, n: int, day: date) -> float:
    settings = _settings(db)
    due = int(datetime.combine(day, SLOT_TIMES["morning"], tzinfo=settings.tz).timestamp())
    now = int(time.time())
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    started = time.perf_counter()
    rows = (
        (
            i,
            "tip",
            json.dumps({"key": "hygiene-rhyme", "params": {}}, sort_keys=True),
            due,
            due + 86400,
            0,
            dedupe_key(i, day),
            None,
            now,
            now,
        )
        for i in range(1, n + 1)
    )
    with conn:
        conn.executemany(INSERT_SQL, rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


# -- phase 3: plan (child process) -----------------------------------------------------------
async def child_plan(db: Path, day: date) -> dict[str, Any]:
    rt = Runtime(_settings(db))
    await rt.start()
    svc = rt.services.tips
    svc.catalog  # noqa: B018 - load the content before the clock starts, as start-up does
    started, cpu = time.perf_counter(), time.process_time()
    first = await svc.plan_day(day)
    plan_s = time.perf_counter() - started
    plan_cpu_s = time.process_time() - cpu  # all threads: this process's own work
    started = time.perf_counter()
    again = await svc.plan_day(day)
    rerun_s = time.perf_counter() - started
    await rt.stop()
    return {
        "plan_s": round(plan_s, 3),
        "plan_cpu_s": round(plan_cpu_s, 3),
        "rows": first.rows,
        "subscribers": first.subscribers,
        "rerun_s": round(rerun_s, 3),
        "rerun_rows": again.rows,
        "peak_rss_mb": round(_rss_mb(), 1),
    }


# -- phase 4: start-up -----------------------------------------------------------------------
def fill_outbox(db: Path, n: int, total: int, day: date, crashed: int, stale: int) -> int:
    """Add open rows until the outbox holds `total` of them (pending or sending)."""
    settings = _settings(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    have = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
    now = int(time.time())
    payload = json.dumps({"key": "food-salt", "params": {}}, sort_keys=True)

    def rows() -> Iterator[tuple[Any, ...]]:
        made = have
        offset = 1
        while made < total:
            later = day + timedelta(days=offset)
            due = int(datetime.combine(later, SLOT_TIMES["noon"], tzinfo=settings.tz).timestamp())
            for i in range(1, n + 1):
                if made >= total:
                    return
                yield (i, "tip", payload, due, due + 86400, 0, dedupe_key(i, later), None, now, now)
                made += 1
            offset += 1

    with conn:
        conn.executemany(INSERT_SQL, rows())
        # A crash left some rows 'sending'; some rows fell due while the bot was down and
        # are now past their expiry. Both are what the dispatcher's catch-up handles.
        conn.execute(
            "UPDATE outbox SET status = 'sending' WHERE id IN "
            "(SELECT id FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?)",
            (crashed,),
        )
        conn.execute(
            "UPDATE outbox SET due_at = ?, expires_at = ? WHERE id IN "
            "(SELECT id FROM outbox WHERE status = 'pending' ORDER BY id DESC LIMIT ?)",
            (now - 2 * 86400, now - 86400, stale),
        )
    open_rows = conn.execute(
        "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
    ).fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return int(open_rows)


class NullSender:
    """Accepts every message (nothing is due during the measurement anyway)."""

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        return None


async def child_startup(db: Path) -> dict[str, Any]:
    from bot.app import build_registry

    build_registry()  # import the feature modules first: a cost of Python, not of the data
    marks: dict[str, float] = {}
    started = time.perf_counter()
    rt = Runtime(_settings(db))
    await rt.start()
    marks["runtime"] = time.perf_counter() - started
    rt.senders[CHANNEL] = NullSender()
    dispatcher = rt.delivery.dispatcher
    await dispatcher.catch_up()
    marks["catch_up"] = time.perf_counter() - started - marks["runtime"]
    await dispatcher.start()  # catch-up again (now a no-op) and the loops
    next_due = await rt.stores.delivery.next_due(dispatcher.channels)
    startup_s = time.perf_counter() - started
    await rt.stop()
    started = time.perf_counter()
    rt = Runtime(_settings(db))
    await rt.start()
    runtime_start_s = time.perf_counter() - started
    await rt.stop()
    return {
        "startup_s": round(startup_s, 3),
        "runtime_start_s": round(runtime_start_s, 3),
        "next_due_found": next_due is not None,
        "startup_parts_s": {k: round(v, 3) for k, v in marks.items()},
        "startup_peak_rss_mb": round(_rss_mb(), 1),
    }


def run_child(phase: str, db: Path, day: date) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, "--db", str(db), "--day", day.isoformat()],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--open-rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=("plan", "startup"))
    parser.add_argument("--db", type=Path)
    parser.add_argument("--day", type=date.fromisoformat)
    args = parser.parse_args()
    if args.child == "plan":
        print(json.dumps(asyncio.run(child_plan(args.db, args.day))))
        return
    if args.child == "startup":
        print(json.dumps(asyncio.run(child_startup(args.db))))
        return

    n = args.subscribers
    with tempfile.TemporaryDirectory(prefix="doorstep-bench-") as tmp:
        db = Path(tmp) / "planner.sqlite3"
        day = _tomorrow(_settings(db))
        t0 = time.perf_counter()
        asyncio.run(seed(db, n))
        print(f"seeded {n} subscribers with history in {time.perf_counter() - t0:.1f}s")

        copy = Path(tmp) / "baseline.sqlite3"
        shutil.copy(db, copy)
        baseline_s = baseline(copy, n, day)
        copy.unlink()
        print(f"baseline: raw executemany of {n} outbox rows: {baseline_s:.2f}s")

        plan = run_child("plan", db, day)
        print(
            f"planner: {plan['rows']} rows in {plan['plan_s']:.2f}s "
            f"({plan['plan_s'] / baseline_s:.1f}x the raw insert), peak RSS "
            f"{plan['peak_rss_mb']:.0f} MB; re-run {plan['rerun_s']:.2f}s, "
            f"{plan['rerun_rows']} rows"
        )

        open_rows = fill_outbox(db, n, args.open_rows, day, crashed=1000, stale=10_000)
        print(f"outbox filled to {open_rows} open rows")
        start = run_child("startup", db, day)
        print(
            f"dispatcher start-up: {start['startup_s']:.2f}s "
            f"(Runtime.start alone {start['runtime_start_s']:.2f}s)"
        )

    result = {
        "subscribers": n,
        "plan_s": plan["plan_s"],
        "plan_cpu_s": plan["plan_cpu_s"],
        "rows": plan["rows"],
        "peak_rss_mb": plan["peak_rss_mb"],
        "baseline_insert_s": round(baseline_s, 3),
        "plan_vs_baseline": round(plan["plan_s"] / baseline_s, 2),
        "rerun_s": plan["rerun_s"],
        "rerun_rows": plan["rerun_rows"],
        "open_rows": open_rows,
        "startup_s": start["startup_s"],
        "runtime_start_s": start["runtime_start_s"],
        "startup_vs_runtime_start": round(start["startup_s"] / start["runtime_start_s"], 2),
        "startup_parts_s": start["startup_parts_s"],
        "startup_peak_rss_mb": start["startup_peak_rss_mb"],
        # Other work on the machine slows every timing; the ratios are what compare.
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "targets_met": plan["plan_s"] <= 10
        and plan["peak_rss_mb"] <= 300
        and start["startup_s"] <= 5
        and plan["rerun_rows"] == 0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
