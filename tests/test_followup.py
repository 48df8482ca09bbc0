"""The follow-up plan (quarter rhythm, 2-week rules, 65+ annual check) and its reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.followup import (
    Due,
    History,
    Reason,
    plan,
    quarter_end,
    quarter_of,
    reminder_key,
    reminders,
)

TZ = ZoneInfo("Asia/Shanghai")
HT = frozenset({"hypertension"})


def by_reason(h: History, today: date) -> dict[Reason, tuple[date, bool]]:
    # The yearly comprehensive check is tested on its own (test_yearly_comprehensive_check).
    return {
        d.reason: (d.due, d.overdue) for d in plan(h, today) if d.reason is not Reason.COMPREHENSIVE
    }


def without_yearly(dues: list[Due]) -> list[Due]:
    return [d for d in dues if d.reason is not Reason.COMPREHENSIVE]


def test_quarters() -> None:
    assert quarter_of(date(2026, 12, 31)) == (2026, 4)
    assert quarter_of(date(2027, 1, 1)) == (2027, 1)
    assert quarter_end(2026, 1) == date(2026, 3, 31)
    assert quarter_end(2026, 2) == date(2026, 6, 30)
    assert quarter_end(2026, 3) == date(2026, 9, 30)
    assert quarter_end(2026, 4) == date(2026, 12, 31)


def test_no_condition_no_plan() -> None:
    assert plan(History(birth_year=1980), date(2026, 11, 24)) == []


def test_new_condition_is_due_by_the_end_of_this_quarter() -> None:
    h = History(conditions=HT, condition_since=date(2026, 11, 24))
    assert by_reason(h, date(2026, 11, 24)) == {Reason.QUARTERLY: (date(2026, 12, 31), False)}


def test_follow_up_in_q4_moves_the_next_one_to_q1_of_next_year() -> None:
    h = History(conditions=HT, condition_since=date(2026, 1, 5), last_followup=date(2026, 11, 2))
    assert by_reason(h, date(2026, 11, 24))[Reason.QUARTERLY] == (date(2027, 3, 31), False)
    # After new year, Q1 is still open: due by its end, not overdue.
    assert by_reason(h, date(2027, 1, 5))[Reason.QUARTERLY] == (date(2027, 3, 31), False)


def test_a_missed_q4_is_overdue_in_january() -> None:
    h = History(conditions=HT, condition_since=date(2026, 1, 5), last_followup=date(2026, 8, 1))
    # Q3 done, Q4 passed without a follow-up: overdue, and stays so until they are seen.
    assert by_reason(h, date(2027, 1, 5))[Reason.QUARTERLY] == (date(2026, 12, 31), True)
    seen = History(conditions=HT, condition_since=date(2026, 1, 5), last_followup=date(2027, 1, 6))
    assert by_reason(seen, date(2027, 1, 7))[Reason.QUARTERLY] == (date(2027, 6, 30), False)


def test_quarter_rhythm_over_a_whole_year() -> None:
    """Seen once in each quarter: the next due date is always the next quarter's end."""
    since = date(2025, 12, 1)
    visits = [date(2025, 12, 10), date(2026, 2, 14), date(2026, 5, 3), date(2026, 8, 20)]
    expected = [date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31)]
    for visit, due in zip(visits, expected, strict=True):
        h = History(conditions=HT, condition_since=since, last_followup=visit)
        assert by_reason(h, visit)[Reason.QUARTERLY] == (due, False)


def test_uncontrolled_reading_needs_a_recheck_within_two_weeks() -> None:
    h = History(
        conditions=HT,
        condition_since=date(2026, 1, 5),
        last_followup=date(2026, 10, 10),
        last_uncontrolled=date(2026, 11, 20),
    )
    assert by_reason(h, date(2026, 11, 24))[Reason.RECHECK] == (date(2026, 12, 4), False)
    assert by_reason(h, date(2026, 12, 4))[Reason.RECHECK] == (date(2026, 12, 4), False)
    assert by_reason(h, date(2026, 12, 5))[Reason.RECHECK] == (date(2026, 12, 4), True)


