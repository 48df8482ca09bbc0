"""Tier 1/3: the outbox and the dispatcher on a real SQLite file.

Sends go through the real Telegram sender and python-telegram-bot's Bot over the fake Bot API
transport, so flood control, blocked chats and network errors arrive exactly as PTB raises
them. Time is the test clock: retries and quiet hours are checked by moving it, never by waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.app import build_registry
from bot.channels.telegram import CHANNEL, TelegramSender, build_application
from bot.config import Settings
from bot.core import Reply
from bot.delivery.limiter import Limiter
from bot.domain.outbox import EXPIRED, FAILED, PENDING, SENDING, SENT, SKIPPED, OutboxRow, Planned
from bot.domain.residents import Resident
from bot.router import Registry
from bot.runtime import Runtime
from tests.conftest import Clock
from tests.fakes.botapi import FakeBotAPI, FakeRequest

SHANGHAI = "Asia/Shanghai"


class VirtualTime:
    """A monotonic clock that sleeping moves forward at once."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def _explode(rt: Runtime, t: object, resident: Resident, row: object) -> list[Reply]:
    raise RuntimeError("a bug in a renderer")


async def _greeting(rt: Runtime, t: object, resident: Resident, row: object) -> list[Reply]:
    return [Reply(text=t.gettext("Language saved."))]  # type: ignore[attr-defined]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No global or per-chat limit here: the limiter has its own tests in virtual time.
    return Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:ABC",
            "DOORSTEP_GLOBAL_RATE": "0",
            "DOORSTEP_PER_CHAT_INTERVAL": "0",
            "DOORSTEP_MAX_ATTEMPTS": "4",
        },
        db_path=tmp_path / "delivery.sqlite3",
    )


@pytest.fixture
async def rt(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    registry: Registry = build_registry()
    registry.notification("test.explode", _explode)
    registry.notification("test.greeting", _greeting)
    runtime = Runtime(settings, clock=clock, registry=registry)
    await runtime.start()
    # The limiter's own time is virtual: a flood-control pause passes without waiting.
    vt = VirtualTime()
    runtime.delivery.dispatcher.limiter = Limiter(runtime.settings, clock=vt.clock, sleep=vt.sleep)
    yield runtime
    await runtime.stop()


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI("123:ABC")


@pytest.fixture
async def app(rt: Runtime, api: FakeBotAPI) -> AsyncIterator[Application]:
    application = build_application(rt, request=FakeRequest(api))
    async with application:
        rt.senders[CHANNEL] = TelegramSender(application.bot)
        yield application


async def resident(rt: Runtime, user_id: int, channel: str = CHANNEL, **changes: object) -> int:
    store = rt.stores.residents
    r = await store.create(channel, str(user_id))
    if changes:
        r = await store.update(r, **changes)
    return r.id


def text_row(rid: int, key: str, due: datetime, text: str | None = None, **kw: object) -> Planned:
    return Planned(
        resident_id=rid,
        kind="text",
        key="text",
        due_at=due,
        dedupe_key=key,
        params={"text": text if text is not None else f"message {key}"},
        **kw,  # type: ignore[arg-type]
    )


async def status_of(rt: Runtime, key: str) -> tuple[str, int, str | None, int]:
    row = await rt.stores.outbox.by_dedupe(key)
    assert row is not None
    return row.status, row.attempts, row.last_error, int(row.due_at.timestamp())


def at_shanghai(clock: Clock, hh: int, mm: int, day: int = 24) -> datetime:
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 11, day, hh, mm, tzinfo=ZoneInfo(SHANGHAI))
    clock.set(moment.astimezone(UTC))
    return moment


# -- the outbox ----------------------------------------------------------------------------


async def test_planning_twice_creates_one_row(rt: Runtime, clock: Clock) -> None:
    rid = await resident(rt, 5001)
    outbox = rt.stores.outbox
    row = text_row(rid, "tip:5001:2026-11-24", clock())
    assert await outbox.plan([row], clock()) == 1
    assert await outbox.plan([row, replace(row, params={"text": "changed"})], clock()) == 0
    rows = await outbox.for_resident(rid)
    assert [(r.dedupe_key, r.params["text"]) for r in rows] == [
        ("tip:5001:2026-11-24", "message tip:5001:2026-11-24")
    ]


