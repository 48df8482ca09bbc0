"""`doorstep chat`: the local sandbox with the sample district."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.channels.console import CHANNEL, DEFERRED_REASON, ConsoleChat, ConsoleSender
from bot.config import Settings
from bot.runtime import Runtime

# At the end of input: wait up to SETTLE_SECONDS for rows due within SETTLE_HORIZON seconds.
SETTLE_SECONDS = 8.0
SETTLE_HORIZON = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("chat", help="chat with the bot in this terminal (no token needed)")
    p.add_argument(
        "--db",
        type=Path,
        default=Path("doorstep-sandbox.sqlite3"),
        help="sandbox SQLite file (default: ./doorstep-sandbox.sqlite3)",
    )
    p.add_argument("--user", default="1", help="sandbox user id (to play several people)")
    p.add_argument("--fresh", action="store_true", help="start from an empty sandbox")
    p.set_defaults(func=chat)


def _wipe(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


async def chat(args: argparse.Namespace, settings: Settings) -> int:
    if args.fresh:
        _wipe(args.db)
    rt = Runtime(replace(settings, db_path=args.db), sandbox=True)
    await rt.start()
    console = ConsoleChat(rt, user_id=args.user, echo=not sys.stdin.isatty())
    rt.senders[CHANNEL] = ConsoleSender(console)
    await wake_kept(rt, args.user)
    await rt.start_background()
    if sys.stdin.isatty():
        print("Doorstep sandbox. Type /start to begin, a number to press a button, /quit to end.")
    try:
        await console.run()
        await _settle(rt)
    finally:
        await rt.stop()
    return 0


async def wake_kept(rt: Runtime, user_id: str) -> int:
    """What arrived for this sandbox user while another one played is due now."""
    loaded = await rt.stores.residents.load(CHANNEL, user_id)
    if loaded is None:
        return 0
    now = int(rt.now().timestamp())
    return await rt.stores.channels.wake_deferred(loaded[0].id, now, DEFERRED_REASON)


async def _settle(rt: Runtime, grace: float = SETTLE_SECONDS) -> None:
    """At the end of input, let what is due within a few seconds arrive before leaving, so a
    scripted session sees e.g. the first tip it subscribed to."""
    outbox = rt.stores.outbox
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline:
        horizon = rt.now() + timedelta(seconds=SETTLE_HORIZON)
        if await outbox.due_count(CHANNEL, horizon) == 0:
            return
        await asyncio.sleep(0.2)
