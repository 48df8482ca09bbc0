"""Benchmark: several delivery workers on one PostgreSQL (issue 14), against one on SQLite.

    python bench/scale.py [--rows 6000] [--capped-seconds 20] [--paid-rows 100000]

Every worker is a process of its own running the real pipeline (claim, render, limiter, PTB,
record) into the in-process fake Bot API transport (no sockets), so what is measured is the
pipeline and the database, not a fake server. The database is a private PostgreSQL server
started for the run (tests/fakes/pg_server.py), the SQLite baseline a file in a temp dir.
Send times are the fake's CLOCK_MONOTONIC stamps, comparable across processes on one machine.

1. uncapped: `--rows` rows due at once, no rate limit, for 1, 2 and 3 workers on PostgreSQL
   and 1 on SQLite: msgs/s (first send to last) and ratios to 1 PostgreSQL worker and SQLite.
2. capped: 3 workers at Telegram's 30 msg/s and 1 msg/s per chat (pairs of rows per
   resident), `--capped-seconds` worth of rows: the cap ratio (rate / 30), the most sends in
   any 1-s window, the most to one chat in any 1-s window, lost and doubled rows.
3. paid: `--paid-rows` recipients of a paid broadcast (DOORSTEP_PAID_BROADCAST=1, a budget
   that covers them), 3 workers: msgs/s against 1000, and every send carried
   allow_paid_broadcast.
4. updates: the same stream of resident updates through the real Application on PostgreSQL
   and on SQLite, in this process: updates/s and the ratio PG / SQLite.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.delivery.limiter import max_in_window  # noqa: E402
from bot.domain.outbox import Planned  # noqa: E402
from bot.runtime import Runtime  # noqa: E402

FIRST_CHAT = 700_000
CAP = 30.0
PAID_CAP = 1000.0


def worker_env(db: str, *, rate: float, per_chat: float, paid: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "DOORSTEP_DB": db,
        "DOORSTEP_GLOBAL_RATE": str(rate),
        "DOORSTEP_PER_CHAT_INTERVAL": str(per_chat),
        "DOORSTEP_QUIET_START": "00:00",
        "DOORSTEP_QUIET_END": "00:00",
        "DOORSTEP_DELIVERY_WINDOW": "200",
        "TELEGRAM_BOT_TOKEN": "123:ABC",
    }
    env.pop("DOORSTEP_TEST_DB", None)
    if paid:
        env["DOORSTEP_PAID_BROADCAST"] = "1"
        env["DOORSTEP_PAID_BUDGET_STARS"] = "100000"
    return env


# -- one worker process --------------------------------------------------------------------
async def worker_main() -> dict[str, Any]:
    from bot.app import build_telegram
    from tests.fakes.botapi import FakeBotAPI, FakeRequest

    rt = Runtime(Settings.from_env())
    await rt.start()
    api = FakeBotAPI("123:ABC")
    app = build_telegram(rt, request=FakeRequest(api))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with app:
        await rt.delivery.dispatcher.start()
        print("ready", flush=True)
        await stop.wait()
        await rt.delivery.dispatcher.stop()
    dropped = sum(
        lane.dropped
        for lane in (rt.delivery.limiter.shared, getattr(rt.delivery.limiter.paid, "shared", None))
        if lane is not None
    )
    await rt.stop()
    sends = [
        (c.t, c.chat_id, c.text, c.params.get("allow_paid_broadcast") in (True, "true"))
        for c in api.calls_to("sendMessage")
        if c.ok
    ]
    return {"sends": sends, "dropped_slots": dropped}


# -- the coordinator -----------------------------------------------------------------------
async def prepare(db: str, residents: int, rows_each: int, tag: str, paid: bool) -> None:
    """Fresh residents and `residents * rows_each` due rows, through the real stores."""
    rt = Runtime(Settings.from_env({}, db_path=db))
    await rt.start()
    try:
        await rt.db.execute("DELETE FROM outbox")
        await rt.db.execute("DELETE FROM residents")
        stamp = datetime.now(UTC).isoformat()
        for start in range(0, residents, 5000):
            await rt.db.executemany(
                "INSERT INTO residents (channel, channel_user_id, locale, consent_at, "
                "created_at) VALUES ('telegram', ?, 'en', ?, ?)",
                [
                    (str(FIRST_CHAT + i), stamp, stamp)
                    for i in range(start, min(residents, start + 5000))
                ],
            )
        ids = [
            r[0]
            for r in await rt.db.fetchall(
                "SELECT id FROM residents WHERE channel = 'telegram' ORDER BY id"
            )
        ]
        now = datetime.now(UTC)
        rows = (
            Planned(
                rid,
                "text",
                "text",
                now,
                f"{tag}:{rid}:{k}",
                params={"text": f"{tag} {rid} {k}"},
                urgent=paid,
                paid=paid,
            )
            for rid in ids
            for k in range(rows_each)
        )
        await rt.stores.outbox.plan(rows, now)
        if rt.db.dialect == "postgres":
            # What autovacuum does soon after a bulk insert: planner statistics for the new rows.
            await rt.db.execute("ANALYZE outbox")
            await rt.db.execute("ANALYZE residents")
    finally:
        await rt.stop()


def open_rows(db: str) -> int:
    if db.startswith("postgresql://"):
        with psycopg.connect(db, autocommit=True) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
            ).fetchone()
            return int(row[0]) if row else 0
    import sqlite3

    conn2 = sqlite3.connect(db, timeout=30)
    try:
        return int(
            conn2.execute(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
            ).fetchone()[0]
        )
    finally:
        conn2.close()


def run_workers(
    db: str, n: int, tmp: Path, *, rate: float, per_chat: float, paid: bool, limit: float
) -> dict[str, Any]:
    outs = [tmp / f"w{i}-{time.monotonic_ns()}.json" for i in range(n)]
    env = worker_env(db, rate=rate, per_chat=per_chat, paid=paid)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(out)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=(tmp / "workers.log").open("ab"),
            text=True,
        )
        for out in outs
    ]
    for p in procs:
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + limit
    while open_rows(db) and time.monotonic() < deadline:
        time.sleep(0.2)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=120)
    sends: list[tuple[float, int, str, bool]] = []
    dropped = 0
    for out in outs:
        data = json.loads(out.read_text())
        sends += [tuple(s) for s in data["sends"]]  # type: ignore[misc]
        dropped += data["dropped_slots"]
    sends.sort()
    span = sends[-1][0] - sends[0][0] if len(sends) > 1 else 0.0
    return {"sends": sends, "span": span, "dropped": dropped, "left": open_rows(db)}


def rate_of(result: dict[str, Any]) -> float:
    n = len(result["sends"])
    return (n - 1) / result["span"] if result["span"] > 0 else 0.0


def per_chat_max(sends: list[tuple[float, int, str, bool]]) -> int:
    by_chat: dict[int, list[float]] = defaultdict(list)
    for t, chat, _, _ in sends:
        by_chat[chat].append(t)
    return max((max_in_window(ts) for ts in by_chat.values()), default=0)


async def updates_rate(db: str, residents: int, each: int) -> float:
    """Updates per second through the real Application (64 in flight), resident by resident."""
    from telegram import Update

    from bot.app import build_telegram
    from tests.fakes.botapi import FakeBotAPI, FakeRequest
    from tests.fakes.updates import FakeUser

    rt = Runtime(Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:ABC"}, db_path=db, global_rate=0.0))
    await rt.start()
    api = FakeBotAPI("123:ABC")
    app = build_telegram(rt, request=FakeRequest(api))
    users = [FakeUser(api, user_id=FIRST_CHAT + 50_000 + i) for i in range(residents)]
    sem = asyncio.Semaphore(64)
    async with app:

        async def one(user: FakeUser) -> None:
            for k in range(each):
                text = "/start" if k == 0 else "/help"
                async with sem:
                    await app.process_update(Update.de_json(user.text(text), app.bot))

        t0 = time.perf_counter()
        await asyncio.gather(*(one(u) for u in users))
        took = time.perf_counter() - t0
    await rt.stop()
    return residents * each / took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--capped-seconds", type=float, default=20.0)
    parser.add_argument("--paid-rows", type=int, default=100_000)
    parser.add_argument("--update-residents", type=int, default=200)
    args = parser.parse_args()
    if args.worker is not None:
        result = asyncio.run(worker_main())
        args.worker.write_text(json.dumps(result))
        return

    from tests.fakes.pg_server import private_pg

    tmp = Path(tempfile.mkdtemp(prefix="doorstep-scale-"))
    out: dict[str, Any] = {}
    with private_pg() as pg:
        db = pg.url
        # 1. uncapped
        uncapped: dict[str, float] = {}
        for n in (1, 2, 3):
            asyncio.run(prepare(db, args.rows, 1, f"u{n}", paid=False))
            res = run_workers(db, n, tmp, rate=0, per_chat=0, paid=False, limit=600)
            assert res["left"] == 0 and len(res["sends"]) == args.rows, "uncapped run unfinished"
            uncapped[f"pg_{n}"] = round(rate_of(res), 1)
            print(f"uncapped, {n} PostgreSQL worker(s): {uncapped[f'pg_{n}']} msgs/s", flush=True)
        lite = str(tmp / "baseline.sqlite3")
        asyncio.run(prepare(lite, args.rows, 1, "us", paid=False))
        res = run_workers(lite, 1, tmp, rate=0, per_chat=0, paid=False, limit=600)
        uncapped["sqlite_1"] = round(rate_of(res), 1)
        print(f"uncapped, 1 SQLite worker: {uncapped['sqlite_1']} msgs/s", flush=True)
        out["uncapped_msgs_per_s"] = uncapped
        out["uncapped_ratio_vs_pg_1"] = {
            k: round(v / uncapped["pg_1"], 3) for k, v in uncapped.items() if uncapped["pg_1"]
        }
        out["pg_1_vs_sqlite_1"] = round(uncapped["pg_1"] / uncapped["sqlite_1"], 3)

        # 2. capped, 3 workers; pairs of rows per resident exercise the per-chat limit
        capped_rows = int(CAP * args.capped_seconds)
        asyncio.run(prepare(db, capped_rows // 2, 2, "cap", paid=False))
        res = run_workers(db, 3, tmp, rate=CAP, per_chat=1.0, paid=False, limit=600)
        sends = res["sends"]
        texts = Counter(s[2] for s in sends)
        capped_rate = rate_of(res)
        out["capped"] = {
            "workers": 3,
            "rows": capped_rows,
            "msgs_per_s": round(capped_rate, 2),
            "cap_ratio": round(capped_rate / CAP, 3),
            "max_in_any_1s": max_in_window([s[0] for s in sends]),
            "max_per_chat_in_any_1s": per_chat_max(sends),
            "lost": capped_rows - len(texts),
            "doubled": sum(1 for n in texts.values() if n > 1),
            "slots_dropped_late": res["dropped"],
        }
        print(f"capped: {out['capped']}", flush=True)

        # 3. paid broadcast, 3 workers
        asyncio.run(prepare(db, args.paid_rows, 1, "paid", paid=True))
        res = run_workers(db, 3, tmp, rate=CAP, per_chat=1.0, paid=True, limit=1800)
        paid_rate = rate_of(res)
        out["paid"] = {
            "workers": 3,
            "recipients": args.paid_rows,
            "sent": len(res["sends"]),
            "msgs_per_s": round(paid_rate, 1),
            "ratio_of_1000": round(paid_rate / PAID_CAP, 3),
            "all_flagged_paid": all(s[3] for s in res["sends"]),
            "max_in_any_1s": max_in_window([s[0] for s in res["sends"]]),
            "slots_dropped_late": res["dropped"],
        }
        print(f"paid: {out['paid']}", flush=True)

        # 4. update handling, PostgreSQL against SQLite (fresh databases)
        asyncio.run(prepare(db, 0, 1, "none", paid=False))
        pg_updates = asyncio.run(updates_rate(db, args.update_residents, 5))
        lite_updates = asyncio.run(
            updates_rate(str(tmp / "updates.sqlite3"), args.update_residents, 5)
        )
        out["updates_per_s"] = {"pg": round(pg_updates, 1), "sqlite": round(lite_updates, 1)}
        out["updates_pg_vs_sqlite"] = round(pg_updates / lite_updates, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
