"""`doorstep serve`: one web app for every channel (Telegram webhook, WeChat, web chat).

Also runs the delivery dispatcher and the scheduled jobs, like `doorstep run`. Polling mode
(`doorstep run`) stays for small Telegram-only deployments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from typing import Any

import uvicorn

from bot.config import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="serve the Telegram webhook, WeChat and the web chat")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="listen port (default 8080)")
    p.add_argument(
        "--telegram-webhook-url",
        metavar="URL",
        help="public URL of /telegram: tell Telegram to send updates there at start-up",
    )
    p.set_defaults(func=serve)


def startup_line(host: str, port: int, *, web: bool, wechat: Any, telegram: Any) -> str:
    """Where the server listens and which channels it serves: addresses and paths only,
    never a token or secret."""
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    parts = []
    if web:
        parts.append(f"web chat {base}/chat")
    parts.append(f"WeChat {base}/wechat" if wechat is not None else "WeChat off (no WECHAT_TOKEN)")
    parts.append(
        f"Telegram webhook {base}/telegram"
        if telegram is not None
        else "Telegram off (no TELEGRAM_BOT_TOKEN)"
    )
    return f"doorstep serve listening on {base}: " + "; ".join(parts) + f"; health {base}/healthz"


async def serve(args: argparse.Namespace, settings: Settings) -> int:
    # Said at start-up whatever the log level (-v or not): an operator must see where it
    # listens. Other INFO lines stay behind -v.
    log.setLevel(logging.INFO)
    from bot.channels.web import CHANNEL as WEB
    from bot.channels.web import WebChat, WebSender
    from bot.runtime import Runtime
    from bot.web.app import build_app
    from bot.web.chat import MAX_EVENT
    from bot.web.limits import Limits, Rate

    if settings.telegram_token is not None and settings.telegram_webhook_secret is None:
        print(
            "doorstep: TELEGRAM_WEBHOOK_SECRET is not set; choose a random string (1-256 of "
            "A-Z a-z 0-9 _ -) so that only Telegram can post to /telegram.",
            file=sys.stderr,
        )
        return 2
    new_per_hour = int(settings.extra.get("DOORSTEP_WEB_NEW_VISITORS_PER_HOUR", "30") or 30)
    rt = Runtime(settings)
    await rt.start()
    telegram: Any = None
    try:
        web = await WebChat.create(rt)
        rt.senders[WEB] = WebSender(web)
        rt.spawn(web.housekeep(), "web-sessions-housekeeping")
        wechat = _wechat(rt, settings)
        telegram = await _telegram(rt, settings, args.telegram_webhook_url)
        await rt.start_background()
        app = build_app(
            rt,
            web=web,
            wechat=wechat,
            telegram=telegram,
            telegram_secret=(
                settings.telegram_webhook_secret.reveal()
                if settings.telegram_webhook_secret
                else None
            ),
            web_limits=Limits(new_visitors=Rate(new_per_hour / 3600, new_per_hour)),
        )
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            lifespan="off",
            proxy_headers=True,
            log_level="warning",
            # A frame larger than the app accepts is refused by the server as it arrives,
            # not buffered (uvicorn's default is 16 MiB).
            ws_max_size=MAX_EVENT,
        )
        server = _Server(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        server.announce = (
            startup_line(args.host, args.port, web=True, wechat=wechat, telegram=telegram),
            "delivering notifications to: " + (", ".join(sorted(rt.senders)) or "none"),
        )
        await rt.services.directory.is_empty()  # logs how to import, when empty
        await server.serve()
    finally:
        if telegram is not None:
            await telegram.shutdown()
        await rt.stop()
    return 0


class _Server(uvicorn.Server):
    """uvicorn, minus its own signal handling: it re-raises SIGTERM after shutting down,
    which would kill the process before the runtime records what was sent."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    announce: tuple[str, ...] = ()  # logged once the socket is bound

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            for line in self.announce:
                log.info("%s", line)

    def stop(self) -> None:
        self.should_exit = True


def _wechat(rt: Any, settings: Settings) -> Any:
    if settings.wechat_token is None:
        return None
    from bot.channels.wechat import CHANNEL, WeChatChannel, WeChatSender

    channel = WeChatChannel.from_settings(rt, settings)
    rt.senders[CHANNEL] = WeChatSender(channel)
    rt.on_stop(channel.close)
    rt.spawn(channel.housekeep(), "wechat-housekeeping")
    return channel


async def _telegram(rt: Any, settings: Settings, webhook_url: str | None) -> Any:
    if settings.telegram_token is None:
        return None
    from telegram import Update

    from bot.app import build_telegram

    app = build_telegram(rt)
    await app.initialize()
    if webhook_url:
        assert settings.telegram_webhook_secret is not None
        await app.bot.set_webhook(
            webhook_url,
            secret_token=settings.telegram_webhook_secret.reveal(),
            allowed_updates=Update.ALL_TYPES,
        )
    return app
