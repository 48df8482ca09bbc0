"""The daily reminder job's fast path plans exactly what the plain engine plans.

The job plans each cohort of children (same birth date, same doses on the same dates) once
and builds outbox rows from per-cohort templates. Here a few hundred random children, many
sharing cohorts, are planned both ways: child by child through `Planner.plan`, `child_rows`
and `row_values` (no cache), and through the job's cache; the rows must be identical.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import ROOT
from bot.runtime import Runtime
from bot.services.vaccines import Planner, load_schedule_set
from bot.services.vaccines.engine import PlanInputError, Status
from bot.services.vaccines.model import add_span
from bot.services.vaccines.reminder_plan import (
    KIND,
    MessageCache,
    child_rows,
    child_values,
    messages,
)
from bot.storage.outbox import row_values
from bot.storage.vaccines import parse_doses
from tests.conftest import Clock

NOW_TS = 1_790_000_000


async def seed_children(rt: Runtime, clock: Clock, n: int, seed: int) -> list[int]:
    """`n` children of 40 parents: birth dates drawn from a small pool (month ends, a leap
    day, both sides of the 2025 edition) so that cohorts repeat; doses on schedule, one
    missed, at random dates, none, a code no schedule knows, or one given in the future."""
    rng = random.Random(seed)
    store = rt.stores.vaccines
    reminders = rt.services.child_reminders
    planner = reminders.planner
    today = reminders.today()
    residents = [
        (await rt.stores.residents.create("telegram", str(9000 + i))).id for i in range(40)
    ]
    pool = [today - timedelta(days=rng.randrange(0, 7 * 365)) for _ in range(25)]
    pool += [date(2024, 2, 29), date(2024, 12, 31), date(2025, 1, 31), add_span(today, -6, 0)]
    codes = planner.dose_codes
    ids: list[int] = []
    for i in range(n):
        born = rng.choice(pool)
        child = await store.add_child(rng.choice(residents), f"c{i}", born, clock())
        on_time = {
            d.dose: d.due
            for d in planner.plan(born, {}, today).doses
            if d.status in (Status.DUE, Status.OVERDUE) and not d.waiting_for
        }
        mode = rng.random()
        if mode < 0.45:
            given = on_time
        elif mode < 0.7 and on_time:
            given = dict(on_time)
            given.pop(rng.choice(sorted(given)))
        elif mode < 0.85:
            span = (today - born).days
            picked = rng.sample(codes, rng.randrange(0, 8))
            given = {c: born + timedelta(days=rng.randrange(0, span + 1)) for c in picked}
        elif mode < 0.93:
            given = {}
        elif mode < 0.97:
            given = {**on_time, "Retired-1": born}
        else:
            given = {"BCG-1": today + timedelta(days=3)}  # refused by the engine: no rows
        await store.set_doses(child.id, given, clock())
        if rng.random() < 0.15:
            other = rng.choice([r for r in residents if r != child.owner_id])
            await store.add_invite(child.id, f"h{i}", clock(), clock() + timedelta(days=1))
            assert (await store.redeem_invite(f"h{i}", other, clock(), 2))[0] == "ok"
        ids.append(child.id)
    return ids


async def uncached_values(rt: Runtime, ids: list[int], today: date) -> list[tuple[Any, ...]]:
    """Child by child, from the full record, through the engine and `Planned` rows."""
    reminders = rt.services.child_reminders
    store = rt.stores.vaccines
    out: list[tuple[Any, ...]] = []
    for cid in ids:
        record = await store.record(cid)
        assert record is not None
        try:
            plan = reminders.plan(record, today)
        except PlanInputError:
            continue
        rows = child_rows(cid, record.guardians, plan, today, rt.settings.tz)
        out.extend(row_values(p, NOW_TS) for p in rows)
    return out


async def test_cached_rows_equal_uncached_rows(rt: Runtime, clock: Clock) -> None:
    ids = await seed_children(rt, clock, 300, seed=6)
    reminders = rt.services.child_reminders
    today = reminders.today()
    expected = await uncached_values(rt, ids, today)
    children = await rt.stores.vaccines.doses_after(0, 1000)
    assert [c.child_id for c in children] == ids
    cache = MessageCache(reminders.planner, today, rt.settings.tz)
    got = reminders.values(children, today, NOW_TS, cache)
    assert got == expected
    assert len(expected) > 300  # most children have reminders within the horizon
    # Cohorts were shared (the point of the cache) but not everything was one cohort.
    assert cache.hits > 100 and cache.misses > 20
    # A cache too small for the day, emptied again and again, gives the same rows.
    tiny = MessageCache(reminders.planner, today, rt.settings.tz, size=3)
    assert reminders.values(children, today, NOW_TS, tiny) == expected
    # Batched in odd sizes, as the job reads them.
    batched = []
    after = 0
    while part := await rt.stores.vaccines.doses_after(after, 37):
        batched.extend(reminders.values(part, today, NOW_TS, cache))
        after = part[-1].child_id
    assert batched == expected


async def test_cache_is_per_day_and_matches_engine_later(rt: Runtime, clock: Clock) -> None:
    """Two weeks on, with the same children: still identical to the engine's own rows."""
    ids = await seed_children(rt, clock, 120, seed=11)
    clock.set(clock() + timedelta(days=15))
    reminders = rt.services.child_reminders
    today = reminders.today()
    expected = await uncached_values(rt, ids, today)
    got = reminders.values(await rt.stores.vaccines.doses_after(0, 1000), today, NOW_TS)
    assert got == expected and expected


