"""The dispatcher: sends due outbox rows and records what happened to each.

Three kinds of task share the work:

- the feeder claims due rows (pending -> sending, in one transaction) while fewer than
  `delivery_window` rows are claimed and unrecorded, and otherwise sleeps until the next row
  falls due (at most `idle_poll` seconds, so rows planned by another process are seen within a
  second; `poke()` wakes it at once);
- workers (`delivery_concurrency` of them) each take one resident's claimed rows, render them
  in the resident's language, wait for the limiter and send;
- the recorder writes outcomes in batches and only then frees their place in the window.

So at any moment at most `delivery_window` rows are `sending`: after a crash those are put
back to pending and sent again, which is the only way a message can go out twice. A graceful
stop records what was sent and releases the rest, so a clean restart repeats nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter, deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.core import Reply
from bot.delivery.limiter import Limiter
from bot.delivery.quiet import quiet_hours_for
from bot.delivery.sender import Blocked, Deferred, Permanent, RetryLater, Transient
from bot.domain.outbox import CANCELLED, EXPIRED, FAILED, PENDING, SENT, SKIPPED, Claimed, Result
from bot.i18n import negotiate
from bot.storage.cluster import ClusterStore
from bot.storage.outbox import DeliveryStore, OutboxStore
from bot.storage.residents import ResidentStore

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

BACKOFF_BASE = 10.0  # seconds before the first retry of a network or server error
BACKOFF_CAP = 3600.0
DEFERRED_RECHECK = 86400  # a Deferred send without a retry time is looked at again daily
NO_SENDER_RECHECK = 3600
RECORD_BATCH = 50
RECORD_EVERY = 0.1  # seconds: outcomes wait at most this long to be written
CHAT_BURST = 3  # rows of one resident sent in a row; the rest wait for a later pass
STOP_GRACE = 10.0
BLOCK_MEMORY_S = 30.0  # longer than any claimed row waits in this process
GROUP_RECHECK_S = 0.5  # how often claimed rows look for cancels made by other processes
GROUP_MEMORY_S = 7 * 86400  # cancelled groups older than this no longer have live rows
# Several workers (PostgreSQL): how often a worker looks for rows a dead worker had claimed,
# and how long it waits when every due row belongs to a resident another worker is serving.
RECOVER_EVERY_S = 2.0
BUSY_RESIDENTS_WAIT_S = 0.2
PAID_NOTE = "sent as a paid broadcast"
PAID_CHUNK = 50  # paid messages a worker counts against the budget at once


def backoff(attempt: int, rng: random.Random) -> float:
    """Seconds before retry number `attempt` (1-based): exponential, capped, jittered so
    that rows failed together do not retry together."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempt - 1))
    return float(base * rng.uniform(0.5, 1.5))


