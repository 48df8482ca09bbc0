"""A fake Telegram Bot API: answers like the real one, records every call, fails on demand.

Three ways to reach the same `FakeBotAPI`:

- `FakeRequest`: python-telegram-bot's transport (a `BaseRequest`), in process. Tier-3 tests and
  the benchmark pass it to `build_application(rt, request=FakeRequest(api))`.
- `FakeBotAPIServer`: real HTTP on 127.0.0.1 with the Bot API's URL layout, so
  `TELEGRAM_API_URL=http://127.0.0.1:PORT/bot doorstep run` talks to it through PTB's httpx client.
- `python -m tests.fakes.botapi --port N --record calls.jsonl`: the server as its own process, for
  tests that kill the bot; every call is appended to the JSONL file and flushed at once, and
  `POST /_test/updates`, `GET /_test/calls`, `POST /_test/fail`, `POST /_test/block` steer it.

Parameters are handled in their wire form (what httpx would send: strings verbatim, everything
else JSON-encoded) on every path, so the in-process fake checks the same thing a server sees.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message as MimeHeaders
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64

# Methods that deliver something to a chat: a blocked chat answers 403 to these.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendVenue",
        "sendDocument",
        "sendPhoto",
        "sendLocation",
        "sendContact",
        "sendChatAction",
        "editMessageText",
        "editMessageReplyMarkup",
        "copyMessage",
        "forwardMessage",
    }
)
# Methods whose result is a message a resident sees (what "the bot replied" means in tests).
REPLY_METHODS = frozenset(
    {
        "sendMessage",
        "sendVenue",
        "sendDocument",
        "sendPhoto",
        "sendLocation",
        "editMessageText",
    }
)
# Fields that are free text: never JSON-decoded even when they look like a number.
_TEXT_FIELDS = frozenset(
    {
        "text",
        "caption",
        "title",
        "address",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "parse_mode",
        "phone_number",
        "first_name",
        "last_name",
        "file_id",
        "document",
        "photo",
        "language_code",
    }
)
FAULT_KINDS = ("retry_after", "blocked", "network", "server")


class NetworkFault(Exception):
    """The fake drops the connection: FakeRequest raises NetworkError, the server hangs up."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One uploaded file of a multipart request."""

    filename: str
    size: int
    mime: str

    def to_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "size": self.size, "mime": self.mime}


@dataclass(slots=True)
class Call:
    """One Bot API request as the fake saw it, with its outcome."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload]
    t: float  # time.monotonic() on arrival, for rate-limit checks
    status: int = 0  # HTTP status; 0 when the connection was dropped
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        chat = self.params.get("chat_id")
        return chat if isinstance(chat, int) else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "wall": time.time(),
            "method": self.method,
            "params": self.params,
            "files": {k: u.to_json() for k, u in self.files.items()},
            "status": self.status,
            "description": self.description,
            "message_id": self.result.get("message_id") if isinstance(self.result, dict) else None,
        }


@dataclass(slots=True)
class Fault:
    method: str  # a Bot API method name, or "*" for any
    kind: str
    times: int
    chat_id: int | None = None
    retry_after: int = 5

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (self.method in ("*", method)) and (self.chat_id is None or self.chat_id == chat_id)


class ApiError(Exception):
    """An error answer of the Bot API (`{"ok": false, ...}`)."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def decode_params(wire: dict[str, str]) -> dict[str, Any]:
    """Turn wire parameters (strings; non-strings JSON-encoded) into values."""
    out: dict[str, Any] = {}
    for name, value in wire.items():
        if name in _TEXT_FIELDS or not isinstance(value, str):
            out[name] = value
            continue
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


