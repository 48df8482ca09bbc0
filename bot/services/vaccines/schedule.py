"""Immunisation schedules as versioned data: load and validate YAML files into frozen dataclasses.

One file is one complete edition of a schedule (e.g. the 2021 edition, or the 2021 edition as
adjusted from 2025-01-01). Files of the same `series` form a `ScheduleSet`; the planner decides
per dose which edition governs it (see engine.py). Validation collects every problem rather
than stopping at the first, so an operator replacing a file sees all mistakes at once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.config import ConfigError, Settings
from bot.services.vaccines.model import (
    AGE_UNITS,
    DOSE_CODE,
    Age,
    CatchUp,
    Choice,
    Cohort,
    DoseSpec,
    Interval,
    Limit,
    Schedule,
    ScheduleError,
    ScheduleSet,
    Vaccine,
)

VACCINE_CODE = re.compile(r"^[A-Za-z][A-Za-z]*(?:-[A-Za-z]+)*$")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Birth dates on which age ordering is checked: a month end in a leap year, a leap day and
# an ordinary date, so that "{months: 1}" vs "{days: 30}" style mixes are judged correctly.
_REFERENCE_BIRTHS = (date(2024, 1, 31), date(2024, 2, 29), date(2023, 3, 15), date(2023, 12, 31))
# Deployment settings (env) for the live/inactivated choices; provinces differ.
CHOICE_SETTINGS = {"JE": "DOORSTEP_VACCINE_JE", "HepA": "DOORSTEP_VACCINE_HEPA"}
DEFAULT_OPTION = "live"

__all__ = [
    "Age",
    "Schedule",
    "ScheduleError",
    "ScheduleSet",
    "build_set",
    "choices_from_settings",
    "load_schedule",
    "load_schedule_set",
    "parse_schedule",
    "validate_files",
]


# ---------------------------------------------------------------------------------------------
# Parsing with problem collection


class _Problems:
    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{self.origin}: {where}: {what}" if where else f"{self.origin}: {what}")


def _text(raw: Mapping[str, Any], key: str, where: str, p: _Problems, *, zh: bool = False) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        p.add(where, f"'{key}' is required (non-empty text)")
        return ""
    if zh and not CJK.search(value):
        p.add(where, f"'{key}' must be Chinese text")
    return value.strip()


def _optional_pair(
    raw: Mapping[str, Any], key: str, where: str, p: _Problems
) -> tuple[str | None, str | None]:
    """Optional bilingual text: both languages or neither."""
    zh, en = raw.get(f"{key}_zh"), raw.get(f"{key}_en")
    if zh is None and en is None:
        return None, None
    if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
        p.add(where, f"'{key}_zh' and '{key}_en' must both be given, as text")
        return None, None
    if not CJK.search(zh):
        p.add(where, f"'{key}_zh' must be Chinese text")
    return zh.strip(), en.strip()


def _unknown_keys(raw: Mapping[str, Any], allowed: Iterable[str], where: str, p: _Problems) -> None:
    extra = sorted(set(raw) - set(allowed), key=str)
    if extra:
        p.add(where, f"unknown key(s) {', '.join(map(str, extra))} (typo?)")


def _age(raw: Any, where: str, p: _Problems, *, extra: Iterable[str] = ()) -> Age | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping like {months: 8}")
        return None
    _unknown_keys(raw, (*AGE_UNITS, *extra), where, p)
    values: dict[str, int] = {}
    for unit in AGE_UNITS:
        if unit in raw:
            v = raw[unit]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                p.add(where, f"'{unit}' must be a whole number ≥ 0, got {v!r}")
                return None
            values[unit] = v
    if not values:
        p.add(where, "needs at least one of years, months, days")
        return None
    return Age(**values)


def _limit(raw: Any, where: str, p: _Problems) -> Limit | None:
    age = _age(raw, where, p, extra=("cite",))
    if age is None:
        return None
    cite = raw.get("cite")
    if not isinstance(cite, str) or not cite.strip():
        p.add(where, "'cite' is required: quote or name the text this limit comes from")
        return None
    return Limit(age, cite.strip())


def _interval(raw: Any, default_after: str | None, where: str, p: _Problems) -> Interval | None:
    extra = ("cite",) if default_after else ("cite", "dose")
    span = _age(raw, where, p, extra=extra)
    if span is None:
        return None
    after = default_after or raw.get("dose")
    if not isinstance(after, str) or not DOSE_CODE.match(after):
        p.add(where, f"'dose' must be a dose code like IPV-2, got {after!r}")
        return None
    cite = raw.get("cite")
    if not isinstance(cite, str) or not cite.strip():
        p.add(where, "'cite' is required: quote or name the text this interval comes from")
        return None
    return Interval(after, span, cite.strip())


_DOSE_KEYS = (
    "dose",
    "age",
    "interval",
    "also_after",
    "complete_by",
    "no_longer_given",
    "replaces",
    "note_zh",
    "note_en",
    "catch_up",
)
SEXES = ("female", "male")


def _catch_up(raw: Any, where: str, p: _Problems) -> CatchUp | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be {age: {months: 24}, when_missed: MPSV-A-2, cite: ...}")
        return None
    _unknown_keys(raw, ("age", "when_missed", "cite"), where, p)
    age = _age(raw.get("age"), f"{where}: age", p)
    missed = raw.get("when_missed")
    if not isinstance(missed, str) or not DOSE_CODE.match(missed):
        p.add(where, f"'when_missed' must be a dose code like MPSV-A-2, got {missed!r}")
        return None
    cite = raw.get("cite")
    if not isinstance(cite, str) or not cite.strip():
        p.add(where, "'cite' is required: quote or name the text this rule comes from")
        return None
    return CatchUp(age, missed, cite.strip()) if age else None


def _cohort(raw: Any, where: str, p: _Problems) -> Cohort | None:
    if not isinstance(raw, Mapping):
        p.add(where, "must be {born_from: YYYY-MM-DD, sex: female, cite: ...}")
        return None
    _unknown_keys(raw, ("born_from", "sex", "cite"), where, p)
    born = _as_date(raw.get("born_from"), f"{where}: born_from", p)
    sex = raw.get("sex")
    if sex is not None and sex not in SEXES:
        p.add(where, f"'sex' must be one of {', '.join(SEXES)}, got {sex!r}")
        return None
    cite = raw.get("cite")
    if not isinstance(cite, str) or not cite.strip():
        p.add(where, "'cite' is required: quote or name the text this rule comes from")
        return None
    return Cohort(born, sex, cite.strip()) if born else None


def _dose(
    raw: Any, vcode: str, index: int, default_limit: Limit | None, p: _Problems
) -> DoseSpec | None:
    where = f"{vcode} dose #{index + 1}"
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping")
        return None
    _unknown_keys(raw, _DOSE_KEYS, where, p)
    number = raw.get("dose")
    if number != index + 1 or isinstance(number, bool):
        p.add(where, f"'dose' must be {index + 1} (doses are numbered 1, 2, 3 … in order)")
        return None
    code = f"{vcode}-{number}"
    where = code
    age = _age(raw.get("age"), f"{where}: age", p)
    intervals: list[Interval] = []
    if "interval" in raw:
        if number == 1:
            p.add(where, "the first dose has no previous dose; use 'also_after' instead")
        else:
            iv = _interval(raw["interval"], f"{vcode}-{number - 1}", f"{where}: interval", p)
            if iv:
                intervals.append(iv)
    elif number > 1:
        p.add(where, "'interval' (minimum interval to the previous dose) is required")
    also = raw.get("also_after", [])
    if not isinstance(also, list):
        p.add(where, "'also_after' must be a list")
        also = []
    for i, item in enumerate(also):
        iv = _interval(item, None, f"{where}: also_after[{i}]", p)
        if iv:
            if iv.after == code:
                p.add(where, "'also_after' cannot refer to the dose itself")
            intervals.append(iv)
    complete_by = (
        _limit(raw["complete_by"], f"{where}: complete_by", p) if "complete_by" in raw else None
    )
    no_longer = (
        _limit(raw["no_longer_given"], f"{where}: no_longer_given", p)
        if "no_longer_given" in raw
        else default_limit
    )
    replaces = raw.get("replaces", [])
    if not isinstance(replaces, list) or not all(
        isinstance(r, str) and DOSE_CODE.match(r) for r in replaces
    ):
        p.add(where, "'replaces' must be a list of dose codes like DT-1")
        replaces = []
    note_zh, note_en = _optional_pair(raw, "note", where, p)
    catch_up = _catch_up(raw["catch_up"], f"{where}: catch_up", p) if "catch_up" in raw else None
    if catch_up is not None and age is not None and _later(catch_up.age, age):
        p.add(where, f"catch_up age ({catch_up.age}) must not be later than the age ({age})")
    if age is None:
        return None
    if complete_by and _never_later(complete_by.age, age):
        p.add(where, f"complete_by ({complete_by.age}) must be later than the age ({age})")
    if no_longer and _never_later(no_longer.age, age):
        p.add(where, f"no_longer_given ({no_longer.age}) must be later than the age ({age})")
    if complete_by and no_longer and _later(complete_by.age, no_longer.age):
        p.add(where, "complete_by must not be later than no_longer_given")
    return DoseSpec(
        code=code,
        vaccine=vcode,
        number=number,
        age=age,
        intervals=tuple(intervals),
        complete_by=complete_by,
        no_longer_given=no_longer,
        replaces=tuple(replaces),
        note_zh=note_zh,
        note_en=note_en,
        catch_up=catch_up,
    )


def _later(a: Age, b: Age) -> bool:
    """True if age a falls strictly after age b for some reference birth date."""
    return any(a.after(d) > b.after(d) for d in _REFERENCE_BIRTHS)


def _never_later(a: Age, b: Age) -> bool:
    """True if age a is not strictly after age b for some reference birth date."""
    return any(a.after(d) <= b.after(d) for d in _REFERENCE_BIRTHS)


_VACCINE_KEYS = (
    "code",
    "name_zh",
    "name_en",
    "protects_zh",
    "protects_en",
    "choice",
    "doses",
    "note_zh",
    "note_en",
    "cohort",
)


def _vaccine(raw: Any, index: int, default_limit: Limit | None, p: _Problems) -> Vaccine | None:
    where = f"vaccines[{index}]"
    if not isinstance(raw, Mapping):
        p.add(where, "must be a mapping")
        return None
    code = raw.get("code")
    if not isinstance(code, str) or not VACCINE_CODE.match(code):
        p.add(where, f"'code' must be letters and hyphens, like JE-L, got {code!r}")
        return None
    where = code
    _unknown_keys(raw, _VACCINE_KEYS, where, p)
    name_zh = _text(raw, "name_zh", where, p, zh=True)
    name_en = _text(raw, "name_en", where, p)
    protects_zh = _text(raw, "protects_zh", where, p, zh=True)
    protects_en = _text(raw, "protects_en", where, p)
    note_zh, note_en = _optional_pair(raw, "note", where, p)
    choice = None
    if "choice" in raw:
        c = raw["choice"]
        if (
            not isinstance(c, Mapping)
            or set(c) != {"group", "option"}
            or not all(isinstance(c[k], str) and c[k] for k in ("group", "option"))
        ):
            p.add(where, "'choice' must be {group: JE, option: live}")
        else:
            choice = Choice(c["group"], c["option"])
    cohort = _cohort(raw["cohort"], f"{where}: cohort", p) if "cohort" in raw else None
    raw_doses = raw.get("doses")
    if not isinstance(raw_doses, list) or not raw_doses:
        p.add(where, "'doses' must be a non-empty list")
        return None
    doses = [_dose(d, code, i, default_limit, p) for i, d in enumerate(raw_doses)]
    if any(d is None for d in doses):
        return None
    good = [d for d in doses if d is not None]
    for prev, cur in itertools.pairwise(good):
        if _later(prev.age, cur.age):
            p.add(cur.code, f"age ({cur.age}) must not be earlier than {prev.code}'s ({prev.age})")
    return Vaccine(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        protects_zh=protects_zh,
        protects_en=protects_en,
        doses=tuple(good),
        choice=choice,
        note_zh=note_zh,
        note_en=note_en,
        cohort=cohort,
    )


def _as_date(value: Any, where: str, p: _Problems) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    p.add(where, f"must be a date YYYY-MM-DD, got {value!r}")
    return None


_TOP_KEYS = (
    "series",
    "version",
    "effective",
    "title_zh",
    "title_en",
    "source",
    "source_url",
    "defaults",
    "vaccines",
    "last_reviewed",  # read by `doorstep content report`
)


def parse_schedule(raw: Any, origin: str, path: Path | None = None) -> Schedule:
    """Build a Schedule from already-parsed YAML; raise ScheduleError listing every problem."""
    p = _Problems(origin)
    if not isinstance(raw, Mapping):
        p.add("", "the file must be a YAML mapping (series:, version:, vaccines: …)")
        raise ScheduleError(p.items)
    _unknown_keys(raw, _TOP_KEYS, "", p)
    series = _text(raw, "series", "", p)
    version = raw.get("version")
    if isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not version.strip():
        p.add("", "'version' is required")
        version = ""
    effective = _as_date(raw.get("effective"), "effective", p)
    title_zh = _text(raw, "title_zh", "", p, zh=True)
    title_en = _text(raw, "title_en", "", p)
    source = _text(raw, "source", "", p)
    source_url = raw.get("source_url")
    if source_url is not None and not isinstance(source_url, str):
        p.add("", "'source_url' must be text")
        source_url = None
    default_limit = None
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, Mapping):
        p.add("defaults", "must be a mapping")
    else:
        _unknown_keys(defaults, ("no_longer_given",), "defaults", p)
        if "no_longer_given" in defaults:
            default_limit = _limit(defaults["no_longer_given"], "defaults: no_longer_given", p)
    raw_vaccines = raw.get("vaccines")
    vaccines: list[Vaccine] = []
    if not isinstance(raw_vaccines, list) or not raw_vaccines:
        p.add("", "'vaccines' must be a non-empty list")
    else:
        for i, rv in enumerate(raw_vaccines):
            v = _vaccine(rv, i, default_limit, p)
            if v is not None:
                vaccines.append(v)
    codes = [v.code for v in vaccines]
    for dup in sorted({c for c in codes if codes.count(c) > 1}):
        p.add(dup, "vaccine code appears more than once")
    known = {d.code for v in vaccines for d in v.doses}
    for v in vaccines:
        for d in v.doses:
            for iv in d.intervals:
                if iv.after not in known:
                    p.add(d.code, f"refers to {iv.after}, which is not in this file")
            if d.catch_up and d.catch_up.when_missed not in known:
                p.add(d.code, f"catch_up refers to {d.catch_up.when_missed}, not in this file")
    _check_cycles(vaccines, p)
    _check_choices(vaccines, p)
    if p.items or effective is None:
        raise ScheduleError(p.items)
    return Schedule(
        series=series,
        version=version.strip(),
        effective=effective,
        title_zh=title_zh,
        title_en=title_en,
        source=source,
        vaccines=tuple(vaccines),
        source_url=source_url,
        path=path,
    )


def _check_cycles(vaccines: list[Vaccine], p: _Problems) -> None:
    deps = {d.code: [iv.after for iv in d.intervals] for v in vaccines for d in v.doses}
    state: dict[str, int] = {}

    def visit(code: str) -> bool:
        if state.get(code) == 1:
            return False
        if state.get(code) == 2:
            return True
        state[code] = 1
        ok = all(visit(dep) for dep in deps.get(code, []) if dep in deps)
        state[code] = 2
        return ok

    for code in deps:
        if not visit(code):
            p.add(code, "intervals refer to each other in a circle")
            return


def _check_choices(vaccines: list[Vaccine], p: _Problems) -> None:
    groups: dict[str, list[str]] = {}
    for v in vaccines:
        if v.choice:
            groups.setdefault(v.choice.group, []).append(v.choice.option)
    for group, options in groups.items():
        if len(set(options)) != len(options):
            p.add(group, "two vaccines claim the same option of this choice")
        if len(options) < 2:
            p.add(group, "a choice needs at least two options (e.g. live and inactivated)")


def load_schedule(path: Path) -> Schedule:
    """Read and validate one schedule file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScheduleError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise ScheduleError([f"{path}: not valid YAML: {exc}"]) from exc
    return parse_schedule(raw, str(path), Path(path))


