"""Every nightly planner survives a resident deleted (/delete) between its read and its write.

Finding: the medicine planner read a page of residents, one confirmed /delete meanwhile, and
the page's insert failed with a FOREIGN KEY error, so nobody on the page got a reminder. The
same read-then-write shape is in the tip, child-vaccine and follow-up planners and in
`OutboxStore.plan` (the weekly medicine summary, adult vaccines): each test here deletes a
resident right after the planner's read and checks the others are planned, the deleted one
gets nothing, and no error is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from bot.domain.outbox import Planned
from bot.runtime import Runtime
from tests.test_tips_planner import DAY, _subscribe


def delete_after_read(
    rt: Runtime, read: Callable[..., Awaitable[Any]], victim: int
) -> Callable[..., Awaitable[Any]]:
    """`read`, except that the victim is deleted right after the first non-empty read."""
    done = False

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = await read(*args, **kwargs)
        if result and not done:
            done = True
            await rt.stores.residents.delete(victim)  # /delete confirmed meanwhile
        return result

    return wrapped


async def rows_of(rt: Runtime, rid: int) -> list[Any]:
    return await rt.db.fetchall("SELECT dedupe_key FROM outbox WHERE resident_id = ?", (rid,))


def no_errors(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_tip_planner(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await _subscribe(rt, 3)
    store = rt.services.tips.store
    monkeypatch.setattr(store, "due_page", delete_after_read(rt, store.due_page, ids[1]))
    with caplog.at_level(logging.WARNING):
        result = await rt.services.tips.plan_day(DAY)
    no_errors(caplog)
    assert result.rows == 2
    for rid in (ids[0], ids[2]):
        assert len(await rows_of(rt, rid)) == 1
    assert await rows_of(rt, ids[1]) == []
    assert await rt.db.fetchval("SELECT count(*) FROM tip_history") == 2


async def test_child_vaccine_planner(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ids = []
    for i in range(3):
        r = await rt.stores.residents.create("test", f"vx{i}")
        await rt.services.children.add(r.id, f"child{i}", rt.now().date() - timedelta(days=20))
        ids.append(r.id)
    # A new day: nothing planned yet (the rows the edits planned are gone).
    await rt.db.execute("DELETE FROM outbox")
    reminders = rt.services.child_reminders
    store = reminders.store
    monkeypatch.setattr(store, "doses_after", delete_after_read(rt, store.doses_after, ids[1]))
    with caplog.at_level(logging.WARNING):
        children, added, _ = await reminders.replan_all()
    no_errors(caplog)
    assert children == 3 and added > 0
    for rid in (ids[0], ids[2]):
        assert await rows_of(rt, rid)
    assert await rows_of(rt, ids[1]) == []


async def test_follow_up_planner(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    health = rt.services.health
    ids = []
    for i in range(3):
        r = await rt.stores.residents.create("test", f"fu{i}")
        await health.store.set_birth_year(r.id, 1950, rt.now())  # stored without a re-plan
        ids.append(r.id)
    monkeypatch.setattr(health.store, "facts", delete_after_read(rt, health.store.facts, ids[1]))
    with caplog.at_level(logging.WARNING):
        added, _ = await health.replan_all()
    no_errors(caplog)
    assert added == 4  # the annual check, ahead and in its week, for each resident left
    for rid in (ids[0], ids[2]):
        assert len(await rows_of(rt, rid)) == 2
    assert await rows_of(rt, ids[1]) == []


async def test_outbox_plan_skips_a_deleted_resident(rt: Runtime) -> None:
    """The weekly summary and adult-vaccine jobs plan through `OutboxStore.plan` from a list
    of residents read first."""
    a = await rt.stores.residents.create("test", "w1")
    b = await rt.stores.residents.create("test", "w2")
    now = rt.now()
    rows = [
        Planned(
            resident_id=r.id,
            kind="med_weekly",
            key="week",
            due_at=now,
            dedupe_key=f"mdw:{r.id}:{date(2026, 11, 16).isoformat()}",
            params={"from": "2026-11-16"},
            expires_at=now + timedelta(days=2),
        )
        for r in (a, b)
    ]
    await rt.stores.residents.delete(b.id)
    assert await rt.stores.outbox.plan(rows, now) == 1
    assert len(await rows_of(rt, a.id)) == 1 and await rows_of(rt, b.id) == []