class FakeBotAPI:
    """The Bot API's state and answers. One instance per test; not thread-safe (one loop)."""

    def __init__(
        self,
        token: str | None = "123:ABC",
        *,
        poll_wait: float = 1.0,
        record: Path | None = None,
        username: str = "doorstep_test_bot",
    ) -> None:
        self.token = token
        self.poll_wait = poll_wait
        bot_id = int(token.split(":", 1)[0]) if token and token.split(":", 1)[0].isdigit() else 123
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Doorstep",
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.calls_by_chat: dict[int, list[Call]] = {}
        self.blocked_chats: set[int] = set()
        self.chats: dict[int, dict[str, Any]] = {}
        # The bot's messages as the chat shows them now: chat id -> message id -> message.
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.webhook_url = ""
        self.commands: list[Any] = []
        self._faults: list[Fault] = []
        self._next_message_id: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._answered: set[str] = set()
        self._update_event: asyncio.Event | None = None
        self._polls = 0  # getUpdates calls so far: a newer one ends an older one (409)
        self._file_seq = 0
        self._record: IO[str] | None = record.open("a", encoding="utf-8") if record else None

    # -- steering ---------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        kind: str,
        times: int = 1,
        chat_id: int | None = None,
        *,
        retry_after: int = 5,
    ) -> None:
        """Make the next `times` calls of `method` (optionally only for `chat_id`) fail.

        kinds: retry_after (429 with parameters.retry_after), blocked (403), network (the
        connection drops), server (502).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {FAULT_KINDS}")
        self._faults.append(Fault(method, kind, times, chat_id, retry_after))

    def enqueue(self, *updates: dict[str, Any]) -> list[int]:
        """Queue updates for getUpdates; missing update_ids are assigned in order."""
        ids = []
        for update in updates:
            update = dict(update)
            if "update_id" not in update:
                update["update_id"] = self.next_update_id()
            self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
            message = update.get("message") or update.get("edited_message")
            if isinstance(message, dict) and isinstance(message.get("message_id"), int):
                # The resident's message takes its id in the chat, as on Telegram.
                chat_id = message.get("chat", {}).get("id")
                if isinstance(chat_id, int):
                    seen = self._next_message_id.get(chat_id, 0)
                    self._next_message_id[chat_id] = max(seen, message["message_id"])
            self._updates.append(update)
            ids.append(update["update_id"])
        if self._update_event is not None:
            self._update_event.set()
        return ids

    def next_update_id(self) -> int:
        uid = self._next_update_id
        self._next_update_id += 1
        return uid

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat, shared by the user's and the bot's messages."""
        mid = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = mid
        return mid

    def chat(self, chat_id: int) -> dict[str, Any]:
        known = self.chats.get(chat_id)
        if known is not None:
            return known
        if chat_id < 0:
            return {"id": chat_id, "type": "group", "title": f"Group {-chat_id}"}
        return {"id": chat_id, "type": "private", "first_name": f"Resident {chat_id}"}

    def clear_calls(self) -> None:
        self.calls.clear()
        self.calls_by_chat.clear()

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # -- reading what happened ----------------------------------------------------------------
    def calls_to(
        self, method: str | Iterable[str] | None = None, chat_id: int | None = None
    ) -> list[Call]:
        methods = {method} if isinstance(method, str) else set(method or ())
        pool = self.calls if chat_id is None else self.calls_by_chat.get(chat_id, [])
        return [c for c in pool if not methods or c.method in methods]

    def replies(self, chat_id: int | None = None) -> list[Call]:
        """Successful calls that showed the resident something."""
        return [c for c in self.calls_to(REPLY_METHODS, chat_id) if c.ok]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.text for c in self.replies(chat_id)]

    def answered_callbacks(self) -> list[str]:
        return [
            str(c.params.get("callback_query_id"))
            for c in self.calls_to("answerCallbackQuery")
            if c.ok
        ]

    def last_markup(self, chat_id: int) -> dict[str, Any] | None:
        for c in reversed(self.replies(chat_id)):
            if c.params.get("reply_markup"):
                return c.params["reply_markup"]
        return None

    # -- the API ------------------------------------------------------------------------------
    async def call(
        self,
        method: str,
        wire_params: dict[str, str],
        files: dict[str, Upload] | None = None,
        token: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: (HTTP status, JSON body). Raises NetworkFault to drop it."""
        params = decode_params(wire_params)
        record = Call(method, params, dict(files or {}), time.monotonic())
        self.calls.append(record)
        if record.chat_id is not None:
            self.calls_by_chat.setdefault(record.chat_id, []).append(record)
        try:
            if self.token is not None and token is not None and token != self.token:
                raise ApiError(401, "Unauthorized")
            self._inject_fault(method, record.chat_id)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params, record.files)
        except ApiError as exc:
            record.status, record.description = exc.status, exc.description
            self._write(record)
            return exc.status, exc.body()
        except NetworkFault:
            record.status, record.description = 0, "connection dropped"
            self._write(record)
            raise
        record.status, record.result = 200, result
        self._write(record)
        return 200, {"ok": True, "result": result}

    def close_record(self) -> None:
        if self._record is not None:
            self._record.close()
            self._record = None

    def _write(self, record: Call) -> None:
        if self._record is not None:
            self._record.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            self._record.flush()

    def _inject_fault(self, method: str, chat_id: int | None) -> None:
        if chat_id is not None and chat_id in self.blocked_chats and method in SEND_METHODS:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        for fault in self._faults:
            if not fault.matches(method, chat_id):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            if fault.kind == "retry_after":
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {fault.retry_after}",
                    retry_after=fault.retry_after,
                )
            if fault.kind == "blocked":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if fault.kind == "server":
                raise ApiError(502, "Bad Gateway")
            raise NetworkFault(method)

    # -- message building and checks -----------------------------------------------------------
    def _chat_id(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _new_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        msg = {
            "message_id": self.next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user,
            **content,
        }
        self.messages.setdefault(chat_id, {})[msg["message_id"]] = msg
        return msg

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup like the API; return what a Message echoes (inline only)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            for row in rows:
                for button in row:
                    if not button.get("text"):
                        raise ApiError(400, "Bad Request: text buttons are unallowed")
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    if data is None and not button.get("url"):
                        raise ApiError(400, 'Bad Request: can\'t find field "callback_data"')
            return markup
        if "keyboard" in markup:
            for row in markup["keyboard"]:
                for button in row:
                    if not (button.get("text") if isinstance(button, dict) else button):
                        raise ApiError(400, "Bad Request: keyboard button text is empty")
            return None
        if markup.get("remove_keyboard") or markup.get("force_reply"):
            return None
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_text(text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _caption(params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if caption is None:
            return {}
        if len(str(caption)) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        return {"caption": str(caption)}

    @staticmethod
    def _location(params: dict[str, Any]) -> dict[str, float]:
        lat, lon = params.get("latitude"), params.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            raise ApiError(400, "Bad Request: wrong latitude or longitude")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ApiError(400, "Bad Request: wrong location")
        return {"latitude": float(lat), "longitude": float(lon)}

    def _file_ids(self) -> dict[str, str]:
        self._file_seq += 1
        return {"file_id": f"FAKEFILE{self._file_seq:06d}", "file_unique_id": f"U{self._file_seq}"}

    def _upload(self, params: dict[str, Any], files: dict[str, Upload], name: str) -> Upload:
        upload = files.get(name)
        if upload is None:
            ref = params.get(name)
            if not isinstance(ref, str) or not ref:
                raise ApiError(400, f"Bad Request: there is no {name} in the request")
            # A file_id or URL: nothing uploaded.
            return Upload(ref, 0, "application/octet-stream")
        if upload.size == 0:
            raise ApiError(400, "Bad Request: file must be non-empty")
        return upload

    # -- methods (looked up as _m_<method>) --------------------------------------------------
    async def _m_getMe(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self.bot_user

    async def _m_logOut(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_setWebhook(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        url = params.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: bad webhook: an HTTPS URL must be provided")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        self.commands = commands
        return True

    async def _m_getMyCommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self.commands

    async def _m_deleteMyCommands(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.commands = []
        return True

    async def _m_sendChatAction(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        self._chat_id(params)
        return True

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset")
        limit = params.get("limit") if isinstance(params.get("limit"), int) else 100
        timeout = params.get("timeout") if isinstance(params.get("timeout"), int | float) else 0
        if isinstance(offset, int):
            # Updates below the offset are confirmed and forgotten, as on the real server.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # Telegram allows one poller per bot: a getUpdates arriving while another waits ends
        # the waiting one with 409 Conflict.
        self._polls += 1
        mine = self._polls
        if self._update_event is not None:
            self._update_event.set()
        if not self._updates and timeout > 0:
            if self._update_event is None:
                self._update_event = asyncio.Event()
            self._update_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._update_event.wait(), timeout=min(float(timeout), self.poll_wait)
                )
        if self._polls != mine:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        return self._updates[: max(1, min(limit, 100))]

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._chat_id(params)
        text = self._check_text(params.get("text"))
        markup = self._check_markup(params.get("reply_markup"))
        content: dict[str, Any] = {"text": text}
        if markup is not None:
            content["reply_markup"] = markup
        return self._new_message(chat_id, **content)

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        text = self._check_text(params.get("text"))
        markup = self._check_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        msg = self.messages.get(chat_id, {}).get(message_id)  # type: ignore[arg-type]
        if msg is None or msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message to edit not found")
        if "text" not in msg:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if msg["text"] == text and msg.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        msg = {**msg, "text": text, "edit_date": int(time.time())}
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        self.messages[chat_id][message_id] = msg  # type: ignore[index]
        return msg

    async def _m_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, Upload]
    ) -> Any:
        markup = self._check_markup(params.get("reply_markup"))
        chat_id = self._chat_id(params)
        msg = self.messages.get(chat_id, {}).get(params.get("message_id"))  # type: ignore[arg-type]
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        msg = {**msg, "edit_date": int(time.time())}
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        self.messages[chat_id][msg["message_id"]] = msg
        return msg

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._chat_id(params)
        gone = self.messages.get(chat_id, {}).pop(params.get("message_id"), None)  # type: ignore[arg-type]
        if gone is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        query_id = params.get("callback_query_id")
        if not isinstance(query_id, str) or not query_id:
            raise ApiError(400, "Bad Request: QUERY_ID_INVALID")
        if query_id in self._answered:
            # A query can be answered once; the second answer finds it expired.
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answered.add(query_id)
        return True

    async def _m_sendVenue(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._chat_id(params)
        location = self._location(params)
        title, address = params.get("title"), params.get("address")
        if not title or not address:
            raise ApiError(400, "Bad Request: venue title and address must be non-empty")
        self._check_markup(params.get("reply_markup"))
        return self._new_message(
            chat_id,
            location=location,
            venue={"location": location, "title": title, "address": address},
        )

    async def _m_sendLocation(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._chat_id(params)
        location = self._location(params)
        self._check_markup(params.get("reply_markup"))
        return self._new_message(chat_id, location=location)

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._chat_id(params)
        upload = self._upload(params, files, "document")
        self._check_markup(params.get("reply_markup"))
        document = {
            **self._file_ids(),
            "file_name": upload.filename,
            "mime_type": upload.mime,
            "file_size": upload.size,
        }
        return self._new_message(chat_id, document=document, **self._caption(params))

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self._chat_id(params)
        upload = self._upload(params, files, "photo")
        self._check_markup(params.get("reply_markup"))
        photo = [{**self._file_ids(), "width": 320, "height": 240, "file_size": upload.size}]
        return self._new_message(chat_id, photo=photo, **self._caption(params))


# -- PTB transport ------------------------------------------------------------------------------


def _method_and_token(url: str) -> tuple[str, str | None]:
    """`.../bot<TOKEN>/<method>` -> (method, token)."""
    path = urlsplit(url).path.rstrip("/")
    head, _, method = path.rpartition("/")
    segment = head.rpartition("/")[2]
    token = segment[3:] if segment.startswith("bot") else None
    return method, token


def _read_content(content: Any) -> bytes:
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    data = content.read()  # a file handle (PTB ≥ 21.5 may pass one)
    return data.encode() if isinstance(data, str) else bytes(data)


class FakeRequest(BaseRequest):
    """PTB's request layer, answered in process by a FakeBotAPI (no sockets)."""

    def __init__(self, api: FakeBotAPI, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout
        self.initialized = False

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self.initialized = True

    async def shutdown(self) -> None:
        self.initialized = False

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method, token = _method_and_token(url)
        wire = request_data.json_parameters if request_data is not None else {}
        files: dict[str, Upload] = {}
        if request_data is not None and request_data.contains_files:
            for name, (filename, content, mime) in request_data.multipart_data.items():
                data = _read_content(content)
                files[name] = Upload(filename or name, len(data), mime or "")
        try:
            status, body = await self.api.call(api_method, wire, files, token)
        except NetworkFault as exc:
            raise NetworkError(f"fake transport dropped the connection during {exc}") from None
        return status, json.dumps(body, ensure_ascii=False).encode()


# -- HTTP server --------------------------------------------------------------------------------


@dataclass(slots=True)
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool = True
    query: dict[str, str] = field(default_factory=dict)


async def _read_http_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
    line = await reader.readline()
    if not line or not line.strip():
        return None
    try:
        verb, target, version = line.decode("latin-1").split()
    except ValueError:
        return None
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    conn = headers.get("connection", "").lower()
    keep_alive = conn != "close" and (version != "HTTP/1.0" or conn == "keep-alive")
    parts = urlsplit(target)
    return _HttpRequest(verb, parts.path, headers, body, keep_alive, dict(parse_qsl(parts.query)))


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, Upload]]:
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = MimeHeaders()
        for raw in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = raw.partition(":")
            if name:
                headers[name.strip()] = value.strip()
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = headers.get_filename()
        if filename is None:
            fields[name] = content.decode("utf-8", "replace")
        else:
            files[name] = Upload(filename, len(content), headers.get_content_type())
    return fields, files


