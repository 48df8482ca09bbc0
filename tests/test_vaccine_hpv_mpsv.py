"""Issue 15's schedule fixes: the HPV edition (girls born on or after 2011-11-10, two doses of
bivalent HPV from 13, 6 months apart, from 2025-11-10) and MPSV-AC catch-up from 24 months for
a child who will not complete MPSV-A (2021 说明: "≥24月龄儿童如未接种过MPSV-A，可在3周岁前
尽早接种MPSV-AC")."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import ROOT
from bot.services.vaccines import Planner, load_schedule_set
from bot.services.vaccines.engine import Reason, Status

D = date.fromisoformat


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(load_schedule_set(ROOT / "content" / "vaccines"))


@pytest.mark.parametrize(
    ("born", "sex", "status", "reason"),
    [
        ("2011-11-09", "female", Status.NOT_NEEDED, Reason.NOT_IN_COHORT),  # a day too early
        ("2011-11-10", "female", Status.DUE, None),  # the first day of the cohort
        ("2011-11-11", "female", Status.DUE, None),
        ("2012-05-01", "male", Status.NOT_NEEDED, Reason.NOT_IN_COHORT),
        ("2012-05-01", None, Status.NOT_NEEDED, Reason.SEX_UNKNOWN),
    ],
)
def test_hpv_cohort(
    planner: Planner, born: str, sex: str | None, status: Status, reason: Reason | None
) -> None:
    plan = planner.plan(D(born), {}, D("2026-12-04"), sex=sex)
    dose = plan.get("HPV-1")
    assert dose is not None and (dose.status, dose.reason) == (status, reason)


def test_hpv_from_13_then_6_months_later(planner: Planner) -> None:
    born = D("2013-05-20")
    before = planner.plan(born, {}, D("2026-05-19"), sex="female")
    first = before.get("HPV-1")
    assert first is not None and (first.status, first.due) == (Status.UPCOMING, D("2026-05-20"))
    given = planner.plan(born, {"HPV-1": D("2026-06-01")}, D("2026-06-02"), sex="female")
    second = given.get("HPV-2")
    # 13 years 6 months is 2026-11-20, but 6 months after the first dose is 2026-12-01.
    assert second is not None and (second.status, second.due) == (Status.UPCOMING, D("2026-12-01"))
    assert second.version == "2025-11"


def test_hpv_never_due_before_the_programme_started(planner: Planner) -> None:
    # Turned 13 on 2024-11-10, before HPV joined the programme: due from 2025-11-10.
    plan = planner.plan(D("2011-11-10"), {}, D("2025-11-10"), sex="female")
    dose = plan.get("HPV-1")
    assert dose is not None and (dose.status, dose.due) == (Status.DUE, D("2025-11-10"))
    # Planned before the programme started, the edition in force then had no HPV.
    early = planner.plan(D("2011-11-10"), {}, D("2025-06-01"), sex="female").get("HPV-1")
    assert early is not None and early.reason is Reason.SCHEDULE_CHANGE


@pytest.mark.parametrize(
    ("given", "today", "status", "due"),
    [
        # Never had MPSV-A, 30 months old: MPSV-AC-1 from 24 months, not from 3 years.
        ({}, "2026-12-01", Status.DUE, "2026-06-01"),
        # 20 months: both MPSV-A doses can still be given, so MPSV-AC-1 waits for 3 years.
        ({}, "2026-02-01", Status.UPCOMING, "2027-06-01"),
        # 23 months: MPSV-A-1 now, but its second dose could only come after 24 months, so
        # MPSV-AC-1 follows 3 months after MPSV-A-1 ("间隔≥3个月尽早接种MPSV-AC").
        ({}, "2026-05-01", Status.UPCOMING, "2026-08-01"),
        # One MPSV-A dose, then too old for the second: ≥ 3 months after it, from 24 months.
        ({"MPSV-A-1": "2026-04-15"}, "2026-06-02", Status.UPCOMING, "2026-07-15"),
        # Both MPSV-A doses given: the normal schedule (3 years).
        (
            {"MPSV-A-1": "2024-12-01", "MPSV-A-2": "2025-03-01"},
            "2026-12-01",
            Status.UPCOMING,
            "2027-06-01",
        ),
    ],
)
def test_mpsv_ac_catch_up(
    planner: Planner, given: dict[str, str], today: str, status: Status, due: str
) -> None:
    plan = planner.plan(D("2024-06-01"), {k: D(v) for k, v in given.items()}, D(today))
    dose = plan.get("MPSV-AC-1")
    assert dose is not None and (dose.status, dose.due) == (status, D(due))
