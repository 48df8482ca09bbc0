"""Throughput and reply latency of the real bot against a bare python-telegram-bot echo bot.

Throughput: N residents (half Chinese, half English) are onboarded, then each sends M
updates, one after the other as a person would, all residents at once (at most 64 updates in
flight, like PTB's `concurrent_updates`): taps on the main menu, presses of the inline buttons
the bot just sent, settings, and text the bot does not understand. The same update stream is
then replayed through an echo bot on the same fake Bot API transport, as the baseline measured
in the same run. Both sides do the same I/O per update: one reply message (the echo bot
repeats the text, or the pressed button's data), and every button press is answered. The
doorstep side's residents decide live what to send next; the time that takes is the
harness's, so it is measured and left out (reported as harness_cpu_ms_per_update). The pair
is run --rounds times, alternating; the ratio is the median of the rounds' ratios (each round
compares the two bots seconds apart, under the same load), and the rates and CPU times are
each side's best round (other work on a shared machine only ever adds time).

Latency: updates are offered open-loop at a fixed rate (--rate per second, round-robin over
the residents, each offered at its scheduled time whether or not earlier replies came), and
each update's latency is from its scheduled time to the arrival of its reply at the fake
transport: what a resident waits, queueing behind other residents' updates included. The
echo bot gets the same updates on the same schedule.

Usage (from the repository root): python bench/updates.py [--residents N --messages M]
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
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


def _settle_heap() -> None:
    """Before a timed phase, either side: collect, then freeze what is alive (the bot, its
    content, the recorded updates) as `Runtime.start_background` does once a bot process
    has started, so collections during the phase scan only what the phase allocates, not
    whatever the process built before (undone after the phase)."""
    gc.collect()
    gc.freeze()


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

    _settle_heap()
    try:
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(resident(i) for i in range(residents)))
        elapsed = time.perf_counter() - began - harness_wall
    finally:
        gc.unfreeze()
    return elapsed, time.process_time() - cpu - harness_cpu, latencies, recorded, harness_cpu


def _reply_at(
    api: FakeBotAPI, update: dict[str, Any], chat_id: int, first: int, seen: int
) -> float | None:
    """When the reply to an update reached the transport: the first message to the chat among
    its calls from index `first` on (an edit Telegram finds unchanged counts: the resident
    sees the screen they asked for), else the answer to the press (a toast only). `seen`: the
    number of calls the transport had when the update was offered."""
    for c in api.calls_by_chat.get(chat_id, [])[first:]:
        if c.method in REPLY_METHODS:
            return c.t
    query = update.get("callback_query", {}).get("id")
    for c in api.calls[seen:]:
        if c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query:
            return c.t
    return None


async def _offer(
    process: Callable[[dict[str, Any]], Awaitable[None]],
    api: FakeBotAPI,
    count: int,
    rate: float,
    make: Callable[[int], dict[str, Any]],
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """Offer `count` updates open-loop, update k at start + k / rate, not waiting for replies.

    Returns each update's latency (scheduled time to its reply at the transport), how late
    the harness offered each (timer resolution, and a busy loop: the bot's own backlog), and
    the updates offered. `make(k)` builds update k when it is due (a live resident decides
    from what they were shown so far).
    """
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    lateness: list[float] = []
    offered: list[dict[str, Any]] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(update: dict[str, Any], due: float) -> None:
        chat = (update.get("message") or update["callback_query"]["message"])["chat"]["id"]
        first, seen = len(api.calls_by_chat.get(chat, [])), len(api.calls)
        await process(update)
        at = _reply_at(api, update, chat, first, seen)
        if at is None:
            raise RuntimeError(f"no reply to update {update['update_id']}")
        latencies.append(at - due)

    _settle_heap()
    try:
        start = loop.time() + 0.05
        for k in range(count):
            due = start + k / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness.append(loop.time() - due)
            update = make(k)
            offered.append(update)
            tasks.append(asyncio.create_task(one(update, due)))
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        gc.unfreeze()
    failures = [r for r in results if r is not None]
    if failures:
        raise failures[0]
    return latencies, lateness, offered


class Doorstep:
    """The real Application on a fresh database, its residents onboarded."""

    def __init__(self, tmp: Path, residents: int, seed: int) -> None:
        self.tmp, self.residents, self.seed = tmp, residents, seed

    async def __aenter__(self) -> Doorstep:
        settings = Settings.from_env(
            {"TELEGRAM_BOT_TOKEN": TOKEN}, db_path=self.tmp / "bench.sqlite3"
        )
        self.rt = Runtime(settings)
        await self.rt.start()
        self.api = FakeBotAPI(TOKEN)
        self.app = build_application(self.rt, request=FakeRequest(self.api))
        self.users = [
            FakeUser(self.api, 100_000 + i, f"R{i}", "zh-CN" if i % 2 else "en")
            for i in range(self.residents)
        ]
        self.rngs = [random.Random(self.seed * 1_000_003 + i) for i in range(self.residents)]
        try:
            await self.app.initialize()
            await asyncio.gather(*(self._onboard(u) for u in self.users))
        except BaseException:
            await self.rt.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.app.shutdown()
        finally:
            await self.rt.stop()

    async def process(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def _onboard(self, u: FakeUser) -> None:
        await self.process(u.text("/start"))
        await self.process(u.press("中文" if u.language_code == "zh-CN" else "English"))
        await self.process(u.press("✅"))

    def next_update(self, i: int) -> dict[str, Any]:
        return _next_update(self.api, self.users[i], self.rngs[i])


async def bench_doorstep(
    tmp: Path, residents: int, messages: int, seed: int
) -> tuple[float, float, list[float], list[list[dict[str, Any]]], float, FakeBotAPI]:
    async with Doorstep(tmp, residents, seed) as bot:
        onboarded_at = time.monotonic()
        elapsed, cpu, latencies, recorded, harness = await _drive(
            bot.process, None, bot.next_update, messages, residents
        )
        api = bot.api
        api.calls = [c for c in api.calls if c.t >= onboarded_at]
    return elapsed, cpu, latencies, recorded, harness, api


async def latency_doorstep(
    tmp: Path, residents: int, count: int, rate: float, seed: int
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    async with Doorstep(tmp, residents, seed + 1) as bot:
        return await _offer(
            bot.process, bot.api, count, rate, lambda k: bot.next_update(k % residents)
        )


def build_echo(api: FakeBotAPI) -> Application:
    """The baseline: the smallest useful PTB bot."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, update.effective_message.text or "…"
        )

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Like the real bot: answer the press, then one reply message (what was pressed).
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        await query.answer()
        await context.bot.send_message(update.effective_chat.id, query.data or "…")

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


