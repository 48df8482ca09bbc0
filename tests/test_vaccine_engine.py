"""The dose planner against cases worked out by hand from the schedule files.

Every expected date below was computed on paper from the ages, intervals and deadlines in
content/vaccines/*.yaml (comments show the working); none is produced by the engine.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import ROOT
from bot.services.vaccines import (
    PlanInputError,
    Planner,
    ScheduleSet,
    Status,
    load_schedule_set,
    parse_given,
)
from bot.services.vaccines.engine import Plan, Reason

D = date.fromisoformat


@pytest.fixture(scope="module")
def schedules() -> ScheduleSet:
    return load_schedule_set(ROOT / "content" / "vaccines")


@pytest.fixture(scope="module")
def planner(schedules: ScheduleSet) -> Planner:
    return Planner(schedules)


def rows(plan: Plan) -> dict[str, tuple[str, str, str | None]]:
    return {
        d.dose: (
            str(d.status),
            d.due.isoformat(),
            d.complete_by.isoformat() if d.complete_by else None,
        )
        for d in plan.doses
    }


def check(plan: Plan, expected: dict[str, tuple[str, str, str | None]]) -> None:
    got = rows(plan)
    wrong = {code: (got.get(code), want) for code, want in expected.items() if got[code] != want}
    assert not wrong, f"(got, expected) per dose: {wrong}"


def test_issue_example_full_plan(planner: Planner) -> None:
    """--born 2025-03-31 --given HepB-1@2025-03-31 --given BCG-1@2025-04-02 --today 2026-01-10"""
    plan = planner.plan(
        D("2025-03-31"),
        parse_given(["HepB-1@2025-03-31", "BCG-1@2025-04-02"]),
        D("2026-01-10"),
    )
    # Born after 2025-01-01: the 2025 edition throughout. Month ends clamp: 31 March + 1 month
    # is 30 April, + 6 months is 30 September. Doses whose previous dose is not given yet are
    # planned from today (2026-01-10). "Before 12 months" → complete by 2026-03-30.
    expected = {
        "HepB-1": ("done", "2025-03-31", "2025-03-31"),  # within 24 h
        "BCG-1": ("done", "2025-03-31", "2025-06-29"),  # before 3 months (30 June)
        "HepB-2": ("due", "2025-04-30", None),
        "HepB-3": ("upcoming", "2026-03-11", "2026-03-30"),  # HepB-2 today + 60 days
        "IPV-1": ("due", "2025-05-31", None),
        "IPV-2": ("upcoming", "2026-02-07", None),  # IPV-1 today + 28 days
        "bOPV-1": ("upcoming", "2026-03-07", "2026-03-30"),  # IPV-2 + 28 days
        "bOPV-2": ("upcoming", "2029-03-31", "2030-03-30"),  # 4 y; before 5 y
        "DTaP-1": ("due", "2025-05-31", None),  # 2 months under the 2025 edition
        "DTaP-2": ("upcoming", "2026-02-07", None),  # DTaP-1 today + 28 days
        "DTaP-3": ("upcoming", "2026-03-07", "2026-03-30"),
        "DTaP-4": ("upcoming", "2026-09-30", "2027-03-30"),  # 18 months
        "DTaP-5": ("upcoming", "2031-03-31", "2032-03-30"),  # 6 years; before 7
        "DT-1": ("not_needed", "2031-03-31", "2032-03-30"),  # replaced by DTaP-5
        "MMR-1": ("due", "2025-11-30", "2026-03-30"),  # 8 months (30 November)
        "MMR-2": ("upcoming", "2026-09-30", "2027-03-30"),
        "JE-L-1": ("due", "2025-11-30", "2026-03-30"),
        "JE-L-2": ("upcoming", "2027-03-31", "2028-03-30"),
        "JE-I-1": ("not_needed", "2025-11-30", None),
        "JE-I-2": ("not_needed", "2025-11-30", "2026-03-30"),
        "JE-I-3": ("not_needed", "2027-03-31", "2028-03-30"),
        "JE-I-4": ("not_needed", "2031-03-31", "2032-03-30"),
        "MPSV-A-1": ("due", "2025-09-30", None),
        "MPSV-A-2": ("upcoming", "2026-04-10", "2026-09-29"),  # MPSV-A-1 today + 3 months
        "MPSV-AC-1": ("upcoming", "2028-03-31", "2029-03-30"),
        "MPSV-AC-2": ("upcoming", "2031-03-31", "2032-03-30"),
        "HepA-L-1": ("upcoming", "2026-09-30", "2027-03-30"),
        "HepA-I-1": ("not_needed", "2026-09-30", "2027-03-30"),
        "HepA-I-2": ("not_needed", "2027-03-31", "2028-03-30"),
        "HPV-1": ("not_needed", "2038-03-31", None),  # sex not recorded: asked on the card
        "HPV-2": ("not_needed", "2038-09-30", None),
    }
    assert set(rows(plan)) == set(expected)
    check(plan, expected)
    assert plan.versions == ("2025", "2025-11")  # doses from 2025-11-10 follow the HPV edition
    assert plan.get("DT-1").reason is Reason.SCHEDULE_CHANGE  # type: ignore[union-attr]
    assert plan.get("JE-I-1").reason is Reason.OTHER_CHOICE  # type: ignore[union-attr]
    assert plan.get("DTaP-2").waiting_for == ("DTaP-1",)  # type: ignore[union-attr]
    assert plan.get("BCG-1").given == D("2025-04-02")  # type: ignore[union-attr]


def test_born_on_a_month_end_in_a_leap_year(planner: Planner) -> None:
    plan = planner.plan(
        D("2024-01-31"), {"HepB-1": D("2024-01-31"), "BCG-1": D("2024-01-31")}, D("2024-02-10")
    )
    check(
        plan,
        {
            "HepB-2": ("upcoming", "2024-02-29", None),  # 31 Jan + 1 month = 29 Feb (leap)
            "IPV-1": ("upcoming", "2024-03-31", None),
            "IPV-2": ("upcoming", "2024-04-30", None),  # 30 April (31 clamps)
            "DTaP-1": ("upcoming", "2024-04-30", None),  # 3 months, 2021 edition
            "bOPV-1": ("upcoming", "2024-05-31", "2025-01-30"),
            "DTaP-2": ("upcoming", "2024-05-31", None),
            "DTaP-3": ("upcoming", "2024-06-30", "2025-01-30"),  # 5 months, 2021 edition
            "HepB-3": ("upcoming", "2024-07-31", "2025-01-30"),
            "MPSV-A-2": ("upcoming", "2024-10-31", "2025-07-30"),  # before 18 mo (31 Jul)
            "MMR-1": ("upcoming", "2024-09-30", "2025-01-30"),
            # 18 months falls due on 2025-07-31, after the change: the 2025 edition governs.
            "DTaP-4": ("upcoming", "2025-07-31", "2026-01-30"),
            "DTaP-5": ("upcoming", "2030-01-31", "2031-01-30"),
            "DT-1": ("not_needed", "2030-01-31", "2031-01-30"),
        },
    )
    versions = {d.dose: d.version for d in plan.doses}
    # DTaP-5 (2030) falls after 2025-11-10: the HPV edition governs it, with the same rules.
    assert [versions[f"DTaP-{n}"] for n in range(1, 6)] == ["2021"] * 3 + ["2025", "2025-11"]
    assert plan.versions == ("2021", "2025", "2025-11")


def test_born_on_a_leap_day(planner: Planner) -> None:
    # A newborn: nothing is given, so every dose is planned at its own age.
    plan = planner.plan(D("2024-02-29"), {}, D("2024-02-29"))
    check(
        plan,
        {
            "HepB-1": ("due", "2024-02-29", "2024-02-29"),
            "BCG-1": ("due", "2024-02-29", "2024-05-28"),
            "HepB-2": ("upcoming", "2024-03-29", None),
            "HepB-3": ("upcoming", "2024-08-29", "2025-02-27"),  # 1st birthday is 28 Feb 2025
            "MMR-1": ("upcoming", "2024-10-29", "2025-02-27"),
            "MMR-2": ("upcoming", "2025-08-29", "2026-02-27"),
            "JE-L-2": ("upcoming", "2026-02-28", "2027-02-27"),  # 2nd birthday: 28 Feb
            "bOPV-2": ("upcoming", "2028-02-29", "2029-02-27"),  # 2028 is a leap year
            "MPSV-AC-1": ("upcoming", "2027-02-28", "2028-02-28"),  # before 29 Feb 2028
            "DTaP-4": ("upcoming", "2025-08-29", "2026-02-27"),
            "DTaP-5": ("upcoming", "2030-02-28", "2031-02-27"),
        },
    )
    bcg = plan.get("BCG-1")
    assert bcg is not None and bcg.no_longer_given_from == D("2028-02-29")


def test_missed_the_3_month_dtap_of_the_old_schedule(planner: Planner) -> None:
    given = parse_given(
        [
            "HepB-1@2024-01-15",
            "BCG-1@2024-01-15",
            "HepB-2@2024-02-15",
            "IPV-1@2024-03-15",
            "IPV-2@2024-04-15",
            "bOPV-1@2024-05-15",
        ]
    )
    plan = planner.plan(D("2024-01-15"), given, D("2024-06-01"))
    check(
        plan,
        {
            "DTaP-1": ("due", "2024-04-15", None),  # 3 months, still no deadline
            "DTaP-2": ("upcoming", "2024-06-29", None),  # today + 28 days
            "DTaP-3": ("upcoming", "2024-07-27", "2025-01-14"),  # + 28 days
            # 18 months (2025-07-15) is later than DTaP-3 + 6 months (2025-01-27).
            "DTaP-4": ("upcoming", "2025-07-15", "2026-01-14"),
        },
    )
    versions = {d.dose: d.version for d in plan.doses}
    assert (versions["DTaP-3"], versions["DTaP-4"]) == ("2021", "2025")


def test_missed_the_2_month_dtap_of_the_new_schedule(planner: Planner) -> None:
    given = parse_given(
        ["HepB-1@2025-03-10", "BCG-1@2025-03-10", "HepB-2@2025-04-10", "IPV-1@2025-05-10"]
    )
    plan = planner.plan(D("2025-03-10"), given, D("2025-06-20"))
    check(
        plan,
        {
            "DTaP-1": ("due", "2025-05-10", None),
            "DTaP-2": ("upcoming", "2025-07-18", None),  # today + 28 days, after 4 months
            "DTaP-3": ("upcoming", "2025-09-10", "2026-03-09"),  # 6 months is later
            "IPV-2": ("due", "2025-06-10", None),
        },
    )


OLD_DTAP = ["DTaP-1@2018-09-01", "DTaP-2@2018-10-01", "DTaP-3@2018-11-01", "DTaP-4@2019-12-01"]


def test_turned_6_before_the_change_and_had_dt(planner: Planner) -> None:
    given = parse_given([*OLD_DTAP, "DT-1@2024-07-01"])
    plan = planner.plan(D("2018-06-01"), given, D("2025-03-01"))
    dt1, dtap5 = plan.get("DT-1"), plan.get("DTaP-5")
    assert dt1 is not None and dtap5 is not None
    assert (dt1.status, dt1.due, dt1.version) == (Status.DONE, D("2024-06-01"), "2021")
    assert (dtap5.status, dtap5.reason) == (Status.NOT_NEEDED, Reason.REPLACED)


def test_turned_6_before_the_change_still_due_dt_in_2024(planner: Planner) -> None:
    plan = planner.plan(D("2018-06-01"), parse_given(OLD_DTAP), D("2024-10-01"))
    # DT-1 at 6 years (2024-06-01), before 7 years, under the 2021 edition.
    check(
        plan,
        {
            "DT-1": ("due", "2024-06-01", "2025-05-31"),
            "DTaP-5": ("not_needed", "2024-06-01", "2025-05-31"),
        },
    )
    assert plan.get("DT-1").version == "2021"  # type: ignore[union-attr]
    assert plan.get("DTaP-5").reason is Reason.SCHEDULE_CHANGE  # type: ignore[union-attr]


def test_dt_not_given_by_the_change_is_caught_up_with_dtap_5(planner: Planner) -> None:
    # Same child in March 2025: the 6-year dose can only be given now, under the 2025
    # edition, which gives DTaP at 6 years; due from the day the change took effect.
    plan = planner.plan(D("2018-06-01"), parse_given(OLD_DTAP), D("2025-03-01"))
    check(
        plan,
        {
            "DT-1": ("not_needed", "2024-06-01", "2025-05-31"),
            "DTaP-5": ("due", "2025-01-01", "2025-05-31"),
        },
    )
    assert plan.get("DT-1").reason is Reason.SCHEDULE_CHANGE  # type: ignore[union-attr]
    assert plan.get("DTaP-5").version == "2025"  # type: ignore[union-attr]


def test_turns_6_after_the_change_gets_dtap_5_instead_of_dt(planner: Planner) -> None:
    given = parse_given(
        ["DTaP-1@2019-06-01", "DTaP-2@2019-07-01", "DTaP-3@2019-08-01", "DTaP-4@2020-09-01"]
    )
    plan = planner.plan(D("2019-03-01"), given, D("2025-03-10"))
    check(
        plan,
        {
            "DTaP-4": ("done", "2020-09-01", "2021-02-28"),
            "DTaP-5": ("due", "2025-03-01", "2026-02-28"),
            "DT-1": ("not_needed", "2025-03-01", "2026-02-28"),
        },
    )
    versions = {d.dose: d.version for d in plan.doses}
    assert [versions[f"DTaP-{n}"] for n in range(1, 6)] == ["2021"] * 4 + ["2025"]
    assert versions["DT-1"] == "2025"


def test_given_dt_anyway_makes_dtap_5_not_needed(planner: Planner) -> None:
    given = parse_given(
        [
            "DTaP-1@2019-06-01",
            "DTaP-2@2019-07-01",
            "DTaP-3@2019-08-01",
            "DTaP-4@2020-09-01",
            "DT-1@2025-03-05",
        ]
    )
    plan = planner.plan(D("2019-03-01"), given, D("2025-03-10"))
    dtap5, dt1 = plan.get("DTaP-5"), plan.get("DT-1")
    assert dtap5 is not None and dt1 is not None
    assert (dtap5.status, dtap5.reason) == (Status.NOT_NEEDED, Reason.REPLACED)
    assert (dt1.status, dt1.given) == (Status.DONE, D("2025-03-05"))


def test_part_way_infant_follows_new_ages_for_remaining_doses(planner: Planner) -> None:
    # DTaP-1, -2 given at 3 and 4 months under the 2021 edition; DTaP-3 would fall due at
    # 5 months (2025-01-15), after the change, so it moves to 6 months (2025-02-15).
    given = {"DTaP-1": D("2024-11-15"), "DTaP-2": D("2024-12-16")}
    plan = planner.plan(D("2024-08-15"), given, D("2025-01-20"))
    check(plan, {"DTaP-3": ("upcoming", "2025-02-15", "2025-08-14")})
    versions = {d.dose: d.version for d in plan.doses}
    assert (versions["DTaP-2"], versions["DTaP-3"]) == ("2021", "2025")


def test_dose_not_due_before_the_change_took_effect(planner: Planner) -> None:
    # Born 2024-10-15: 2 months was 2024-12-15, under the old schedule (DTaP at 3 months);
    # by 3 months the new schedule is in force, so DTaP-1 is due from 2025-01-01.
    plan = planner.plan(D("2024-10-15"), {}, D("2025-01-05"))
    check(plan, {"DTaP-1": ("due", "2025-01-01", None)})
    assert plan.get("DTaP-1").version == "2025"  # type: ignore[union-attr]


def test_past_a_completion_deadline_is_overdue_with_catch_up_dates(planner: Planner) -> None:
    given = {"HepB-1": D("2024-05-20"), "BCG-1": D("2024-05-20"), "HepB-2": D("2024-06-20")}
    plan = planner.plan(D("2024-05-20"), given, D("2025-06-01"))
    check(
        plan,
        {
            # 6 months; before 12 months (complete by 2025-05-19): overdue, give now.
            "HepB-3": ("overdue", "2024-11-20", "2025-05-19"),
            "MMR-1": ("overdue", "2025-01-20", "2025-05-19"),
            # DTaP-1 fell due at 3 months (2021 edition) but can only be given now, under the
            # 2025 edition (2 months): due since that edition took effect.
            "DTaP-1": ("due", "2025-01-01", None),
            # Catch-up dates: DTaP-1 today, DTaP-2 + 28 days, DTaP-3 + 28 days.
            "DTaP-2": ("upcoming", "2025-06-29", None),
            "DTaP-3": ("overdue", "2025-07-27", "2025-05-19"),
            "DTaP-4": ("upcoming", "2026-01-27", "2026-05-19"),  # DTaP-3 + 6 months
        },
    )


def test_a_child_of_5_who_never_had_bcg(planner: Planner) -> None:
    plan = planner.plan(D("2020-04-10"), {}, D("2025-05-01"))
    check(
        plan,
        {
            "BCG-1": ("missed", "2020-04-10", "2020-07-09"),  # not given from 4 years
            "MPSV-A-1": ("missed", "2020-10-10", None),  # not given from 24 months
            "MPSV-A-2": ("missed", "2021-01-10", "2021-10-09"),
            "HepB-1": ("overdue", "2020-04-10", "2020-04-10"),  # caught up under 18
        },
    )
    bcg = plan.get("BCG-1")
    assert bcg is not None and bcg.reason is Reason.TOO_OLD
    assert bcg.no_longer_given_from == D("2024-04-10")


def test_dtap_not_caught_up_from_7_under_the_2025_edition(planner: Planner) -> None:
    plan = planner.plan(D("2017-01-01"), {}, D("2025-02-01"))
    statuses = {f"DTaP-{n}": plan.get(f"DTaP-{n}").status for n in range(1, 6)}  # type: ignore[union-attr]
    assert set(statuses.values()) == {Status.MISSED}
    assert plan.get("DT-1").status is Status.NOT_NEEDED  # type: ignore[union-attr]
    # In 2024 the 2021 edition applied: no DTaP from 6 years, DT caught up (overdue).
    before = planner.plan(D("2017-01-01"), {}, D("2024-06-01"))
    check(
        before,
        {
            "DTaP-1": ("missed", "2017-04-01", None),
            "DT-1": ("overdue", "2023-01-01", "2023-12-31"),
            "DTaP-5": ("not_needed", "2023-01-01", "2023-12-31"),
        },
    )


def test_je_inactivated(schedules: ScheduleSet) -> None:
    planner = Planner(schedules, {"JE": "inactivated"})
    plan = planner.plan(D("2025-01-20"), {"JE-I-1": D("2025-09-20")}, D("2025-09-22"))
    check(
        plan,
        {
            "JE-I-1": ("done", "2025-09-20", None),  # 8 months
            "JE-I-2": ("upcoming", "2025-09-27", "2026-01-19"),  # 7 days later
            "JE-I-3": ("upcoming", "2027-01-20", "2028-01-19"),  # 2 years; before 3
            "JE-I-4": ("upcoming", "2031-01-20", "2032-01-19"),  # 6 years; before 7
            "JE-L-1": ("not_needed", "2025-09-20", "2026-01-19"),
            "JE-L-2": ("not_needed", "2027-01-20", "2028-01-19"),
        },
    )
    assert plan.choices["JE"] == "inactivated"


def test_doses_of_the_other_branch_decide_the_branch(planner: Planner) -> None:
    # The deployment uses JE live, but this child started on inactivated: keep to it.
    plan = planner.plan(D("2025-01-20"), {"JE-I-1": D("2025-09-20")}, D("2025-09-22"))
    assert plan.choices["JE"] == "inactivated"
    assert plan.get("JE-I-2").status is Status.UPCOMING  # type: ignore[union-attr]
    assert plan.get("JE-L-1").status is Status.NOT_NEEDED  # type: ignore[union-attr]


def test_hepa_inactivated(schedules: ScheduleSet) -> None:
    planner = Planner(schedules, {"HepA": "inactivated"})
    plan = planner.plan(D("2024-03-31"), {}, D("2025-09-30"))  # 18 months today
    check(
        plan,
        {
            "HepA-I-1": ("due", "2025-09-30", "2026-03-30"),
            "HepA-I-2": ("upcoming", "2026-03-31", "2027-03-30"),  # 24 months; > 6 months
            "HepA-L-1": ("not_needed", "2025-09-30", "2026-03-30"),
        },
    )


def test_planning_is_pure(planner: Planner) -> None:
    given = {"HepB-1": D("2025-03-31")}
    a = planner.plan(D("2025-03-31"), given, D("2026-01-10"))
    b = planner.plan(D("2025-03-31"), dict(given), D("2026-01-10"))
    assert a == b
    assert given == {"HepB-1": D("2025-03-31")}


@pytest.mark.parametrize(
    ("born", "given", "today", "message"),
    [
        ("2025-01-01", {"XYZ-1": "2025-01-02"}, "2025-02-01", "unknown dose 'XYZ-1'"),
        ("2025-01-01", {"DTaP-9": "2025-01-02"}, "2025-02-01", "unknown dose 'DTaP-9'"),
        ("2025-01-01", {"HepB-1": "2024-12-31"}, "2025-02-01", "before the birth date"),
        ("2025-01-01", {"HepB-1": "2025-03-01"}, "2025-02-01", "after today"),
        ("2025-03-01", {}, "2025-02-01", "after today"),
    ],
)
def test_bad_input_is_explained(
    planner: Planner, born: str, given: dict[str, str], today: str, message: str
) -> None:
    with pytest.raises(PlanInputError, match=message):
        planner.plan(D(born), {k: D(v) for k, v in given.items()}, D(today))


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["HepB-1"], "should look like"),
        (["HepB@2025-01-01"], "should look like"),
        (["HepB-1@2025-02-30"], "not a date"),
        (["HepB-1@2025-01-01", "HepB-1@2025-01-02"], "given twice"),
    ],
)
def test_parse_given_rejects_bad_items(items: list[str], message: str) -> None:
    with pytest.raises(PlanInputError, match=message):
        parse_given(items)


def test_unknown_choice_is_refused(schedules: ScheduleSet) -> None:
    with pytest.raises(PlanInputError, match="JE must be one of"):
        Planner(schedules, {"JE": "oral"})
