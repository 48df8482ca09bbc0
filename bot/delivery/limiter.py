"""Telegram's sending limits, shared by interactive replies and bulk delivery.

Telegram allows about 30 messages per second per bot and one per second per chat. PTB's
`AIORateLimiter` neither spaces messages to one private chat nor keeps a flood-control pause
on a broadcast from stalling replies, so the limits live here:

- Interactive replies (a resident pressed a button and waits) never wait: they take their
  slots in the shared one-second window at once.
- Bulk messages wait. No half-open second [t, t+1) ever holds more than `rate` bulk messages,
  and bulk never sends while the window, replies included, is full: a burst of replies is paid
  back by the broadcast within the second.
- While residents are chatting, bulk keeps a reserve free for them: as many slots per second
  as replies went out per second lately (at least 1, at most `max_reserve`), so the total stays
  within `rate` and the broadcast still uses everything the replies leave.
- Bulk messages are paced evenly (1/limit apart, not a burst at the top of each second).
- Bulk messages to one chat are at least `per_chat_interval` apart, also after a reply.
- Flood control (`RetryAfter`) on a bulk send pauses bulk only; replies keep going.

The clock and sleep are injectable so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

# A wait computed as "until that send leaves the window" may land a hair early in floating
# point; never sleep less than this, so a waiting loop always makes progress.
_MIN_SLEEP = 1e-4
_PRUNE_CHATS_EVERY = 4096
WINDOW = 1.0
# Replies per second are estimated over this many seconds; the reserve lasts as long.
REPLY_HORIZON = 3.0


def max_in_window(times: Iterable[float], window: float = WINDOW) -> int:
    """The most sends in any half-open window [t, t + window), up to float rounding: what
    Telegram would count against the limits the Limiter keeps (tests and benchmarks check it)."""
    ordered = sorted(times)
    best, j = 0, 0
    for i in range(len(ordered)):
        while ordered[i] - ordered[j] >= window - 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best


class Limiter:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        rate: float | None = None,
        per_chat_interval: float | None = None,
        max_reserve: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        rate = rate if rate is not None else (settings.global_rate if settings else 30.0)
        interval = per_chat_interval
        if interval is None:
            interval = settings.per_chat_interval if settings else 1.0
        if max_reserve is None:
            max_reserve = settings.interactive_reserve if settings else 10
        # rate <= 0 means no global limit (benchmarks, tests).
        self.capacity: float = math.inf if rate <= 0 else max(1, math.floor(rate))
        self.per_chat_interval = max(0.0, interval)
        self.max_reserve = max(0, max_reserve)
        self.clock = clock
        self.sleep = sleep
        self._all: deque[float] = deque()  # every message in the last second
        self._bulk: deque[float] = deque()  # bulk messages in the last second
        self._replies: deque[float] = deque()  # replies in the last REPLY_HORIZON seconds
        self._chat_next: dict[str, float] = {}
        self._paused_until = -math.inf
        self._next_bulk = -math.inf
        self._bulk_lock = asyncio.Lock()
        self._acquired = 0
        # Several workers on one bot (issue 14): the bot's rate is shared through these.
        self.shared: ClusterSlots | None = None
        # Telegram paid broadcasts: their own lane at up to 1000 msg/s (see `for_paid`).
        self.paid: Limiter | None = None

    # -- interactive ------------------------------------------------------------------------
    async def acquire_interactive(self, chat: str, n: int = 1) -> None:
        """Count `n` reply messages to `chat`; never waits (replies come first)."""
        now = self.clock()
        self._prune(now)
        self._replies.extend([now] * n)
        self._take(chat, n, now, self._all)
        if self.shared is not None:
            self.shared.note(n)

    # -- bulk -------------------------------------------------------------------------------
    def chat_wait(self, chat: str) -> float:
        """Seconds until `chat` may get its next bulk message."""
        return max(0.0, self._chat_next.get(chat, -math.inf) - self.clock())

    def reserve(self, now: float | None = None) -> int:
        """Slots per second bulk leaves free: the recent reply rate, while anyone chats."""
        now = self.clock() if now is None else now
        self._prune(now)
        if not self._replies or self.max_reserve == 0:
            return 0
        rate = len(self._replies) / REPLY_HORIZON
        return max(1, min(self.max_reserve, math.ceil(rate)))

    async def acquire_bulk(self, chat: str, n: int = 1) -> None:
        """Wait until `n` bulk messages may go to `chat`, then take their slots."""
        n = self._clamp(n)
        while True:
            wait = self.chat_wait(chat)
            if wait > 0:
                # Waiting for one chat must not hold the window from the others.
                await self.sleep(max(wait, _MIN_SLEEP))
                continue
            async with self._bulk_lock:
                while True:
                    now = self.clock()
                    if self._chat_next.get(chat, -math.inf) > now:
                        break  # a reply to this chat went out meanwhile: wait for it again
                    wait = self._bulk_wait(n, now)
                    if wait <= 0:
                        if self.shared is not None:
                            # The cluster's slot, then this process's books at send time.
                            await self.shared.take(n)
                            now = self.clock()
                        self._take(chat, n, now, self._all, self._bulk)
                        self._pace(n, now)
                        return
                    await self.sleep(max(wait, _MIN_SLEEP))

    def lane(self, paid: bool) -> Limiter:
        """The limiter a row goes through: the paid lane for a paid broadcast when there is
        one, this one otherwise."""
        return self.paid if paid and self.paid is not None else self

    def pause_bulk(self, seconds: float, chat: str | None = None) -> None:
        """Flood control: no bulk message for `seconds` (and none to `chat` until then)."""
        until = self.clock() + max(0.0, seconds)
        self._paused_until = max(self._paused_until, until)
        if chat is not None:
            self._chat_next[chat] = max(self._chat_next.get(chat, -math.inf), until)

    # -- internals --------------------------------------------------------------------------
    def _clamp(self, n: int) -> int:
        if self.capacity == math.inf:
            return max(1, n)
        return max(1, min(n, int(self.capacity)))

    def _prune(self, now: float) -> None:
        for window, span in ((self._all, WINDOW), (self._bulk, WINDOW)):
            while window and window[0] + span <= now:
                window.popleft()
        while self._replies and self._replies[0] + REPLY_HORIZON <= now:
            self._replies.popleft()

    @staticmethod
    def _until_room(window: deque[float], n: int, limit: float, now: float) -> float:
        """Seconds until `window` holds at most `limit - n` sends."""
        if limit == math.inf:
            return 0.0
        excess = len(window) + n - int(limit)
        if excess <= 0:
            return 0.0
        if excess > len(window):
            return WINDOW  # replies overdrew more than the window holds: wait it out
        return max(window[excess - 1] + WINDOW - now, _MIN_SLEEP)

    def _bulk_limit(self, now: float) -> float:
        return max(1, self.capacity - self.reserve(now))

    def _bulk_wait(self, n: int, now: float) -> float:
        if self._paused_until > now:
            return self._paused_until - now
        if self._next_bulk > now:
            return self._next_bulk - now
        self._prune(now)
        return max(
            self._until_room(self._bulk, n, self._bulk_limit(now), now),
            self._until_room(self._all, n, self.capacity, now),
        )

    def _pace(self, n: int, now: float) -> None:
        limit = self._bulk_limit(now)
        if limit == math.inf:
            return
        # Scheduled, not "now + pace": a send that woke a little late does not push back
        # every later one, so the broadcast keeps the full rate.
        pace = n / limit
        slot = self._next_bulk if now - self._next_bulk < pace else now
        self._next_bulk = slot + pace

    def _take(self, chat: str, n: int, now: float, *windows: deque[float]) -> None:
        if self.capacity != math.inf:
            for window in windows:
                window.extend([now] * n)
        if self.per_chat_interval > 0:
            self._chat_next[chat] = max(
                self._chat_next.get(chat, -math.inf), now + self.per_chat_interval
            )
        self._acquired += 1
        if self._acquired % _PRUNE_CHATS_EVERY == 0:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}


class SlotSource(Protocol):
    """Where a cluster's shared send slots come from (bot.storage.cluster.PgCluster)."""

    async def reserve(self, lane: str, count: int, pace: float, now: float) -> float: ...


