"""The progress loop of doctors' broadcasts: keeps each progress message current and plans
the final report.

The report is an outbox row (kind REPORT_KIND, dedupe key `bcr:<id>`) planned in the same
transaction that writes the final counts, so a crash can neither lose it nor send it twice,
and it is delivered (and retried) like any notification. Progress edits and the report go
only to the account the doctor is linked to now: a revoked doctor's broadcasts are cancelled,
and an account that was unlinked hears nothing more.

The doctor's progress message is edited at most once per EDIT_EVERY seconds per chat: Telegram
allows about one message per second in a private chat and edits count, so 5 s leaves room for
the doctor's own replies in the same chat (and interactive edits there reset the clock).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core import Reply
from bot.delivery.sender import DeliveryError
from bot.domain.broadcasts import Broadcast, Progress
from bot.domain.doctors import DoctorLink
from bot.domain.outbox import Planned
from bot.storage.broadcasts import BroadcastStore, report_key
from bot.storage.doctors import DoctorStore

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

EDIT_EVERY = 5.0
TICK = 1.0
REPORT_KIND = "broadcast_report"
REPORT_TTL = timedelta(days=7)

ProgressRender = Callable[["Runtime", Broadcast, Progress, bool], Awaitable[Reply | None]]


class ProgressLoop:
    """Keeps each unfinished broadcast's progress message current and plans its final report.

    Every TICK it counts each unfinished broadcast's outbox rows; the doctor's message is
    edited when the numbers changed and EDIT_EVERY seconds passed since the last edit in that
    chat. When no row is pending or being sent any more, the message shows the final state,
    and the final counts and the report (a new message, through the outbox) are written.
    An open broadcast whose doctor has no linked account any more is cancelled.
    """

    def __init__(
        self, rt: Runtime, store: BroadcastStore, links: DoctorStore, render: ProgressRender
    ) -> None:
        self.rt = rt
        self.store = store
        self.links = links
        self.render = render
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
            link = await self.links.link_for_doctor(b.doctor_id)
            if link is None and b.status in ("scheduled", "sending"):
                # Unlinked without a revoke (the account took another doctor's code), or a
                # revoke in a process that could not cancel: the doctor's words stop here.

                await self.rt.services.broadcasts.stop_all(b.doctor_id, "unlinked")
                b = await self.store.get(b.id) or b
            if b.status == "scheduled":
                if b.scheduled_at.timestamp() > now:
                    continue
                await self.store.mark_sending(b.id)
                b = await self.store.get(b.id) or b
            p = await self.store.progress(b.id, now)
            if p.open == 0:
                await self._finish(b, p, now, link)
            elif self._shown.get(b.id) != p:
                await self._edit(b, p, final=False, link=link)

    async def _finish(self, b: Broadcast, p: Progress, now: int, link: DoctorLink | None) -> None:
        if not await self._edit(b, p, final=True, link=link):
            return  # the last edit waits for its turn; finish on a later tick
        status = "cancelled" if b.status == "cancelled" else "done"
        report = None
        if link is not None:
            at = self.rt.now()
            report = Planned(
                resident_id=link.resident_id,
                kind=REPORT_KIND,
                key="report",
                due_at=at,
                dedupe_key=report_key(b.id),
                params={"b": b.id},
                expires_at=at + REPORT_TTL,
                urgent=b.urgent,  # an urgent broadcast's report may come in quiet hours too
            )
        finished = await self.store.finish(b.id, p, now, status, report)
        self._shown.pop(b.id, None)
        if not finished:
            return  # another process finished it first
        log.info("broadcast %s finished: %s sent of %s", b.id, p.sent, p.total)
        if report is not None:
            self.rt.delivery.dispatcher.poke()

    async def _edit(self, b: Broadcast, p: Progress, final: bool, link: DoctorLink | None) -> bool:
        """Edit the progress message if the chat's edit budget allows; True when done (or
        when there is nothing to edit: no message, or the account is no longer the doctor's)."""
        chat = (b.progress_channel, b.progress_user)
        if link is None or (link.channel, link.channel_user_id) != chat:
            return True
        if not b.progress_ref or not self.rt.delivery.dispatcher.can_send(b.progress_channel):
            return True
        if time.monotonic() - self._last_edit.get(chat, -1e9) < self.edit_every:
            return False
        reply = await self.render(self.rt, b, p, final)
        self._shown[b.id] = p
        if reply is not None:
            await self._send(b, reply)
            self.edits += 1
        return True

    async def _send(self, b: Broadcast, reply: Reply) -> None:
        self._last_edit[(b.progress_channel, b.progress_user)] = time.monotonic()
        try:
            await self.rt.delivery.dispatcher.send_now(
                b.progress_channel, b.progress_user, [reply], edit_ref=b.progress_ref
            )
        except DeliveryError as exc:
            log.info("progress message of broadcast %s not updated: %s", b.id, type(exc).__name__)
