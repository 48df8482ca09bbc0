"""Several workers on one PostgreSQL (issue 14, part 3), in one test process: each `Runtime`
here is a worker of its own (its own pools, heartbeat lock and worker id) over the same
database, as `doorstep run` processes on two machines would be.

Real PostgreSQL only: these run when DOORSTEP_TEST_DB points at a server (the PostgreSQL pass
of .ci/run does); the process-level fault tests are in tests/test_cluster_faults.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.delivery.limiter import ClusterSlots, max_in_window
from bot.domain.outbox import Planned
from bot.runtime import Runtime
from bot.storage import pgtest
from tests.doctor_fixtures import RecordingSender

pytestmark = pytest.mark.skipif(
    pgtest.admin_url() is None,
    reason="needs PostgreSQL: set DOORSTEP_TEST_DB=postgresql://... (.ci/run's PostgreSQL pass)",
)

CHANNEL = "test"


def worker_settings(db: Path, **overrides: object) -> Settings:
    env = {"DOORSTEP_QUIET_START": "00:00", "DOORSTEP_QUIET_END": "00:00"}
    return Settings.from_env(env, db_path=db, **overrides)


@pytest.fixture
async def workers(tmp_path: Path) -> AsyncIterator[Callable[..., Runtime]]:
    """Start workers on one shared database; every one is stopped at the end."""
    started: list[Runtime] = []
    db = tmp_path / "cluster.sqlite3"  # mapped to one PostgreSQL database for this test

    async def start(**overrides: object) -> Runtime:
        rt = Runtime(worker_settings(db, **overrides))
        await rt.start()
        rt.senders[CHANNEL] = RecordingSender()
        started.append(rt)
        return rt

    yield start  # type: ignore[misc]
    for rt in reversed(started):
        await rt.stop()


async def residents(rt: Runtime, n: int, first: int = 500_000) -> list[int]:
    return [(await rt.stores.residents.create(CHANNEL, str(first + i))).id for i in range(n)]


def planned(ids: list[int], each: int = 1, tag: str = "c") -> list[Planned]:
    now = datetime.now(UTC) - timedelta(seconds=5)
    return [
        Planned(rid, "text", "text", now, f"{tag}:{rid}:{k}", params={"text": f"{tag} {rid} {k}"})
        for rid in ids
        for k in range(each)
    ]


def sent(rt: Runtime) -> list[str]:
    sender = rt.senders[CHANNEL]
    assert isinstance(sender, RecordingSender)
    return [r.text or "" for _, r, _ in sender.sent]


async def until(predicate: Callable[[], object], limit: float, what: str) -> None:
    """Wait generously for a condition (a guard against hanging, not a timing check)."""
    try:
        async with asyncio.timeout(limit):
            while not predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


async def test_concurrent_claims_take_disjoint_rows(workers: Callable[..., Runtime]) -> None:
    a, b = await workers(), await workers()
    ids = await residents(a, 300)
    assert await a.stores.outbox.plan(planned(ids), datetime.now(UTC)) == 300
    now = int(datetime.now(UTC).timestamp())
    ids_a: list[int] = []
    ids_b: list[int] = []
    while True:  # both claim at once, round after round, until nothing is left
        got_a, got_b = await asyncio.gather(
            a.stores.delivery.claim(now, 80, [CHANNEL]), b.stores.delivery.claim(now, 80, [CHANNEL])
        )
        if not got_a and not got_b:
            break
        ids_a += [c.row.id for c in got_a]
        ids_b += [c.row.id for c in got_b]
    assert not set(ids_a) & set(ids_b)
    assert len(ids_a) + len(ids_b) == len(set(ids_a) | set(ids_b)) == 300
    rows = await a.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    assert {r[0]: r[1] for r in rows} == {"sending": 300}


async def test_one_residents_rows_stay_with_one_worker(workers: Callable[..., Runtime]) -> None:
    a, b = await workers(), await workers()
    ids = await residents(a, 2)
    await a.stores.outbox.plan(planned(ids, each=3), datetime.now(UTC))
    now = int(datetime.now(UTC).timestamp())
    first = await a.stores.delivery.claim(now, 3, [CHANNEL])
    assert {c.resident.id for c in first} == {ids[0]}
    # The other worker may take the other resident's rows, never the first one's.
    second = await b.stores.delivery.claim(now, 10, [CHANNEL])
    assert {c.resident.id for c in second} == {ids[1]}
    assert len(second) == 3


async def test_two_workers_send_every_row_once(workers: Callable[..., Runtime]) -> None:
    a, b = await workers(global_rate=0.0), await workers(global_rate=0.0)
    ids = await residents(a, 2000)
    rows = planned(ids)
    await a.stores.outbox.plan(rows, datetime.now(UTC))
    await asyncio.gather(a.delivery.dispatcher.start(), b.delivery.dispatcher.start())
    a.delivery.dispatcher.poke()
    await until(lambda: len(sent(a)) + len(sent(b)) >= 2000, 120, "every row sent")
    await until(lambda: a.delivery.dispatcher._in_flight == 0, 30, "outcomes recorded")
    await until(lambda: b.delivery.dispatcher._in_flight == 0, 30, "outcomes recorded")
    counts = Counter(sent(a) + sent(b))
    assert set(counts) == {f"c {rid} 0" for rid in ids}
    assert set(counts.values()) == {1}, "a row went out twice"
    assert sent(a) and sent(b), "one worker did all the work"
    status = await a.db.fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    assert {r[0]: r[1] for r in status} == {"sent": 2000}
    assert await a.db.fetchval("SELECT COUNT(*) FROM cluster_claims") == 0


async def test_a_dead_workers_claims_go_back_to_pending(workers: Callable[..., Runtime]) -> None:
    a, b = await workers(), await workers()
    ids = await residents(a, 50)
    await a.stores.outbox.plan(planned(ids), datetime.now(UTC))
    now = int(datetime.now(UTC).timestamp())
    taken = await a.stores.delivery.claim(now, 20, [CHANNEL])
    assert len(taken) == 20
    # A live worker's claims are left alone by another worker's catch-up...
    assert await b.stores.delivery.recover(now, [CHANNEL]) == 0
    # ...and taken back once its heartbeat lock is gone (the process died).
    assert a.pg is not None
    await a.pg.close()
    assert await b.stores.delivery.recover(now, [CHANNEL]) == 20
    again = await b.stores.delivery.claim(now, 100, [CHANNEL])
    assert {c.row.id for c in taken} <= {c.row.id for c in again}
    assert len(again) == 50


async def test_a_job_run_is_claimed_by_one_worker(workers: Callable[..., Runtime]) -> None:
    a, b, c = await workers(), await workers(), await workers()
    now = int(datetime.now(UTC).timestamp())
    wins = await asyncio.gather(
        *(w.stores.cluster.claim_job_run("tips.plan", 1_800_000_000, now) for w in (a, b, c))
    )
    assert sorted(wins) == [False, False, True]
    # The next run of the same job is a run of its own.
    assert await b.stores.cluster.claim_job_run("tips.plan", 1_800_086_400, now)


async def test_scheduled_jobs_run_once_across_workers(workers: Callable[..., Runtime]) -> None:
    runs: list[int] = []

    async def job(rt: Runtime) -> None:
        runs.append(id(rt))

    a, b = await workers(), await workers()
    for rt in (a, b):
        rt.registry.jobs.clear()
        rt.registry.job("test.every_second", job, "interval", seconds=1)
        await rt.delivery.jobs.start()
    await until(
        lambda: len(a.delivery.jobs.skipped) + len(b.delivery.jobs.skipped) >= 3, 30, "runs"
    )
    for rt in (a, b):
        await rt.delivery.jobs.stop()
    skipped = a.delivery.jobs.skipped + b.delivery.jobs.skipped
    # Every fire time either worker skipped was run by the other one, exactly once.
    fired = Counter(fire for _, fire in skipped)
    assert set(fired.values()) == {1}
    done = await a.db.fetchall(
        "SELECT fire_at, COUNT(*) FROM cluster_job_runs WHERE job_id = ? GROUP BY fire_at",
        ("test.every_second",),
    )
    assert all(n == 1 for _, n in done)
    assert len(runs) == len(done)


async def test_shared_slots_hold_the_rate_across_workers(workers: Callable[..., Runtime]) -> None:
    a, b, c = await workers(), await workers(), await workers()
    rate = 40.0
    lanes = [ClusterSlots(w.pg, "bulk-test", rate) for w in (a, b, c) if w.pg is not None]
    times: list[float] = []

    async def send(slots: ClusterSlots, n: int) -> None:
        for _ in range(n):
            await slots.take()
            times.append(slots.clock())

    await asyncio.gather(*(send(s, 40) for s in lanes))
    assert len(times) == 120
    assert max_in_window(times) <= rate


async def test_paid_budget_is_shared_and_enforced(workers: Callable[..., Runtime]) -> None:
    a, b = await workers(), await workers()
    results = await asyncio.gather(
        *(w.stores.cluster.spend_paid("2026-12-05", 10, 95) for w in (a, b) for _ in range(6))
    )
    assert results.count(True) == 9  # 90 of the 95 messages; a tenth 10 would go over
    assert await a.stores.cluster.paid_spent("2026-12-05") == 90
    assert await b.stores.cluster.spend_paid("2026-12-05", 5, 95)
    assert not await b.stores.cluster.spend_paid("2026-12-05", 1, 95)


async def test_one_users_updates_wait_for_each_other_across_workers(
    workers: Callable[..., Runtime],
) -> None:
    a, b = await workers(), await workers()
    events: list[str] = []

    def handler(name: str) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            events.append(f"{name} in")
            await asyncio.sleep(0.3)  # a slow handler: the other worker's update must wait
            events.append(f"{name} out")
            return name

        return run

    got = await asyncio.gather(
        a.stores.cluster.user_lock("telegram:42", handler("a")),
        b.stores.cluster.user_lock("telegram:42", handler("b")),
    )
    assert sorted(got) == ["a", "b"]
    first = events[0].split()[0]
    second = "b" if first == "a" else "a"
    assert events == [f"{first} in", f"{first} out", f"{second} in", f"{second} out"]
    # Different users do not wait for each other.
    events.clear()
    await asyncio.gather(
        a.stores.cluster.user_lock("telegram:1", handler("x")),
        b.stores.cluster.user_lock("telegram:2", handler("y")),
    )
    assert sorted(events[:2]) == ["x in", "y in"]