def build_set(schedules: Iterable[Schedule]) -> ScheduleSet:
    """Check that editions fit together and order them oldest first."""
    items = sorted(schedules, key=lambda s: s.effective)
    problems: list[str] = []
    if not items:
        raise ScheduleError(["no schedule files"])
    series = {s.series for s in items}
    if len(series) > 1:
        problems.append(f"files belong to different series: {', '.join(sorted(series))}")
    for a, b in itertools.pairwise(items):
        if a.effective == b.effective:
            problems.append(f"versions {a.version} and {b.version} share the effective date")
        if a.version == b.version:
            problems.append(f"version {a.version} appears twice")
    every = {d for s in items for d in s.dose_codes}
    groups: dict[str, set[str]] = {}
    choice_of: dict[str, Choice | None] = {}
    for s in items:
        for v in s.vaccines:
            if v.code in choice_of and choice_of[v.code] != v.choice:
                problems.append(f"{v.code}: its live/inactivated choice differs between versions")
            choice_of[v.code] = v.choice
            if v.choice:
                groups.setdefault(v.choice.group, set()).add(v.choice.option)
            for d in v.doses:
                for r in d.replaces:
                    if r not in every:
                        problems.append(f"{d.code} ({s.version}): replaces unknown dose {r}")
    if problems:
        raise ScheduleError(problems)
    return ScheduleSet(
        schedules=tuple(items), choice_groups={g: tuple(sorted(o)) for g, o in groups.items()}
    )


