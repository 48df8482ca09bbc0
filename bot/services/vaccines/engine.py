"""The dose planner: a pure function of (birth date, doses given, today, live/inactivated choices).

Statuses, in order of precedence:
  done        the dose was given
  not_needed  the other branch of a live/inactivated choice, or replaced by a schedule change
  missed      no longer given at this age (or cannot fall due before that age): ask the centre
  overdue     past its completion deadline: catch up (`due` is the earliest catch-up date)
  upcoming    not yet at its age / interval (`due` is the date it may first be given)
  due         at or past its age and still timely

A dose given before its earliest age or a minimum interval after an earlier valid dose does not
count (the schedule's `age` is the earliest age and `interval`/`also_after` are minimums, with
no grace days): it stays open (due, upcoming or overdue as if not given) with reason
GIVEN_TOO_EARLY and `given_too_early` set to the day it was given, so the valid dose is still
planned and reminded, and the family is told to ask the centre.

Dates: `due` is the earliest date the dose may be given, honouring the dose's age and every
minimum interval after earlier doses; an earlier dose not given yet counts at its planned date
(its `due`, or today if that has passed, since nothing can be given in the past).
`complete_by` is the last day that is still timely ("before 12 months" → the day before the
first birthday), or None when the edition sets no deadline for the dose.

Editions: a dose follows the edition in force on its day: the day it was given, or for a dose
not given yet the day it can be given (its due date, or today if that has passed, since a
missed date can only be caught up from today). Walking forward from the edition in force at
birth, a dose whose day is on or after the next edition's effective date is planned under that
edition; if its rules changed, its due date is re-planned under the new rules, never earlier
than their effective date. A dose the newer edition no longer has (DT-1 from 2025-01-01) is
not_needed; a dose only a newer edition has (DTaP-5) applies only if its day is on or after
that edition took effect. Doses already given always count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from operator import attrgetter

from bot.services.vaccines.model import (
    DOSE_CODE,
    Age,
    Choice,
    Cohort,
    DoseSpec,
    ScheduleSet,
    add_span,
)

ONE_DAY = timedelta(days=1)
_GIVEN = re.compile(r"^\s*(?P<code>[^@\s]+)\s*@\s*(?P<date>\S+)\s*$")


class Status(StrEnum):
    DONE = "done"
    NOT_NEEDED = "not_needed"
    MISSED = "missed"
    OVERDUE = "overdue"
    UPCOMING = "upcoming"
    DUE = "due"


class Reason(StrEnum):
    """Why a dose is not_needed or missed (None for the other statuses)."""

    OTHER_CHOICE = "other_choice"
    SCHEDULE_CHANGE = "schedule_change"
    REPLACED = "replaced"
    TOO_OLD = "too_old"
    NOT_IN_COHORT = "not_in_cohort"  # born before the vaccine's cohort, or the other sex
    SEX_UNKNOWN = "sex_unknown"  # the vaccine is for one sex and the child's is not recorded
    # Recorded as given before its earliest age or minimum interval: does not count.
    GIVEN_TOO_EARLY = "given_too_early"


_BY_DUE = attrgetter("due")
_OPEN = frozenset((Status.DUE, Status.UPCOMING, Status.OVERDUE))


class PlanInputError(ValueError):
    """The birth date or doses given do not make sense; the message is shown as is."""


@dataclass(frozen=True)
class GivenDose:
    dose: str
    on: date


@dataclass(slots=True)
class PlannedDose:
    """One dose in a child's plan. Treat as read-only (not frozen: planning 100,000 children
    at a time makes frozen-dataclass construction a third of the cost)."""

    dose: str
    vaccine: str
    number: int
    status: Status
    due: date
    complete_by: date | None
    given: date | None
    version: str
    reason: Reason | None = None
    no_longer_given_from: date | None = None
    # Open doses this one must wait for (its `due` moves until they are given).
    waiting_for: tuple[str, ...] = ()
    # The day a dose was recorded as given when that was too early to count (still open).
    given_too_early: date | None = None

    @property
    def open(self) -> bool:
        return self.status in _OPEN

    def as_json(self) -> dict[str, object]:
        return {
            "dose": self.dose,
            "status": str(self.status),
            "due": self.due.isoformat(),
            "complete_by": self.complete_by.isoformat() if self.complete_by else None,
            "given": self.given.isoformat() if self.given else None,
            "version": self.version,
            "reason": str(self.reason) if self.reason else None,
            "given_too_early": (self.given_too_early.isoformat() if self.given_too_early else None),
        }


@dataclass(frozen=True)
class Plan:
    born: date
    today: date
    choices: Mapping[str, str]
    doses: tuple[PlannedDose, ...]
    versions: tuple[str, ...]

    def get(self, dose: str) -> PlannedDose | None:
        return next((d for d in self.doses if d.dose == dose), None)

    def as_json(self) -> dict[str, object]:
        return {
            "born": self.born.isoformat(),
            "today": self.today.isoformat(),
            "choices": dict(self.choices),
            "schedule_versions": list(self.versions),
            "doses": [d.as_json() for d in self.doses],
        }


# ---------------------------------------------------------------------------------------------
# Compiled schedule structure, built once per Planner so that planning does no lookups by name.


@dataclass(frozen=True)
class _Spec:
    # Ages are indexes into Planner._spans, so that a child's age dates are computed once.
    age: int
    intervals: tuple[tuple[int, int, timedelta], ...]  # (slot index, months, days)
    complete_by: int | None
    no_longer: int | None
    replaces: tuple[str, ...]
    version: str
    # (age index, slot index): this earlier age applies once that slot's dose is missed.
    catch_up: tuple[int, int] | None = None

    @property
    def rules(self) -> tuple[object, ...]:
        """Everything but the version label: equal rules mean nothing changed for the dose."""
        return (
            self.age,
            self.intervals,
            self.complete_by,
            self.no_longer,
            self.replaces,
            self.catch_up,
        )


@dataclass(frozen=True)
class _Slot:
    index: int
    code: str
    vaccine: str
    number: int
    choice: Choice | None
    specs: tuple[_Spec | None, ...]  # aligned with the editions, oldest first
    replaced_by: tuple[str, ...]
    # The same in every edition (only the version label differs): no edition walk needed.
    uniform: bool
    cohort: Cohort | None = None


def _day_of(due: date, given_on: date | None, today: date) -> date:
    """The day that decides a dose's edition: when it was given, or when it can be given."""
    if given_on is not None:
        return given_on
    return due if due > today else today


