"""The Telegram channel: PTB updates in, Reply objects out.

Only this module (and the CLI that starts it) imports `telegram`. Everything is plain text
(no parse mode), so user-visible text never needs escaping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from typing import TYPE_CHECKING, Any

from telegram import Bot, InputFile, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.core import Contact, Incoming, Keyboard, Kind, Location, Reply, Request, split_text
from bot.delivery.sender import Blocked, Permanent, RetryLater, Transient
from bot.domain.outbox import OutboxRow
from bot.i18n import negotiate
from bot.logsafe import describe

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
CHANNEL = "telegram"
# PTB's Application is generic in six context types; we use the defaults throughout.
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
# A resident is waiting for an interactive reply: wait out a short flood-control pause or a
# network blip once, rather than losing the answer; longer pauses are given up on.
MAX_INTERACTIVE_WAIT = 10.0
TRANSIENT_RETRY_DELAY = 0.5
# The msgid of handlers/menu.py's error fallback, so the catalog already translates it.
ERROR_TEXT = (
    "Sorry, something went wrong on our side. Nothing you entered was lost; please try again."
)
_MEDIA_ATTRS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "poll",
    "dice",
    "game",
    "venue",
    "story",
)


def _parse_command(text: str) -> tuple[str, str]:
    head, _, args = text[1:].partition(" ")
    return head.split("@", 1)[0].lower(), args.strip()


def to_incoming(update: Update) -> Incoming | None:
    """Map a PTB update to an Incoming; None for updates that are not a user talking to us."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "language_code": user.language_code,
    }
    if update.callback_query is not None:
        cq = update.callback_query
        msg = cq.message
        ref = str(msg.message_id) if msg is not None else None
        return Incoming(kind=Kind.BUTTON, data=cq.data, message_ref=ref, **base)
    if update.edited_message is not None:
        edited = update.edited_message
        # The text is read only for emergency signs (a correction may add "chest pain").
        return Incoming(kind=Kind.EDITED, text=edited.text or edited.caption or "", **base)
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        text = message.text
        if text.startswith("/") and len(text) > 1:
            command, args = _parse_command(text)
            return Incoming(kind=Kind.COMMAND, text=text, command=command, args=args, **base)
        return Incoming(kind=Kind.TEXT, text=text, **base)
    if message.location is not None and message.venue is None:
        loc = message.location
        return Incoming(kind=Kind.LOCATION, location=Location(loc.latitude, loc.longitude), **base)
    if message.contact is not None:
        c = message.contact
        name = " ".join(p for p in (c.first_name, c.last_name) if p)
        return Incoming(
            kind=Kind.CONTACT,
            contact=Contact(c.phone_number, name, is_own=c.user_id == user.id),
            **base,
        )
    media = next((a for a in _MEDIA_ATTRS if getattr(message, a, None)), "other")
    return Incoming(kind=Kind.MEDIA, media=media, **base)


# Replies are sent as plain Bot API calls with the markup as plain JSON (see _send_text): the
# same fields PTB's InlineKeyboardMarkup / ReplyKeyboardMarkup serialise to.
Markup = dict[str, Any]


def inline_markup(reply: Reply) -> Markup | None:
    if not reply.buttons:
        return None
    rows = [
        [
            {"text": b.label, "callback_data": b.data}
            if b.data is not None
            else {"text": b.label, "url": b.url}
            for b in row
            # Telegram accepts only http(s) and tg:// links on buttons: a tel: button is left
            # out (the number is in the message text, which Telegram makes tappable).
            if b.url is None or not b.url.startswith("tel:")
        ]
        for row in reply.buttons
    ]
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None


def _keyboard_button(label: str, request: Request | None) -> dict[str, Any]:
    if request is Request.LOCATION:
        return {"text": label, "request_location": True}
    if request is Request.CONTACT:
        return {"text": label, "request_contact": True}
    return {"text": label}


def keyboard_markup(kb: Keyboard) -> Markup:
    return {
        "keyboard": [[_keyboard_button(b.label, b.request) for b in row] for row in kb.rows],
        "resize_keyboard": True,
        "is_persistent": kb.persistent,
        "one_time_keyboard": kb.one_time,
    }


