"""Tier 1: the choice of the next tip and the nightly planner, on a real SQLite file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.domain.tips import Subscription
from bot.runtime import Runtime
from bot.services.tips import (
    RHYME_ID,
    build_catalog,
    choose_next,
    load_catalog,
)
from handlers.resident.tips import render_tip
from tests.test_tips_content import TIPS_DIR

DAY = date(2026, 11, 25)  # a Wednesday; the clock fixture stands on Tuesday 24th, 10:00


async def _subscribe(rt: Runtime, n: int, **settings: object) -> list[int]:
    """n residents with active subscriptions (every topic unless given)."""
    svc = rt.services.tips
    residents = rt.stores.residents
    ids = []
    for i in range(n):
        r = await residents.create("test", f"planner-{len(ids)}-{i}-{settings}")
        sub = Subscription(
            resident_id=r.id,
            active=True,
            topics=frozenset(svc.catalog.topics_present()),
        )
        sub = replace(sub, **settings)
        await rt.stores.tips.save(sub, rt.now())
        ids.append(r.id)
    return ids


def test_choose_next_never_repeats_until_all_sent() -> None:
    catalog = load_catalog(TIPS_DIR)
    topics = frozenset({"vaccination", "mental_health"})
    eligible = [t.id for t in catalog.tips if t.topic in topics]
    counts: dict[str, int] = {}
    seen: list[str] = []
    for _ in range(len(eligible) * 2 + 1):
        tip = choose_next(catalog, topics, counts)
        assert tip is not None and tip.topic in topics
        counts[tip.id] = counts.get(tip.id, 0) + 1
        seen.append(tip.id)
    first_round = seen[: len(eligible)]
    assert sorted(first_round) == sorted(eligible)  # each once before any repeat
    assert sorted(seen[len(eligible) : 2 * len(eligible)]) == sorted(eligible)
    assert seen[2 * len(eligible)] == seen[0]  # third round starts like the first


def test_choose_next_starts_with_the_rhyme_and_handles_empty() -> None:
    catalog = load_catalog(TIPS_DIR)
    everything = frozenset(catalog.topics_present())
    first = choose_next(catalog, everything, {})
    assert first is not None and first.id == RHYME_ID
    assert choose_next(catalog, frozenset({"astrology"}), {}) is None
    assert choose_next(build_catalog([]), everything, {}) is None


async def test_planner_one_row_per_subscriber_and_rerun_writes_none(rt: Runtime) -> None:
    ids = await _subscribe(rt, 7)
    noon = await _subscribe(rt, 2, slot="noon")
    svc = rt.services.tips
    first = await svc.plan_day(DAY, page_size=3)  # several pages
    assert (first.subscribers, first.rows) == (9, 9)
    again = await svc.plan_day(DAY, page_size=3)
    assert again.rows == 0
    outbox = rt.stores.outbox
    for rid in ids + noon:
        rows = await outbox.for_resident(rid, "tip")
        assert len(rows) == 1
        row = rows[0]
        assert row.key == RHYME_ID and row.dedupe_key == f"tip:{rid}:2026-11-25"
        assert not row.urgent and row.status == "pending"
        due = row.due_at.astimezone(rt.settings.tz)
        assert (due.date(), due.hour, due.minute) == (
            DAY,
            12 if rid in noon else 8,
            0 if rid in noon else 30,
        )
        assert row.expires_at == row.due_at + timedelta(days=1)
        # counted once, even though the planner ran twice
        assert await rt.stores.tips.counts(rid) == {RHYME_ID: 1}


async def test_planner_no_repeats_across_days(rt: Runtime) -> None:
    (rid,) = await _subscribe(rt, 1, topics=frozenset({"vaccination"}))
    svc = rt.services.tips
    n = len([t for t in svc.catalog.tips if t.topic == "vaccination"])
    for offset in range(n + 1):
        await svc.plan_day(DAY + timedelta(days=offset))
    keys = [r.key for r in await rt.stores.outbox.for_resident(rid, "tip")]
    assert len(keys) == n + 1
    assert len(set(keys[:n])) == n  # all different until the topic is exhausted
    assert keys[n] == keys[0]


async def test_planner_skips_off_weekly_and_unreachable(rt: Runtime) -> None:
    (weekly_wed,) = await _subscribe(rt, 1, frequency="weekly", weekday=DAY.weekday())
    (weekly_fri,) = await _subscribe(rt, 1, frequency="weekly", weekday=4)
    (off,) = await _subscribe(rt, 1, active=False)
    (gone,) = await _subscribe(rt, 1)
    await rt.stores.residents.mark_unreachable(gone)
    result = await rt.services.tips.plan_day(DAY)
    assert result.rows == 1
    outbox = rt.stores.outbox
    assert len(await outbox.for_resident(weekly_wed, "tip")) == 1
    for rid in (weekly_fri, off, gone):
        assert await outbox.for_resident(rid, "tip") == []


async def test_planner_respects_a_row_planned_at_subscription(rt: Runtime) -> None:
    (rid,) = await _subscribe(rt, 1)
    svc = rt.services.tips
    due = await svc.reschedule(await svc.subscription(rid))
    assert due is not None and due.astimezone(rt.settings.tz).date() == DAY
    result = await svc.plan_day(DAY)
    assert result.rows == 0
    assert await rt.stores.tips.counts(rid) == {RHYME_ID: 1}


async def test_render_planned_row_in_both_languages(rt: Runtime) -> None:
    (rid,) = await _subscribe(rt, 1)
    await rt.services.tips.plan_day(DAY)
    (row,) = await rt.stores.outbox.for_resident(rid, "tip")
    resident = await rt.stores.residents.get(rid)
    assert resident is not None
    zh = await render_tip(rt, rt.catalogs.get("zh_Hans"), resident, row)
    en = await render_tip(rt, rt.catalogs.get("en"), resident, row)
    assert "勤洗手，多通风" in zh[0].text and "来源" in zh[0].text
    assert "Wash your hands often" in en[0].text and "Source:" in en[0].text
    assert [b.label for b in en[0].all_buttons()] == ["👍 Helpful", "🔕 Fewer tips", "🏠 Home"]
    assert all(b.data and b.data.startswith("v1:") for b in zh[0].all_buttons())
    gone = replace(row, key="retired-tip")
    assert await render_tip(rt, rt.catalogs.get("en"), resident, gone) == []


async def test_nightly_job_and_start_up_catch_up(rt: Runtime, clock) -> None:
    from handlers.resident.tips import catch_up

    spec = rt.registry.jobs["tips.plan"]
    assert (spec.trigger, spec.args) == ("cron", {"hour": 0, "minute": 30})
    (rid,) = await _subscribe(rt, 1)
    # 10:00: the bot (re)starts and plans today's tips it may have missed at 00:30.
    await catch_up(rt)
    (task,) = [t for t in asyncio.all_tasks() if t.get_name() == "tips.catch-up"]
    await task
    (row,) = await rt.stores.outbox.for_resident(rid, "tip")
    assert row.dedupe_key == f"tip:{rid}:2026-11-24"
    await spec.fn(rt)  # the job itself on the same day adds nothing
    assert len(await rt.stores.outbox.for_resident(rid, "tip")) == 1
    # After the evening slot a restart plans nothing: those tips would arrive tomorrow.
    clock.set(datetime(2026, 11, 25, 11, 0, tzinfo=UTC))  # 19:00 Shanghai
    await catch_up(rt)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "tips.catch-up"]
    await spec.fn(rt)  # the nightly job does plan the day, whenever it runs
    assert len(await rt.stores.outbox.for_resident(rid, "tip")) == 2


async def test_moving_the_time_loses_no_day(rt: Runtime) -> None:
    (rid,) = await _subscribe(rt, 1)
    svc = rt.services.tips
    outbox = rt.stores.outbox
    sub = await svc.subscription(rid)
    due = await svc.reschedule(sub)  # 10:00 Tuesday: Wednesday 08:30
    assert due is not None and due.astimezone(rt.settings.tz).day == 25
    for slot, day in (("noon", 24), ("evening", 24), ("morning", 25), ("evening", 24)):
        sub, due = await svc.update(sub, slot=slot)
        assert due is not None and due.astimezone(rt.settings.tz).day == day, slot
    live = [r for r in await outbox.for_resident(rid, "tip") if r.status == "pending"]
    assert [r.key for r in live] == [RHYME_ID]  # one live row, the same tip throughout
    assert await rt.stores.tips.counts(rid) == {RHYME_ID: 1}
    # Wednesday's row was cancelled when the tip moved to Tuesday evening: the nightly
    # planner still gives Wednesday its own (next) tip.
    result = await svc.plan_day(DAY)
    assert result.rows == 1
    row = await outbox.by_dedupe(f"tip:{rid}:2026-11-25")
    assert row is not None and row.status == "pending" and row.key != RHYME_ID
    assert row.due_at.astimezone(rt.settings.tz).hour == 18