async def test_the_job_stores_exactly_the_engines_rows(rt: Runtime, clock: Clock) -> None:
    ids = await seed_children(rt, clock, 150, seed=3)
    reminders = rt.services.child_reminders
    today = reminders.today()
    expected = await uncached_values(rt, ids, today)
    planned, added, cancelled = await reminders.replan_all(batch=40)
    assert (planned, added, cancelled) == (len(ids), len(expected), 0)
    outbox = rt.stores.outbox
    stored = {
        (
            r.resident_id,
            r.dedupe_key,
            json.dumps({"key": r.key, "params": r.params}),
            int(r.due_at.timestamp()),
        )
        for rid in {int(v[0]) for v in expected}
        for r in await outbox.for_resident(rid, KIND)
        if r.status == "pending" and r.expires_at == r.due_at + timedelta(days=6)
    }
    want = {(v[0], v[6], json.dumps(json.loads(str(v[2]))), v[3]) for v in expected}
    assert stored == want
    assert await reminders.replan_all(batch=40) == (len(ids), 0, 0)


def test_child_values_are_row_values() -> None:
    """The payload template gives exactly what `row_values` writes, ask-the-centre included."""
    planner = Planner(load_schedule_set(ROOT / "content" / "vaccines"))
    tz = ZoneInfo("Asia/Shanghai")
    today = date(2026, 11, 24)
    born = date(2021, 11, 2)  # 5 years old, nothing given: catch-ups and ask-the-centre
    plan = planner.plan(born, {}, today)
    msgs = messages(plan, today, tz)
    assert {m.key for m in msgs} == {"ask_centre", "child"}
    for cid, guardians in ((1, (4,)), (1234567, (8, 2)), (10**9, ())):
        expected = [row_values(p, NOW_TS) for p in child_rows(cid, guardians, plan, today, tz)]
        assert child_values(cid, guardians, msgs, NOW_TS) == expected
        assert len(expected) == len(msgs) * len(guardians)
    assert parse_doses("") == {}
    assert parse_doses("BCG-1@2021-11-02 HepB-1@2021-11-03") == {
        "BCG-1": date(2021, 11, 2),
        "HepB-1": date(2021, 11, 3),
    }
