"""Realistic Bot API update dicts from one resident, numbered by the FakeBotAPI they talk to.

Feed them to `app.process_update(Update.de_json(d, app.bot))` or `api.enqueue(d)` for polling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.botapi import FakeBotAPI


@dataclass
class FakeUser:
    """A Telegram user in a private chat with the bot (chat id = user id)."""

    api: FakeBotAPI
    user_id: int = 1001
    first_name: str = "Mei"
    language_code: str | None = "en"
    _query_seq: int = 0

    def __post_init__(self) -> None:
        self.api.chats[self.user_id] = self.chat

    @property
    def user(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.language_code is not None:
            out["language_code"] = self.language_code
        return out

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.first_name}

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": self.api.next_message_id(self.user_id),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            **content,
        }

    def _update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": self.api.next_update_id(), **body}

    def text(self, text: str) -> dict[str, Any]:
        """A text message; a leading /command gets its bot_command entity like Telegram's."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1:
            length = len(text.split(" ", 1)[0].encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update(message=self._message(**content))

    def edited(self, text: str) -> dict[str, Any]:
        msg = self._message(text=text)
        msg["edit_date"] = msg["date"] + 5
        return self._update(edited_message=msg)

    def location(self, lat: float, lon: float) -> dict[str, Any]:
        return self._update(message=self._message(location={"latitude": lat, "longitude": lon}))

    def contact(self, phone: str, own: bool = True) -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": self.first_name}
        if own:
            contact["user_id"] = self.user_id
        return self._update(message=self._message(contact=contact))

    def sticker(self) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEB",
            "file_unique_id": "AgADxyz",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self._update(message=self._message(sticker=sticker))

    def photo(self, caption: str | None = None) -> dict[str, Any]:
        sizes = [
            {"file_id": "AgACAgIAAxk1", "file_unique_id": "AQAD1", "width": 90, "height": 67},
            {"file_id": "AgACAgIAAxk2", "file_unique_id": "AQAD2", "width": 800, "height": 600},
        ]
        extra = {"caption": caption} if caption else {}
        return self._update(message=self._message(photo=sizes, **extra))

    def voice(self) -> dict[str, Any]:
        voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "AgADv", "duration": 3}
        return self._update(message=self._message(voice=voice))

    def callback(self, data: str | None, message_id: int | None = None) -> dict[str, Any]:
        """A button press. The message is the bot's newest one carrying `data` (else its newest
        message, else a message the fake never sent, i.e. one from long ago)."""
        message = self._bot_message(data, message_id)
        self._query_seq += 1
        query: dict[str, Any] = {
            "id": f"{self.user_id}{self._query_seq:06d}",
            "from": self.user,
            "chat_instance": f"ci{self.user_id}",
            "message": message,
        }
        if data is not None:
            query["data"] = data
        return self._update(callback_query=query)

    def _bot_message(self, data: str | None, message_id: int | None) -> dict[str, Any]:
        sent = self.api.messages.get(self.user_id, {})
        if message_id is not None:
            mine = [sent[message_id]] if message_id in sent else []
        else:
            mine = list(sent.values())  # in message id order: ids only grow
        for m in reversed(mine):
            rows = m.get("reply_markup", {}).get("inline_keyboard", [])
            if any(b.get("callback_data") == data for row in rows for b in row):
                return m
        if mine:
            return mine[-1]
        return {
            "message_id": message_id or 1,
            "date": int(time.time()) - 86400 * 60,
            "chat": self.chat,
            "from": self.api.bot_user,
            "text": "an old message",
        }

    def member_status(self, status: str) -> dict[str, Any]:
        """my_chat_member: "kicked" when the user blocks the bot, "member" when they unblock."""
        bot_member = {"user": self.api.bot_user}
        return self._update(
            my_chat_member={
                "chat": self.chat,
                "from": self.user,
                "date": int(time.time()),
                "old_chat_member": {
                    **bot_member,
                    "status": "member" if status == "kicked" else "kicked",
                    **({"until_date": 0} if status != "kicked" else {}),
                },
                "new_chat_member": {
                    **bot_member,
                    "status": status,
                    **({"until_date": 0} if status == "kicked" else {}),
                },
            }
        )

    def press(self, label_part: str) -> dict[str, Any]:
        """Press the button whose label contains `label_part` on the bot's newest message that
        has one: an inline button (callback) or a reply-keyboard button (sends its label)."""
        for call in reversed(self.api.replies(self.user_id)):
            markup = call.params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if label_part in button["text"] and "callback_data" in button:
                        return self.callback(button["callback_data"])
            for row in markup.get("keyboard", []):
                for button in row:
                    text = button["text"] if isinstance(button, dict) else button
                    if label_part in text:
                        return self.text(text)
        raise AssertionError(f"no button containing {label_part!r} sent to {self.user_id}")
