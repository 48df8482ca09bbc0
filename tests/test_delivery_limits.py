"""Tier 1: the rate limiter (in virtual time) and quiet hours (pure functions).

The limiter is driven by a virtual clock: every sleeping task registers its wake-up time and
the driver jumps time to the earliest one, so a minute of sending runs in milliseconds and the
checks count sends per window instead of measuring anything.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.delivery.limiter import Limiter, max_in_window
from bot.delivery.quiet import QuietHours, parse_hhmm, quiet_hours_for
from bot.domain.residents import Resident

SHANGHAI = ZoneInfo("Asia/Shanghai")


class VirtualLoop:
    """Virtual time for coroutines that sleep through `sleep()`."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), fut))
        await fut

    async def run(self, *coros: Coroutine[Any, Any, Any]) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every runnable task reach its next sleep or lock
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, fut = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                fut.set_result(None)
                continue
            for _ in range(500):  # a long chain of lock hand-overs may still be running
                await asyncio.sleep(0)
                if self._sleepers or all(t.done() for t in tasks):
                    break
            else:
                raise AssertionError("deadlock: tasks wait on nothing")
        for t in tasks:
            t.result()


def limiter_for(vl: VirtualLoop, **kw: Any) -> Limiter:
    kw.setdefault("rate", 30)
    kw.setdefault("per_chat_interval", 1.0)
    kw.setdefault("max_reserve", 10)
    return Limiter(clock=vl.clock, sleep=vl.sleep, **kw)


async def test_bulk_respects_global_and_per_chat_limits() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl)
    log: list[tuple[float, str]] = []

    async def worker(chats: list[str]) -> None:
        for chat in chats:
            await lim.acquire_bulk(chat)
            log.append((vl.now, chat))

    # 600 messages: 150 chats x 4 each, handed to 20 concurrent workers round-robin, so the
    # same chat is often wanted by several workers at once.
    jobs = [f"c{i % 150}" for i in range(600)]
    await vl.run(*(worker(jobs[w::20]) for w in range(20)))

    assert len(log) == 600
    assert max_in_window([t for t, _ in log]) <= 30
    by_chat: dict[str, list[float]] = {}
    for t, chat in log:
        by_chat.setdefault(chat, []).append(t)
    assert all(max_in_window(ts) <= 1 for ts in by_chat.values())
    # ...and it is not needlessly slow: 600 messages at 30/s take about 20 virtual seconds.
    assert vl.now <= 600 / 30 + 1.5


async def test_one_busy_chat_does_not_hold_up_the_others() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl)
    done: dict[str, float] = {}

    async def send(chat: str, n: int) -> None:
        for _ in range(n):
            await lim.acquire_bulk(chat)
        done[chat] = vl.now

    await vl.run(send("busy", 10), *(send(f"c{i}", 1) for i in range(20)))
    assert done["busy"] >= 9.0
    assert max(t for c, t in done.items() if c != "busy") < 1.0


async def test_replies_never_wait_and_bulk_leaves_them_room() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl)
    bulk_times: list[float] = []
    reply_times: list[float] = []

    async def broadcast() -> None:
        for i in range(500):
            await lim.acquire_bulk(f"c{i}")
            bulk_times.append(vl.now)

    async def resident_chatting() -> None:
        for k in range(16):
            await vl.sleep(0.5)
            asked = vl.now
            await lim.acquire_interactive(f"r{k % 2}")
            assert vl.now == asked  # a reply never waits for the broadcast
            reply_times.append(vl.now)

    await vl.run(broadcast(), resident_chatting())
    assert len(reply_times) == 16
    assert max_in_window(bulk_times) <= 30
    # Once the reply rate is known (2/s), bulk leaves exactly that much room: at most 30 in
    # any second, and the broadcast still takes the rest (28/s).
    steady = [t for t in bulk_times + reply_times if 3.0 <= t < 8.0]
    assert max_in_window(steady) <= 30
    assert sum(3.0 <= t < 8.0 for t in bulk_times) >= 5 * 27
    # While the estimate warms up, replies may overdraw a second by what it did not foresee.
    assert max_in_window(bulk_times + reply_times) <= 32
    # With nobody chatting any more, the broadcast goes back to the full rate.
    late = [t for t in bulk_times if t >= reply_times[-1] + 3.0 + 1.0]
    assert late and max_in_window(late) == 30


