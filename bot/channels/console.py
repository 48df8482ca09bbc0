"""The local chat sandbox: the same handlers in a terminal, no token, no network.

Buttons are shown as numbered options, numbered by `bot.channels.numbered` exactly as WeChat and
the web chat number them (links and the location / contact keys are shown apart, unnumbered);
a number or a button's label picks it. On a screen that
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
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TextIO

from bot.channels import numbered
from bot.core import Contact, Incoming, Kind, Location, Outcome, Reply
from bot.delivery.sender import Deferred
from bot.domain.outbox import OutboxRow

if TYPE_CHECKING:
    from bot.runtime import Runtime

CHANNEL = "console"
# Where "share my location" points in the sandbox: Zhujing town centre, Jinshan (sample data).
SAMPLE_LOCATION = Location(30.8930, 121.1620)
SAMPLE_PHONE = "+86 138 0000 0000"
DEFERRED_REASON = "sandbox"  # rows kept for a sandbox user who is not playing


def render_block(block: numbered.Block) -> list[str]:
    """Lines to print for one reply, as WeChat and the web chat show it: its options keyed
    as `numbered.flatten` keyed them (one numbering on every text channel), links and the
    location / contact keys apart, unnumbered."""
    lines: list[str] = []
    if block.venue is not None:
        v = block.venue
        lines.append(f"📍 {v.title} — {v.address} ({v.lat:.5f}, {v.lon:.5f})")
    if block.document is not None:
        d = block.document
        lines.append(f"📎 {d.filename} ({len(d.content)} bytes)")
    if block.photo is not None:
        lines.append(f"🖼 {block.photo.filename}")
    if block.text:
        lines.extend(block.text.splitlines() or [""])
    rows: dict[int, list[str]] = {}
    for o in block.options:
        rows.setdefault(o.row if o.text is None else 1000 + o.row, []).append(
            f"[{o.key}] {o.label}"
        )
    lines.extend("   " + "   ".join(cells) for cells in rows.values())
    lines.extend(f"   🔗 {label}: {url}" for label, url in block.links)
    if block.ask_location:
        lines.append(f"   [{block.ask_location}]  (type it, or /location LAT LON)")
    if block.ask_contact:
        lines.append(f"   [{block.ask_contact}]  (type it, your number, or /contact PHONE)")
    return lines


class ConsoleChat:
    def __init__(
        self, rt: Runtime, user_id: str = "1", out: TextIO = sys.stdout, echo: bool = False
    ) -> None:
        self.rt = rt
        self.user_id = user_id
        self.out = out
        self.echo = echo
        self.offered: dict[str, Any] = {}  # as `numbered.offer` stores it
        self.ask_location: str | None = None
        self.ask_contact: str | None = None
        self._offer_changed = False
        self._restored = False

    @property
    def options(self) -> list[numbered.Option]:
        """The options on screen, in number order."""
        found = (numbered.option_by_number(o["n"], self.offered) for o in self._raw())
        return [o for o in found if o is not None]

    @property
    def wants_text(self) -> bool:
        return bool(self.offered.get("wants_text"))

    def _raw(self) -> list[dict[str, Any]]:
        return sorted(self.offered.get("options", []), key=lambda o: int(o["n"]))

    def _write(self, blocks: list[numbered.Block], mark: str) -> None:
        for block in blocks:
            for i, line in enumerate(render_block(block)):
                self.out.write(f"{mark if i == 0 else '  '} {line}\n")
        self.out.flush()

    def _keys(self, blocks: list[numbered.Block]) -> None:
        self.ask_location = next((b.ask_location for b in blocks if b.ask_location), None)
        self.ask_contact = next((b.ask_contact for b in blocks if b.ask_contact), None)

    def print_replies(self, replies: list[Reply], prefix: str = "🤖") -> None:
        blocks = numbered.flatten(replies)
        self._write(blocks, prefix)
        # As on WeChat: a turn without options keeps the older ones, unless it asks for a
        # value or words, where a typed number must not press an older button.
        new = numbered.offer(blocks)
        if new is not None:
            self.offered = new
            self._keys(blocks)
            self._offer_changed = True

    def print_notification(self, replies: list[Reply]) -> None:
        """A message that arrived on its own (🔔): its options are numbered after the ones
        on screen, which keep their numbers, so a number typed for the screen the user is
        answering still means what it meant (as on WeChat and the web chat)."""
        blocks = numbered.flatten(replies, after=self.offered)
        self._write(blocks, "🔔")
        merged = numbered.merge(self.offered, blocks)
        if merged is not None:
            self.offered = {**merged, "prompt": self.offered.get("prompt", "")}
            self._offer_changed = True

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
        self.offered = await self.rt.stores.channels.load_options(resident_id)

    async def save_offer(self) -> None:
        """Store the offer on screen, when it changed (a turn or a notification)."""
        if not self._offer_changed:
            return
        self._offer_changed = False
        resident_id = await self._resident_id()
        if resident_id is None:  # no resident yet, or just deleted
            return
        await self.rt.stores.channels.save_options(resident_id, self.offered, int(time.time()))

    def to_incoming(self, line: str) -> Incoming | None:
        text = line.strip()
        if not text:
            return None
        base: dict[str, Any] = {"channel": CHANNEL, "user_id": self.user_id}
        if text.startswith("/location") or (self.ask_location and text == self.ask_location):
            parts = text.split()
            try:
                loc = Location(float(parts[1]), float(parts[2]))
            except (IndexError, ValueError):
                self.out.write("   (sandbox: sharing a sample location in Zhujing)\n")
                loc = SAMPLE_LOCATION
            return Incoming(kind=Kind.LOCATION, location=loc, **base)
        if text.startswith("/contact") or (self.ask_contact and text == self.ask_contact):
            phone = text.partition(" ")[2].strip() if text.startswith("/contact") else ""
            if not phone:
                self.out.write(f"   (sandbox: sharing the phone number {SAMPLE_PHONE})\n")
            return Incoming(kind=Kind.CONTACT, contact=Contact(phone or SAMPLE_PHONE), **base)
        incoming = numbered.text_to_incoming(CHANNEL, self.user_id, text, self.offered)
        if incoming.kind is Kind.BUTTON and incoming.message_ref is None:
            incoming = replace(incoming, message_ref="0")
        return incoming

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
