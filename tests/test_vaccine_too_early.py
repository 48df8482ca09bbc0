"""A dose given before the schedule allows it (its earliest age, or sooner than a minimum
interval) is recorded but does not count: the valid dose stays planned and reminded.
Also: a due dose always says when to give it by, or that the schedule sets no such day."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

from bot.callbacks import cb
from bot.runtime import Runtime
from bot.services.vaccines.engine import Reason, Status
from bot.services.vaccines.model import add_span
from tests.conftest import Clock
from tests.harness import ChatUser
from tests.test_vaccines_chat import add_child, resident_id, today_of, vaccine_rows


def test_engine_mmr_before_eight_months_does_not_count(rt: Runtime) -> None:
    planner = rt.services.children.planner
    plan = planner.plan(date(2026, 9, 1), {"MMR-1": date(2026, 12, 5)}, date(2026, 12, 5))
    mmr = plan.get("MMR-1")
    assert mmr is not None
    assert mmr.status is Status.UPCOMING and mmr.given is None
    assert mmr.given_too_early == date(2026, 12, 5) and mmr.reason is Reason.GIVEN_TOO_EARLY
    assert mmr.due == date(2027, 5, 1)  # 8 months: the valid dose is still planned
    # On the day it becomes valid it counts.
    ok = planner.plan(date(2026, 9, 1), {"MMR-1": date(2027, 5, 1)}, date(2027, 5, 1))
    assert ok.get("MMR-1").status is Status.DONE  # type: ignore[union-attr]


def test_engine_interval_too_short_does_not_count(rt: Runtime) -> None:
    """HepB-2 needs 28 days after HepB-1: given on day 27 it does not count."""
    planner = rt.services.children.planner
    born = date(2026, 1, 1)
    hepb1 = date(2026, 1, 10)
    given = {"HepB-1": hepb1, "HepB-2": date(2026, 2, 6)}  # 27 days later, past 1 month of age
    plan = planner.plan(born, given, date(2026, 2, 6))
    d = plan.get("HepB-2")
    assert d is not None and d.status is Status.UPCOMING and d.due == date(2026, 2, 7)
    assert d.given_too_early == date(2026, 2, 6)
    # An earlier dose not recorded does not make a recorded later one "too early".
    plan = planner.plan(born, {"HepB-2": date(2026, 2, 6)}, date(2026, 6, 1))
    assert plan.get("HepB-2").status is Status.DONE  # type: ignore[union-attr]


def test_cli_prints_mmr_as_not_done() -> None:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "bot", "vaccines", "plan", "--born", "2026-09-01"),
            *("--given", "MMR-1@2026-12-05", "--today", "2026-12-05"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("MMR-1 "))
    assert "done" not in line.split()[1]
    assert "upcoming" in line and "2027-05-01" in line and "too early" in line


async def test_chat_records_an_early_dose_and_keeps_it_planned(
    rt: Runtime, user: ChatUser, clock: Clock
) -> None:
    today = today_of(rt, clock)
    born = add_span(today, -7, 0)  # MMR-1 from 8 months: within the reminders' horizon
    cid = await add_child(user, born)
    await user.press_data(cb("vaccines", "c", cid))
    await user.press("Record a dose")
    # The picker offers only doses whose earliest age has come: not MMR-1 at 7 months.
    assert not any("MMR-1" in label for label in user.labels())
    assert any("HepB-1" in label for label in user.labels())
    # A forged/old button for MMR-1 today: stored, but the reply says it does not count.
    await user.press_data(cb("vaxremind", "on", cid, "MMR-1", today.strftime("%Y%m%d")))
    text = user.texts()
    assert "does not count" in text and "ask the vaccination clinic" in text
    assert "✅ Recorded: Measles" not in text
    record = await rt.stores.vaccines.record(cid)
    assert record is not None and record.given == {"MMR-1": today}
    plan = rt.services.children.plan(record)
    mmr = plan.get("MMR-1")
    assert mmr is not None and mmr.open and mmr.due == add_span(born, 8, 0)
    assert "Recorded too early to count" in text
    # The valid dose is still reminded: a pending reminder row names MMR-1.
    rid = await resident_id(rt, user)
    rows = await vaccine_rows(rt, rid)
    assert any(d == "MMR-1" for r in rows for d, _ in r.params["doses"])


async def test_due_dose_without_deadline_says_so(rt: Runtime, user: ChatUser, clock: Clock) -> None:
    """HepB-2 has no complete_by in the schedule: the card says there is none."""
    today = today_of(rt, clock)
    born = today - timedelta(days=45)  # HepB-2 due for two weeks: "due now", not "a while"
    cid = await add_child(user, born)
    record = await rt.stores.vaccines.record(cid)
    assert record is not None
    await rt.services.children.record_doses(record, {"HepB-1": born, "BCG-1": born})
    record = await rt.stores.vaccines.record(cid)
    assert record is not None
    plan = rt.services.children.plan(record)
    due = [d for d in plan.doses if d.status is Status.DUE]
    assert due, "a two-month-old has doses due"
    await user.press_data(cb("vaccines", "c", cid))
    text = user.texts()
    for d in due:
        if d.complete_by:
            assert rt.services.children.today() <= d.complete_by
        else:
            assert "the schedule sets no give-by day" in text
    assert any(d.complete_by is None for d in due)