def parse_body(req: _HttpRequest) -> tuple[dict[str, str], dict[str, Upload]]:
    """Wire parameters and uploads from a query string plus a form, multipart or JSON body."""
    fields: dict[str, str] = dict(req.query)
    files: dict[str, Upload] = {}
    headers = MimeHeaders()
    headers["content-type"] = req.headers.get("content-type", "")
    ctype = headers.get_content_type()
    if ctype == "application/x-www-form-urlencoded":
        fields.update(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    elif ctype == "multipart/form-data":
        boundary = headers.get_param("boundary")
        if isinstance(boundary, str):
            more, files = _parse_multipart(req.body, boundary)
            fields.update(more)
    elif ctype == "application/json" and req.body:
        data = json.loads(req.body)
        if isinstance(data, dict):
            fields.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
    return fields, files


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    502: "Bad Gateway",
}


class FakeBotAPIServer:
    """FakeBotAPI over HTTP/1.1 on 127.0.0.1; `url` is what TELEGRAM_API_URL should be."""

    def __init__(self, api: FakeBotAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._conns):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeBotAPIServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                req = await _read_http_request(reader)
                if req is None:
                    break
                try:
                    status, body = await self._dispatch(req)
                except NetworkFault:
                    break  # hang up without an answer, like a dropped connection
                payload = json.dumps(body, ensure_ascii=False).encode()
                head = (
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                    "Content-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n"
                    f"Connection: {'keep-alive' if req.keep_alive else 'close'}\r\n\r\n"
                )
                writer.write(head.encode() + payload)
                await writer.drain()
                if not req.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()

    async def _dispatch(self, req: _HttpRequest) -> tuple[int, Any]:
        if req.target.startswith("/_test/"):
            return self._control(req)
        method, token = _method_and_token(req.target)
        if token is None:
            return 404, ApiError(404, "Not Found").body()
        fields, files = parse_body(req)
        return await self.api.call(method, fields, files, token)

    def _control(self, req: _HttpRequest) -> tuple[int, Any]:
        """Test-only endpoints for a fake running in its own process."""
        what = req.target.removeprefix("/_test/")
        data = json.loads(req.body) if req.body else {}
        if what == "calls" and req.method == "GET":
            return 200, {"ok": True, "result": [c.to_json() for c in self.api.calls]}
        if what == "updates" and req.method == "POST":
            updates = data if isinstance(data, list) else [data]
            return 200, {"ok": True, "result": self.api.enqueue(*updates)}
        if what == "fail" and req.method == "POST":
            self.api.fail(
                data["method"],
                data["kind"],
                int(data.get("times", 1)),
                data.get("chat_id"),
                retry_after=int(data.get("retry_after", 5)),
            )
            return 200, {"ok": True, "result": True}
        if what in ("block", "unblock") and req.method == "POST":
            chat_id = int(data["chat_id"])
            if what == "block":
                self.api.blocked_chats.add(chat_id)
            else:
                self.api.blocked_chats.discard(chat_id)
            return 200, {"ok": True, "result": True}
        return 404, ApiError(404, "Not Found").body()


async def _serve_forever(args: argparse.Namespace) -> None:
    api = FakeBotAPI(args.token, poll_wait=args.poll_wait, record=args.record)
    server = FakeBotAPIServer(api, args.host, args.port)
    await server.start()
    print(f"fake Bot API listening on {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        api.close_record()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake Telegram Bot API for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--record", type=Path, help="append every call to this JSONL file")
    parser.add_argument("--token", default=None, help="accept only this token (default: any)")
    parser.add_argument("--poll-wait", type=float, default=1.0, help="longest getUpdates wait")
    asyncio.run(_serve_forever(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
