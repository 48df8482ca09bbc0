"""The web chat's HTTP side: the page and its WebSocket, and how the session token travels.

The token is never in a URL (proxies log URLs) and never in the page:
- the page's response sets it as an HttpOnly cookie (SameSite=Lax on HTTP; SameSite=None,
  Secure and Partitioned over HTTPS, so the chat also works embedded in a centre's page), and
  rotates it on every page load;
- where the browser blocks that cookie (some embed the chat in a third-party <iframe>), the
  socket's first frame carries it: the page sends `{"type": "hello", "token": ...}` with the
  token it keeps in sessionStorage (this tab only, gone when it closes), and the server
  answers with a rotated token in a `session` frame.
Either way the first frame is a hello; the server answers `ready` once the visitor is known.

What a socket may cost is bounded (bot.web.limits): frames above MAX_EVENT are refused by the
server (uvicorn's ws_max_size equals it) and again here, binary frames close the socket,
messages are rate-limited per socket, visitor and address, a visitor has at most a few open
sockets, and new visitors per address are limited.
"""

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
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from bot.channels.web import COOKIE, POLL_SECONDS, WebChat
from bot.domain.security import WebSession
from bot.i18n import N_, Translator, negotiate
from bot.logsafe import describe
from bot.web.limits import IGNORED_FRAMES, Limits

log = logging.getLogger(__name__)

MAX_EVENT = 8192  # bytes of one frame from the page; also uvicorn's ws_max_size
HELLO_SECONDS = 10.0  # a socket that does not say hello by then is closed
CLOSE_UNSUPPORTED = 1003  # a binary frame
CLOSE_NO_VISITOR = 4401
CLOSE_FOREIGN_ORIGIN = 4403
CLOSE_TOO_MANY = 4429
SLOW_DOWN_EVERY = 5.0  # seconds between two "slow down" notes on one socket

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
    "logout": N_("Log out"),
    "logout_confirm": N_(
        "Log out? This device forgets you. To remove your data as well, send /delete first."
    ),
    "logged_out": N_("You are logged out on this device."),
}
SLOW_DOWN = N_("You are sending messages very quickly. Please wait a moment, then try again.")
TOO_MANY_PAGES = N_("The chat is open in too many windows. Please close one and try again.")


def page_texts(t: Translator) -> dict[str, str]:
    """The page's own words in `t`'s language: in the page as it is served, and sent again
    in a `texts` frame whenever the visitor's language changes (choosing 中文 turns the page
    Chinese at once, not at the next reload)."""
    return {k: t.gettext(v) for k, v in PAGE_TEXTS.items()}


def texts_frame(t: Translator) -> dict[str, Any]:
    return {"type": "texts", "lang": t.locale.replace("_", "-"), "texts": page_texts(t)}


async def speaking(web: WebChat, visitor: str, language: str | None) -> Translator:
    """The language the visitor is spoken to in now: their stored choice (a resident's, or a
    draft's before consent), else the browser's."""
    loaded = await web.residents.load("web", visitor)
    if loaded is not None:
        return web.translator(loaded[0], language)
    draft = await web.sessions.draft(visitor)
    return web.rt.catalogs.get(
        negotiate(draft.get("locale"), language, web.rt.settings.default_locale)
    )


def _template() -> str:
    return resources.files("bot.web").joinpath("static/chat.html").read_text("utf-8")


def _language(request: Request | WebSocket) -> str | None:
    """The first language the browser asks for (the resident's stored choice wins later)."""
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return first or None


def _address(conn: Request | WebSocket) -> str:
    """The client's address (uvicorn resolves X-Forwarded-For from trusted proxies only)."""
    return conn.client.host if conn.client else "unknown"


def _secure(conn: Request | WebSocket) -> bool:
    return conn.url.scheme in ("https", "wss") or conn.headers.get("x-forwarded-proto") == "https"


def limits(conn: Request | WebSocket) -> Limits:
    found: Limits = conn.app.state.web_limits
    return found