async def test_claim_takes_due_rows_in_order_and_record_finishes_them(
    rt: Runtime, clock: Clock
) -> None:
    a, b = await resident(rt, 5001), await resident(rt, 5002)
    now = clock()
    await rt.stores.outbox.plan(
        [
            text_row(a, "late", now - timedelta(minutes=5)),
            text_row(b, "now", now),
            text_row(a, "future", now + timedelta(seconds=1)),
        ],
        now,
    )
    store = rt.stores.delivery
    ts = int(now.timestamp())
    claimed = await store.claim(ts, 10, [CHANNEL])
    assert [c.row.dedupe_key for c in claimed] == ["late", "now"]
    assert claimed[0].resident.channel_user_id == "5001"
    assert (await status_of(rt, "late"))[0] == SENDING
    assert await store.claim(ts, 10, [CHANNEL]) == []  # claimed rows are not claimed again
    assert await store.next_due([CHANNEL]) == ts + 1

    from bot.domain.outbox import Result

    await store.record(
        [Result(claimed[0].row.id, SENT, attempt=True), Result(claimed[1].row.id, PENDING)], ts
    )
    assert (await status_of(rt, "late"))[:2] == (SENT, 1)
    assert (await status_of(rt, "now"))[:2] == (PENDING, 0)


async def test_claim_leaves_rows_of_channels_this_process_cannot_send(
    rt: Runtime, clock: Clock
) -> None:
    tg, console = await resident(rt, 5001), await resident(rt, 1, channel="console")
    now = clock()
    await rt.stores.outbox.plan(
        [text_row(console, "c", now - timedelta(hours=1)), text_row(tg, "t", now)], now
    )
    store = rt.stores.delivery
    claimed = await store.claim(int(now.timestamp()), 10, [CHANNEL])
    assert [c.row.dedupe_key for c in claimed] == ["t"]
    assert (await status_of(rt, "c"))[0] == PENDING
    assert await store.next_due([CHANNEL]) is None


