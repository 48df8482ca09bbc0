"""`doorstep run`: the Telegram bot, by long polling or PTB's own webhook server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.config import Settings

log = logging.getLogger(__name__)


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
            else:
                await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            log.info("doorstep is running")
            await stop.wait()
            await app.updater.stop()
            await app.stop()
    finally:
        await rt.stop()
    return 0
