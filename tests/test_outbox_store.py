"""Tier 1: the outbox queries that re-planning features share (pending keys by range or
prefix, taken keys, reviving cancelled rows, one row by id), on a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.outbox import Planned
from bot.runtime import Runtime
from bot.storage.outbox import OutboxStore


def row(rid: int, kind: str, key: str, rt: Runtime, **params: object) -> Planned:
    return Planned(rid, kind, "k", rt.now() + timedelta(hours=1), key, params=dict(params))


async def planned(rt: Runtime) -> tuple[OutboxStore, int, int]:
    """Two residents' reminders (`r:<child>:<n>`) and one row of another kind."""
    residents = rt.stores.residents
    a = (await residents.create("test", "1")).id
    b = (await residents.create("test", "2")).id
    outbox = rt.stores.outbox
    rows = [
        row(a, "reminder", "r:1:a", rt),
        row(a, "reminder", "r:1:b", rt),
        row(b, "reminder", "r:2:a", rt),
        row(b, "reminder", "r:3:a", rt),
        row(a, "other", "r:1:z", rt),
    ]
    assert await outbox.plan(rows, rt.now()) == 5
    assert await outbox.cancel(["r:1:b"], rt.now()) == 1
    return outbox, a, b


async def test_pending_keys_by_prefix_and_by_range(rt: Runtime) -> None:
    outbox, _, _ = await planned(rt)
    assert await outbox.pending_keys("reminder", "r:1:") == {"r:1:a"}
    assert await outbox.pending_keys("reminder", "r:1:", "r:3:") == {"r:1:a", "r:2:a"}
    assert await outbox.pending_keys("other", "r:") == {"r:1:z"}
    assert await outbox.pending_keys("reminder", "x:") == set()


async def test_pending_keys_by_resident(rt: Runtime) -> None:
    outbox, a, b = await planned(rt)
    assert await outbox.pending_keys_by_resident("reminder", "r:") == {
        a: {"r:1:a"},
        b: {"r:2:a", "r:3:a"},
    }
    assert await outbox.pending_keys_by_resident("reminder", "r:", [b]) == {b: {"r:2:a", "r:3:a"}}
    assert await outbox.pending_keys_by_resident("reminder", "r:", []) == {}


async def test_a_cancelled_key_is_free_and_can_be_revived(rt: Runtime) -> None:
    outbox, _, _ = await planned(rt)
    keys = [f"r:{i}:b" for i in range(1, 1200)] + ["r:1:a", "r:2:a"]  # several queries' worth
    assert await outbox.taken_keys(keys) == {"r:1:a", "r:2:a"}

    later = rt.now() + timedelta(days=2)
    wanted = [("r:1:b", later, None), ("r:1:a", later, None)]
    assert await outbox.revive_cancelled("other", wanted, rt.now()) == 0  # another kind's key
    assert await outbox.revive_cancelled("reminder", wanted, rt.now()) == 1  # r:1:a is pending
    revived = await outbox.by_dedupe("r:1:b")
    assert revived is not None
    assert revived.status == "pending" and revived.due_at == later
    assert "r:1:b" in await outbox.taken_keys(["r:1:b"])
    untouched = await outbox.by_dedupe("r:1:a")
    assert untouched is not None and untouched.due_at != later


async def test_one_row_by_id(rt: Runtime) -> None:
    outbox, a, _ = await planned(rt)
    first = await outbox.by_dedupe("r:1:a")
    assert first is not None
    got = await outbox.get(first.id)
    assert got == first and got.resident_id == a
    assert await outbox.get(first.id + 1000) is None