# Share of the per-bot rate the cluster plans for: a send lands a little after its slot, and
# this keeps those late sends from crowding 31 into one second.
SHARED_MARGIN = 0.985
SHARED_BLOCK_S = 0.01  # a worker reserves this many seconds' worth of slots at once
SOURCE_RETRY_S = 0.5


class ClusterSlots:
    """Send slots of one lane (bulk, or paid broadcasts) shared by every worker of a cluster.

    Slots are consecutive times `pace` apart, handed out by the database (one row per lane,
    `next_at` moved forward in one statement), so all workers together never plan more than
    `rate * SHARED_MARGIN` sends per second. A worker sends in a slot or not at all: a slot it
    reaches later than `tolerance` is dropped, not spent late."""

    def __init__(
        self,
        source: SlotSource,
        lane: str,
        rate: float,
        *,
        margin: float = SHARED_MARGIN,
        tolerance: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.source = source
        self.lane = lane
        self.pace = 1.0 / (rate * margin)
        self.block = max(1, int(rate * SHARED_BLOCK_S))
        # Lateness a slot absorbs: within the slack the margin leaves. Slots are 1/(rate*m)
        # apart, so sends in a second come from slots in (1 + tolerance) seconds: at most
        # rate*m*(1 + (1 - m)/m) = rate of them (less 10% for float rounding).
        self.tolerance = 0.9 * (1 - margin) / margin if tolerance is None else tolerance
        self.clock = clock
        self.sleep = sleep
        self._slots: deque[float] = deque()
        self._lock = asyncio.Lock()
        self.dropped = 0  # slots reached too late (a busy machine): counted for benchmarks
        self._notes: set[asyncio.Task[None]] = set()

    async def take(self, n: int = 1) -> None:
        """Wait for `n` slots of this lane, one after the other; return at the last one."""
        async with self._lock:
            while n > 0:
                if not self._slots:
                    await self._refill(self.block)
                    continue
                slot = self._slots[0]
                now = self.clock()
                if slot > now:
                    await self.sleep(max(slot - now, _MIN_SLEEP))
                    continue
                self._slots.popleft()
                if now - slot > self.tolerance:
                    self.dropped += 1
                    continue
                n -= 1

    def note(self, n: int = 1) -> None:
        """Replies sent at once (interactive, never waiting) still use the bot's rate: move
        the cluster's next slot on by `n` in the background."""
        task = asyncio.get_running_loop().create_task(self._note(n))
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)

    async def _note(self, n: int) -> None:
        try:
            await self.source.reserve(self.lane, n, self.pace, self.clock())
        except Exception as exc:  # a reply already went; the bucket is advice here
            log.info("could not count a reply against the shared rate: %s", type(exc).__name__)

    async def _refill(self, count: int) -> None:
        while True:
            try:
                first = await self.source.reserve(self.lane, count, self.pace, self.clock())
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("shared send slots unavailable (%s); retrying", type(exc).__name__)
                await self.sleep(SOURCE_RETRY_S)
        self._slots.extend(first + i * self.pace for i in range(count))
