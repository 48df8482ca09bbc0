"""Benchmark: 10,000 due notifications through the real dispatcher and PTB over the fake Bot API.

    python bench/delivery.py [--rows 10000] [--capped-seconds 25] [--idle-seconds 20]

1. baseline: PTB `send_message` straight into the fake transport, no pipeline (same
   concurrency as the dispatcher's workers): the most the transport itself allows.
2. uncapped: every row through the real pipeline (claim, render, limiter, send, record) with
   no rate limit: `uncapped_msgs_per_s` and its ratio to the baseline.
3. capped: the same number of rows due at once at Telegram's 30 messages/s, for
   `--capped-seconds`, while one resident keeps talking to the bot through the real
   Application (`/help` every 0.25 s). Pairs of rows go to the same resident, so the per-chat
   limit is exercised. Reported: bulk and total (bulk + replies) messages per second, the cap
   ratio (total / 30: what Telegram sees), the most messages one chat got in any second, lost
   and duplicated rows (after a graceful stop, every row marked sent must have arrived exactly
   once), and reply latency p95 while idle (`--idle-seconds`) vs during the broadcast. A
   capped run too short for any reply (under about 1.25 s) reports the latencies as null.

Reply latency is how long `Application.process_update` takes for one update: the router,
the handler, SQLite and the reply's sendMessage into the fake. Replies take their limiter
slots in the channel itself, as in production (`Limiter.acquire_interactive` for each reply).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application  # noqa: E402

import bot.channels.telegram as tg  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery.limiter import max_in_window  # noqa: E402
from bot.domain.outbox import Planned  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from tests.fakes.botapi import FakeBotAPI, FakeRequest  # noqa: E402
from tests.fakes.updates import FakeUser  # noqa: E402

FIRST_CHAT = 900_000
TALKER = 42
CAP = 30.0
REPLY_GAP = 0.25  # a resident tapping a button every quarter second: a busy chat


def p95(values: list[float]) -> float | None:
    """None when nothing was measured (a capped run shorter than a second has no replies)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


async def make_residents(rt: Runtime, n: int) -> list[int]:
    store = rt.stores.residents
    return [(await store.create("telegram", str(FIRST_CHAT + i))).id for i in range(n)]


