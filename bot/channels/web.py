"""The web chat channel: a visitor on the health centre's site talks to the same bot.

Visitors are identified by a signed cookie (no account). Buttons are offered as numbered
options remembered in SQLite, so a tap (sent as its number) or a typed number maps back to the
button on any worker; on a screen that asks for a typed value a typed number is the value
(see `bot.channels.numbered`). Scheduled messages (tips, reminders) are stored first and
pushed to the visitor's open pages; a visitor who is away gets them when the page connects
again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeSerializer

from bot.channels import numbered
from bot.core import Incoming, Kind, Location, Reply
from bot.delivery.sender import Permanent
from bot.domain.outbox import OutboxRow
from bot.domain.residents import Resident
from bot.i18n import Translator, negotiate

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "doorstep_visitor"
SECRET_NAME = "web_cookie"
# A page also looks for stored messages this often, for ones queued by another worker.
POLL_SECONDS = 5.0
STALE_OPTION = "stale:option"  # not our callback format: the router answers "out of date"

SendJson = Callable[[dict[str, Any]], Awaitable[None]]


def _block_json(block: numbered.Block) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "message",
        "text": block.text,
        # "menu": a main-menu key (short labels, shown two to a row).
        "options": [
            {"n": o.n, "label": o.label, **({"menu": True} if o.text is not None else {})}
            for o in block.options
        ],
        "links": [{"label": label, "url": url} for label, url in block.links],
    }
    if block.venue is not None:
        v = block.venue
        out["venue"] = {
            "title": v.title,
            "address": v.address,
            "map": numbered.map_link(v),
        }
    if block.document is not None:
        d = block.document
        out["document"] = {
            "filename": d.filename,
            "mime": d.mime,
            "data": base64.b64encode(d.content).decode(),
        }
    if block.photo is not None:
        p = block.photo
        out["photo"] = {"mime": p.mime, "data": base64.b64encode(p.content).decode()}
    if block.ask_location:
        out["ask_location"] = block.ask_location
    if block.ask_contact:
        out["ask_contact"] = block.ask_contact
    if block.wants_text:
        out["wants_text"] = True  # a number typed now is a value, not an option number
    return out


class WebChat:
    """The channel's logic, independent of the transport (the WebSocket lives in bot/web)."""

    def __init__(self, rt: Runtime, secret: str) -> None:
        self.rt = rt
        self._signer = URLSafeSerializer(secret, salt="doorstep-web-visitor")
        self.store = rt.stores.channels
        self.residents = rt.stores.residents
        self._pages: dict[str, dict[int, asyncio.Event]] = {}
        self._drain_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    async def create(cls, rt: Runtime) -> WebChat:
        """DOORSTEP_WEB_SECRET, or a secret generated once and kept in SQLite."""
        configured = rt.settings.web_secret
        secret = configured.reveal() if configured else await rt.stores.channels.secret(SECRET_NAME)
        return cls(rt, secret)

    # -- visitors ---------------------------------------------------------------------------------
    def new_visitor(self) -> tuple[str, str]:
        """A new visitor id and its signed cookie value."""
        visitor = secrets.token_hex(16)
        return visitor, self._signer.dumps(visitor)

    def visitor(self, cookie: str | None) -> str | None:
        """The visitor id in a signed cookie, or None if it is missing or forged."""
        if not cookie:
            return None
        try:
            value = self._signer.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    def translator(self, resident: Resident | None, language_code: str | None) -> Translator:
        locale = negotiate(
            resident.locale if resident else None, language_code, self.rt.settings.default_locale
        )
        return self.rt.catalogs.get(locale)

    # -- one event from the page ------------------------------------------------------------------
    async def handle(
        self, visitor: str, event: dict[str, Any], language_code: str | None = None
    ) -> list[dict[str, Any]]:
        """Map a page event to Incoming, run it, and return the messages to show."""
        incoming = await self._incoming(visitor, event, language_code)
        if incoming is None:
            return []
        outcome = await self.rt.handle(incoming)
        messages = await self.render(visitor, outcome.replies)
        if outcome.toast:
            messages.insert(0, {"type": "toast", "text": outcome.toast})
        return messages

    async def _incoming(
        self, visitor: str, event: dict[str, Any], language_code: str | None
    ) -> Incoming | None:
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "user_id": visitor,
            "language_code": language_code,
        }
        kind = event.get("type")
        if kind == "location":
            try:
                loc = Location(float(event["lat"]), float(event["lon"]))
            except (KeyError, TypeError, ValueError):
                return None
            if not (-90 <= loc.lat <= 90 and -180 <= loc.lon <= 180):
                return None
            return Incoming(kind=Kind.LOCATION, location=loc, **base)
        offered = await self._offered(visitor)
        if kind == "option":
            n = event.get("n")
            option = numbered.option_by_number(n, offered) if isinstance(n, int) else None
            if option is None:
                return Incoming(kind=Kind.BUTTON, data=STALE_OPTION, **base)
            return numbered.option_incoming(option, base)
        if kind == "text":
            text = str(event.get("text", ""))[:4096]
            if not text.strip():
                return None
            return numbered.text_to_incoming(CHANNEL, visitor, text, offered, language_code)
        return None

    async def _offered(self, visitor: str) -> dict[str, Any]:
        loaded = await self.residents.load(CHANNEL, visitor)
        return await self.store.load_options(loaded[0].id) if loaded else {}

    async def render(
        self, visitor: str, replies: list[Reply], pushed: bool = False
    ) -> list[dict[str, Any]]:
        """Replies as page messages; the options they offer are remembered for the visitor.
        Pushed replies (notifications) are numbered after the options on screen, which keep
        their numbers (see `bot.channels.numbered`)."""
        loaded = await self.residents.load(CHANNEL, visitor)
        if pushed and loaded is not None:
            current = await self.store.load_options(loaded[0].id)
            blocks = numbered.flatten(replies, after=current)
            offer = numbered.merge(current, blocks)
        else:
            blocks = numbered.flatten(replies)
            offer = numbered.offer(blocks)
        if offer is not None and loaded is not None:  # None: the visitor just deleted their data
            await self.store.save_options(loaded[0].id, offer, int(time.time()))
        return [_block_json(b) for b in blocks]

    # -- open pages and stored messages -----------------------------------------------------------
    def attach(self, visitor: str) -> tuple[int, asyncio.Event]:
        """Register an open page; its event is set when a message is queued for the visitor."""
        wake = asyncio.Event()
        pages = self._pages.setdefault(visitor, {})
        page_id = id(wake)
        pages[page_id] = wake
        return page_id, wake

    def detach(self, visitor: str, page_id: int) -> None:
        pages = self._pages.get(visitor, {})
        pages.pop(page_id, None)
        if not pages:
            self._pages.pop(visitor, None)
            self._drain_locks.pop(visitor, None)

    def online(self, visitor: str) -> bool:
        return bool(self._pages.get(visitor))

    async def queue(self, visitor: str, replies: list[Reply]) -> None:
        """Store scheduled replies for the visitor and wake their open pages."""
        loaded = await self.residents.load(CHANNEL, visitor)
        if loaded is None:
            raise Permanent("no such web visitor")
        messages = await self.render(visitor, replies, pushed=True)
        await self.store.queue_web(loaded[0].id, messages, int(time.time()))
        for wake in self._pages.get(visitor, {}).values():
            wake.set()

    async def drain(self, visitor: str, send: SendJson) -> int:
        """Send the visitor's stored messages to one page; each is removed once sent."""
        lock = self._drain_locks.setdefault(visitor, asyncio.Lock())
        async with lock:
            loaded = await self.residents.load(CHANNEL, visitor)
            if loaded is None:
                return 0
            count = 0
            for item in await self.store.pending_web(loaded[0].id):
                for message in item.payload:
                    await send({**message, "pushed": True})
                await self.store.drop_web([item.id])
                count += 1
            return count


class WebSender:
    """`rt.senders["web"]`: scheduled messages are stored and pushed to open pages."""

    def __init__(self, chat: WebChat) -> None:
        self.chat = chat

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        await self.chat.queue(user_id, replies)