class Dispatcher:
    def __init__(
        self,
        rt: Runtime,
        store: DeliveryStore,
        outbox: OutboxStore,
        residents: ResidentStore,
        limiter: Limiter,
        cluster: ClusterStore | None = None,
    ) -> None:
        """`rt` is the process this runs in: its senders, renderers, catalogs and tasks."""
        self.rt = rt
        settings = rt.settings
        self.store = store
        self.outbox = outbox
        self.residents = residents
        self.limiter = limiter
        self.cluster = cluster
        self._paid_exhausted_day: str | None = None
        self._paid_day: str | None = None
        self._paid_allowance = 0
        self._recovered_at = -math.inf
        self.window = settings.delivery_window
        self.concurrency = settings.delivery_concurrency
        self.max_attempts = settings.max_attempts
        self.idle_poll = 1.0
        self.rng = random.Random()
        self.stats: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._record_now = asyncio.Event()
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._active: dict[int, deque[Claimed]] = {}
        self._results: list[Result] = []
        self._in_flight = 0
        # resident id -> loop time of a 403: skips their other rows already claimed with stale
        # resident data; after BLOCK_MEMORY_S the database (unreachable_at) decides, so a
        # resident who unblocks the bot and writes again gets messages again.
        self._blocked: dict[int, float] = {}
        self.block_memory = BLOCK_MEMORY_S
        self._cancelled_groups: set[str] = set()
        self._groups_checked = -math.inf
        self._tasks: list[asyncio.Task[None]] = []
        self._notes: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._recorder_done = False
        self.running = False

    async def prune(self, before: datetime) -> int:
        """Forget finished rows last touched before `before` (failed ones stay for operators)."""
        return await self.store.prune(int(before.timestamp()))

    # -- public ---------------------------------------------------------------------------
    def can_send(self, channel: str) -> bool:
        return channel in self.rt.senders

    async def send_now(
        self, channel: str, user_id: str, replies: list[Reply], edit_ref: str | None = None
    ) -> bool:
        """Send (or edit) a message outside the outbox, e.g. a broadcast's progress message:
        through the same limiter as every other send, as an interactive message. False if
        this process has no sender for the channel; a failure raises its DeliveryError."""
        sender = self.rt.senders.get(channel)
        if sender is None:
            return False
        await self.limiter.acquire_interactive(user_id)
        await sender.send(user_id, replies, edit_ref=edit_ref)
        return True

    def poke(self) -> None:
        """Wake the dispatcher now (call after planning a row due soon); on PostgreSQL every
        worker of the cluster, through NOTIFY."""
        self._wake.set()
        cluster = self.cluster
        if cluster is not None and cluster.shared:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            task = loop.create_task(self._notify(cluster))
            self._notes.add(task)
            task.add_done_callback(self._notes.discard)

    async def _notify(self, cluster: ClusterStore) -> None:
        try:
            await cluster.notify()
        except Exception as exc:  # the others still poll within idle_poll
            log.info("NOTIFY failed: %s", type(exc).__name__)

    def wake(self) -> None:
        """Another worker planned rows (LISTEN): look now."""
        self._wake.set()

    def _recently_blocked(self, resident_id: int) -> bool:
        since = self._blocked.get(resident_id)
        if since is None:
            return False
        if asyncio.get_running_loop().time() - since < self.block_memory:
            return True
        del self._blocked[resident_id]
        return False

    def note_cancelled(self, group_key: str) -> None:
        """A group was cancelled in this process: drop its claimed rows at once."""
        self._cancelled_groups.add(group_key)

    async def _group_cancelled(self, group_key: str) -> bool:
        # Re-read at most twice a second: cancels from other processes are seen within 0.5 s
        # without a query per message.
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._groups_checked >= GROUP_RECHECK_S:
            self._groups_checked = loop_now
            since = int(self.rt.now().timestamp()) - GROUP_MEMORY_S
            self._cancelled_groups |= await self.outbox.cancelled_groups(since)
        return group_key in self._cancelled_groups

    @property
    def channels(self) -> list[str]:
        """The channels this process can send to; only their rows are claimed."""
        return sorted(self.rt.senders)

    async def start(self) -> None:
        """Catch up with what happened while the bot was down, then run in the background."""
        if self.running:
            return
        if not self.rt.senders:
            log.warning("no channel can send in this process: delivery not started")
            return
        await self.catch_up()
        self.running = True
        self._stopping = False
        self._recorder_done = False
        self._tasks = [self.rt.spawn(self._feed(), "delivery-feeder")]
        self._tasks.append(self.rt.spawn(self._recorder(), "delivery-recorder"))
        self._tasks += [
            self.rt.spawn(self._work(), f"delivery-worker-{i}") for i in range(self.concurrency)
        ]
        self.rt.on_stop(self.stop)
        log.info(
            "delivery running for %s (window %d, %d workers)",
            ",".join(self.channels),
            self.window,
            self.concurrency,
        )

    async def catch_up(self) -> None:
        """Rows a crash left `sending` go back to pending; overdue rows past expiry expire."""
        now = self._now()
        # Not running yet: nothing of this process is in flight, so its own claims count too.
        recovered = await self.store.recover(now, self.channels, own=True)
        expired = await self.store.expire_overdue(now)
        if recovered or expired:
            log.warning(
                "catch-up: %d interrupted row(s) back to pending, %d expired", recovered, expired
            )

    async def stop(self) -> None:
        """Stop claiming, let workers finish the row in hand, record, release the rest."""
        if not self.running:
            return
        self._stopping = True
        self._wake.set()
        self._space.set()
        feeder, recorder, *workers = self._tasks
        await self._finish([feeder])
        for _ in workers:
            self._queue.put_nowait(0)  # a resident id of 0 never exists: it means "stop"
        await self._finish(workers)
        self._recorder_done = True
        self._record_now.set()
        await self._finish([recorder])
        for rows in self._active.values():
            self._results.extend(Result(c.row.id, PENDING) for c in rows)
        self._active.clear()
        await self._flush()
        self.running = False

    @staticmethod
    async def _finish(tasks: list[asyncio.Task[None]]) -> None:
        _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for t in pending:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> int:
        """Send everything due now in this task, without the background loop; return the
        number of rows handled. For tests and one-shot tools."""
        handled = 0
        while True:
            claimed = await self.store.claim(self._now(), self.window, self.channels)
            if not claimed:
                return handled
            self._in_flight += len(claimed)
            by_resident: dict[int, deque[Claimed]] = {}
            for c in claimed:
                by_resident.setdefault(c.resident.id, deque()).append(c)
            for rows in by_resident.values():
                await self._send_group(rows)
            handled += len(claimed)
            await self._flush()

    # -- the loops ------------------------------------------------------------------------
    async def _feed(self) -> None:
        low_water = max(1, self.window // 4)
        while not self._stopping:
            await self._recover_dead()
            room = self.window - self._in_flight
            if room < low_water:
                self._space.clear()
                await self._space.wait()
                continue
            try:
                claimed = await self.store.claim(self._now(), room, self.channels)
            except Exception:
                log.exception("claiming due rows failed; retrying")
                await asyncio.sleep(self.idle_poll)
                continue
            if claimed:
                self._in_flight += len(claimed)
                self._enqueue(claimed)
                continue
            await self._idle()

    async def _recover_dead(self) -> None:
        """With several workers: take back, now and then, what a dead worker had claimed."""
        if self.cluster is None or not self.cluster.shared:
            return
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._recovered_at < RECOVER_EVERY_S:
            return
        self._recovered_at = loop_now
        try:
            back = await self.store.recover(self._now(), self.channels)
        except Exception as exc:
            log.warning("looking for a dead worker's rows failed: %s", type(exc).__name__)
            return
        if back:
            log.warning("%d row(s) of a stopped worker back to pending", back)

    async def _idle(self) -> None:
        """Sleep until the next row is due, a poke, or `idle_poll` seconds."""
        self._wake.clear()
        try:
            next_due = await self.store.next_due(self.channels)
        except Exception:
            log.exception("reading the next due time failed; retrying")
            next_due = None
        timeout = self.idle_poll
        if next_due is not None:
            ahead = next_due - self.rt.now().timestamp()
            # Due now but not claimable: its resident is in another worker's hands.
            low = (
                BUSY_RESIDENTS_WAIT_S if self.cluster is not None and self.cluster.shared else 0.01
            )
            timeout = min(timeout, max(low, ahead))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    def _enqueue(self, claimed: list[Claimed]) -> None:
        for c in claimed:
            rows = self._active.get(c.resident.id)
            if rows is None:
                self._active[c.resident.id] = deque([c])
                self._queue.put_nowait(c.resident.id)
            else:
                rows.append(c)  # the worker on this resident picks it up, in order

    async def _work(self) -> None:
        while True:
            resident_id = await self._queue.get()
            if resident_id == 0:
                return
            rows = self._active[resident_id]
            try:
                await self._send_group(rows)
            finally:
                # No await between the last check of `rows` and this: the feeder cannot
                # append to a group that is no longer active.
                self._active.pop(resident_id, None)

    async def _send_group(self, rows: deque[Claimed]) -> None:
        sent = 0
        while rows:
            item = rows.popleft()
            if self._stopping:
                self._add(Result(item.row.id, PENDING))
                continue
            if sent >= CHAT_BURST and self.limiter.per_chat_interval > 0:
                # One resident with many due rows must not hold a worker (and the window)
                # for many seconds: the rest go back, one per-chat interval apart.
                gap = self.limiter.per_chat_interval
                due = self._later(math.ceil(gap * (sent - CHAT_BURST + 1)))
                self._add(Result(item.row.id, PENDING, due_at=due))
                sent += 1
                continue
            try:
                result = await self._deliver(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("delivering outbox row %s failed unexpectedly", item.row.id)
                result = self._retry(item, f"internal error: {type(exc).__name__}")
            if result.status == SENT:
                sent += 1
            self._add(result)

    async def _recorder(self) -> None:
        # Never cancelled while writing (stop() asks it to finish), so no outcome is dropped.
        while not self._recorder_done:
            try:
                await asyncio.wait_for(self._record_now.wait(), RECORD_EVERY)
            except TimeoutError:
                pass
            self._record_now.clear()
            await self._flush()

    def _add(self, result: Result) -> None:
        self._results.append(result)
        self.stats[result.status] += 1
        if len(self._results) >= RECORD_BATCH:
            self._record_now.set()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results, []
        try:
            await self.store.record(batch, self._now())
        except Exception:
            log.exception("recording %d delivery outcomes failed; will retry", len(batch))
            self._results = batch + self._results
            return
        except BaseException:
            self._results = batch + self._results  # cancelled: keep them for the next flush
            raise
        self._in_flight -= len(batch)
        self._space.set()

    # -- one row --------------------------------------------------------------------------
    async def _deliver(self, item: Claimed) -> Result:
        row, resident = item.row, item.resident
        now = self.rt.now()
        if row.expires_at is not None and row.expires_at <= now:
            return Result(row.id, EXPIRED, error="expired before it could be sent")
        if resident.unreachable_at is not None or self._recently_blocked(resident.id):
            return Result(row.id, SKIPPED, error="resident unreachable (blocked the bot)")
        if not row.urgent:
            resume = quiet_hours_for(resident, self.rt.settings).resume_at(now)
            if resume is not None:
                return Result(row.id, PENDING, due_at=resume, error="quiet hours")
        sender = self.rt.senders.get(resident.channel)
        if sender is None:
            log.info("no sender for channel %s: row %s waits", resident.channel, row.id)
            return Result(
                row.id,
                PENDING,
                due_at=now + timedelta(seconds=NO_SENDER_RECHECK),
                error=f"no sender for channel {resident.channel} in this process",
            )
        render = self.rt.registry.notifications.get(row.kind)
        if render is None:
            return Result(
                row.id, FAILED, attempt=True, error=f"unknown notification kind {row.kind!r}"
            )
        settings = self.rt.settings
        translator = self.rt.catalogs.get(negotiate(resident.locale, None, settings.default_locale))
        try:
            replies = await render(self.rt, translator, resident, row)
        except Exception as exc:
            log.exception("rendering outbox row %s (kind %s) failed", row.id, row.kind)
            return Result(
                row.id, FAILED, attempt=True, error=f"render failed: {type(exc).__name__}"
            )
        if not replies:
            return Result(row.id, SKIPPED, error="nothing to send any more")
        chat = resident.channel_user_id
        paid = row.paid and await self._pay(len(replies))
        if row.paid and not paid:
            row = replace(row, paid=False)  # the sender adds allow_paid_broadcast by this flag
        await self.limiter.lane(paid).acquire_bulk(chat, n=len(replies))
        if row.group_key is not None and await self._group_cancelled(row.group_key):
            # Cancelled while this row waited for its rate-limit slot: nothing more goes out.
            return Result(row.id, CANCELLED, error="group cancelled")
        try:
            await sender.send(chat, replies, notification=row)
        except Blocked as exc:
            self._blocked[resident.id] = asyncio.get_running_loop().time()
            await self.residents.mark_unreachable(resident.id)
            log.info("resident %s is unreachable; their rows are skipped", resident.id)
            return Result(row.id, SKIPPED, attempt=True, error=f"blocked: {exc}"[:200])
        except RetryLater as exc:
            self.limiter.pause_bulk(exc.seconds, chat)
            log.warning("flood control: bulk sends paused for %.1fs", exc.seconds)
            return Result(
                row.id,
                PENDING,
                due_at=now + timedelta(seconds=math.ceil(exc.seconds)),
                error=f"flood control: retry after {exc.seconds:g}s",
            )
        except Deferred as exc:
            retry_at = (
                datetime.fromtimestamp(int(exc.retry_at), UTC)
                if exc.retry_at
                else now + timedelta(seconds=DEFERRED_RECHECK)
            )
            return Result(row.id, PENDING, due_at=retry_at, error=f"deferred: {exc.reason}"[:200])
        except Permanent as exc:
            return Result(row.id, FAILED, attempt=True, error=f"rejected: {exc}"[:200])
        except Transient as exc:
            return self._retry(item, f"network or server error: {exc}"[:200])
        return Result(row.id, SENT, attempt=True, error=PAID_NOTE if paid else None)

    async def _pay(self, messages: int) -> bool:
        """Whether these messages go out as a paid broadcast: the deployment turned them on
        and today's budget covers them (counted once, cluster-wide, before sending)."""
        settings = self.rt.settings
        if not settings.paid_broadcast or self.cluster is None:
            return False
        day = self.rt.now().astimezone(settings.tz).date().isoformat()
        if self._paid_exhausted_day == day:
            return False
        if self._paid_day != day:
            self._paid_day, self._paid_allowance = day, 0
        if self._paid_allowance >= messages:
            self._paid_allowance -= messages
            return True
        # Counted against the budget in chunks, not per message (one shared row for every
        # worker): a worker's unused chunk is counted as spent, so the budget is never
        # exceeded, at worst under-used by a chunk per worker.
        budget = settings.paid_budget_messages
        for ask in (max(messages, PAID_CHUNK), messages):
            if await self.cluster.spend_paid(day, ask, budget):
                self._paid_allowance += ask - messages
                return True
        self._paid_exhausted_day = day
        log.warning(
            "paid broadcast budget of %d messages spent for %s: the rest goes at the normal rate",
            settings.paid_budget_messages,
            day,
        )
        return False

    def _retry(self, item: Claimed, error: str) -> Result:
        attempt = item.row.attempts + 1
        if attempt >= self.max_attempts:
            return Result(item.row.id, FAILED, attempt=True, error=error)
        due = self._later(math.ceil(backoff(attempt, self.rng)))
        return Result(item.row.id, PENDING, due_at=due, attempt=True, error=error)

    def _now(self) -> int:
        return int(self.rt.now().timestamp())

    def _later(self, seconds: int) -> datetime:
        """Whole seconds from now, as an aware time (what a row's due time is)."""
        return self.rt.now().replace(microsecond=0) + timedelta(seconds=seconds)
