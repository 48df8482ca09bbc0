"""The local chat sandbox: the same handlers in a terminal, no token, no network.

Buttons are shown as numbered options; a number or a button's label picks it. On a screen that
asks for a typed value (the reading keypads) options are lettered instead and a typed number
is the value, as on WeChat and the web chat (`bot.channels.numbered`). The offer on screen is
stored in SQLite (`ChannelStore.save_options`, as WeChat and the web chat do), so a number typed
in a new `doorstep chat` process presses what the previous process offered. `/location LAT LON`
shares a location, `/contact PHONE` a phone number, `/quit` ends. It reads standard input
to its end, so it can be scripted: `printf '/start\\n1\\n' | doorstep chat`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from bot.channels.numbered import choose, no_such_option, option_key
from bot.core import Button, Contact, Incoming, KeyButton, Kind, Location, Outcome, Reply, Request
from bot.delivery.sender import Deferred
from bot.domain.outbox import OutboxRow

if TYPE_CHECKING:
    from bot.runtime import Runtime

CHANNEL = "console"
# Where "share my location" points in the sandbox: Zhujing town centre, Jinshan (sample data).
SAMPLE_LOCATION = Location(30.8930, 121.1620)
SAMPLE_PHONE = "+86 138 0000 0000"
DEFERRED_REASON = "sandbox"  # rows kept for a sandbox user who is not playing


@dataclass(frozen=True)
class Option:
    label: str
    button: Button | None = None
    key: KeyButton | None = None

    def stored(self, n: int) -> dict[str, Any]:
        """As kept in `channel_options` (the shape WeChat and the web chat store, plus what a
        sandbox key needs: a URL, a location or contact request)."""
        b, k = self.button, self.key
        return {
            "n": n,
            "label": self.label,
            "data": b.data if b else None,
            "url": b.url if b else None,
            "text": k.label if k else None,
            "request": k.request.value if k and k.request else None,
        }

    @staticmethod
    def from_stored(raw: dict[str, Any]) -> Option:
        label = str(raw["label"])
        if raw.get("data") is not None or raw.get("url") is not None:
            return Option(label, button=Button(label, data=raw.get("data"), url=raw.get("url")))
        request = Request(raw["request"]) if raw.get("request") else None
        return Option(label, key=KeyButton(str(raw.get("text") or label), request))


def render_reply(
    reply: Reply, first_number: int, wants_text: bool = False
) -> tuple[list[str], list[Option]]:
    """Lines to print for one reply, and the options it offers, numbered from first_number
    (lettered when the turn wants a typed value)."""
    lines: list[str] = []
    options: list[Option] = []
    if reply.venue is not None:
        v = reply.venue
        lines.append(f"📍 {v.title} — {v.address} ({v.lat:.5f}, {v.lon:.5f})")
    if reply.document is not None:
        d = reply.document
        lines.append(f"📎 {d.filename} ({len(d.content)} bytes)")
    if reply.photo is not None:
        lines.append(f"🖼 {reply.photo.filename}")
    if reply.text:
        lines.extend(reply.text.splitlines() or [""])
    for row in reply.buttons:
        cells = []
        for b in row:
            options.append(Option(b.label, button=b))
            key = option_key(first_number + len(options) - 1, wants_text)
            cells.append(f"[{key}] {b.label}")
        lines.append("   " + "   ".join(cells))
    if reply.keyboard is not None:
        for key_row in reply.keyboard.rows:
            cells = []
            for k in key_row:
                options.append(Option(k.label, key=k))
                key = option_key(first_number + len(options) - 1, wants_text)
                cells.append(f"[{key}] {k.label}")
            lines.append("   " + "   ".join(cells))
    return lines, options


class ConsoleChat:
    def __init__(
        self, rt: Runtime, user_id: str = "1", out: TextIO = sys.stdout, echo: bool = False
    ) -> None:
        self.rt = rt
        self.user_id = user_id
        self.out = out
        self.echo = echo
        self.options: list[Option] = []
        self.wants_text = False
        self.prompt = ""  # the text of the screen whose options are numbered
        self._offer_changed = False
        self._restored = False

    def print_replies(self, replies: list[Reply], prefix: str = "🤖") -> None:
        wants_text = any(r.wants_text for r in replies)
        new_options: list[Option] = []
        for reply in replies:
            lines, opts = render_reply(reply, len(new_options) + 1, wants_text)
            new_options.extend(opts)
            for i, line in enumerate(lines):
                self.out.write(f"{prefix if i == 0 else '  '} {line}\n")
        # As on WeChat: a turn without options keeps the older ones, unless it asks for a
        # value, where a typed number must not press an older button.
        if new_options or wants_text:
            self.options = new_options
            self.wants_text = wants_text
            self.prompt = next(
                (r.text for r in reversed(replies) if r.text and (r.buttons or r.keyboard)), ""
            )
            self._offer_changed = True
        self.out.flush()

    def print_notification(self, replies: list[Reply]) -> None:
        """A message that arrived on its own (🔔): its options are numbered after the ones
        on screen, which keep their numbers, so a number typed for the screen the user is
        answering still means what it meant (as on WeChat and the web chat)."""
        added: list[Option] = []
        for reply in replies:
            first = len(self.options) + len(added) + 1
            lines, opts = render_reply(reply, first, self.wants_text)
            added.extend(opts)
            for i, line in enumerate(lines):
                self.out.write(f"{'🔔' if i == 0 else '  '} {line}\n")
        self.options = [*self.options, *added]
        self._offer_changed = bool(added)
        self.out.flush()

    # -- the offer in SQLite: a new process honours the last one shown ---------------------
    async def _resident_id(self) -> int | None:
        loaded = await self.rt.stores.residents.load(CHANNEL, self.user_id)
        return loaded[0].id if loaded else None

    async def restore(self) -> None:
        """The offer the last process showed this user, once, before their first line."""
        if self._restored:
            return
        self._restored = True
        resident_id = await self._resident_id()
        if resident_id is None:
            return
        stored = await self.rt.stores.channels.load_options(resident_id)
        raw = sorted(stored.get("options", []), key=lambda o: int(o["n"]))
        self.options = [Option.from_stored(o) for o in raw]
        self.wants_text = bool(stored.get("wants_text"))

    async def save_offer(self) -> None:
        """Store the offer on screen, when it changed (a turn or a notification)."""
        if not self._offer_changed:
            return
        self._offer_changed = False
        resident_id = await self._resident_id()
        if resident_id is None:  # no resident yet, or just deleted
            return
        offer = {
            "options": [o.stored(n) for n, o in enumerate(self.options, start=1)],
            "contact": False,
            "wants_text": self.wants_text,
        }
        await self.rt.stores.channels.save_options(resident_id, offer, int(time.time()))

    def to_incoming(self, line: str) -> Incoming | None:
        text = line.strip()
        if not text:
            return None
        base: dict[str, Any] = {"channel": CHANNEL, "user_id": self.user_id}
        if text.startswith("/location"):
            parts = text.split()
            try:
                loc = Location(float(parts[1]), float(parts[2]))
            except (IndexError, ValueError):
                loc = SAMPLE_LOCATION
            return Incoming(kind=Kind.LOCATION, location=loc, **base)
        if text.startswith("/contact"):
            phone = text.partition(" ")[2].strip() or SAMPLE_PHONE
            return Incoming(kind=Kind.CONTACT, contact=Contact(phone), **base)
        option = self._pick(text)
        if option is not None:
            if option.button is not None:
                if option.button.data is None:
                    self.out.write(f"🔗 {option.button.url}\n")
                    return None
                return Incoming(kind=Kind.BUTTON, data=option.button.data, message_ref="0", **base)
            assert option.key is not None
            if option.key.request is Request.LOCATION:
                self.out.write("   (sandbox: sharing a sample location in Zhujing)\n")
                return Incoming(kind=Kind.LOCATION, location=SAMPLE_LOCATION, **base)
            if option.key.request is Request.CONTACT:
                self.out.write(f"   (sandbox: sharing the phone number {SAMPLE_PHONE})\n")
                return Incoming(kind=Kind.CONTACT, contact=Contact(SAMPLE_PHONE), **base)
            return Incoming(kind=Kind.TEXT, text=option.key.label, **base)
        missed = no_such_option(
            text,
            [(o.label, o.button.data if o.button else None) for o in self.options],
            self.wants_text,
            self.prompt,
            base,
        )
        if missed is not None:
            return missed
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            return Incoming(kind=Kind.COMMAND, text=text, command=head.lower(), args=args, **base)
        return Incoming(kind=Kind.TEXT, text=text, **base)

    def _pick(self, text: str) -> Option | None:
        labels = [(i, o.label) for i, o in enumerate(self.options, start=1)]
        n = choose(text, labels, self.wants_text)
        return None if n is None else self.options[n - 1]

    async def feed(self, line: str) -> Outcome | None:
        if self.echo:
            self.out.write(f"🧑 {line.rstrip()}\n")
        await self.restore()
        incoming = self.to_incoming(line)
        if incoming is None:
            return None
        outcome = await self.rt.handle(incoming)
        if outcome.toast:
            self.out.write(f"   ({outcome.toast})\n")
        self.print_replies(outcome.replies)
        await self.save_offer()
        return outcome

    async def run(self, stdin: TextIO = sys.stdin) -> None:
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line or line.strip() in ("/quit", "/exit"):
                break
            await self.feed(line)


class ConsoleSender:
    """Delivers scheduled messages (tips, reminders) into the sandbox terminal."""

    def __init__(self, chat: ConsoleChat) -> None:
        self.chat = chat

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        if user_id != self.chat.user_id:
            # Another sandbox user is not at this terminal: keep their message pending (the
            # dispatcher records it 'deferred: sandbox...'); `doorstep chat --user N` makes
            # it due again when N plays.
            raise Deferred(f"{DEFERRED_REASON}: user {user_id} is not playing")
        self.chat.print_notification(replies)
        await self.chat.save_offer()