async def page(request: Request) -> HTMLResponse:
    """The chat page. A visitor with a live cookie gets it rotated; a new one gets a session
    (unless this address made too many lately: the page then opens a session itself)."""
    web: WebChat = request.app.state.web
    session = await web.rotate(request.cookies.get(COOKIE))
    if session is None and limits(request).new_visitors.take(_address(request)):
        session = await web.new_session()
    loaded = await web.residents.load("web", session.visitor) if session else None
    if session is not None:
        t = await speaking(web, session.visitor, _language(request))
    else:
        t = web.translator(None, _language(request))
    texts = page_texts(t)
    body = _template()
    for key, value in texts.items():
        body = body.replace("{{" + key + "}}", html.escape(value))
    body = body.replace("{{lang}}", html.escape(t.locale.replace("_", "-")))
    body = body.replace("{{texts_json}}", html.escape(json.dumps(texts, ensure_ascii=False)))
    # Whom the page greets: "" someone new (or who deleted their data: the tab's stored
    # transcript is dropped), "known" chose a language (a resident, or a draft before
    # consent), "member" also agreed (Start opens the menu instead of asking the language).
    draft = await web.sessions.draft(session.visitor) if session and not loaded else {}
    known = loaded is not None or bool(draft.get("locale"))
    returning = "member" if loaded and loaded[0].consented else "known" if known else ""
    body = body.replace("{{returning}}", returning)
    response = HTMLResponse(body)
    if session is not None and session.token is not None:
        set_cookie(response, request, session.token, web.session_idle)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    secure = _secure(request)
    # Embedded in a health centre's page (an <iframe>), the cookie is a third-party one:
    # that needs SameSite=None, which browsers accept only with Secure (HTTPS).
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
        partitioned=secure,  # CHIPS: kept per embedding site where third-party cookies are off
    )