# Text replies go through `Bot.do_api_request`, PTB's public, documented way to call an
# endpoint with raw arguments and get the raw result back (return_type=None). `send_message`
# would build markup objects, serialise them, and parse the echoed Message with its whole
# keyboard into objects nobody reads: about two thirds of the CPU an interactive reply costs.
# The markup goes as the JSON string the Bot API takes (PTB passes strings through as they
# are); a dict would be walked and encoded twice by PTB's request layer.
# Errors come from the same request path, so Forbidden / RetryAfter / BadRequest are raised
# exactly as send_message raises them. PTB warns (PTBUserWarning) when do_api_request is used
# for an endpoint it also wraps; that is advice, not a deprecation, so only that message for
# these two endpoints is silenced.
_RAW_CALL_ADVICE = r"Please use 'Bot\.(sendMessage|editMessageText)' instead"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# The wire form of a reply's markup, by its buttons or keyboard (immutable values): most
# screens are the same few menus, so their JSON is built once. Bounded: some screens carry
# ids or tokens in their buttons.
_WIRE_MARKUP: dict[object, str | None] = {}
_WIRE_MARKUP_MAX = 1024


def wire_markup(reply: Reply) -> str | None:
    """`reply`'s markup as the JSON string the Bot API takes, None without one."""
    key: object = reply.keyboard if reply.keyboard is not None else reply.buttons
    try:
        wire = _WIRE_MARKUP.get(key, "")
    except TypeError:  # rows built as lists, not tuples: not hashable, so not cached
        key, wire = None, ""
    if wire != "":
        return wire
    markup = keyboard_markup(reply.keyboard) if reply.keyboard is not None else inline_markup(reply)
    wire = None if markup is None else _json(markup)
    if key is not None:
        if len(_WIRE_MARKUP) >= _WIRE_MARKUP_MAX:
            _WIRE_MARKUP.clear()
        _WIRE_MARKUP[key] = wire
    return wire


def _silence_raw_call_advice() -> None:
    # Idempotent (an identical filter replaces the old one). Called again when an Application
    # is built, because test runners reset the warning filters around each test.
    warnings.filterwarnings("ignore", message=_RAW_CALL_ADVICE, category=PTBUserWarning)


_silence_raw_call_advice()