async def plan(rt: Runtime, ids: list[int], prefix: str, per_resident: int) -> None:
    now = rt.now()
    rows = [
        Planned(
            ids[(i // per_resident) % len(ids)],
            "text",
            "text",
            now,
            f"{prefix}:{i}",
            params={"text": f"{prefix} {i}"},
        )
        for i in range(len(ids) * per_resident)
    ]
    await rt.stores.outbox.plan(rows, now)


async def baseline(rows: int, concurrency: int) -> float:
    """Raw PTB send_message calls per second into the fake, no pipeline."""
    api = FakeBotAPI("123:ABC")
    app = Application.builder().token("123:ABC").request(FakeRequest(api)).build()
    async with app:
        queue = iter(range(rows))

        async def worker() -> None:
            for i in queue:
                await app.bot.send_message(FIRST_CHAT + i, f"raw {i}")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return rows / (time.perf_counter() - t0)


async def wait_done(rt: Runtime, limit: float) -> None:
    store = rt.stores.delivery
    deadline = time.monotonic() + limit
    while await store.open_count() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def bulk_texts(api: FakeBotAPI, prefix: str) -> list[tuple[float, int, str]]:
    return [
        (c.t, c.chat_id or 0, c.text)
        for c in api.calls_to("sendMessage")
        if c.ok and c.text.startswith(prefix + " ")
    ]


async def sent_keys(rt: Runtime, prefix: str) -> set[str]:
    """Texts of rows the outbox marked sent (text = '<prefix> <i>' for key '<prefix>:<i>')."""
    out = set()
    for rid in range(1, 1 + int(await rt.db.fetchval("SELECT MAX(id) FROM residents"))):
        for row in await rt.stores.outbox.for_resident(rid, "text"):
            if row.status == "sent" and row.dedupe_key.startswith(prefix + ":"):
                out.add(row.params["text"])
    return out


async def reply_latencies(app: Application, user: FakeUser, count: int, gap: float) -> list[float]:
    out = []
    for _ in range(count):
        update = Update.de_json(user.text("/help"), app.bot)
        t0 = time.perf_counter()
        await app.process_update(update)
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(gap)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="doorstep-bench-"))
    base = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:ABC",
            "DOORSTEP_QUIET_START": "00:00",  # a benchmark run at night must not wait
            "DOORSTEP_QUIET_END": "00:00",
        },
        db_path=tmp / "bench.sqlite3",
    )
    raw = await baseline(args.rows, base.delivery_concurrency)
    print(f"baseline: raw PTB sendMessage into the fake: {raw:,.0f} msgs/s", flush=True)

    # -- uncapped ------------------------------------------------------------------------
    rt = Runtime(replace(base, global_rate=0, per_chat_interval=0))
    await rt.start()
    ids = await make_residents(rt, args.rows)
    await plan(rt, ids, "u", 1)
    api = FakeBotAPI("123:ABC")
    app = tg.build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders[tg.CHANNEL] = tg.TelegramSender(app.bot)
        dispatcher = rt.delivery.dispatcher
        t0 = time.perf_counter()
        await dispatcher.start()
        await wait_done(rt, 600)
        uncapped_s = time.perf_counter() - t0
        await dispatcher.stop()
    got = Counter(text for _, _, text in bulk_texts(api, "u"))
    uncapped = args.rows / uncapped_s
    u_lost = args.rows - len(got)
    u_dup = sum(n - 1 for n in got.values())
    await rt.stop()
    print(
        f"uncapped: {args.rows} rows in {uncapped_s:.2f}s = {uncapped:,.0f} msgs/s "
        f"({uncapped / raw:.2f} of raw); lost {u_lost}, duplicates {u_dup}",
        flush=True,
    )

    # -- capped, with a resident chatting ----------------------------------------------------
    rt = Runtime(replace(base, global_rate=CAP, per_chat_interval=1.0))
    await rt.start()
    await plan(rt, ids[: args.rows // 2], "c", 2)  # pairs of rows for the same resident
    api = FakeBotAPI("123:ABC")
    talker = FakeUser(api, user_id=TALKER, language_code="en")
    app = tg.build_application(rt, request=FakeRequest(api))
    async with app:
        rt.senders[tg.CHANNEL] = tg.TelegramSender(app.bot)
        await reply_latencies(app, talker, 5, 0.05)  # warm up (creates the resident)
        # The same cadence idle and during the broadcast, so only the broadcast differs.
        idle = await reply_latencies(app, talker, int(args.idle_seconds / REPLY_GAP), REPLY_GAP)
        # The idle replies made the limiter keep a reserve; let it forget them.
        await asyncio.sleep(3.5)
        dispatcher = rt.delivery.dispatcher
        await dispatcher.start()
        t_start = time.monotonic()
        busy_task = asyncio.create_task(
            reply_latencies(app, talker, int(args.capped_seconds / REPLY_GAP) - 4, REPLY_GAP)
        )
        await asyncio.sleep(args.capped_seconds)
        busy = await busy_task
        await dispatcher.stop()
        t_end = time.monotonic()
    bulk = [(t, chat, text) for t, chat, text in bulk_texts(api, "c") if t >= t_start]
    replies = [c.t for c in api.calls_to("sendMessage", TALKER) if c.ok and c.t >= t_start]
    # Up to the last message: the graceful stop at the end sends nothing new.
    span = max([t for t, _, _ in bulk] + replies, default=t_end) - t_start
    bulk_rate = len(bulk) / span
    total_rate = (len(bulk) + len(replies)) / span
    per_chat: dict[int, list[float]] = {}
    for t, chat, _ in bulk:
        per_chat.setdefault(chat, []).append(t)
    counts = Counter(text for _, _, text in bulk)
    marked = await sent_keys(rt, "c")
    c_lost = len(marked - set(counts)) + len(set(counts) - marked)
    c_dup = sum(n - 1 for n in counts.values())
    still_open = await rt.stores.delivery.open_count()
    await rt.stop()

    result = {
        "rows": args.rows,
        "baseline_raw_msgs_per_s": round(raw, 1),
        "uncapped_msgs_per_s": round(uncapped, 1),
        "uncapped_vs_raw": round(uncapped / raw, 3),
        "capped_seconds": round(span, 2),
        "capped_msgs_per_s": round(total_rate, 2),
        "capped_bulk_msgs_per_s": round(bulk_rate, 2),
        "cap_ratio": round(total_rate / CAP, 3),
        "max_per_chat_per_s": max((max_in_window(ts) for ts in per_chat.values()), default=0),
        "max_total_in_any_1s": max_in_window([t for t, _, _ in bulk] + replies),
        "max_bulk_in_any_1s": max_in_window([t for t, _, _ in bulk]),
        "lost": u_lost + c_lost,
        "duplicates": u_dup + c_dup,
        "capped_rows_left_pending": still_open,
        "replies_idle": len(idle),
        "replies_during_broadcast": len(busy),
        "reply_p95_ms_idle": rounded(p95(idle)),
        "reply_p95_ms_during_broadcast": rounded(p95(busy)),
        "reply_ratio": ratio(p95(busy), p95(idle)),
        "reply_median_ms_idle": rounded(median(idle)),
        "reply_median_ms_during_broadcast": rounded(median(busy)),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(
        f"capped: {len(bulk)} bulk + {len(replies)} replies in {span:.1f}s = "
        f"{total_rate:.2f} msgs/s (bulk {bulk_rate:.2f}); cap ratio {total_rate / CAP:.3f}; "
        f"most to one chat in a second {result['max_per_chat_per_s']}, "
        f"most in any second {result['max_total_in_any_1s']}",
        flush=True,
    )
    print(
        f"replies: p95 {result['reply_p95_ms_idle']} ms idle, "
        f"{result['reply_p95_ms_during_broadcast']} ms during the broadcast "
        f"(ratio {result['reply_ratio']})",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--capped-seconds", type=float, default=25.0)
    parser.add_argument(
        "--idle-seconds", type=float, default=20.0, help="reply latency measured before it"
    )
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
