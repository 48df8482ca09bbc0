"""Throughput of the real bot against a bare python-telegram-bot echo bot, same transport.

N residents (half Chinese, half English) are onboarded, then each sends M updates, one after
the other as a person would, all residents at once (at most 64 updates in flight, like PTB's
`concurrent_updates`): taps on the main menu, presses of the inline buttons the bot just sent,
settings, and text the bot does not understand. The same update stream is then replayed
through an echo bot (a MessageHandler that repeats the text, a CallbackQueryHandler that
answers) on the same fake Bot API transport, as the baseline measured in the same run.
The doorstep side's residents decide live what to send next; the time that takes is the
harness's, so it is measured and left out (reported as harness_cpu_ms_per_update).

Usage (from the repository root): python bench/updates.py [--residents N --messages M]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram import build_application  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from tests.fakes.botapi import REPLY_METHODS, Call, FakeBotAPI, FakeRequest  # noqa: E402
from tests.fakes.updates import FakeUser  # noqa: E402

TOKEN = "123:ABC"
IN_FLIGHT = 64  # PTB's concurrent_updates in build_application
# Buttons a benchmark resident never presses: deleting their data would restart onboarding.
AVOID = ("v1:privacy:delok",)


class _Problems(logging.Handler):
    """Counts errors logged while the benchmark runs (a fast run that fails is no result)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _recent_replies(api: FakeBotAPI, chat_id: int) -> Iterator[Call]:
    """What the resident was shown, newest first (lazily: only the newest few are looked at)."""
    calls = api.calls_by_chat.get(chat_id, [])
    return (c for c in reversed(calls) if c.method in REPLY_METHODS and c.ok)


def _next_update(api: FakeBotAPI, u: FakeUser, rng: random.Random) -> dict[str, Any]:
    """What a resident does next, given what the bot last showed them."""
    roll = rng.random()
    if roll < 0.35:
        inline = [
            b["callback_data"]
            for c in islice(_recent_replies(api, u.user_id), 3)
            for row in (c.params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
            if b.get("callback_data") and b["callback_data"] not in AVOID
        ]
        if inline:
            return u.callback(rng.choice(inline))
    if roll < 0.75:
        keyboard = next(
            (
                c.params["reply_markup"]["keyboard"]
                for c in _recent_replies(api, u.user_id)
                if "keyboard" in (c.params.get("reply_markup") or {})
            ),
            [],
        )
        labels = [b["text"] for row in keyboard for b in row]
        if labels:
            return u.text(rng.choice(labels))
    if roll < 0.85:
        return u.text(rng.choice(["/settings", "/menu", "/help"]))
    return u.text(rng.choice(["hello", "你好", "血压多少算正常？", "ok", "?"]))


async def _drive(
    process: Callable[[dict[str, Any]], Awaitable[None]],
    streams: list[list[dict[str, Any]]] | None,
    make_next: Callable[[int], dict[str, Any]] | None,
    messages: int,
    residents: int,
) -> tuple[float, float, list[float], list[list[dict[str, Any]]], float]:
    """Run every resident's updates (recorded streams, or generated live).

    Returns wall seconds, CPU seconds of the whole process (threads included: SQLite works in
    aiosqlite's), per-update latencies, the updates sent, and the CPU seconds the simulated
    residents spent deciding what to send.

    Deciding is the harness's work, not the bot's, and only live generation has any (a
    replayed stream is a list lookup), so it is timed and left out of the wall and CPU time:
    both sides are charged for handling updates only. It runs on the event loop's thread,
    where nothing else can run meanwhile, so subtracting its wall time is exact.
    """
    gate = asyncio.Semaphore(IN_FLIGHT)
    latencies: list[float] = []
    recorded: list[list[dict[str, Any]]] = [[] for _ in range(residents)]
    harness_wall = harness_cpu = 0.0

    async def resident(i: int) -> None:
        nonlocal harness_wall, harness_cpu
        for k in range(messages):
            if streams is not None:
                update = streams[i][k]
            else:
                # thread_time: only this thread's CPU, not SQLite's threads working meanwhile.
                wall, cpu = time.perf_counter(), time.thread_time()
                update = make_next(i)  # type: ignore[misc]
                harness_wall += time.perf_counter() - wall
                harness_cpu += time.thread_time() - cpu
            recorded[i].append(update)
            began = time.perf_counter()
            async with gate:
                await process(update)
            latencies.append(time.perf_counter() - began)

    gc.collect()
    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(resident(i) for i in range(residents)))
    elapsed = time.perf_counter() - began - harness_wall
    return elapsed, time.process_time() - cpu - harness_cpu, latencies, recorded, harness_cpu


