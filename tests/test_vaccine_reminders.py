"""Which reminder each dose needs next; dates worked out by hand (weekday noted)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import ROOT
from bot.services.vaccines import Planner, due_reminders, load_schedule_set, next_reminders

D = date.fromisoformat


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_schedule_set(ROOT / "content" / "vaccines"))


def keys(planner: Planner, born: str, given: dict[str, str], today: str) -> set[str]:
    plan = planner.plan(D(born), {k: D(v) for k, v in given.items()}, D(today))
    return {r.key for r in next_reminders(plan, D(today))}


def key_for(planner: Planner, dose: str, born: str, given: dict[str, str], today: str) -> str:
    plan = planner.plan(D(born), {k: D(v) for k, v in given.items()}, D(today))
    found = [r.key for r in next_reminders(plan, D(today)) if r.dose == dose]
    assert len(found) == 1, found
    return found[0]


CHILD = {  # born Monday 2024-01-15; the 3-month DTaP was missed
    "HepB-1": "2024-01-15",
    "BCG-1": "2024-01-15",
    "HepB-2": "2024-02-15",
    "IPV-1": "2024-03-15",
    "IPV-2": "2024-04-15",
    "bOPV-1": "2024-05-15",
}


def test_next_reminder_for_every_dose(planner: Planner) -> None:
    assert keys(planner, "2024-01-15", CHILD, "2024-06-01") == {
        "DTaP-1:still_due:2024-06-03",  # past due: weekly on the birth weekday (Monday)
        "HepB-3:soon:2024-07-08",  # due 2024-07-15, a week before
        "MPSV-A-1:soon:2024-07-08",
        "MMR-1:soon:2024-09-08",
        "JE-L-1:soon:2024-09-08",
        "HepA-L-1:soon:2025-07-08",
        "bOPV-2:soon:2028-01-08",
        # DTaP-2 … waiting for DTaP-1; MMR-2 for MMR-1, and so on: no reminder yet.
    }


def test_weekly_reminder_keeps_its_key_until_sent(planner: Planner) -> None:
    for today in ("2024-06-01", "2024-06-02", "2024-06-03"):
        key = key_for(planner, "DTaP-1", "2024-01-15", CHILD, today)
        assert key == "DTaP-1:still_due:2024-06-03"
    assert key_for(planner, "DTaP-1", "2024-01-15", CHILD, "2024-06-04").endswith("2024-06-10")
    plan = planner.plan(D("2024-01-15"), {k: D(v) for k, v in CHILD.items()}, D("2024-06-03"))
    assert [r.key for r in due_reminders(plan, D("2024-06-03"))] == ["DTaP-1:still_due:2024-06-03"]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2025-03-20", "HepB-2:soon:2025-03-25"),  # due 2025-04-01
        ("2025-03-25", "HepB-2:soon:2025-03-25"),
        ("2025-03-26", "HepB-2:due:2025-04-01"),
        ("2025-04-01", "HepB-2:due:2025-04-01"),
        ("2025-04-02", "HepB-2:still_due:2025-04-12"),  # a week after, on a Saturday
    ],
)
def test_a_week_before_then_on_the_day_then_weekly(
    planner: Planner, today: str, expected: str
) -> None:
    given = {"HepB-1": "2025-03-01", "BCG-1": "2025-03-01"}  # born Saturday 2025-03-01
    assert key_for(planner, "HepB-2", "2025-03-01", given, today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2024-12-28", "MMR-1:still_due:2024-12-30"),  # timely until 2024-12-31
        ("2024-12-31", "MMR-1:catch_up:2025-01-06"),  # the next Monday is too late
        ("2025-01-02", "MMR-1:catch_up:2025-01-06"),  # overdue now: same reminder
        ("2025-01-07", "MMR-1:catch_up:2025-01-13"),
    ],
)
def test_still_due_turns_into_weekly_catch_up(planner: Planner, today: str, expected: str) -> None:
    assert key_for(planner, "MMR-1", "2024-01-01", {}, today) == expected  # born Monday


@pytest.mark.parametrize(
    ("today", "expected_key", "expected_on"),
    [
        ("2025-12-20", "MPSV-A-2:catch_up:2025-12-22", "2025-12-22"),
        # The next Monday (2026-01-05) is past 24 months: ask the centre on the day instead.
        ("2025-12-30", "MPSV-A-2:ask_centre", "2026-01-01"),
        # No longer given: one message, the same key whenever planned.
        ("2026-01-02", "MPSV-A-2:ask_centre", "2026-01-02"),
    ],
)
def test_catch_up_until_no_longer_given_then_ask_the_centre(
    planner: Planner, today: str, expected_key: str, expected_on: str
) -> None:
    plan = planner.plan(D("2024-01-01"), {"MPSV-A-1": D("2024-07-01")}, D(today))
    [reminder] = [r for r in next_reminders(plan, D(today)) if r.dose == "MPSV-A-2"]
    assert (reminder.key, reminder.on) == (expected_key, D(expected_on))


def test_done_and_not_needed_doses_get_nothing(planner: Planner) -> None:
    plan = planner.plan(D("2025-03-31"), {"HepB-1": D("2025-03-31")}, D("2026-01-10"))
    doses = {r.dose for r in next_reminders(plan, D("2026-01-10"))}
    assert "HepB-1" not in doses
    assert not doses & {"JE-I-1", "JE-I-2", "HepA-I-1", "DT-1"}
    assert "HepB-2" in doses