async def test_catch_up_resends_interrupted_rows_and_expires_stale_ones(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    rid = await resident(rt, 5001)
    start = clock()
    outbox = rt.stores.outbox
    await outbox.plan(
        [
            # due yesterday evening, useful for a day: claimed by a process that then crashed
            text_row(
                rid,
                "interrupted",
                start - timedelta(hours=20),
                expires_at=start + timedelta(hours=4),
            ),
            # late, still useful: sent late
            text_row(
                rid, "late-ok", start - timedelta(hours=2), expires_at=start + timedelta(hours=22)
            ),
            # a reminder for an appointment that is already over
            text_row(
                rid, "stale", start - timedelta(hours=3), expires_at=start - timedelta(hours=1)
            ),
        ],
        start,
    )
    store = rt.stores.delivery
    claimed = await store.claim(int(start.timestamp()), 1, [CHANNEL])
    assert [c.row.dedupe_key for c in claimed] == ["interrupted"]

    dispatcher = rt.delivery.dispatcher
    await dispatcher.catch_up()
    state, _, error, _ = await status_of(rt, "interrupted")
    assert state == PENDING and error is not None and "interrupted" in error
    assert (await status_of(rt, "stale"))[0] == EXPIRED

    assert await dispatcher.drain() == 2
    assert (await status_of(rt, "late-ok"))[:3] == (SENT, 1, None)
    assert (await status_of(rt, "interrupted"))[0] == SENT
    assert sorted(api.texts(5001)) == ["message interrupted", "message late-ok"]


async def test_row_that_expires_while_waiting_is_not_sent(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    rid = await resident(rt, 5001)
    now = clock()
    await rt.stores.outbox.plan(
        [text_row(rid, "tip", now, expires_at=now + timedelta(days=1))], now
    )
    clock.set(now + timedelta(days=1, seconds=1))
    assert await rt.delivery.dispatcher.drain() == 1
    assert (await status_of(rt, "tip"))[0] == EXPIRED
    assert api.texts(5001) == []


# -- rendering -----------------------------------------------------------------------------


async def test_rows_render_in_the_recipients_language(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    zh, en = await resident(rt, 5001, locale="zh_Hans"), await resident(rt, 5002, locale="en")
    now = clock()
    await rt.stores.outbox.plan(
        [
            Planned(zh, "test.greeting", "greeting", now, "g:zh"),
            Planned(en, "test.greeting", "greeting", now, "g:en"),
        ],
        now,
    )
    await rt.delivery.dispatcher.drain()
    assert api.texts(5002) == ["Language saved."]
    assert api.texts(5001) == ["语言已保存。"]


async def test_unknown_kind_and_broken_renderer_fail_clearly(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    rid = await resident(rt, 5001)
    now = clock()
    await rt.stores.outbox.plan(
        [
            Planned(rid, "no.such.kind", "x", now, "unknown"),
            Planned(rid, "test.explode", "x", now, "explode"),
            text_row(rid, "empty", now, text="  "),
        ],
        now,
    )
    await rt.delivery.dispatcher.drain()
    state, _, error, _ = await status_of(rt, "unknown")
    assert state == FAILED and error == "unknown notification kind 'no.such.kind'"
    state, _, error, _ = await status_of(rt, "explode")
    assert state == FAILED and error == "render failed: RuntimeError"
    assert (await status_of(rt, "empty"))[0] == SKIPPED
    assert api.calls_to("sendMessage") == []


# -- errors from Telegram ------------------------------------------------------------------


async def test_retry_after_waits_without_counting_an_attempt(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    rid = await resident(rt, 5001)
    now = clock()
    await rt.stores.outbox.plan([text_row(rid, "m", now)], now)
    api.fail("sendMessage", "retry_after", retry_after=7)
    dispatcher = rt.delivery.dispatcher
    await dispatcher.drain()
    state, attempts, error, due = await status_of(rt, "m")
    assert (state, attempts) == (PENDING, 0)
    assert due == int(now.timestamp()) + 7 and error is not None and "retry after 7" in error
    assert dispatcher.limiter.chat_wait("5001") == 7  # bulk to that chat holds off too

    assert await dispatcher.drain() == 0  # not due yet
    clock.set(now + timedelta(seconds=7))
    assert await dispatcher.drain() == 1
    assert (await status_of(rt, "m"))[:2] == (SENT, 1)
    assert api.texts(5001) == ["message m"]


async def test_blocked_marks_unreachable_and_skips_future_rows(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    rid, other = await resident(rt, 5001), await resident(rt, 5002)
    now = clock()
    await rt.stores.outbox.plan(
        [
            text_row(rid, "first", now),
            text_row(rid, "second", now),
            text_row(rid, "tomorrow", now + timedelta(days=1)),
            text_row(other, "other", now),
        ],
        now,
    )
    api.blocked_chats.add(5001)
    dispatcher = rt.delivery.dispatcher
    await dispatcher.drain()
    resident_row = await rt.stores.residents.get(rid)
    assert resident_row is not None and resident_row.unreachable_at is not None
    assert (await status_of(rt, "first"))[0] == SKIPPED
    assert (await status_of(rt, "second"))[0] == SKIPPED
    assert (await status_of(rt, "other"))[0] == SENT
    assert len(api.calls_to("sendMessage", 5001)) == 1  # never retried

    clock.set(now + timedelta(days=1))
    fresh = Runtime(rt.settings, clock=clock, registry=rt.registry)  # e.g. after a restart
    await fresh.start()
    try:
        fresh.senders[CHANNEL] = rt.senders[CHANNEL]
        await fresh.delivery.dispatcher.drain()
    finally:
        await fresh.stop()
    state, _, error, _ = await status_of(rt, "tomorrow")
    assert state == SKIPPED and error is not None and "unreachable" in error
    assert len(api.calls_to("sendMessage", 5001)) == 1


@pytest.mark.parametrize("fault", ["network", "server"])
async def test_transient_errors_back_off_then_fail(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock, fault: str
) -> None:
    rid = await resident(rt, 5001)
    now = clock()
    await rt.stores.outbox.plan([text_row(rid, "m", now)], now)
    api.fail("sendMessage", fault, times=100)
    dispatcher = rt.delivery.dispatcher
    waits = []
    for attempt in range(1, 4):
        await dispatcher.drain()
        state, attempts, error, due = await status_of(rt, "m")
        assert (state, attempts) == (PENDING, attempt) and error is not None
        wait = due - int(clock().timestamp())
        # 10 s doubled per attempt, with ±50 % jitter
        assert 5 * 2 ** (attempt - 1) <= wait <= 15 * 2 ** (attempt - 1) + 1
        waits.append(wait)
        assert await dispatcher.drain() == 0  # nothing is retried before its time
        clock.set(clock() + timedelta(seconds=wait))
    await dispatcher.drain()
    state, attempts, error, _ = await status_of(rt, "m")
    assert (state, attempts) == (FAILED, 4)  # DOORSTEP_MAX_ATTEMPTS
    assert len(api.calls_to("sendMessage", 5001)) == 4


# -- quiet hours in the dispatcher ---------------------------------------------------------


async def test_quiet_hours_hold_non_urgent_rows_until_morning(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    night_owl = await resident(rt, 5002, quiet_start="23:30", quiet_end="06:00")
    rid = await resident(rt, 5001)
    now = at_shanghai(clock, 22, 15)
    await rt.stores.outbox.plan(
        [
            text_row(rid, "tip", now),
            text_row(rid, "urgent", now, urgent=True),
            text_row(night_owl, "owl", now),
        ],
        now,
    )
    dispatcher = rt.delivery.dispatcher
    await dispatcher.drain()
    state, attempts, error, due = await status_of(rt, "tip")
    morning = at_shanghai(clock, 8, 0, day=25)
    assert (state, attempts, error) == (PENDING, 0, "quiet hours")
    assert due == int(morning.timestamp())
    assert (await status_of(rt, "urgent"))[0] == SENT
    assert (await status_of(rt, "owl"))[0] == SENT  # their own window starts later
    assert api.texts(5001) == ["message urgent"]

    at_shanghai(clock, 7, 59, day=25)
    assert await dispatcher.drain() == 0
    at_shanghai(clock, 8, 0, day=25)
    assert await dispatcher.drain() == 1
    assert api.texts(5001) == ["message urgent", "message tip"]


# -- the background loop and the scheduler -------------------------------------------------


async def wait_for(predicate: Callable[[], Awaitable[bool]], limit: float = 20.0) -> None:
    """Wait (generously) for a condition on the database; never a timing assertion."""
    async with asyncio.timeout(limit):
        while not await predicate():  # noqa: ASYNC110 - the condition lives in SQLite
            await asyncio.sleep(0.02)


async def test_background_dispatcher_sends_what_is_planned_and_jobs_are_scheduled(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    ids = [await resident(rt, 6000 + i) for i in range(40)]
    await rt.start_background()
    dispatcher = rt.delivery.dispatcher
    assert dispatcher.running

    now = clock()
    await rt.stores.outbox.plan([text_row(rid, f"b{i}", now) for i, rid in enumerate(ids)], now)
    dispatcher.poke()
    store = rt.stores.delivery

    async def all_sent() -> bool:
        return (await store.status(int(now.timestamp()))).by_status.get(SENT) == len(ids)

    await wait_for(all_sent)
    assert sorted(api.texts()) == sorted(f"message b{i}" for i in range(len(ids)))

    scheduler = rt.delivery.jobs.scheduler
    assert scheduler is not None and scheduler.running
    job = scheduler.get_job("outbox.prune")
    assert job is not None and job.coalesce is True and job.misfire_grace_time == 3600


async def test_graceful_stop_releases_claimed_rows(
    settings: Settings, clock: Clock, api: FakeBotAPI
) -> None:
    # One message per second per chat, five rows for one resident: a stop mid-way.
    slow = replace(settings, per_chat_interval=1.0)
    runtime = Runtime(slow, clock=clock)
    await runtime.start()
    application = build_application(runtime, request=FakeRequest(api))
    async with application:
        runtime.senders[CHANNEL] = TelegramSender(application.bot)
        rid = await resident(runtime, 5001)
        now = clock()
        await runtime.stores.outbox.plan([text_row(rid, f"m{i}", now) for i in range(5)], now)
        await runtime.start_background()

        async def first_sent() -> bool:
            return len(api.texts(5001)) >= 1

        await wait_for(first_sent)
        await runtime.stop()
    sent = len(api.texts(5001))
    db = Runtime(slow, clock=clock)
    await db.start()
    try:
        rows = await db.stores.outbox.for_resident(rid)
    finally:
        await db.stop()
    assert sum(r.status == SENT for r in rows) == sent
    assert all(r.status in (SENT, PENDING) for r in rows)  # nothing left 'sending'
    assert sent < 5


class WindowClosedSender:
    """A channel that can only answer within a window (like WeChat's 48 hours): it defers."""

    def __init__(self, retry_at: float | None) -> None:
        self.retry_at = retry_at
        self.tries = 0

    async def send(
        self,
        user_id: str,
        replies: list[Reply],
        edit_ref: str | None = None,
        notification: OutboxRow | None = None,
    ) -> None:
        from bot.delivery.sender import Deferred

        self.tries += 1
        raise Deferred("customer-service window closed", self.retry_at)


@pytest.mark.parametrize("retry_in", [600, None])
async def test_deferred_rows_wait_without_using_attempts(
    rt: Runtime, clock: Clock, retry_in: int | None
) -> None:
    rid = await resident(rt, 5001, channel="wechat")
    now = clock()
    ts = int(now.timestamp())
    sender = WindowClosedSender(ts + retry_in if retry_in else None)
    rt.senders["wechat"] = sender
    await rt.stores.outbox.plan([text_row(rid, "w", now)], now)
    await rt.delivery.dispatcher.drain()
    state, attempts, error, due = await status_of(rt, "w")
    assert (state, attempts, error) == (PENDING, 0, "deferred: customer-service window closed")
    assert due == ts + (retry_in or 86400)
    assert sender.tries == 1


async def test_rows_of_a_cancelled_group_waiting_for_their_slot_are_not_sent(
    rt: Runtime, clock: Clock, app: Application, api: FakeBotAPI
) -> None:
    """A broadcast cancelled (here: from another process) while its claimed rows wait for
    the rate limiter: nothing more goes out."""
    ids = [await resident(rt, 6000 + i) for i in range(4)]
    now = clock()
    await rt.stores.outbox.plan(
        [text_row(rid, f"bc:9:{rid}", now, group_key="bc:9") for rid in ids]
        + [text_row(ids[0], "other", now)],
        now,
    )
    dispatcher = rt.delivery.dispatcher
    real = dispatcher.limiter
    cancelled: list[int] = []

    class CancelDuringWait(Limiter):
        async def acquire_bulk(self, chat: str, n: int = 1) -> None:
            await real.acquire_bulk(chat, n)
            if not cancelled:
                # The doctor presses Cancel in another process: only the database knows.
                cancelled.append(await rt.stores.outbox.cancel_group("bc:9", clock()))

    dispatcher.limiter = CancelDuringWait(rt.settings)
    await dispatcher.drain()
    sent_to = {int(c.params["chat_id"]) for c in api.calls if c.method == "sendMessage"}
    assert sent_to == {6000}  # only the unrelated row; every row of bc:9 was dropped
    statuses = [(await status_of(rt, f"bc:9:{rid}"))[0] for rid in ids]
    assert statuses == ["cancelled"] * 4
    assert (await status_of(rt, "other"))[0] == SENT


async def test_a_resident_who_unblocks_and_writes_gets_messages_again(
    rt: Runtime, app: Application, api: FakeBotAPI, clock: Clock
) -> None:
    rid = await resident(rt, 5003)
    now = clock()
    await rt.stores.outbox.plan([text_row(rid, "before", now)], now)
    api.blocked_chats.add(5003)
    dispatcher = rt.delivery.dispatcher
    await dispatcher.drain()
    assert (await status_of(rt, "before"))[0] == SKIPPED
    # They unblock the bot and write to it: the router marks them reachable again.
    api.blocked_chats.discard(5003)
    from bot.core import Incoming, Kind

    await rt.handle(Incoming(channel=CHANNEL, user_id="5003", kind=Kind.TEXT, text="hi"))
    dispatcher.block_memory = 0  # the same process, after its short in-memory grace
    await rt.stores.outbox.plan([text_row(rid, "after", now)], now)
    await dispatcher.drain()
    assert (await status_of(rt, "after"))[0] == SENT