async def _close(ws: WebSocket, code: int) -> None:
    """Close, unless the page already went away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await ws.close(code=code)


def _same_origin(ws: WebSocket) -> bool:
    origin = ws.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == ws.headers.get("host", "")


async def _hello(ws: WebSocket, web: WebChat) -> WebSession | None:
    """The first frame names the visitor (cookie first, then the frame's token); a page with
    neither gets a new session, its token sent back in a `session` frame."""
    try:
        first = await asyncio.wait_for(ws.receive(), HELLO_SECONDS)
    except TimeoutError:
        return None
    text = first.get("text")
    try:
        hello = json.loads(text) if isinstance(text, str) and len(text) <= MAX_EVENT else None
    except ValueError:
        hello = None
    if not isinstance(hello, dict) or hello.get("type") != "hello":
        return None
    cookie = ws.cookies.get(COOKIE)
    token = hello.get("token")
    if cookie:
        visitor = await web.visitor(cookie)
        if visitor:
            return WebSession(visitor)
        if not token:
            return None
        # A dead cookie (the visitor deleted their data) next to the token of the session
        # this tab went on with: the token says who it is.
    if token:
        return await web.rotate(token if isinstance(token, str) else None)
    if not limits(ws).new_visitors.take(_address(ws)):
        log.info("web chat: too many new visitors from one address")
        return None
    return await web.new_session()


async def socket(ws: WebSocket) -> None:
    """One open page: events in, replies out; stored messages pushed as they come."""
    web: WebChat = ws.app.state.web
    lim = limits(ws)
    # Accepted before refusing, so that the page sees our close code (a refused handshake
    # only shows as a network error) and knows to fetch a new session.
    await ws.accept()
    if not _same_origin(ws):
        await _close(ws, CLOSE_FOREIGN_ORIGIN)
        return
    try:
        session = await _hello(ws, web)
    except WebSocketDisconnect:
        return
    if session is None:
        await _close(ws, CLOSE_NO_VISITOR)
        return
    visitor = session.visitor
    language = ws.query_params.get("lang") or _language(ws)
    if len(web.pages(visitor)) >= lim.sockets_per_visitor:
        loaded = await web.residents.load("web", visitor)
        t = web.translator(loaded[0] if loaded else None, language)
        await ws.send_json({"type": "message", "text": t.gettext(TOO_MANY_PAGES), "options": []})
        await _close(ws, CLOSE_TOO_MANY)
        return
    if session.token is not None:
        await ws.send_json({"type": "session", "token": session.token})
    # "ready" carries the page's words in the language spoken now (see `texts_frame`).
    speaks = await speaking(web, visitor, language)
    await ws.send_json({**texts_frame(speaks), "type": "ready"})
    send_lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with send_lock:
            await ws.send_json(message)

    page_id, wake = web.attach(visitor)
    closing = asyncio.Event()
    pusher = asyncio.create_task(_push_stored(web, visitor, wake, closing, send))
    bucket = lim.socket()
    address = _address(ws)
    noted_at = -SLOW_DOWN_EVERY
    ignored = 0
    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                break
            if frame.get("text") is None:
                log.info("web chat: binary frame refused")
                await _close(ws, CLOSE_UNSUPPORTED)
                break
            if not await web.visitor_alive(visitor):  # logged out or deleted elsewhere
                await send({"type": "logged_out"})
                await _close(ws, CLOSE_NO_VISITOR)
                break
            if not lim.frame(bucket, visitor, address):
                ignored += 1
                if ignored >= IGNORED_FRAMES:
                    log.info("web chat: socket closed for flooding")
                    await _close(ws, CLOSE_TOO_MANY)
                    break
                now = asyncio.get_running_loop().time()
                if now - noted_at >= SLOW_DOWN_EVERY:
                    noted_at = now
                    await send({"type": "toast", "text": await _slow_down(web, visitor, language)})
                await send({"type": "done"})
                continue
            ignored = 0
            event = _event(frame["text"])
            if event is not None and event.get("type") == "logout":
                await web.log_out(visitor)
                await send({"type": "logged_out"})
                await _close(ws, CLOSE_NO_VISITOR)
                break
            for message in await _answer(web, visitor, event, language, address):
                await send(message)
            reborn = web.reborn.pop(visitor, None)
            if reborn is not None:
                # /delete: this page goes on as a new visitor (its "Start again" works);
                # the old visitor's other pages are told they are logged out.
                closing.set()
                wake.set()
                await pusher
                web.detach(visitor, page_id)
                await web.log_out(visitor)
                visitor = reborn
                page_id, wake = web.attach(visitor)
                closing = asyncio.Event()
                pusher = asyncio.create_task(_push_stored(web, visitor, wake, closing, send))
            if await web.visitor_alive(visitor):
                now_speaks = await speaking(web, visitor, language)
                if now_speaks.locale != speaks.locale:  # e.g. they just chose 中文
                    speaks = now_speaks
                    await send(texts_frame(speaks))
            # Every frame is answered with "done", even one we could not read, so the page
            # knows the turn is over.
            await send({"type": "done"})
            if not await web.visitor_alive(visitor):  # this turn was /delete
                await send({"type": "logged_out"})
                await _close(ws, CLOSE_NO_VISITOR)
                break
    except WebSocketDisconnect:
        pass
    finally:
        # Not cancelled: a message being pushed is either sent and removed, or kept for the
        # next visit, never sent and kept (it would come twice).
        closing.set()
        wake.set()
        await pusher
        web.detach(visitor, page_id)


async def _slow_down(web: WebChat, visitor: str, language: str | None) -> str:
    loaded = await web.residents.load("web", visitor)
    return web.translator(loaded[0] if loaded else None, language).gettext(SLOW_DOWN)


def _event(raw: str) -> dict[str, Any] | None:
    if len(raw.encode()) > MAX_EVENT:
        return None
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


async def _answer(
    web: WebChat,
    visitor: str,
    event: dict[str, Any] | None,
    language: str | None,
    address: str,
) -> list[dict[str, Any]]:
    if event is not None and event.get("type") == "hello":
        return []
    if event is None:  # not JSON, or too long: answered kindly all the same
        event = {"type": "unreadable"}
    try:
        return await web.handle(visitor, event, language, address)
    except Exception as exc:
        # The type and the frames only: exception messages can carry what was typed.
        log.error("web chat event failed: %s", describe(exc))
        return []


async def _push_stored(
    web: WebChat, visitor: str, wake: asyncio.Event, closing: asyncio.Event, send: Any
) -> None:
    while not closing.is_set():
        try:
            await web.drain(visitor, send)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the page went away; what was not sent stays stored
        except Exception as exc:
            log.error("pushing stored web chat messages failed: %s", describe(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), POLL_SECONDS)
        wake.clear()
