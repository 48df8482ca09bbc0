"""The ASGI app: `/telegram` (webhook), `/wechat`, `/chat` (web chat) and `/healthz`.

Built around a started Runtime by `doorstep serve` (and by tests); the app does not own the
runtime's lifetime, the command does.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from bot.web import chat

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.channels.web import WebChat
    from bot.channels.wechat import WeChatChannel
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000  # bytes: Telegram updates and WeChat messages are far smaller


def build_app(
    rt: Runtime,
    *,
    web: WebChat,
    wechat: WeChatChannel | None = None,
    telegram: Application[Any, Any, Any, Any, Any, Any] | None = None,
    telegram_secret: str | None = None,
) -> Starlette:
    """The app for the enabled channels. `telegram` must be initialized, and comes with the
    secret token Telegram sends in every webhook request."""
    if telegram is not None and not telegram_secret:
        raise ValueError("the Telegram webhook needs a secret token")
    routes: list[Any] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/chat", chat.page, methods=["GET"]),
        WebSocketRoute("/chat/ws", chat.socket),
        Mount("/chat/static", StaticFiles(packages=[("bot.web", "static")]), name="static"),
    ]
    if wechat is not None:
        routes.append(Route("/wechat", wechat_endpoint, methods=["GET", "POST"]))
    if telegram is not None:
        routes.append(Route("/telegram", telegram_webhook, methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.rt = rt
    app.state.web = web
    app.state.wechat = wechat
    app.state.telegram = telegram
    app.state.telegram_secret = telegram_secret
    return app


async def _body(request: Request) -> bytes | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return body


async def telegram_webhook(request: Request) -> Response:
    """python-telegram-bot's custom-webhook pattern: check the secret, process the update."""
    from telegram import Update

    secret = request.app.state.telegram_secret
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return PlainTextResponse("forbidden", status_code=403)
    body = await _body(request)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    try:
        data = json.loads(body)
    except ValueError:
        return PlainTextResponse("bad request", status_code=400)
    app = request.app.state.telegram
    try:
        update = Update.de_json(data, app.bot)
    except Exception:
        log.warning("unreadable Telegram update", exc_info=True)
        return PlainTextResponse("bad request", status_code=400)
    # Processed before answering: Telegram then holds back this chat's next update, and a
    # crash means Telegram sends it again rather than it being lost.
    await app.process_update(update)
    return Response(status_code=200)


async def wechat_endpoint(request: Request) -> Response:
    channel = request.app.state.wechat
    query = dict(request.query_params)
    if request.method == "GET":
        echo = channel.verify(query)
        if echo is None:
            return PlainTextResponse("invalid signature", status_code=403)
        return PlainTextResponse(echo)
    body = await _body(request)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    status, text = await channel.receive(query, body)
    media = "application/xml" if text.startswith("<") else "text/plain"
    return Response(text, status_code=status, media_type=media)


def _scheduler_running(rt: Runtime) -> bool:

    dispatcher = rt.delivery.dispatcher
    jobs = rt.delivery.jobs
    scheduler = getattr(jobs, "scheduler", None)
    return bool(getattr(dispatcher, "running", False)) and bool(
        scheduler is not None and getattr(scheduler, "running", False)
    )


async def healthz(request: Request) -> Response:
    """200 when the database answers and the dispatcher and scheduler run; 503 otherwise."""
    rt = request.app.state.rt
    store = rt.stores.liveness
    try:
        db_ok = await store.ping()
        backlog = await store.backlog(int(rt.now().timestamp()))
    except Exception:
        log.exception("health check: database unreachable")
        return JSONResponse({"ok": False, "db": False}, status_code=503)
    scheduler = _scheduler_running(rt)
    now = int(rt.now().timestamp())
    body = {
        "ok": db_ok and scheduler,
        "db": db_ok,
        "scheduler": scheduler,
        "outbox": {
            "due": backlog.due,
            "pending": backlog.pending,
            "oldest_due_seconds": (now - backlog.oldest_due_at) if backlog.oldest_due_at else 0,
        },
        "channels": sorted(rt.senders),
    }
    return JSONResponse(body, status_code=200 if body["ok"] else 503)
