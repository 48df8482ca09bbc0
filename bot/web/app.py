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
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from bot.channels.wechat_guard import Refused
from bot.logsafe import describe
from bot.web import chat
from bot.web.limits import Limits

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.channels.web import WebChat
    from bot.channels.wechat import WeChatChannel
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
OPERATOR_HEADER = "X-Doorstep-Operator-Token"
MAX_BODY = 1_000_000  # bytes: Telegram updates and WeChat messages are far smaller
MAX_JSON_DEPTH = 32  # Telegram updates nest about 6 deep
# The chat page loads only its own script, style and socket; pictures come as data: URLs.
# No frame-ancestors: health centres embed the chat in an <iframe>.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Every HTTP response gets the CSP, nosniff and Referrer-Policy headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def json_depth(value: Any) -> int:
    """How deeply `value` nests (iteratively: a deep value must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def build_app(
    rt: Runtime,
    *,
    web: WebChat,
    wechat: WeChatChannel | None = None,
    telegram: Application[Any, Any, Any, Any, Any, Any] | None = None,
    telegram_secret: str | None = None,
    web_limits: Limits | None = None,
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
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.rt = rt
    app.state.web_limits = web_limits or Limits()
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
    except (ValueError, RecursionError):
        log.warning("unreadable Telegram update: not JSON, or nested too deeply")
        return PlainTextResponse("bad request", status_code=400)
    if not isinstance(data, dict) or json_depth(data) > MAX_JSON_DEPTH:
        log.warning("unreadable Telegram update: not an object, or nested too deeply")
        return PlainTextResponse("bad request", status_code=400)
    app = request.app.state.telegram
    try:
        update = Update.de_json(data, app.bot)
    except Exception as exc:
        log.warning("unreadable Telegram update: %s", describe(exc))
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
    try:
        channel.check_query(query)  # the signature and timestamp, before the body is read
    except Refused as refused:
        return PlainTextResponse(refused.reason, status_code=refused.status)
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


def _operator(request: Request) -> bool:
    """The operator's token, in a header (never the URL), when one is configured."""
    configured = request.app.state.rt.settings.operator_token
    given = request.headers.get(OPERATOR_HEADER, "")
    return bool(configured and given) and hmac.compare_digest(
        given.encode(), configured.reveal().encode()
    )


async def healthz(request: Request) -> Response:
    """200 when the database answers and the dispatcher and scheduler run; 503 otherwise.
    Anyone gets only "ok" (or "unavailable"); the details (the outbox backlog, the channels)
    need the operator token in the X-Doorstep-Operator-Token header."""
    rt = request.app.state.rt
    store = rt.stores.liveness
    try:
        db_ok = await store.ping()
        backlog = await store.backlog(int(rt.now().timestamp()))
    except Exception as exc:
        log.error("health check: database unreachable: %s", describe(exc))
        if not _operator(request):
            return PlainTextResponse("unavailable", status_code=503)
        return JSONResponse({"ok": False, "db": False}, status_code=503)
    scheduler = _scheduler_running(rt)
    if not _operator(request):
        ok = db_ok and scheduler
        return PlainTextResponse("ok" if ok else "unavailable", status_code=200 if ok else 503)
    now = rt.now()
    oldest = backlog.oldest_due_at
    body = {
        "ok": db_ok and scheduler,
        "db": db_ok,
        "scheduler": scheduler,
        "outbox": {
            "due": backlog.due,
            "pending": backlog.pending,
            "oldest_due_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        },
        "channels": sorted(rt.senders),
    }
    return JSONResponse(body, status_code=200 if body["ok"] else 503)
