"""The chronic-disease follow-up plan: a pure function of a resident's history and today.

Rules (National Basic Public Health Service Specification, 3rd edition, hypertension and type-2
diabetes management):
- at least 4 face-to-face follow-ups a year, one per calendar quarter; a quarter's follow-up is
  due by the quarter's last day;
- after an uncontrolled reading or a drug side effect, a recheck within 2 weeks;
- after a referral, a check within 2 weeks;
- two follow-ups in a row found uncontrolled: a referral to a hospital is advised ("对连续两次
  出现血压控制不满意……建议其转诊到上级医院，2周内主动随访转诊情况"), until one is recorded;
- every managed patient: a comprehensive health check once a year ("每年进行1次较全面的健康检
  查，可与随访相结合"); residents 65 and over (age by birth year) get the elderly annual
  health check instead, which covers it.

And the reminder schedule derived from it: 2 weeks ahead, then in the due week, or once when
overdue. Each reminder has a dedupe key per resident + reason + due date + stage, so planning
again (daily) never doubles a reminder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

CONDITIONS = ("hypertension", "diabetes2")
RECHECK_DAYS = 14
ELDERLY_AGE = 65
REMIND_AHEAD_DAYS = 14
REMIND_AT = time(10, 0)  # local time of day reminders are planned for
OVERDUE_REMINDER_VALID_DAYS = 7
NOTIFICATION_KIND = "followup"


class Reason(StrEnum):
    QUARTERLY = "quarterly"  # the quarter's face-to-face follow-up
    RECHECK = "recheck"  # after an uncontrolled reading or a drug side effect
    REFERRAL = "referral"  # check on a referral
    ANNUAL = "annual"  # elderly annual health check (65+)
    COMPREHENSIVE = "comprehensive"  # yearly comprehensive check of a managed patient (< 65)
    REFER_ADVISED = "refer_advised"  # two uncontrolled follow-ups in a row


@dataclass(frozen=True, slots=True)
class History:
    """What the plan depends on. Dates are local calendar dates."""

    conditions: frozenset[str] = frozenset()
    condition_since: date | None = None  # earliest date a current condition was recorded
    birth_year: int | None = None
    last_followup: date | None = None  # newest face-to-face follow-up done (never future)
    last_uncontrolled: date | None = None  # newest uncontrolled reading
    last_side_effect: date | None = None
    last_referral: date | None = None
    last_annual_check: date | None = None
    last_uncontrolled_direction: str | None = None  # 'low' / 'high'
    followups: tuple[tuple[date, bool], ...] = ()  # newest first: (day, uncontrolled)


@dataclass(frozen=True, slots=True)
class Due:
    reason: Reason
    due: date
    overdue: bool
    trigger: date | None = None  # the reading / side effect / referral that caused it
    why: str | None = None  # a recheck's cause: 'high', 'low' or 'side_effect'


@dataclass(frozen=True, slots=True)
class Reminder:
    """One planned reminder: `stage` is 'ahead', 'week' or 'overdue'."""

    resident_id: int
    reason: Reason
    due: date
    stage: str
    at: datetime
    expires_at: datetime
    dedupe_key: str = field(default="")
    why: str | None = None  # a recheck's cause, for its label


def quarter_of(d: date) -> tuple[int, int]:
    return d.year, (d.month - 1) // 3 + 1


def quarter_end(year: int, q: int) -> date:
    if q == 4:
        return date(year, 12, 31)
    return date(year, q * 3 + 1, 1) - timedelta(days=1)


def next_quarter(year: int, q: int) -> tuple[int, int]:
    return (year + 1, 1) if q == 4 else (year, q + 1)


def age_in(year: int, birth_year: int) -> int:
    """Age reached during `year` (the specification counts the elderly by birth year)."""
    return year - birth_year


def _quarterly(h: History, today: date) -> Due:
    current = quarter_of(today)
    last = quarter_of(h.last_followup) if h.last_followup is not None else None
    if last is not None and last >= current:
        nxt = next_quarter(*current)
        return Due(Reason.QUARTERLY, quarter_end(*nxt), overdue=False)
    if last is not None:
        first_open = next_quarter(*last)
    elif h.condition_since is not None:
        first_open = quarter_of(h.condition_since)
    else:
        first_open = current
    # A quarter that passed without a follow-up cannot be made up; it makes the plan overdue
    # until the resident is seen this quarter.
    first_open = min(first_open, current)
    due = quarter_end(*first_open)
    return Due(Reason.QUARTERLY, due, overdue=due < today)


def _yearly(h: History, today: date, chronic: bool) -> Due | None:
    """The yearly check: the elderly annual health check (65+), or the comprehensive check of a
    managed chronic patient under 65. On the quarterly rule's pattern: the first year without a
    recorded check (from the year after the last one; never before the year they turned 65,
    or the year the condition was recorded) is due by its 31 December, and a year that passed
    without one stays overdue until a check this year. With no check recorded at all, nothing
    is claimed about earlier years: this year's check is due. The only place its due date is
    decided: the resident's page, the doctor's Overdue list and the reminders all read it."""
    elderly = h.birth_year is not None and age_in(today.year, h.birth_year) >= ELDERLY_AGE
    if not (elderly or chronic):
        return None
    reason = Reason.ANNUAL if elderly else Reason.COMPREHENSIVE
    last = h.last_annual_check
    if last is not None and last.year >= today.year:
        return Due(reason, date(today.year + 1, 12, 31), overdue=False)
    first_open = last.year + 1 if last is not None else today.year
    if elderly and h.birth_year is not None:
        first_open = max(first_open, h.birth_year + ELDERLY_AGE)
    elif h.condition_since is not None:
        first_open = max(first_open, h.condition_since.year)
    due = date(min(first_open, today.year), 12, 31)
    return Due(reason, due, overdue=due < today)


def plan(h: History, today: date) -> list[Due]:
    """The follow-ups due for this resident, soonest first.

    A face-to-face follow-up on or after an uncontrolled reading / side effect satisfies the
    recheck (the reading is why they came). A referral is made during a visit, so only a
    follow-up strictly after the referral day checks on it.
    """
    out: list[Due] = []
    seen = h.last_followup
    chronic = bool(h.conditions & set(CONDITIONS))
    if chronic:
        out.append(_quarterly(h, today))
        triggers = [
            (d, why)
            for d, why in (
                (h.last_uncontrolled, h.last_uncontrolled_direction or "high"),
                (h.last_side_effect, "side_effect"),
            )
            if d is not None
        ]
        if triggers:
            trigger, why = max(triggers, key=lambda t: t[0])
            if seen is None or seen < trigger:
                due = trigger + timedelta(days=RECHECK_DAYS)
                out.append(Due(Reason.RECHECK, due, overdue=due < today, trigger=trigger, why=why))
        if h.last_referral is not None and (seen is None or seen <= h.last_referral):
            due = h.last_referral + timedelta(days=RECHECK_DAYS)
            out.append(Due(Reason.REFERRAL, due, overdue=due < today, trigger=h.last_referral))
        if len(h.followups) >= 2 and all(unc for _, unc in h.followups[:2]):
            second = h.followups[0][0]
            if h.last_referral is None or h.last_referral < second:
                due = second + timedelta(days=RECHECK_DAYS)
                out.append(Due(Reason.REFER_ADVISED, due, overdue=due < today, trigger=second))
    yearly = _yearly(h, today, chronic)
    if yearly is not None:
        out.append(yearly)
    out.sort(key=lambda d: (d.due, d.reason))
    return out


def reminder_key(resident_id: int, reason: Reason, due: date, stage: str) -> str:
    return f"fu:{resident_id}:{reason}:{due.isoformat()}:{stage}"


def reminder_prefix(resident_id: int) -> str:
    return f"fu:{resident_id}:"


def reminders(resident_id: int, dues: list[Due], now: datetime, tz: ZoneInfo) -> list[Reminder]:
    """Reminders for the due follow-ups: 2 weeks ahead and in the due week, or once if overdue.

    Stages whose moment has passed are skipped, except the due-week one while the due week is
    still running (then it goes out now): a recheck planned 13 days ahead still gets its
    due-week reminder, and a plan made late never sends a stale "2 weeks ahead".
    """
    local_now = now.astimezone(tz)
    today = local_now.date()
    out: list[Reminder] = []

    def at(d: date) -> datetime:
        return datetime.combine(d, REMIND_AT, tzinfo=tz)

    for item in dues:
        after_due = at(item.due + timedelta(days=1)).replace(hour=0)
        if item.overdue:
            out.append(
                _reminder(
                    resident_id,
                    item,
                    "overdue",
                    max(local_now, at(today)),
                    local_now + timedelta(days=OVERDUE_REMINDER_VALID_DAYS),
                )
            )
            continue
        ahead = at(item.due - timedelta(days=REMIND_AHEAD_DAYS))
        week_start = item.due - timedelta(days=item.due.weekday())
        week = at(week_start)
        # Less than a day's notice is no "2 weeks ahead": the due-week reminder covers it.
        if local_now + timedelta(days=1) < ahead < week:
            out.append(_reminder(resident_id, item, "ahead", ahead, week))
        if week > local_now:
            out.append(_reminder(resident_id, item, "week", week, after_due))
        elif local_now < after_due:
            out.append(_reminder(resident_id, item, "week", local_now, after_due))
    return out


def _reminder(
    resident_id: int, item: Due, stage: str, when: datetime, expires: datetime
) -> Reminder:
    return Reminder(
        resident_id=resident_id,
        reason=item.reason,
        due=item.due,
        stage=stage,
        at=when,
        expires_at=expires,
        dedupe_key=reminder_key(resident_id, item.reason, item.due, stage),
        why=item.why,
    )