def _copy(update: dict[str, Any], tag: str) -> dict[str, Any]:
    """The update again; a button press under a new id (a query can be answered once)."""
    if "callback_query" not in update:
        return update
    query = {**update["callback_query"], "id": tag + update["callback_query"]["id"]}
    return {**update, "callback_query": query}


async def _echo_warmed(api: FakeBotAPI, streams: list[list[dict[str, Any]]]) -> Application:
    app = build_echo(api)
    await app.initialize()
    for stream in streams[:5]:
        for update in stream:
            await app.process_update(Update.de_json(_copy(update, "warm"), app.bot))
    api.clear_calls()
    return app


async def bench_echo(
    streams: list[list[dict[str, Any]]], messages: int
) -> tuple[float, float, list[float], FakeBotAPI]:
    api = FakeBotAPI(TOKEN)
    app = await _echo_warmed(api, streams)
    try:

        async def process(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        elapsed, cpu, latencies, _, _ = await _drive(process, streams, None, messages, len(streams))
    finally:
        await app.shutdown()
    return elapsed, cpu, latencies, api


async def latency_echo(
    offered: list[dict[str, Any]], rate: float, warm: list[list[dict[str, Any]]]
) -> tuple[list[float], list[float]]:
    api = FakeBotAPI(TOKEN)
    app = await _echo_warmed(api, warm)
    try:

        async def process(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        latencies, lateness, _ = await _offer(
            process, api, len(offered), rate, lambda k: offered[k]
        )
    finally:
        await app.shutdown()
    return latencies, lateness


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] * 1000 if len(values) > 1 else values[0] * 1000


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    problems = _Problems()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(problems)
    total = args.residents * args.messages
    load_before = os.getloadavg()
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, cpu, _, streams, harness, api = await bench_doorstep(
                Path(tmp), args.residents, args.messages, args.seed
            )
        calls, replies = len(api.calls), len(api.replies())
        failed = sum(1 for c in api.calls if not c.ok)
        del api  # a big heap left alive would slow the baseline's garbage collection
        echo_elapsed, echo_cpu, _, echo_api = await bench_echo(streams, args.messages)
        rounds.append(
            {
                "wall": elapsed,
                "cpu": cpu,
                "harness": harness,
                "echo_wall": echo_elapsed,
                "echo_cpu": echo_cpu,
                "calls": calls,
                "replies": replies,
                "failed": failed + sum(1 for c in echo_api.calls if not c.ok),
                "echo_calls": len(echo_api.calls),
                "echo_replies": len(echo_api.replies()),
            }
        )
        print(
            f"round {r + 1}: doorstep {total / elapsed:.0f}/s ({cpu / total * 1000:.3f} ms CPU "
            f"each), echo bot {total / echo_elapsed:.0f}/s ({echo_cpu / total * 1000:.3f} ms "
            f"CPU each), ratio {echo_elapsed / elapsed:.3f}"
        )
        del streams, echo_api
    best = min(rounds, key=lambda x: x["wall"])
    echo_best = min(rounds, key=lambda x: x["echo_wall"])
    cpu = min(x["cpu"] for x in rounds)
    echo_cpu = min(x["echo_cpu"] for x in rounds)
    ups, echo_ups = total / best["wall"], total / echo_best["echo_wall"]
    ratios = [x["echo_wall"] / x["wall"] for x in rounds]

    count = round(args.rate * args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        lat, late, offered = await latency_doorstep(
            Path(tmp), args.residents, count, args.rate, args.seed
        )
    warm = [[u for u in offered[i :: args.residents]] for i in range(5)]
    echo_lat, echo_late = await latency_echo(offered, args.rate, warm)
    load_after = os.getloadavg()

    print(
        f"doorstep: {total} updates from {args.residents} residents, best of {args.rounds}: "
        f"{ups:.0f}/s, {cpu / total * 1000:.3f} ms CPU each, "
        f"{best['calls'] / total:.2f} Bot API calls and {best['replies'] / total:.2f} replies "
        f"per update"
    )
    print(
        f"echo bot: {total} updates, best of {args.rounds}: {echo_ups:.0f}/s, "
        f"{echo_cpu / total * 1000:.3f} ms CPU each, {best['echo_calls'] / total:.2f} Bot API "
        f"calls and {best['echo_replies'] / total:.2f} replies per update"
    )
    print(
        f"latency at {args.rate:.0f} updates/s offered ({count} updates): doorstep p50 "
        f"{statistics.median(lat) * 1000:.2f} ms, p95 {p95(lat):.2f} ms, max "
        f"{max(lat) * 1000:.1f} ms; echo bot p50 {statistics.median(echo_lat) * 1000:.2f} ms, "
        f"p95 {p95(echo_lat):.2f} ms; offered late by the harness: p95 {p95(late):.2f} ms"
    )
    print(
        f"ratio (median of the rounds' ratios): {statistics.median(ratios):.3f}; of the best "
        f"rounds: {ups / echo_ups:.3f}"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    return {
        "updates_per_s": round(ups, 1),
        "echo_updates_per_s": round(echo_ups, 1),
        # Each round pairs the two bots seconds apart, under the same load: the median of the
        # rounds' ratios. (The best rounds of each side can come from different moments.)
        "ratio": round(statistics.median(ratios), 3),
        "ratio_rounds": [round(r, 3) for r in ratios],
        "ratio_of_best": round(ups / echo_ups, 3),
        # CPU time is steadier than wall time on a shared machine.
        "cpu_ms_per_update": round(cpu / total * 1000, 3),
        "echo_cpu_ms_per_update": round(echo_cpu / total * 1000, 3),
        "cpu_ratio": round(echo_cpu / cpu, 3),
        # Left out of the doorstep side's times above: the simulated residents deciding.
        "harness_cpu_ms_per_update": round(best["harness"] / total * 1000, 3),
        "latency_rate_per_s": args.rate,
        "latency_updates": count,
        "latency_p50_ms": ms(statistics.median(lat)),
        "latency_p95_ms": round(p95(lat), 2),
        "latency_max_ms": ms(max(lat)),
        "echo_latency_p50_ms": ms(statistics.median(echo_lat)),
        "echo_latency_p95_ms": round(p95(echo_lat), 2),
        "offered_late_p95_ms": round(p95(late), 2),
        "echo_offered_late_p95_ms": round(p95(echo_late), 2),
        "updates": total,
        "residents": args.residents,
        "messages": args.messages,
        "rounds": args.rounds,
        "api_calls_per_update": round(best["calls"] / total, 2),
        "echo_api_calls_per_update": round(best["echo_calls"] / total, 2),
        "replies_per_update": round(best["replies"] / total, 2),
        "echo_replies_per_update": round(best["echo_replies"] / total, 2),
        "failed_api_calls": sum(x["failed"] for x in rounds),
        "errors_logged": problems.count,
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=200.0, help="offered updates/s (latency)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
