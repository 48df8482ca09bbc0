"""`doorstep chat`: the local sandbox with the sample district."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from bot.channels.console import CHANNEL, ConsoleChat, ConsoleSender
from bot.config import Settings
from bot.runtime import Runtime


def register(sub: argparse._SubParsersAction) -> None:
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
    await rt.start_background()
    if sys.stdin.isatty():
        print("Doorstep sandbox. Type /start to begin, a number to press a button, /quit to end.")
    try:
        await console.run()
    finally:
        await rt.stop()
    return 0