async def test_a_reply_into_a_full_second_is_paid_back_by_the_broadcast() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl)
    order: list[tuple[str, float]] = []

    async def broadcast() -> None:
        for i in range(32):
            await lim.acquire_bulk(f"c{i}")
            order.append((f"bulk{i}", vl.now))

    async def late_reply() -> None:
        await vl.sleep(0.99)  # the paced broadcast has filled the second by now
        await lim.acquire_interactive("r1")
        order.append(("reply", vl.now))

    await vl.run(broadcast(), late_reply())
    when = dict(order)
    assert when["reply"] == 0.99  # at once
    # Paced, not bursty: the first 30 are spread over the first second.
    assert [t for _, t in order[:3]] == pytest.approx([0.0, 1 / 30, 2 / 30])
    # Bulk #31 waits until the reply's slot is paid back: two sends must leave the window.
    assert when["bulk30"] >= 1.0 + 1 / 30 - 1e-9
    assert max_in_window([t for name, t in order if name != "reply"]) <= 30
    assert max_in_window([t for _, t in order]) <= 31


async def test_flood_control_pauses_bulk_but_not_replies() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl)
    lim.pause_bulk(5.0, chat="c1")
    assert lim.chat_wait("c1") == 5.0
    stamps: dict[str, float] = {}

    async def bulk() -> None:
        await lim.acquire_bulk("c2")
        stamps["bulk"] = vl.now

    async def reply() -> None:
        await lim.acquire_interactive("c1")
        stamps["reply"] = vl.now

    await vl.run(bulk(), reply())
    assert stamps == {"reply": 0.0, "bulk": 5.0}


async def test_a_reply_pushes_back_bulk_to_the_same_chat() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl)
    times: list[float] = []

    async def chat() -> None:
        await lim.acquire_interactive("c1")
        times.append(vl.now)
        await lim.acquire_bulk("c1")
        times.append(vl.now)

    await vl.run(chat())
    assert times == [0.0, 1.0]


async def test_unlimited_limiter_never_waits() -> None:
    vl = VirtualLoop()
    lim = limiter_for(vl, rate=0, per_chat_interval=0)

    async def many() -> None:
        for i in range(5000):
            await lim.acquire_bulk(f"c{i % 3}")

    await vl.run(many())
    assert vl.now == 0.0


# -- quiet hours ---------------------------------------------------------------------------


def shanghai(hh: int, mm: int, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=SHANGHAI)


DEFAULT = QuietHours(time(21, 0), time(8, 0), SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "resume"),
    [
        (shanghai(20, 59), None),
        (shanghai(21, 0), shanghai(8, 0, day=25)),
        (shanghai(23, 59), shanghai(8, 0, day=25)),
        (shanghai(0, 0), shanghai(8, 0)),
        (shanghai(7, 59), shanghai(8, 0)),
        (shanghai(8, 0), None),
        (shanghai(12, 0), None),
    ],
)
def test_default_quiet_hours_boundaries(moment: datetime, resume: datetime | None) -> None:
    assert DEFAULT.resume_at(moment) == resume
    # The same instant given in UTC gives the same answer.
    assert DEFAULT.resume_at(moment.astimezone(UTC)) == resume


def test_a_window_that_does_not_wrap_midnight_and_an_empty_one() -> None:
    nap = QuietHours(time(12, 0), time(14, 0), SHANGHAI)
    assert nap.resume_at(shanghai(11, 59)) is None
    assert nap.resume_at(shanghai(12, 0)) == shanghai(14, 0)
    assert nap.resume_at(shanghai(14, 0)) is None
    never = QuietHours(time(0, 0), time(0, 0), SHANGHAI)
    assert never.resume_at(shanghai(3, 0)) is None


def test_resident_override_and_invalid_values_fall_back() -> None:
    settings = Settings.from_env({})
    own = Resident(1, "telegram", "1", quiet_start="22:30", quiet_end="06:30")
    hours = quiet_hours_for(own, settings)
    assert hours.resume_at(shanghai(22, 0)) is None
    assert hours.resume_at(shanghai(6, 0)) == shanghai(6, 30)
    for broken in (
        Resident(2, "telegram", "2", quiet_start="25:99", quiet_end="06:00"),
        Resident(3, "telegram", "3", quiet_start="22:00", quiet_end=None),
    ):
        assert quiet_hours_for(broken, settings) == DEFAULT
    assert parse_hhmm("7:05") == time(7, 5) and parse_hhmm("noon") is None
