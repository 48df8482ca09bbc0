"""Tier-2 chat harness: push a message or a button press, pop the replies.

Drives the real Router, handlers and SQLite storage through the channel-neutral layer, the
way errbot's testbot does: tests read like a conversation.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bot.core import Contact, Incoming, Kind, Location, Outcome, Reply
from bot.runtime import Runtime


@dataclass
class ChatUser:
    """One person talking to the bot through the harness."""

    rt: Runtime
    user_id: str = "1001"
    channel: str = "test"
    language_code: str | None = "en"
    inbox: deque[Reply] = field(default_factory=deque)
    last: Outcome | None = None

    async def send(self, incoming: Incoming) -> Outcome:
        outcome = await self.rt.handle(incoming)
        self.inbox.extend(outcome.replies)
        self.last = outcome
        return outcome

    def _base(self) -> dict:
        return {
            "channel": self.channel,
            "user_id": self.user_id,
            "language_code": self.language_code,
        }

    async def text(self, text: str) -> Outcome:
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            return await self.send(
                Incoming(kind=Kind.COMMAND, text=text, command=head, args=args, **self._base())
            )
        return await self.send(Incoming(kind=Kind.TEXT, text=text, **self._base()))

    async def press_data(self, data: str) -> Outcome:
        return await self.send(
            Incoming(kind=Kind.BUTTON, data=data, message_ref="1", **self._base())
        )

    async def press(self, label_part: str) -> Outcome:
        """Press the newest inline button whose label contains `label_part`; a menu
        (reply-keyboard) button is sent as its label text."""
        for reply in reversed(self.all_replies()):
            for b in reversed(reply.all_buttons()):
                if label_part in b.label:
                    assert b.data is not None, f"{b.label!r} is a URL button"
                    return await self.press_data(b.data)
            if reply.keyboard is not None:
                for row in reply.keyboard.rows:
                    for k in row:
                        if label_part in k.label:
                            return await self.text(k.label)
        raise AssertionError(f"no button containing {label_part!r} in {self.labels()}")

    async def location(self, lat: float, lon: float) -> Outcome:
        return await self.send(
            Incoming(kind=Kind.LOCATION, location=Location(lat, lon), **self._base())
        )

    async def contact(self, phone: str, name: str = "") -> Outcome:
        return await self.send(
            Incoming(kind=Kind.CONTACT, contact=Contact(phone, name), **self._base())
        )

    async def media(self, kind: str = "sticker") -> Outcome:
        return await self.send(Incoming(kind=Kind.MEDIA, media=kind, **self._base()))

    def all_replies(self) -> list[Reply]:
        return self.last.replies if self.last else []

    def pop(self) -> Reply:
        assert self.inbox, "no reply waiting"
        return self.inbox.popleft()

    def texts(self) -> str:
        """All reply texts of the last turn, joined."""
        return "\n".join(r.text for r in self.all_replies())

    def labels(self) -> list[str]:
        out = [b.label for r in self.all_replies() for b in r.all_buttons()]
        for r in self.all_replies():
            if r.keyboard is not None:
                out.extend(k.label for row in r.keyboard.rows for k in row)
        return out

    async def onboard(self, language: str = "English") -> None:
        """/start, pick the language, accept the privacy notice."""
        await self.text("/start")
        await self.press(language)
        await self.press("✅")
        self.inbox.clear()