def test_a_follow_up_on_or_after_the_reading_satisfies_the_recheck() -> None:
    base = dict(
        conditions=HT, condition_since=date(2026, 1, 5), last_uncontrolled=date(2026, 11, 20)
    )
    same_day = History(**base, last_followup=date(2026, 11, 20))
    before = History(**base, last_followup=date(2026, 11, 19))
    assert Reason.RECHECK not in by_reason(same_day, date(2026, 11, 24))
    assert Reason.RECHECK in by_reason(before, date(2026, 11, 24))


def test_side_effect_needs_a_recheck_within_two_weeks() -> None:
    h = History(
        conditions=frozenset({"diabetes2"}),
        condition_since=date(2026, 1, 5),
        last_followup=date(2026, 10, 1),
        last_side_effect=date(2026, 12, 25),
    )
    # Two weeks from Christmas crosses the year end.
    assert by_reason(h, date(2026, 12, 26))[Reason.RECHECK] == (date(2027, 1, 8), False)


def test_referral_needs_a_check_within_two_weeks_after_the_referral_day() -> None:
    base = dict(conditions=HT, condition_since=date(2026, 1, 5), last_referral=date(2026, 11, 10))
    # The referral was made at a visit that same day: that visit is not the check.
    same_day = History(**base, last_followup=date(2026, 11, 10))
    assert by_reason(same_day, date(2026, 11, 24))[Reason.REFERRAL] == (date(2026, 11, 24), False)
    assert by_reason(same_day, date(2026, 11, 25))[Reason.REFERRAL] == (date(2026, 11, 24), True)
    checked = History(**base, last_followup=date(2026, 11, 12))
    assert Reason.REFERRAL not in by_reason(checked, date(2026, 11, 24))


def test_elderly_annual_check_from_the_year_they_turn_65() -> None:
    today = date(2026, 11, 24)
    assert Reason.ANNUAL not in by_reason(History(birth_year=1962), today)  # 64 this year
    assert by_reason(History(birth_year=1961), today) == {
        Reason.ANNUAL: (date(2026, 12, 31), False)
    }
    done = History(birth_year=1950, last_annual_check=date(2026, 4, 2))
    assert by_reason(done, today)[Reason.ANNUAL] == (date(2027, 12, 31), False)
    last_year = History(birth_year=1950, last_annual_check=date(2025, 4, 2))
    assert by_reason(last_year, today)[Reason.ANNUAL] == (date(2026, 12, 31), False)


def test_plan_is_sorted_by_due_date() -> None:
    h = History(
        conditions=HT,
        condition_since=date(2026, 1, 5),
        birth_year=1950,
        last_followup=date(2026, 10, 10),
        last_uncontrolled=date(2026, 11, 20),
    )
    dues = plan(h, date(2026, 11, 24))
    assert [(d.reason, d.due) for d in dues] == [
        (Reason.RECHECK, date(2026, 12, 4)),
        (Reason.ANNUAL, date(2026, 12, 31)),
        (Reason.QUARTERLY, date(2027, 3, 31)),  # seen in Q4 already
    ]


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=TZ)


def test_reminders_two_weeks_ahead_and_in_the_due_week() -> None:
    h = History(conditions=HT, condition_since=date(2026, 11, 1))
    now = datetime(2026, 11, 24, 2, tzinfo=UTC)  # 10:00 Shanghai
    out = reminders(7, without_yearly(plan(h, now.astimezone(TZ).date())), now, TZ)
    assert [(r.stage, r.at) for r in out] == [
        ("ahead", at(2026, 12, 17)),
        ("week", at(2026, 12, 28)),  # Monday of the week of 31 December
    ]
    assert out[0].dedupe_key == reminder_key(7, Reason.QUARTERLY, date(2026, 12, 31), "ahead")
    assert all(r.expires_at > r.at for r in out)


def test_recheck_reminder_skips_the_ahead_stage_that_is_now() -> None:
    h = History(
        conditions=HT,
        condition_since=date(2026, 1, 1),
        last_followup=date(2026, 10, 5),
        last_uncontrolled=date(2026, 11, 24),
    )
    now = at(2026, 11, 24, 9)
    recheck = [r for r in reminders(7, plan(h, now.date()), now, TZ) if r.reason is Reason.RECHECK]
    # Due 8 December (a Tuesday): one reminder on Monday 7 December.
    assert [(r.stage, r.at) for r in recheck] == [("week", at(2026, 12, 7))]


