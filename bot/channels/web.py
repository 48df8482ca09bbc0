"""The web chat channel: a visitor on the health centre's site talks to the same bot.

Visitors have no account: a visitor is a random id, and the browser holds a session token
for it (see `bot.web.chat` for how the token travels: an HttpOnly cookie, or the socket's
first frame, never a URL). Tokens are random, stored hashed, rotated on use, and end after a
sliding idle time, with a log-out, or with /delete.

A visitor gets a resident row only once they consent (issue 16: opening sockets must not
fill the residents table). Before that, their language, conversation state and offered
options are a draft kept with their session; for each message the draft becomes a resident
row for the length of the turn (so the same handlers run) and goes back to being a draft if
the visitor has still not consented.

Buttons are offered as numbered options remembered in SQLite, so a tap (sent as its number)
or a typed number maps back to the button on any worker; on a screen that asks for a typed
value a typed number is the value (see `bot.channels.numbered`). Scheduled messages (tips,
reminders) are stored first and pushed to the visitor's open pages; a visitor who is away
gets them when the page connects again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.callbacks import cb
from bot.channels import numbered
from bot.core import Button, Incoming, Kind, Location, Reply
from bot.delivery.sender import Permanent
from bot.domain.outbox import OutboxRow
from bot.domain.residents import ConversationState, Resident
from bot.domain.security import WebSession
from bot.i18n import N_, Translator, negotiate

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "doorstep_session"
# A session ends after this long without use; every use moves the end forward.
SESSION_IDLE = 30 * 86400
# A rotated token keeps working this long, for a page that was opening at that moment.
ROTATION_GRACE = 60
# A page also looks for stored messages this often, for ones queued by another worker.
POLL_SECONDS = 5.0
STALE_OPTION = "stale:option"  # not our callback format: the router answers "out of date"
# The web chat's own option under a notification: show the screen the visitor was answering
# again (its options, their numbers), handled here, never by the router.
RESUME = "web:resume"
UNREADABLE = N_(
    "That message could not be read. Please use the buttons, or type your message again."
)
OUT_OF_DATE = N_(
    "This screen is out of date (it was answered in another window), so nothing was "
    "changed. Here is the current one:"
)

SendJson = Callable[[dict[str, Any]], Awaitable[None]]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


HOME = cb("menu", "home")


def _block_json(block: numbered.Block, screen: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "message",
        "text": block.text,
        # The screen these options belong to: a tap names it, so a tap in a page (another
        # tab) that shows an older screen is answered "out of date", never acted on.
        "screen": screen,
        # "key": what to type for it (shown on the button, as the sandbox shows "[1]");
        # "row": its row in the reply, so the page lays buttons out as the phone does (a
        # keypad 3 to a row, elder mode 2); "menu": a main-menu key.
        "options": [
            {
                "n": o.n,
                "key": o.key,
                "row": o.row,
                "label": o.label,
                **({"menu": True} if o.text is not None else {}),
            }
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
    if block.free_text:
        out["free_text"] = True  # a new screen, waiting for words, even without options
    return out


class WebChat:
    """The channel's logic, independent of the transport (the WebSocket lives in bot/web)."""

    def __init__(self, rt: Runtime, session_idle: int = SESSION_IDLE) -> None:
        self.rt = rt
        self.session_idle = session_idle
        self.store = rt.stores.channels
        self.residents = rt.stores.residents
        self.sessions = rt.stores.web_sessions
        self._pages: dict[str, dict[int, asyncio.Event]] = {}
        self._drain_locks: dict[str, asyncio.Lock] = {}
        # One turn at a time per visitor (the draft is read and written back around it):
        # a lock and how many hold or wait for it, dropped when nobody does.
        self._turn_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # A visitor who just deleted their data -> the new visitor their page goes on as.
        self.reborn: dict[str, str] = {}

    @classmethod
    async def create(cls, rt: Runtime) -> WebChat:
        days = rt.settings.extra.get("DOORSTEP_WEB_SESSION_DAYS")
        return cls(rt, int(days) * 86400 if days and days.isdecimal() else SESSION_IDLE)

    # -- sessions ---------------------------------------------------------------------------------
    def _now(self) -> int:
        return int(self.rt.now().timestamp())

    async def new_session(self) -> WebSession:
        """A new visitor (no resident row yet) and its first token."""
        visitor, token = secrets.token_hex(16), secrets.token_urlsafe(32)
        now = self._now()
        await self.sessions.create(visitor, _hash(token), now, now + self.session_idle)
        return WebSession(visitor, token)

    async def visitor(self, token: str | None) -> str | None:
        """The visitor of a live token, or None (missing, forged, expired, logged out)."""
        if not token or len(token) > 100:
            return None
        return await self.sessions.visitor(_hash(token), self._now())

    async def rotate(self, token: str | None) -> WebSession | None:
        """A live token is exchanged for a new one, with a fresh idle lifetime."""
        if not token or len(token) > 100:
            return None
        new, now = secrets.token_urlsafe(32), self._now()
        visitor = await self.sessions.rotate(
            _hash(token), _hash(new), now, now + self.session_idle, now + ROTATION_GRACE
        )
        return None if visitor is None else WebSession(visitor, new)

    async def log_out(self, visitor: str) -> None:
        """End the visitor's session on every page; the web desk's step-up ends with it."""
        loaded = await self.residents.load(CHANNEL, visitor)
        if loaded is not None:
            await self.rt.services.stepup.end(loaded[0].id)
        await self.sessions.end(visitor)
        for wake in self._pages.get(visitor, {}).values():
            wake.set()

    async def visitor_alive(self, visitor: str) -> bool:
        """False once the visitor logged out or deleted their data (on any worker)."""
        return await self.sessions.exists(visitor)

    def pages(self, visitor: str) -> list[int]:
        """This worker's open pages of the visitor."""
        return list(self._pages.get(visitor, {}))

    async def housekeep(self) -> None:
        """Forget expired sessions (run as a background task by `doorstep serve`)."""
        while True:
            await self.sessions.purge(self._now())
            await asyncio.sleep(3600)

    def translator(self, resident: Resident | None, language_code: str | None) -> Translator:
        locale = negotiate(
            resident.locale if resident else None, language_code, self.rt.settings.default_locale
        )
        return self.rt.catalogs.get(locale)

    # -- one event from the page ------------------------------------------------------------------
    async def handle(
        self,
        visitor: str,
        event: dict[str, Any],
        language_code: str | None = None,
        address: str | None = None,
    ) -> list[dict[str, Any]]:
        """Map a page event to Incoming, run it, and return the messages to show."""
        lock, users = self._turn_locks.get(visitor, (asyncio.Lock(), 0))
        self._turn_locks[visitor] = (lock, users + 1)
        try:
            async with lock:
                return await self._turn(visitor, event, language_code, address)
        finally:
            lock, users = self._turn_locks[visitor]
            if users <= 1:
                del self._turn_locks[visitor]
            else:
                self._turn_locks[visitor] = (lock, users - 1)

    async def _turn(
        self, visitor: str, event: dict[str, Any], language_code: str | None, address: str | None
    ) -> list[dict[str, Any]]:
        loaded = await self.residents.load(CHANNEL, visitor)
        draft = None if loaded else await self.sessions.draft(visitor)
        if loaded is not None:
            offered = await self.store.load_options(loaded[0].id)
        else:
            offered = (draft or {}).get("options") or {}
        t = self.translator(loaded[0] if loaded else None, language_code)
        if draft and draft.get("locale"):
            t = self.rt.catalogs.get(negotiate(draft["locale"], language_code, t.locale))
        if self._stale(event, offered):
            return [self.screen_json(offered, t.gettext(OUT_OF_DATE))]
        incoming = self._incoming(visitor, event, language_code, address, offered)
        if incoming is not None and incoming.data == RESUME:
            return [self.screen_json(offered)]
        if incoming is None:
            # Never silence: say it could not be read; the screen on display stays valid.
            return [{"type": "message", "text": t.gettext(UNREADABLE), "options": [], "links": []}]
        if loaded is None:
            await self._from_draft(visitor, draft or {})
        outcome = await self.rt.handle(incoming)
        messages, offer = await self._render(visitor, outcome.replies)
        if outcome.toast:
            messages.insert(0, {"type": "toast", "text": outcome.toast})
        if not await self.sessions.exists(visitor):
            # /delete: nothing of the visitor is left. The page goes on as a new visitor,
            # whose draft holds this answer's options, so its "Start again" works.
            session = await self.new_session()
            await self.sessions.save_draft(session.visitor, {"options": offer} if offer else {})
            messages.append({"type": "session", "token": session.token, "fresh": True})
            self.reborn[visitor] = session.visitor
            return messages
        if loaded is None or not loaded[0].consented:
            await self._to_draft(visitor)
        return messages

    @staticmethod
    def _stale(event: dict[str, Any], offered: dict[str, Any]) -> bool:
        """A tap, or a typed option number, on a screen that is no longer the current one
        (another tab answered it)."""
        screen = event.get("screen")
        if not isinstance(screen, str) or not screen or screen == offered.get("screen"):
            return False
        if event.get("type") == "option":
            return True
        if event.get("type") != "text":
            return False
        # Typed words are words on any screen; only what would choose an option (a number,
        # a letter key) is checked, as it meant an option of the screen that tab shows.
        typed = str(event.get("text", ""))
        keys = [(int(o["n"]), "") for o in offered.get("options", [])]
        chooses = numbered.choose(typed, keys, bool(offered.get("wants_text"))) is not None
        return chooses or bool(numbered.BARE_NUMBER.fullmatch(typed.strip()))

    def screen_json(self, offered: dict[str, Any], note: str = "") -> dict[str, Any]:
        """The current screen again, from the stored offer: its words and its options with
        the numbers they have (nothing is renumbered or saved)."""
        options = [
            o
            for o in sorted(offered.get("options", []), key=lambda o: int(o["n"]))
            if o.get("data") != RESUME and int(o["n"]) <= int(offered.get("screen_upto", 1 << 30))
        ]
        wants_text = bool(offered.get("wants_text"))
        prompt = str(offered.get("prompt") or "")
        return {
            "type": "message",
            "text": "\n\n".join(x for x in (note, prompt) if x),
            "screen": str(offered.get("screen") or ""),
            "options": [
                {
                    "n": o["n"],
                    "key": numbered.option_key(int(o["n"]), wants_text),
                    "row": 0,
                    "label": o["label"],
                    **({"menu": True} if o.get("text") is not None else {}),
                }
                for o in options
            ],
            "links": [],
            **({"wants_text": True} if wants_text else {}),
        }

    async def _from_draft(self, visitor: str, draft: dict[str, Any]) -> None:
        """The visitor's draft as a resident row, for this turn."""
        resident = await self.residents.create(CHANNEL, visitor)
        changes = {k: draft[k] for k in ("locale", "elder_mode") if draft.get(k) is not None}
        if changes:
            resident = await self.residents.update(resident, **changes)
        if draft.get("state"):
            await self.residents.save_state(
                resident.id, ConversationState(draft["state"], draft.get("data") or {})
            )
        if draft.get("options"):
            await self.store.save_options(resident.id, draft["options"], self._now())

    async def _to_draft(self, visitor: str) -> None:
        """After a turn without consent, the resident row goes back to being a draft."""
        loaded = await self.residents.load(CHANNEL, visitor)
        if loaded is None:  # deleted in this turn (/delete): nothing is kept
            await self.sessions.save_draft(visitor, None)
            return
        resident, state = loaded
        if resident.consented:
            return
        draft = {
            "locale": resident.locale,
            "elder_mode": resident.elder_mode,
            "state": state.name,
            "data": state.data,
            "options": await self.store.load_options(resident.id),
        }
        await self.sessions.save_draft(visitor, draft)
        await self.residents.discard(resident.id)

    def _incoming(
        self,
        visitor: str,
        event: dict[str, Any],
        language_code: str | None,
        address: str | None,
        offered: dict[str, Any],
    ) -> Incoming | None:
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "user_id": visitor,
            "language_code": language_code,
            "address": address,
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
            incoming = numbered.text_to_incoming(CHANNEL, visitor, text, offered, language_code)
            return replace(incoming, address=address)
        return None

    async def render(
        self, visitor: str, replies: list[Reply], pushed: bool = False
    ) -> list[dict[str, Any]]:
        """Replies as page messages; the options they offer are remembered for the visitor.
        Pushed replies (notifications) are numbered after the options on screen, which keep
        their numbers (see `bot.channels.numbered`)."""
        return (await self._render(visitor, replies, pushed))[0]

    async def _render(
        self, visitor: str, replies: list[Reply], pushed: bool = False
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        loaded = await self.residents.load(CHANNEL, visitor)
        if pushed and loaded is not None:
            current = await self.store.load_options(loaded[0].id)
            blocks = numbered.flatten(replies, after=current)
            offer = numbered.merge(current, blocks)
            if offer is not None:  # the same screen, with the notification's options added
                offer["screen"] = current.get("screen", "")
                offer["prompt"] = current.get("prompt", "")
                # Where the screen's own options end: ⬅️ Back shows those, not the
                # notifications' ones (which keep working all the same).
                offer["screen_upto"] = current.get(
                    "screen_upto", max((o["n"] for o in current.get("options", [])), default=0)
                )
        else:
            blocks = numbered.flatten(replies)
            offer = numbered.offer(blocks)
            if offer is not None:  # a new screen: a new id
                offer["screen"] = secrets.token_hex(6)
        if offer is not None and loaded is not None:  # None: the visitor just deleted their data
            await self.store.save_options(loaded[0].id, offer, int(time.time()))
        screen = str(offer["screen"]) if offer is not None else ""
        return [_block_json(b, screen) for b in blocks], offer

    def with_nav(self, t: Translator, replies: list[Reply], in_flow: bool) -> list[Reply]:
        """A notification's last reply gets 🏠 Home, and ⬅️ Back to the screen the visitor
        was answering when a flow is active (the page has no menu key of its own)."""
        if not replies:
            return replies
        last = replies[-1]
        if last.keyboard is not None or any(b.data == HOME for b in last.all_buttons()):
            return replies
        nav = [Button(t.gettext("🏠 Home"), HOME)]
        if in_flow:
            nav.insert(0, Button(t.gettext("⬅️ Back"), RESUME))
        return [*replies[:-1], replace(last, buttons=(*last.buttons, tuple(nav)))]

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
        resident, state = loaded
        current = await self.store.load_options(resident.id)
        in_flow = state.name is not None and bool(current.get("options"))
        replies = self.with_nav(self.translator(resident, None), replies, in_flow)
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
