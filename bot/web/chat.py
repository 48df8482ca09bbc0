"""The web chat's HTTP side: the page (with a signed visitor cookie) and its WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.channels.web import COOKIE, POLL_SECONDS, WebChat
from bot.i18n import N_

log = logging.getLogger(__name__)

COOKIE_MAX_AGE = 400 * 86400  # browsers cap cookies at 400 days
MAX_EVENT = 8192  # bytes of one event from the page
CLOSE_NO_VISITOR = 4401
CLOSE_FOREIGN_ORIGIN = 4403

# The page's own words, translated on the server (the page has no build step).
PAGE_TEXTS = {
    "title": N_("Doorstep health chat"),
    "intro": N_("Ask about your family doctor, bookings, health stations and tips."),
    "start": N_("Start"),
    "resume": N_("Open the main menu"),
    "placeholder": N_("Type a number or a message"),
    "send": N_("Send"),
    "location": N_("📍 Share my location"),
    "connecting": N_("Connecting…"),
    "offline": N_("Connection lost. Reconnecting…"),
    "no_location": N_(
        "Your location could not be read. Allow location access, or use the buttons."
    ),
    "download": N_("Download"),
    "map": N_("Open the map"),
}


def _template() -> str:
    return resources.files("bot.web").joinpath("static/chat.html").read_text("utf-8")


def _language(request: Request) -> str | None:
    """The first language the browser asks for (the resident's stored choice wins later)."""
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return first or None


async def page(request: Request) -> HTMLResponse:
    """The chat page; a new visitor gets a signed cookie naming them."""
    web: WebChat = request.app.state.web
    token = request.cookies.get(COOKIE)
    visitor = web.visitor(token)
    cookie = None
    if visitor is None:
        visitor, cookie = web.new_visitor()
        token = cookie
    loaded = await web.residents.load("web", visitor)
    t = web.translator(loaded[0] if loaded else None, _language(request))
    texts = {k: t.gettext(v) for k, v in PAGE_TEXTS.items()}
    body = _template()
    for key, value in texts.items():
        body = body.replace("{{" + key + "}}", html.escape(value))
    body = body.replace("{{lang}}", html.escape(t.locale.replace("_", "-")))
    body = body.replace("{{texts_json}}", html.escape(json.dumps(texts, ensure_ascii=False)))
    # Also handed to the page: inside another site's <iframe> many browsers block our cookie,
    # so the page keeps the signed id in its own storage and shows it when connecting.
    body = body.replace("{{visitor}}", html.escape(token or ""))
    # Whom the page greets: "" someone new (or who deleted their data: the tab's stored
    # transcript is dropped), "known" chose a language, "member" also agreed (Start opens the
    # menu instead of asking the language again).
    returning = "" if not loaded else "member" if loaded[0].consented else "known"
    body = body.replace("{{returning}}", returning)
    response = HTMLResponse(body)
    if cookie is not None:
        secure = request.url.scheme == "https" or (
            request.headers.get("x-forwarded-proto") == "https"
        )
        # Embedded in a health centre's page (an <iframe>), the cookie is a third-party one:
        # that needs SameSite=None, which browsers accept only with Secure (HTTPS).
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            secure=secure,
            samesite="none" if secure else "lax",
            partitioned=secure,  # CHIPS: kept per embedding site where third-party cookies are off
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == ws.headers.get("host", "")


async def socket(ws: WebSocket) -> None:
    """One open page: events in, replies out; stored messages pushed as they come."""
    web: WebChat = ws.app.state.web
    visitor = web.visitor(ws.cookies.get(COOKIE)) or web.visitor(ws.query_params.get("v"))
    # Accepted before refusing, so that the page sees our close code (a refused handshake
    # only shows as a network error) and knows to fetch a cookie.
    await ws.accept()
    if not _same_origin(ws):
        await ws.close(code=CLOSE_FOREIGN_ORIGIN)
        return
    if visitor is None:
        await ws.close(code=CLOSE_NO_VISITOR)
        return
    language = ws.query_params.get("lang") or None
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_json(message)

    page_id, wake = web.attach(visitor)
    closing = asyncio.Event()
    pusher = asyncio.create_task(_push_stored(web, visitor, wake, closing, send))
    try:
        while True:
            raw = await ws.receive_text()
            for message in await _answer(web, visitor, raw, language):
                await send(message)
            # Every frame is answered with "done", even one we could not read, so the page
            # knows the turn is over.
            await send({"type": "done"})
    except WebSocketDisconnect:
        pass
    finally:
        # Not cancelled: a message being pushed is either sent and removed, or kept for the
        # next visit, never sent and kept (it would come twice).
        closing.set()
        wake.set()
        await pusher
        web.detach(visitor, page_id)


async def _answer(
    web: WebChat, visitor: str, raw: str, language: str | None
) -> list[dict[str, Any]]:
    if len(raw) > MAX_EVENT:
        return []
    try:
        event = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(event, dict):
        return []
    try:
        return await web.handle(visitor, event, language)
    except Exception:
        log.exception("web chat event failed")
        return []


async def _push_stored(
    web: WebChat, visitor: str, wake: asyncio.Event, closing: asyncio.Event, send: Any
) -> None:
    while not closing.is_set():
        try:
            await web.drain(visitor, send)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the page went away; what was not sent stays stored
        except Exception:
            log.exception("pushing stored web chat messages failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), POLL_SECONDS)
        wake.clear()