def test_due_week_already_running_reminds_now() -> None:
    h = History(conditions=HT, condition_since=date(2026, 11, 1))
    now = at(2026, 12, 29, 15)  # Tuesday of the due week
    out = reminders(7, without_yearly(plan(h, now.date())), now, TZ)
    assert [(r.stage, r.at) for r in out] == [("week", now)]


def test_overdue_reminds_once() -> None:
    h = History(conditions=HT, condition_since=date(2026, 1, 5), last_followup=date(2026, 8, 1))
    now = at(2027, 1, 5, 8)
    out = reminders(7, without_yearly(plan(h, now.date())), now, TZ)
    assert [(r.stage, r.at, r.due) for r in out] == [
        ("overdue", at(2027, 1, 5), date(2026, 12, 31))
    ]


def test_yearly_comprehensive_check_for_every_managed_patient() -> None:
    """规范: 每年进行1次较全面的健康检查 for every managed patient, not only those 65+."""
    h = History(conditions=HT, condition_since=date(2026, 3, 1), birth_year=1980)
    dues = {d.reason: d.due for d in plan(h, date(2026, 11, 24))}
    assert dues[Reason.COMPREHENSIVE] == date(2026, 12, 31)
    assert Reason.ANNUAL not in dues
    done = History(
        conditions=HT, condition_since=date(2026, 3, 1), last_annual_check=date(2026, 6, 1)
    )
    assert {d.reason: d.due for d in plan(done, date(2026, 11, 24))}[Reason.COMPREHENSIVE] == date(
        2027, 12, 31
    )
    # 65 and over: the elderly annual check covers it; without a condition, no yearly check.
    old = History(conditions=HT, condition_since=date(2026, 3, 1), birth_year=1950)
    reasons = {d.reason for d in plan(old, date(2026, 11, 24))}
    assert Reason.ANNUAL in reasons and Reason.COMPREHENSIVE not in reasons
    assert plan(History(birth_year=1980), date(2026, 11, 24)) == []


@pytest.mark.parametrize(
    ("followups", "referral", "advised"),
    [
        (((date(2026, 11, 2), True), (date(2026, 10, 5), True)), None, True),
        (((date(2026, 11, 2), True), (date(2026, 10, 5), False)), None, False),
        (((date(2026, 11, 2), False), (date(2026, 10, 5), True)), None, False),
        (((date(2026, 11, 2), True),), None, False),
        (((date(2026, 11, 2), True), (date(2026, 10, 5), True)), date(2026, 11, 10), False),
    ],
)
def test_referral_after_two_uncontrolled_follow_ups_in_a_row(
    followups: tuple[tuple[date, bool], ...], referral: date | None, advised: bool
) -> None:
    """规范: 对连续两次出现血压控制不满意……建议其转诊到上级医院 (until a referral is recorded)."""
    h = History(
        conditions=HT,
        condition_since=date(2026, 1, 1),
        last_followup=followups[0][0],
        last_referral=referral,
        followups=followups,
    )
    dues = {d.reason: d for d in plan(h, date(2026, 11, 24))}
    assert (Reason.REFER_ADVISED in dues) is advised
    if advised:
        assert dues[Reason.REFER_ADVISED].due == date(2026, 11, 16)


@pytest.mark.parametrize(("direction", "why"), [("low", "low"), ("high", "high"), (None, "high")])
def test_recheck_names_its_cause(direction: str | None, why: str) -> None:
    h = History(
        conditions=HT,
        condition_since=date(2026, 1, 1),
        last_uncontrolled=date(2026, 11, 24),
        last_uncontrolled_direction=direction,
    )
    recheck = next(d for d in plan(h, date(2026, 11, 24)) if d.reason is Reason.RECHECK)
    assert recheck.why == why
    side = History(
        conditions=HT, condition_since=date(2026, 1, 1), last_side_effect=date(2026, 11, 24)
    )
    assert next(d for d in plan(side, date(2026, 11, 24)) if d.reason is Reason.RECHECK).why == (
        "side_effect"
    )
