"""The progress loop of doctors' broadcasts: keeps each progress message current and writes
the final report.

The doctor's progress message is edited at most once per EDIT_EVERY seconds per chat: Telegram
allows about one message per second in a private chat and edits count, so 5 s leaves room for
the doctor's own replies in the same chat (and interactive edits there reset the clock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.channels.base import DeliveryError
from bot.core import Reply
from bot.services.delivery.limiter import Limiter
from bot.storage.broadcasts import Broadcast, BroadcastStore, Progress

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

EDIT_EVERY = 5.0
TICK = 1.0

ProgressRender = Callable[["Runtime", Broadcast, Progress, bool], Awaitable[Reply | None]]
ReportRender = Callable[["Runtime", Broadcast, Progress], Awaitable[Reply | None]]


class ProgressLoop:
    """Keeps each unfinished broadcast's progress message current and writes its final report.

    Every TICK it counts each unfinished broadcast's outbox rows; the doctor's message is
    edited when the numbers changed and EDIT_EVERY seconds passed since the last edit in that
    chat. When no row is pending or being sent any more, the final counts are written to the
    broadcast, the message shows the final state, and a short report is sent as a new message.
    """

    def __init__(self, rt: Runtime, render: ProgressRender, report: ReportRender) -> None:
        self.rt = rt
        self.store = rt.service(BroadcastStore)
        self.render = render
        self.report = report
        self.edits = 0
        self.edit_every = EDIT_EVERY
        self._last_edit: dict[tuple[str, str], float] = {}
        self._shown: dict[int, Progress] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("broadcast progress tick failed")
            await asyncio.sleep(TICK)

    def touch(self, channel: str, user: str) -> None:
        """An interactive reply just edited a message in this chat (counts for the limit)."""
        self._last_edit[(channel, user)] = time.monotonic()

    async def tick(self) -> None:
        now = int(self.rt.now().timestamp())
        for b in await self.store.unfinished():
            if b.status == "scheduled":
                if b.scheduled_at > now:
                    continue
                await self.store.mark_sending(b.id)
                b = await self.store.get(b.id) or b
            p = await self.store.progress(b.id, now)
            if p.open == 0:
                await self._finish(b, p, now)
            elif self._shown.get(b.id) != p:
                await self._edit(b, p, final=False)

    async def _finish(self, b: Broadcast, p: Progress, now: int) -> None:
        if not await self._edit(b, p, final=True):
            return  # the last edit waits for its turn; finish on a later tick
        status = "cancelled" if b.status == "cancelled" else "done"
        await self.store.finish(b.id, p, now, status)
        self._shown.pop(b.id, None)
        log.info("broadcast %s finished: %s sent of %s", b.id, p.sent, p.total)
        reply = await self.report(self.rt, b, p)
        if reply is not None:
            await self._send(b, reply, edit=False)

    async def _edit(self, b: Broadcast, p: Progress, final: bool) -> bool:
        """Edit the progress message if the chat's edit budget allows; True when done (or
        when there is nothing to edit)."""
        chat = (b.progress_channel, b.progress_user)
        if not b.progress_ref or self.rt.senders.get(b.progress_channel) is None:
            return True
        if time.monotonic() - self._last_edit.get(chat, -1e9) < self.edit_every:
            return False
        reply = await self.render(self.rt, b, p, final)
        self._shown[b.id] = p
        if reply is not None:
            await self._send(b, reply, edit=True)
            self.edits += 1
        return True

    async def _send(self, b: Broadcast, reply: Reply, edit: bool) -> None:
        sender = self.rt.senders.get(b.progress_channel)
        if sender is None:
            return
        self._last_edit[(b.progress_channel, b.progress_user)] = time.monotonic()
        await self.rt.service(Limiter).acquire_interactive(b.progress_user)
        try:
            await sender.send(  # type: ignore[call-arg]
                b.progress_user, [reply], edit_ref=b.progress_ref if edit else None
            )
        except DeliveryError as exc:
            log.info("progress message of broadcast %s not updated: %s", b.id, type(exc).__name__)
