"""`doorstep run`: the Telegram bot, by long polling or PTB's own webhook server.

Telegram lets one process at a time long-poll a bot (getUpdates); a second one makes both get
409 Conflict over and over. So with several workers (PostgreSQL), one worker polls (it holds
the cluster's poller lock) and the others only deliver, taking over polling if the poller
stops. A Conflict from outside the cluster (another deployment with the same token) stops
polling here with a message for the operator; delivery goes on and polling is tried again
later, instead of a crash and restart loop. Several receiving workers: webhook mode
(`doorstep serve` behind a load balancer).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from bot.config import Settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

POLLER_RETRY_S = 5.0  # a delivery-only worker checks this often whether polling is free
CONFLICT_RETRY_S = 60.0  # after a 409 Conflict from outside, polling is tried again this late
CONFLICT_HELP = (
    "doorstep: Telegram answered 409 Conflict: another process is polling this bot's updates "
    "(only one may; same TELEGRAM_BOT_TOKEN elsewhere?). This process stops polling and keeps "
    "sending reminders and broadcasts; it tries polling again in {retry:.0f} s. For several "
    "workers, receive by webhook: `doorstep serve` behind a load balancer."
)
DELIVERY_ONLY = (
    "doorstep: another worker of this cluster is polling Telegram; this one only delivers "
    "(it takes over polling if that worker stops)."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the Telegram bot")
    p.add_argument("--webhook", metavar="URL", help="public webhook URL (default: long polling)")
    p.add_argument("--listen", default="0.0.0.0", help="webhook listen address")
    p.add_argument("--port", type=int, default=8443, help="webhook listen port")
    p.add_argument("--secret-token", default=None, help="webhook secret token")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.telegram_token is None:
        print(
            "doorstep: TELEGRAM_BOT_TOKEN is not set; get a token from @BotFather, or try "
            "`doorstep chat` which needs none.",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(serve(args, settings))


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    from telegram import Update

    from bot.app import build_telegram
    from bot.runtime import Runtime

    rt = Runtime(settings)
    await rt.start()
    app = build_telegram(rt)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with app:
            await rt.start_background()
            await app.start()
            assert app.updater is not None
            if args.webhook:
                await app.updater.start_webhook(
                    listen=args.listen,
                    port=args.port,
                    webhook_url=args.webhook,
                    secret_token=args.secret_token,
                    allowed_updates=Update.ALL_TYPES,
                )
                log.info("doorstep is running")
                await stop.wait()
                await app.updater.stop()
            else:
                log.info("doorstep is running")
                await poll(app.updater, rt, stop, Update.ALL_TYPES)
            await app.stop()
    finally:
        await rt.stop()
    return 0


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def poll(updater: Any, rt: Runtime, stop: asyncio.Event, allowed: list[str]) -> None:
    """Long-poll while this worker is the one poller, until `stop` (see the module docstring)."""
    from telegram.error import Conflict

    cluster = rt.stores.cluster
    said_delivery_only = False
    while not stop.is_set():
        try:
            mine = await cluster.claim_poller()
        except Exception as exc:  # the database is away: deliver nothing new, try again
            log.warning("could not check who polls Telegram: %s", type(exc).__name__)
            await _wait(stop, POLLER_RETRY_S)
            continue
        if not mine:
            if not said_delivery_only:
                print(DELIVERY_ONLY, file=sys.stderr, flush=True)
                said_delivery_only = True
            await _wait(stop, POLLER_RETRY_S)
            continue
        said_delivery_only = False
        conflict = asyncio.Event()

        def on_error(exc: Exception, clash: asyncio.Event = conflict) -> None:
            if isinstance(exc, Conflict):
                clash.set()
            else:
                log.warning("polling Telegram failed: %s", type(exc).__name__)

        await updater.start_polling(allowed_updates=allowed, error_callback=on_error)
        ended = asyncio.ensure_future(stop.wait())
        clash = asyncio.ensure_future(conflict.wait())
        await asyncio.wait({ended, clash}, return_when=asyncio.FIRST_COMPLETED)
        for fut in (ended, clash):
            fut.cancel()
        await updater.stop()
        if conflict.is_set() and not stop.is_set():
            print(CONFLICT_HELP.format(retry=CONFLICT_RETRY_S), file=sys.stderr, flush=True)
            await cluster.release_poller()
            await _wait(stop, CONFLICT_RETRY_S)