def _span(age: Age) -> tuple[int, int]:
    return (age.total_months, age.days)


# Children planned together often share birth dates; beyond this many we start afresh.
_AGE_CACHE_SIZE = 20_000


class Planner:
    """Plans doses for children against a set of editions; cheap to call many times."""

    def __init__(self, schedules: ScheduleSet, choices: Mapping[str, str] | None = None) -> None:
        self.schedules = schedules
        self._effective = tuple(s.effective for s in schedules.schedules)
        self._versions = tuple(s.version for s in schedules.schedules)
        self.default_choices = self._check_choices(choices or {})
        self._spans: list[tuple[int, int]] = []
        self._age_dates: dict[date, tuple[list[date], list[date]]] = {}
        self._slots = self._compile()
        self._by_code = {s.code: s for s in self._slots}

    @property
    def dose_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self._slots)

    def _check_choices(self, choices: Mapping[str, str]) -> dict[str, str]:
        groups = self.schedules.choice_groups
        result: dict[str, str] = {}
        for group, options in groups.items():
            option = choices.get(group, "live" if "live" in options else options[0])
            if option not in options:
                raise PlanInputError(f"{group} must be one of {', '.join(options)}, not {option!r}")
            result[group] = option
        unknown = set(choices) - set(groups)
        if unknown:
            raise PlanInputError(f"unknown choice(s): {', '.join(sorted(unknown))}")
        return result

    def _compile(self) -> tuple[_Slot, ...]:
        # Order: the newest edition's vaccine order, then codes only older editions have.
        order: list[str] = []
        info: dict[str, tuple[str, int, Choice | None]] = {}
        cohorts: dict[str, Cohort | None] = {}
        deps: dict[str, set[str]] = {}
        for sched in reversed(self.schedules.schedules):
            for v in sched.vaccines:
                for dose in v.doses:
                    if dose.code not in info:
                        order.append(dose.code)
                        info[dose.code] = (v.code, dose.number, v.choice)
                        cohorts[dose.code] = v.cohort  # the newest edition's
                    deps.setdefault(dose.code, set()).update(iv.after for iv in dose.intervals)
                    if dose.catch_up is not None:
                        deps[dose.code].add(dose.catch_up.when_missed)
        # Stable topological sort: every dose after the doses its intervals refer to.
        placed: list[str] = []
        done: set[str] = set()
        pending = list(order)
        while pending:
            for code in pending:
                if deps[code] <= done:
                    placed.append(code)
                    done.add(code)
                    pending.remove(code)
                    break
            else:  # pragma: no cover - parse_schedule rejects cycles within a file
                raise ValueError(f"interval references form a cycle among {pending}")
        index = {code: i for i, code in enumerate(placed)}
        replaced_by: dict[str, list[str]] = {}
        specs: dict[str, list[_Spec | None]] = {c: [] for c in placed}
        for sched in self.schedules.schedules:
            for code in placed:
                d: DoseSpec | None = sched.dose(code)
                if d is None:
                    specs[code].append(None)
                    continue
                for r in d.replaces:
                    replaced_by.setdefault(r, []).append(code)
                specs[code].append(
                    _Spec(
                        age=self._span_index(d.age),
                        intervals=tuple(
                            (index[iv.after], iv.span.total_months, timedelta(iv.span.days))
                            for iv in d.intervals
                        ),
                        complete_by=(
                            self._span_index(d.complete_by.age) if d.complete_by else None
                        ),
                        no_longer=(
                            self._span_index(d.no_longer_given.age) if d.no_longer_given else None
                        ),
                        replaces=d.replaces,
                        version=sched.version,
                        catch_up=(
                            (self._span_index(d.catch_up.age), index[d.catch_up.when_missed])
                            if d.catch_up
                            else None
                        ),
                    )
                )
        return tuple(
            _Slot(
                index=index[code],
                code=code,
                vaccine=info[code][0],
                number=info[code][1],
                choice=info[code][2],
                specs=tuple(specs[code]),
                replaced_by=tuple(sorted(set(replaced_by.get(code, ())))),
                uniform=None not in specs[code] and len({x.rules for x in specs[code] if x}) == 1,
                cohort=cohorts[code],
            )
            for code in placed
        )

    def _span_index(self, age: Age) -> int:
        span = _span(age)
        if span not in self._spans:
            self._spans.append(span)
        return self._spans.index(span)

    def _ages(self, born: date) -> tuple[list[date], list[date]]:
        """Every schedule age as a date for this birth date, and the day before each."""
        cached = self._age_dates.get(born)
        if cached is None:
            if len(self._age_dates) >= _AGE_CACHE_SIZE:
                self._age_dates.clear()
            at = [add_span(born, m, d) for m, d in self._spans]
            cached = self._age_dates[born] = (at, [d - ONE_DAY for d in at])
        return cached

    def _walk(
        self,
        specs: tuple[_Spec | None, ...],
        start: int,
        due_under: Callable[[_Spec], date],
        given_on: date | None,
        today: date,
    ) -> tuple[date, int, _Spec, Reason | None]:
        """Find the edition governing a dose whose rules differ between editions.

        Returns the due date, the edition index, the spec to use for dates and limits, and
        Reason.SCHEDULE_CHANGE if no edition in force on the dose's day has this dose.
        """
        effective = self._effective
        k = start
        spec = last = specs[k]
        due = due_under(spec) if spec is not None else None
        while k + 1 < len(effective):
            eff = effective[k + 1]
            nspec = specs[k + 1]
            if spec is not None:
                assert due is not None
                if _day_of(due, given_on, today) < eff:
                    break
                k += 1
                if nspec is None:
                    return due, k, spec, Reason.SCHEDULE_CHANGE
                if nspec.rules != spec.rules:
                    # Re-planned under the new rules, but not before they took effect.
                    due = max(due_under(nspec), eff)
                spec = last = nspec
            else:
                k += 1
                if nspec is None:
                    continue
                due = due_under(nspec)
                spec = last = nspec
                if _day_of(due, given_on, today) < eff:
                    # Its day came before this edition existed: the child's edition had no
                    # such dose (DTaP-5 for a child given DT at 6 before 2025-01-01).
                    return due, k, last, Reason.SCHEDULE_CHANGE
                due = max(due, eff)
        if last is None:
            # Only editions older than the child's have this dose (DT-1 for a child born in
            # 2025): shown as not needed, dated as that older edition would have had it.
            last = next(x for x in reversed(specs[:start]) if x is not None)
            return due_under(last), k, last, Reason.SCHEDULE_CHANGE
        assert due is not None
        return due, k, last, None

    # -----------------------------------------------------------------------------------------

    def validate_given(self, born: date, given: Mapping[str, date], today: date) -> None:
        """Raise PlanInputError with every problem in the input, in plain words."""
        problems: list[str] = []
        if born > today:
            problems.append(f"the birth date {born} is after today ({today})")
        for code, on in given.items():
            if code not in self._by_code:
                problems.append(f"unknown dose {code!r} (known: e.g. HepB-1, DTaP-4, JE-L-2)")
            elif on < born:
                problems.append(f"{code} was given on {on}, before the birth date {born}")
            elif on > today:
                problems.append(f"{code} was given on {on}, which is after today ({today})")
        if problems:
            raise PlanInputError("; ".join(problems))

    def _branches(self, given: Mapping[str, date], choices: Mapping[str, str]) -> dict[str, str]:
        """The configured option, unless the child's doses so far are all of another option."""
        result = dict(choices)
        used: dict[str, set[str]] = {}
        for code in given:
            slot = self._by_code[code]
            if slot.choice:
                used.setdefault(slot.choice.group, set()).add(slot.choice.option)
        for group, options in used.items():
            if len(options) == 1 and result.get(group) not in options:
                result[group] = next(iter(options))
        return result

    def plan(
        self,
        born: date,
        given: Mapping[str, date] | Iterable[GivenDose],
        today: date,
        choices: Mapping[str, str] | None = None,
        sex: str | None = None,
    ) -> Plan:
        """Plan every dose for one child. Pure: same inputs, same plan; no I/O.

        `sex` ('female', 'male' or None when not recorded) matters only for a vaccine with a
        cohort of one sex (HPV): unknown gives not_needed with Reason.SEX_UNKNOWN."""
        given_map = dict(given) if isinstance(given, Mapping) else {g.dose: g.on for g in given}
        self.validate_given(born, given_map, today)
        base = self.default_choices if choices is None else self._check_choices(choices)
        branches = self._branches(given_map, base)
        effective = self._effective
        versions = self._versions
        n_ed = len(effective)
        start = 0
        for i, eff in enumerate(effective):
            if eff <= born:
                start = i
        at_age, day_before = self._ages(born)
        slots = self._slots
        planned: list[date | None] = [None] * len(slots)
        statuses: list[Status | None] = [None] * len(slots)
        out: list[PlannedDose] = []
        used_versions: set[str] = set()
        get_given = given_map.get

        def due_under(spec: _Spec) -> date:
            d = at_age[spec.age]
            if spec.catch_up is not None and statuses[spec.catch_up[1]] is Status.MISSED:
                # E.g. MPSV-AC-1 from 24 months when MPSV-A will never be completed.
                d = at_age[spec.catch_up[0]]
            for ref, months, days in spec.intervals:
                r = planned[ref]
                if r is not None:
                    c = add_span(r, months, 0) + days if months else r + days
                    if c > d:
                        d = c
            return d

        def valid_from(spec: _Spec) -> date:
            """The earliest day a dose counts: its age (or catch-up age) and every minimum
            interval after earlier doses that were validly given."""
            d = at_age[spec.age]
            if spec.catch_up is not None:
                d = min(d, at_age[spec.catch_up[0]])
            for ref, months, days in spec.intervals:
                r = planned[ref]
                if r is not None and statuses[ref] is Status.DONE:
                    c = add_span(r, months, 0) + days if months else r + days
                    if c > d:
                        d = c
            return d

        def governing(slot: _Slot, given_on: date | None) -> tuple[date, int, _Spec, Reason | None]:
            specs = slot.specs
            if slot.uniform:
                k = start
                last = specs[k]
                assert last is not None
                due = due_under(last)
                day = given_on or (due if due > today else today)
                while k + 1 < n_ed and day >= effective[k + 1]:
                    k += 1
                last = specs[k]
                assert last is not None
                return due, k, last, None
            return self._walk(specs, start, due_under, given_on, today)

        for slot in slots:
            given_on = get_given(slot.code)
            too_early: date | None = None
            due, k, last, reason = governing(slot, given_on)
            if given_on is not None and given_on < valid_from(last):
                # Recorded, but it does not count: plan the valid dose as if not given.
                too_early, given_on = given_on, None
                due, k, last, reason = governing(slot, None)
            assert due is not None
            choice = slot.choice
            if reason is None and choice is not None and branches[choice.group] != choice.option:
                reason = Reason.OTHER_CHOICE
            cohort = slot.cohort
            if reason is None and cohort is not None:
                if born < cohort.born_from or (
                    cohort.sex is not None and sex is not None and sex != cohort.sex
                ):
                    reason = Reason.NOT_IN_COHORT
                elif cohort.sex is not None and sex is None:
                    reason = Reason.SEX_UNKNOWN
            if reason is None and (last.replaces or slot.replaced_by):
                if any(c in given_map for c in (*last.replaces, *slot.replaced_by)):
                    reason = Reason.REPLACED
            version = versions[k] if reason is Reason.SCHEDULE_CHANGE else last.version
            complete_by = day_before[last.complete_by] if last.complete_by is not None else None
            limit = at_age[last.no_longer] if last.no_longer is not None else None
            waiting: tuple[str, ...] = ()
            if given_on is not None:
                status = Status.DONE
                reason = None
                planned[slot.index] = given_on
            elif reason is not None and reason is not Reason.GIVEN_TOO_EARLY:
                status = Status.NOT_NEEDED
            elif limit is not None and (today >= limit or due >= limit):
                status = Status.MISSED
                reason = Reason.TOO_OLD
            else:
                if complete_by is not None and today > complete_by:
                    status = Status.OVERDUE
                elif today < due:
                    status = Status.UPCOMING
                else:
                    status = Status.DUE
                planned[slot.index] = due if due > today else today
                if last.intervals:
                    waiting = tuple(
                        slots[ref].code for ref, _m, _d in last.intervals if statuses[ref] in _OPEN
                    )
                if too_early is not None:
                    reason = Reason.GIVEN_TOO_EARLY
            statuses[slot.index] = status
            if status is not Status.NOT_NEEDED:
                used_versions.add(version)
            out.append(
                PlannedDose(
                    slot.code,
                    slot.vaccine,
                    slot.number,
                    status,
                    due,
                    complete_by,
                    given_on,
                    version,
                    reason,
                    limit,
                    waiting,
                    too_early,
                )
            )
        # Shown as a timeline: by due date, then in schedule order (the sort is stable).
        out.sort(key=_BY_DUE)
        return Plan(
            born=born,
            today=today,
            choices=branches,
            doses=tuple(out),
            versions=tuple(v for v in versions if v in used_versions),
        )


def parse_given(items: Iterable[str]) -> dict[str, date]:
    """Parse "CODE-N@YYYY-MM-DD" items (as typed on the command line) into a mapping."""
    result: dict[str, date] = {}
    for item in items:
        m = _GIVEN.match(item)
        if not m or not DOSE_CODE.match(m["code"]):
            raise PlanInputError(f"{item!r} should look like DTaP-1@2025-06-30")
        try:
            on = date.fromisoformat(m["date"])
        except ValueError as exc:
            raise PlanInputError(f"{item!r}: {m['date']!r} is not a date YYYY-MM-DD") from exc
        if m["code"] in result:
            raise PlanInputError(f"{m['code']} is given twice")
        result[m["code"]] = on
    return result