def load_schedule_set(directory: Path) -> ScheduleSet:
    """Load every *.yaml schedule file in a directory as one set of editions."""
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ScheduleError([f"{directory}: no *.yaml schedule files"])
    problems: list[str] = []
    schedules: list[Schedule] = []
    for f in files:
        try:
            schedules.append(load_schedule(f))
        except ScheduleError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScheduleError(problems)
    return build_set(schedules)


def validate_files(paths: Iterable[Path]) -> tuple[list[Schedule], list[str]]:
    """Validate files one by one, then as a set per series; return the good ones and problems."""
    good: list[Schedule] = []
    problems: list[str] = []
    for path in paths:
        try:
            good.append(load_schedule(path))
        except ScheduleError as exc:
            problems.extend(exc.problems)
    by_series: dict[str, list[Schedule]] = {}
    for s in good:
        by_series.setdefault(s.series, []).append(s)
    for group in by_series.values():
        try:
            build_set(group)
        except ScheduleError as exc:
            problems.extend(exc.problems)
    return good, problems


def choices_from_settings(settings: Settings) -> dict[str, str]:
    """The deployment's live/inactivated choices (DOORSTEP_VACCINE_JE, DOORSTEP_VACCINE_HEPA)."""
    choices: dict[str, str] = {}
    for group, env in CHOICE_SETTINGS.items():
        value = settings.extra.get(env, DEFAULT_OPTION).strip().lower() or DEFAULT_OPTION
        if value not in ("live", "inactivated"):
            raise ConfigError(f"{env} must be live or inactivated, got {value!r}")
        choices[group] = value
    return choices
