"""The WeChat Official Account channel: signed (optionally AES-encrypted) XML in, replies out.

WeChat's rules shape this module:
- An answer is due within 5 seconds. A handler gets ~4 s; if it is slower the request is
  answered `success` and its replies go out as customer-service messages when ready.
- WeChat retries an unanswered request 3 times. Every message is claimed once in SQLite (by
  MsgId; events by sender + CreateTime), so a handler never runs twice; a retry waits for the
  first request's answer and gets the same one. A claim is a lease (`INBOUND_LEASE`): a
  retry finding a claim that is older and still unanswered (its worker was killed) takes it
  over and handles the message, so a crash or a deploy does not lose it.
- Customer-service messages may only be sent within 48 hours of the resident's last message,
  at most 5 per message (3 per menu click or subscribe). Extra replies are merged into the
  last allowed message. Outside the window a notification goes as a subscription message when
  a template is configured for its kind, otherwise it is deferred until the resident writes.
- There are no inline keyboards: buttons become numbered options ("回复 1：…"), remembered in
  SQLite, or tappable `msgmenu` items where the account has them (WECHAT_MSGMENU=1).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

from bot.channels import numbered, wechat_guard
from bot.channels.wechat_api import WeChatAPI, WeChatError, WeChatUnavailable
from bot.channels.wechat_guard import QueryProof, Refused
from bot.channels.wechat_menu import MENU_KEY_PREFIX
from bot.channels.wechat_render import TEXT_BYTES, fit, passive_text, render
from bot.channels.wechat_templates import Template, load_templates, template_values
from bot.config import ConfigError, Settings
from bot.core import Incoming, Kind, Location, Reply
from bot.delivery.sender import Blocked, Deferred, DeliveryError, Permanent, RetryLater, Transient
from bot.domain.channels import Claim
from bot.domain.outbox import OutboxRow
from bot.domain.residents import Resident
from bot.i18n import Translator, negotiate
from bot.logsafe import describe
from bot.menu import MAIN_MENU

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "wechat"
WINDOW_SECONDS = 48 * 3600
MESSAGE_BUDGET = 5  # customer-service messages allowed per message the resident sends
EVENT_BUDGET = 3  # ... per menu click or subscribe
REPLY_DEADLINE = 4.0  # seconds a handler gets before we answer `success` (WeChat waits 5)
# Seconds a message id is remembered (WeChat retries within ~15 s): at least as long as a
# request can be accepted, from its timestamp's earliest to its latest acceptable moment.
INBOUND_TTL = 600
# Seconds a claim on a message lasts. A live worker answers (or hands over to a background
# push and records the claim as answered) within REPLY_DEADLINE; WeChat retries about 5, 10
# and 15 s after the first request, so the second or third retry of a message whose worker
# died finds the lease expired and handles it.
INBOUND_LEASE = 9
SUCCESS = "success"

# WeChat errcodes, mapped to what the delivery pipeline does about them.
OUT_OF_WINDOW = 45015
OUT_OF_QUOTA = 45047
_BLOCKED = frozenset({40003, 43004, 43019})  # bad openid, not following, blacklisted
_BUSY = frozenset({-1, 45009})
_NO_CONSENT = 43101  # a subscription message the resident has not agreed to receive


@dataclass
class _Turn:
    resident: Resident
    blocks: list[numbered.Block] = field(default_factory=list)
    t: Translator | None = None
    offer: dict[str, Any] | None = None  # a notification's offer, saved once it is shown


class WeChatChannel:
    """The `/wechat` endpoint's logic and the WeChat sender, on one Runtime."""

    def __init__(
        self,
        rt: Runtime,
        api: WeChatAPI,
        *,
        token: str,
        app_id: str,
        aes_key: str | None = None,
        templates: dict[str, Template] | None = None,
        msgmenu: bool = False,
        reply_deadline: float = REPLY_DEADLINE,
        max_skew: int = wechat_guard.MAX_SKEW,
    ) -> None:
        self.rt = rt
        self.api = api
        self._token = token
        self.max_skew = max_skew
        self.inbound_ttl = max(INBOUND_TTL, 2 * max_skew)
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.templates = templates or {}
        self.msgmenu = msgmenu
        self.reply_deadline = reply_deadline
        # Never shorter than a live worker's own deadline plus a margin.
        self.inbound_lease = max(INBOUND_LEASE, math.ceil(reply_deadline) + 5)
        self.store = rt.stores.channels
        self.residents = rt.stores.residents
        self._inflight: dict[str, asyncio.Future[str | None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_purge = 0

    @classmethod
    def from_settings(cls, rt: Runtime, settings: Settings) -> WeChatChannel:
        if settings.wechat_token is None:
            raise ConfigError("WECHAT_TOKEN is not set")
        if not settings.wechat_app_id or settings.wechat_app_secret is None:
            raise ConfigError("WECHAT_APP_ID and WECHAT_APP_SECRET are needed with WECHAT_TOKEN")
        api = WeChatAPI(
            rt.stores.channels,
            settings.wechat_app_id,
            settings.wechat_app_secret.reveal(),
            settings.wechat_api_url,
        )
        return cls(
            rt,
            api,
            token=settings.wechat_token.reveal(),
            app_id=settings.wechat_app_id,
            aes_key=settings.wechat_aes_key.reveal() if settings.wechat_aes_key else None,
            templates=load_templates(settings.wechat_templates),
            msgmenu=settings.wechat_msgmenu,
            max_skew=settings.wechat_max_skew,
        )

    # -- HTTP -------------------------------------------------------------------------------------
    def verify(self, query: dict[str, str]) -> str | None:
        """The GET URL check from the admin console: echo `echostr` if the signature holds
        (and its timestamp is recent: the check is repeated whenever the URL is saved)."""
        try:
            self.check_query(query)
        except Refused:
            return None
        return query.get("echostr", "")

    def check_query(self, query: dict[str, str]) -> QueryProof:
        """The URL's signature and timestamp, checked before the body is read."""
        try:
            return wechat_guard.check_query(self._token, query, self._now(), self.max_skew)
        except Refused as refused:
            log.warning("WeChat request refused: %s", refused.reason)
            raise

    async def receive(self, query: dict[str, str], body: bytes) -> tuple[int, str]:
        """A POSTed message or event: (HTTP status, response body)."""
        try:
            xml = await self._authentic(query, body)
            msg = parse_message(xml)
        except Refused as refused:
            log.warning("WeChat request refused: %s", refused.reason)
            return refused.status, refused.reason
        except Exception as exc:
            log.warning("unreadable WeChat request: %s", describe(exc))
            return 400, "bad request"
        if msg is None:
            return 400, "bad request"
        encrypted = self.crypto is not None
        reply = await self._once(msg)
        if reply is None:
            return 200, SUCCESS
        if encrypted and self.crypto is not None:
            return 200, self.crypto.encrypt_message(reply, query["nonce"], query["timestamp"])
        return 200, reply

    async def _authentic(self, query: dict[str, str], body: bytes) -> str:
        """The message XML, once the request has proved itself (see wechat_guard)."""
        proof = wechat_guard.check_query(self._token, query, self._now(), self.max_skew)
        await wechat_guard.remember_nonce(self.store, proof, body, self.max_skew)
        if self.crypto is not None:
            wechat_guard.check_encrypted(self._token, query, body)
            try:
                xml = self.crypto.decrypt_message(
                    body, query["msg_signature"], query["timestamp"], query["nonce"]
                )
            except Exception:
                raise Refused(400, "undecryptable message") from None
        elif query.get("encrypt_type") == "aes":
            raise Refused(400, "safe mode is not configured")
        else:
            try:
                xml = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "malformed message") from None
        wechat_guard.check_message(xml)
        return str(xml)

    async def _once(self, msg: Any) -> str | None:
        """Handle a message exactly once; a retry of it gets the first answer."""
        now = self._now()
        # Events have no MsgId: sender + CreateTime, plus the event and its key, because a
        # subscribe and WeChat's automatic location report can share a second.
        # The sender's openid goes into the key hashed: a claim outlives a /delete that the
        # message itself made, and must not name them.
        event = f"{getattr(msg, 'event', '')}:{msg._data.get('EventKey', '')}"
        key = (
            f"m:{msg.id}"
            if msg.id
            else "e:" + hashlib.sha256(f"{msg.source}:{msg.time}:{event}".encode()).hexdigest()
        )
        if now - self._last_purge > 60:
            self._last_purge = now
            await self.store.purge_inbound(now - self.inbound_ttl, now)
        if key in self._inflight:  # this worker is still on it, however long it takes
            return await self._await_first(key)
        claim = await self.store.claim_inbound(key, now, self.inbound_lease)
        if claim is None:
            log.info("WeChat retry of a message already taken; not handling it again")
            return await self._await_first(key)
        if claim is Claim.RETAKEN:
            log.warning("WeChat message claimed by a worker that stopped: handling it now")
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        reply: str | None = None
        try:
            reply = await self._process(msg, asyncio.get_running_loop().time())
        except Exception as exc:
            # The type and the frames only: exception messages can carry what was typed.
            log.error("WeChat message failed: %s", describe(exc))
        finally:
            await self.store.finish_inbound(key, reply, str(msg.source))
            future.set_result(reply)
            del self._inflight[key]
        return reply

    async def _await_first(self, key: str) -> str | None:
        future = self._inflight.get(key)
        if future is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(future), self.reply_deadline)
            except TimeoutError:
                return None
        # Claimed by another worker: watch its row until it answers or our time is up.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_deadline
        while True:
            record = await self.store.inbound(key)
            if record is None or record.status == "done":
                return record.reply if record else None
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.1)

    # -- mapping WeChat to Incoming ---------------------------------------------------------------
    async def _process(self, msg: Any, started: float) -> str | None:
        openid = str(msg.source)
        event = getattr(msg, "event", None) if msg.type == "event" else None
        if event == "unsubscribe":
            loaded = await self.residents.load(CHANNEL, openid)
            if loaded is not None:
                await self.residents.mark_unreachable(loaded[0].id)
                log.info("resident %s unfollowed the account", loaded[0].id)
            return None
        if event == "location":
            return await self._location_report(msg, openid, started)
        if event is not None and event not in ("subscribe", "subscribe_scan", "click"):
            return None  # view (link) clicks, scans: nothing to answer
        resident = await self.residents.create(CHANNEL, openid)
        budget = EVENT_BUDGET if event else MESSAGE_BUDGET
        await self._opened(resident, budget)
        incoming = await self._incoming(msg, openid, event, resident)
        if incoming is None:
            return None
        return await self._answer(msg, incoming, resident, started)

    async def _incoming(
        self, msg: Any, openid: str, event: str | None, resident: Resident
    ) -> Incoming | None:
        base: dict[str, Any] = {"channel": CHANNEL, "user_id": openid}
        if event in ("subscribe", "subscribe_scan"):
            return Incoming(kind=Kind.COMMAND, text="/start", command="start", **base)
        if event == "click":
            return self._click(str(msg.key or ""), resident, base)
        if msg.type == "location":
            loc = Location(float(msg.location_x), float(msg.location_y))
            return Incoming(kind=Kind.LOCATION, location=loc, **base)
        text = None
        if msg.type == "text":
            text = str(msg.content or "")
        elif msg.type == "voice" and msg.recognition:
            text = str(msg.recognition)  # WeChat's own speech recognition, when enabled
        if text is None:
            return Incoming(kind=Kind.MEDIA, media=str(msg.type), **base)
        offered = await self.store.load_options(resident.id)
        menu_id = msg._data.get("bizmsgmenuid")  # a tapped msgmenu item
        if menu_id and str(menu_id).isascii() and str(menu_id).isdecimal():
            option = numbered.option_by_number(int(menu_id), offered)
            if option is not None:
                return numbered.option_incoming(option, base)
        return numbered.text_to_incoming(CHANNEL, openid, text, offered)

    def _click(self, key: str, resident: Resident, base: dict[str, Any]) -> Incoming:
        """A custom-menu click: the same as choosing that main-menu entry."""
        item = next((i for i in MAIN_MENU if MENU_KEY_PREFIX + i.key == key), None)
        if item is None:
            log.info("unknown WeChat menu key %r", key[:40])
            return Incoming(kind=Kind.COMMAND, text="/menu", command="menu", **base)
        label = self._translator(resident).gettext(item.label)
        return Incoming(kind=Kind.TEXT, text=label, **base)

    async def _location_report(self, msg: Any, openid: str, started: float) -> str | None:
        """WeChat's periodic location report: used only when the resident is at a step that
        asks for a location, otherwise every chat opening would trigger an answer."""
        loaded = await self.residents.load(CHANNEL, openid)
        if loaded is None or loaded[1].name not in self.rt.registry.states:
            return None
        resident = loaded[0]
        await self._opened(resident, EVENT_BUDGET)
        loc = Location(float(msg.latitude), float(msg.longitude))
        incoming = Incoming(kind=Kind.LOCATION, location=loc, channel=CHANNEL, user_id=openid)
        return await self._answer(msg, incoming, resident, started)

    async def _opened(self, resident: Resident, budget: int) -> None:
        """The window opens again: reminders that waited for it are due now."""
        now = self._now()
        await self.store.open_window(resident.id, now, budget)
        if await self.store.wake_deferred(resident.id, now):
            self.rt.delivery.dispatcher.poke()

    # -- answering --------------------------------------------------------------------------------
    async def _answer(
        self, msg: Any, incoming: Incoming, resident: Resident, started: float
    ) -> str | None:
        task = asyncio.create_task(self._run(incoming, resident))
        # The deadline counts from the request's arrival, not from the handler's start.
        left = self.reply_deadline - (asyncio.get_running_loop().time() - started)
        done, _ = await asyncio.wait({task}, timeout=max(left, 0.01))
        if not done:
            log.info("slow handler for resident %s: answering later by message", resident.id)
            self._spawn(self._push_when_done(task, incoming.user_id))
            return None
        turn = task.result()
        assert turn.t is not None
        text = passive_text(turn.blocks, turn.t)
        has_options = any(b.options for b in turn.blocks)
        if len(text.encode()) <= TEXT_BYTES and not (self.msgmenu and has_options):
            return cast(str, TextReply(message=msg, content=text).render())
        self._spawn(self._push_turn(turn, incoming.user_id))
        return None

    async def _run(self, incoming: Incoming, resident: Resident) -> _Turn:
        outcome = await self.rt.handle(incoming)
        return await self._prepare(resident, outcome.replies)

    async def _prepare(
        self, resident: Resident, replies: list[Reply], pushed: bool = False
    ) -> _Turn:
        # Read again: the handler may have changed the language (or deleted the resident).
        fresh = await self.residents.get(resident.id)
        if pushed:
            # A notification: numbered after the options on screen, which keep their numbers.
            # Its options join the offer only once it was shown (`_remember`): one that waits
            # (outside the window) or goes as a subscription message (no options) adds none,
            # so a number means only what the resident has seen.
            current = await self.store.load_options(resident.id)
            turn = _Turn(fresh or resident, numbered.flatten(replies, after=current))
            turn.offer = numbered.merge(current, turn.blocks)
            turn.t = self._translator(turn.resident)
            return turn
        turn = _Turn(fresh or resident, numbered.flatten(replies))
        offer = numbered.offer(turn.blocks)
        turn.t = self._translator(turn.resident)
        if offer is not None and fresh is not None:
            await self.store.save_options(fresh.id, offer, self._now())
        return turn

    async def _remember(self, turn: _Turn) -> None:
        """A notification was shown: its options join the offer on screen."""
        if turn.offer is not None:
            await self.store.save_options(turn.resident.id, turn.offer, self._now())

    async def _push_when_done(self, task: asyncio.Task[_Turn], openid: str) -> None:
        await self._push_turn(await task, openid)

    async def _push_turn(self, turn: _Turn, openid: str) -> None:
        try:
            await self._push(turn, openid)
        except (WeChatError, WeChatUnavailable, Deferred) as exc:
            log.warning("reply to resident %s not delivered: %s", turn.resident.id, exc)

    async def _push(self, turn: _Turn, openid: str) -> None:
        """Send a turn as customer-service messages within the window and its budget."""
        assert turn.t is not None
        messages = render(turn.blocks, turn.t, self.msgmenu)
        opened_after = self._now() - WINDOW_SECONDS
        allowed = await self.store.take_budget(turn.resident.id, len(messages), opened_after)
        if allowed == 0:
            window = await self.store.window(turn.resident.id)
            if window is None or window.last_inbound_at <= opened_after:
                raise Deferred("wechat: outside the 48-hour customer-service window")
            raise Deferred("wechat: customer-service message quota used; waiting for a message")
        sent = fit(messages, allowed)
        if len(sent) < len(messages):
            log.info(
                "resident %s: %d replies merged into %d (WeChat allows %d)",
                turn.resident.id,
                len(messages),
                len(sent),
                allowed,
            )
        for message in sent:
            try:
                await self.api.send_custom(openid, message.payload())
            except WeChatError as exc:
                if exc.code == OUT_OF_WINDOW:
                    await self.store.close_window(turn.resident.id)
                elif exc.code == OUT_OF_QUOTA:
                    await self.store.spend_all(turn.resident.id)
                raise

    def _now(self) -> int:
        return int(self.rt.now().timestamp())

    def _translator(self, resident: Resident) -> Translator:
        locale = negotiate(resident.locale, None, self.rt.settings.default_locale)
        return self.rt.catalogs.get(locale)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def housekeep(self) -> None:
        """Forget answered message ids (and the answers kept for retries) even when no new
        message comes in to trigger it: run as a background task by `doorstep serve`."""
        while True:
            await self.store.purge_inbound(self._now() - self.inbound_ttl, self._now())
            await asyncio.sleep(self.inbound_ttl / 2)

    async def drain(self) -> None:
        """Wait for replies still being sent (shutdown; tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        await self.api.close()

    # -- delivery pipeline ------------------------------------------------------------------------
    async def deliver(
        self, openid: str, replies: list[Reply], notification: OutboxRow | None = None
    ) -> None:
        """Send scheduled replies: customer-service messages within the window, else a
        subscription message if the notification's kind has a template, else Deferred."""
        loaded = await self.residents.load(CHANNEL, openid)
        if loaded is None:
            raise Permanent("no such WeChat resident")
        turn = await self._prepare(loaded[0], replies, pushed=True)
        try:
            await self._push(turn, openid)
            await self._remember(turn)
            return
        except Deferred as deferred:
            kind = getattr(notification, "kind", None)
            tpl = self.templates.get(kind) if kind else None
            if tpl is None:
                raise
            reason = deferred.reason
        except WeChatError as exc:
            kind = getattr(notification, "kind", None)
            tpl = self.templates.get(kind) if kind else None
            if exc.code not in (OUT_OF_WINDOW, OUT_OF_QUOTA):
                raise _delivery_error(exc) from exc
            if tpl is None:
                raise Deferred(f"wechat {exc.code}: {exc.message}") from exc
            reason = f"wechat {exc.code}"
        except WeChatUnavailable as exc:
            raise Transient(str(exc)) from exc
        log.info("resident %s: %s; sending a subscription message", turn.resident.id, reason)
        assert turn.t is not None
        text = " ".join(b.text for b in turn.blocks if b.text)
        params = dict(getattr(notification, "params", {}) or {})
        try:
            await self.api.send_subscribe(
                openid, tpl.template_id, template_values(tpl, params, text), tpl.page
            )
        except WeChatError as exc:
            if exc.code == _NO_CONSENT:
                raise Deferred("wechat: no consent to subscription messages") from exc
            raise _delivery_error(exc) from exc
        except WeChatUnavailable as exc:
            raise Transient(str(exc)) from exc


def _delivery_error(exc: WeChatError) -> DeliveryError:
    if exc.code in _BLOCKED:
        return Blocked(f"wechat {exc.code}")
    if exc.code in _BUSY:
        return RetryLater(60.0) if exc.code == 45009 else Transient(f"wechat {exc.code}")
    if exc.code in (OUT_OF_WINDOW, OUT_OF_QUOTA):
        return Deferred(f"wechat {exc.code}: {exc.message}")
    return Permanent(f"wechat {exc.code}: {exc.message}")


class WeChatSender:
    """`rt.senders["wechat"]`: what the delivery pipeline calls."""

    def __init__(self, channel: WeChatChannel) -> None:
        self.channel = channel

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        """Deliver; `notification` (an outbox row: `.kind`, `.params`) picks the subscription
        template when the 48-hour window is closed."""
        await self.channel.deliver(user_id, replies, notification)