async def bench_doorstep(
    tmp: Path, residents: int, messages: int, seed: int
) -> tuple[float, float, list[float], list[list[dict[str, Any]]], float, FakeBotAPI]:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}, db_path=tmp / "bench.sqlite3")
    rt = Runtime(settings)
    await rt.start()
    api = FakeBotAPI(TOKEN)
    app = build_application(rt, request=FakeRequest(api))
    users = [
        FakeUser(api, 100_000 + i, f"R{i}", "zh-CN" if i % 2 else "en") for i in range(residents)
    ]
    rngs = [random.Random(seed * 1_000_003 + i) for i in range(residents)]
    try:
        async with app:

            async def process(update: dict[str, Any]) -> None:
                await app.process_update(Update.de_json(update, app.bot))

            async def onboard(u: FakeUser) -> None:
                await process(u.text("/start"))
                await process(u.press("中文" if u.language_code == "zh-CN" else "English"))
                await process(u.press("✅"))

            await asyncio.gather(*(onboard(u) for u in users))
            onboarded_at = time.monotonic()
            elapsed, cpu, latencies, recorded, harness = await _drive(
                process,
                None,
                lambda i: _next_update(api, users[i], rngs[i]),
                messages,
                residents,
            )
            api.calls = [c for c in api.calls if c.t >= onboarded_at]
    finally:
        await rt.stop()
    return elapsed, cpu, latencies, recorded, harness, api


def build_echo(api: FakeBotAPI) -> Application:
    """The baseline: the smallest useful PTB bot."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, update.effective_message.text or "…"
        )

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer()

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .concurrent_updates(IN_FLIGHT)
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.add_handler(CallbackQueryHandler(answer))
    return app


async def bench_echo(
    streams: list[list[dict[str, Any]]], messages: int
) -> tuple[float, float, list[float], FakeBotAPI]:
    api = FakeBotAPI(TOKEN)
    app = build_echo(api)
    async with app:

        async def process(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        for stream in streams[:5]:
            for update in stream:
                if "callback_query" in update:
                    # A query can be answered once: the warm-up presses its own copies.
                    query = {
                        **update["callback_query"],
                        "id": "warm" + update["callback_query"]["id"],
                    }
                    update = {**update, "callback_query": query}
                await process(update)
        api.clear_calls()
        elapsed, cpu, latencies, _, _ = await _drive(process, streams, None, messages, len(streams))
    return elapsed, cpu, latencies, api


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] * 1000 if len(values) > 1 else values[0] * 1000


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    problems = _Problems()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(problems)
    total = args.residents * args.messages
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, cpu, lat, streams, harness, api = await bench_doorstep(
            Path(tmp), args.residents, args.messages, args.seed
        )
    calls, replies = len(api.calls), len(api.replies())
    failed = sum(1 for c in api.calls if not c.ok)
    del api  # a big heap left alive would slow the baseline's garbage collection
    echo_elapsed, echo_cpu, echo_lat, echo_api = await bench_echo(streams, args.messages)
    ups, echo_ups = total / elapsed, total / echo_elapsed
    print(
        f"doorstep: {total} updates from {args.residents} residents in {elapsed:.2f}s "
        f"({ups:.0f}/s, {cpu / total * 1000:.2f} ms CPU each, p50 "
        f"{statistics.median(lat) * 1000:.1f} ms, p95 {p95(lat):.1f} ms, "
        f"{calls / total:.2f} Bot API calls per update)"
    )
    print(
        f"echo bot: {total} updates in {echo_elapsed:.2f}s ({echo_ups:.0f}/s, "
        f"{echo_cpu / total * 1000:.2f} ms CPU each, p50 "
        f"{statistics.median(echo_lat) * 1000:.1f} ms, p95 {p95(echo_lat):.1f} ms)"
    )
    return {
        "updates_per_s": round(ups, 1),
        "echo_updates_per_s": round(echo_ups, 1),
        "ratio": round(ups / echo_ups, 3),
        "p95_ms": round(p95(lat), 2),
        "echo_p95_ms": round(p95(echo_lat), 2),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "echo_p50_ms": round(statistics.median(echo_lat) * 1000, 2),
        # CPU time is steadier than wall time on a shared machine.
        "cpu_ms_per_update": round(cpu / total * 1000, 3),
        "echo_cpu_ms_per_update": round(echo_cpu / total * 1000, 3),
        "cpu_ratio": round(echo_cpu / cpu, 3),
        # Left out of the doorstep side's times above: the simulated residents deciding.
        "harness_cpu_ms_per_update": round(harness / total * 1000, 3),
        "updates": total,
        "residents": args.residents,
        "messages": args.messages,
        "api_calls_per_update": round(calls / total, 2),
        "echo_api_calls_per_update": round(len(echo_api.calls) / total, 2),
        "replies_per_update": round(replies / total, 2),
        "failed_api_calls": failed,
        "errors_logged": problems.count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