class TelegramSender:
    """Renders Reply objects with a PTB Bot and maps Telegram's errors to delivery outcomes."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        # A paid broadcast row (the dispatcher cleared the flag if the budget is spent).
        paid = notification is not None and notification.paid
        try:
            for reply in replies:
                await self._send_one(int(user_id), reply, edit_ref, paid)
        except Forbidden as exc:
            raise Blocked(str(exc)) from exc
        except RetryAfter as exc:
            with warnings.catch_warnings():
                # PTB 22.2+ warns that retry_after becomes a timedelta; both are handled below.
                warnings.simplefilter("ignore", PTBDeprecationWarning)
                ra = exc.retry_after
            seconds = ra.total_seconds() if hasattr(ra, "total_seconds") else float(ra)
            raise RetryLater(seconds) from exc
        except BadRequest as exc:
            if "chat not found" in str(exc).lower() or "user is deactivated" in str(exc).lower():
                raise Blocked(str(exc)) from exc
            raise Permanent(str(exc)) from exc
        except (TimedOut, NetworkError) as exc:
            raise Transient(str(exc)) from exc

    async def _send_one(
        self, chat_id: int, reply: Reply, edit_ref: str | None, paid: bool = False
    ) -> Message | None:
        bot = self.bot
        if reply.venue is not None:
            v = reply.venue
            return await bot.send_venue(
                chat_id,
                latitude=v.lat,
                longitude=v.lon,
                title=v.title[:256],
                address=v.address[:256],
            )
        if reply.document is not None:
            d = reply.document
            return await bot.send_document(
                chat_id,
                document=InputFile(d.content, filename=d.filename),
                caption=(reply.text or d.caption)[:1024] or None,
            )
        if reply.photo is not None:
            p = reply.photo
            return await bot.send_photo(
                chat_id,
                photo=InputFile(p.content, filename=p.filename),
                caption=(reply.text or p.caption)[:1024] or None,
            )
        await self._send_text(chat_id, reply, edit_ref, paid)
        return None

    async def _send_text(
        self, chat_id: int, reply: Reply, edit_ref: str | None, paid: bool = False
    ) -> None:
        bot = self.bot
        chunks = split_text(reply.text or "…")
        markup = wire_markup(reply)
        # Ids go as the strings they are on the wire (form fields are text): PTB would
        # JSON-encode an int each time the parameters are read.
        chat = str(chat_id)
        if reply.edit and edit_ref is not None and len(chunks) == 1 and reply.keyboard is None:
            params: dict[str, Any] = {
                "chat_id": chat,
                "message_id": str(int(edit_ref)),
                "text": chunks[0],
            }
            if markup is not None:
                params["reply_markup"] = markup
            try:
                await bot.do_api_request("editMessageText", api_kwargs=params)
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                # Too old or deleted: fall through and send a fresh message instead.
                log.info("edit failed, sending anew: %s", exc)
        last = len(chunks) - 1
        for i, chunk in enumerate(chunks):
            params = {"chat_id": chat, "text": chunk}
            if paid:
                # Telegram's paid broadcast: up to 1000 msg/s, 0.1 Star per message.
                params["allow_paid_broadcast"] = "true"
            if i == last and markup is not None:
                params["reply_markup"] = markup
            await bot.do_api_request("sendMessage", api_kwargs=params)


class TelegramChannel:
    """Glue between a PTB Application and the Runtime."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        if update.my_chat_member is not None:
            await self._member_change(update)
            return
        incoming = to_incoming(update)
        if incoming is None:
            log.info("ignored update %s (not a private chat or unsupported type)", update.update_id)
            if update.callback_query is not None:
                try:
                    await update.callback_query.answer()
                except TelegramError as exc:
                    log.info("answerCallbackQuery failed: %s", type(exc).__name__)
            return
        outcome = None
        try:
            outcome = await self.rt.handle(incoming)
        finally:
            if update.callback_query is not None:
                # Every button press is answered, even when handling failed. The answer is
                # best-effort: whatever Telegram says to it must not cost the reply itself.
                try:
                    await update.callback_query.answer(text=outcome.toast if outcome else None)
                except TelegramError as exc:
                    log.info("answerCallbackQuery failed: %s", type(exc).__name__)
        await self._deliver(incoming, outcome.replies, context.bot)

    async def _deliver(self, incoming: Incoming, replies: list[Reply], bot: Any) -> None:
        """Send an interactive reply, one message at a time so a retry never repeats one."""
        sender = TelegramSender(bot)
        limiter = self.rt.delivery.limiter
        edit_ref = incoming.message_ref
        for reply in replies:
            for attempt in (1, 2):
                # Replies never wait for the limiter; counting them makes bulk sends give way.
                await limiter.acquire_interactive(incoming.user_id)
                try:
                    await sender.send(incoming.user_id, [reply], edit_ref=edit_ref)
                    break
                except Blocked:
                    await self._mark_unreachable(incoming.user_id)
                    return
                except RetryLater as exc:
                    limiter.pause_bulk(exc.seconds)
                    if attempt == 2 or exc.seconds > MAX_INTERACTIVE_WAIT:
                        log.warning(
                            "flood control on an interactive reply: retry after %.1fs",
                            exc.seconds,
                        )
                        return
                    await asyncio.sleep(exc.seconds)
                except Transient as exc:
                    if attempt == 2:
                        log.warning("interactive reply failed twice: %s", exc)
                        return
                    await asyncio.sleep(TRANSIENT_RETRY_DELAY)
                except Permanent as exc:
                    log.warning("interactive reply refused: %s", exc)
                    break

    async def _mark_unreachable(self, user_id: str) -> None:

        resident = await self._resident_id(user_id)
        if resident is not None:
            await self.rt.stores.residents.mark_unreachable(resident)
        log.info("resident %s blocked the bot during a reply", resident)

    async def _resident_id(self, user_id: str) -> int | None:

        loaded = await self.rt.stores.residents.load(CHANNEL, user_id)
        return loaded[0].id if loaded else None

    async def _member_change(self, update: Update) -> None:

        change = update.my_chat_member
        assert change is not None
        resident = await self._resident_id(str(change.from_user.id))
        if resident is None:
            return
        store = self.rt.stores.residents
        if change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            await store.mark_unreachable(resident)
            log.info("resident %s blocked the bot", resident)
        else:
            await store.mark_reachable(resident)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One error handler: log with context (ids only, no personal data), keep running."""
        uid = getattr(update, "update_id", None)
        error = context.error
        log.error(
            "error while handling update %s: %s", uid, describe(error) if error else "unknown"
        )
        if isinstance(update, Update):
            await self._apologise(update, context.bot)

    async def _apologise(self, update: Update, bot: Any) -> None:
        """The router itself failed (e.g. the database): still tell the resident, kindly."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        locale = negotiate(None, user.language_code, self.rt.settings.default_locale)
        text = self.rt.catalogs.get(locale).gettext(ERROR_TEXT)
        try:
            await bot.send_message(chat.id, text)
        except TelegramError as exc:
            log.info("could not send the apology for update %s: %s", update.update_id, exc)


def build_application(
    rt: Runtime,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    concurrent_updates: int = 64,
) -> TelegramApp:
    """The PTB Application for this runtime. Tests pass a fake `request` transport."""
    settings = rt.settings
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.reveal())
        .base_url(settings.telegram_api_url)
        .concurrent_updates(concurrent_updates)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()
    _silence_raw_call_advice()
    channel = TelegramChannel(rt)
    app.add_handler(TypeHandler(Update, channel.on_update))
    app.add_error_handler(channel.on_error)
    app.bot_data["channel"] = channel
    return app
