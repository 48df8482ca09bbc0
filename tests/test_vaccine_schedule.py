"""Schedule files: every shipped file is valid, and broken files are refused with reasons."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ROOT, ConfigError, Settings
from bot.services.vaccines import (
    Age,
    ScheduleError,
    choices_from_settings,
    load_schedule,
    load_schedule_set,
    validate_files,
)
from bot.services.vaccines.model import add_span

SCHEDULE_DIR = ROOT / "content" / "vaccines"
SHIPPED = sorted(SCHEDULE_DIR.glob("*.yaml"))
CODES = {"HepB", "BCG", "IPV", "bOPV", "DTaP", "DT", "MMR", "JE-L", "JE-I", "MPSV-A", "MPSV-AC"}
CODES |= {"HepA-L", "HepA-I"}


def test_schedule_files_are_shipped() -> None:
    assert [p.name for p in SHIPPED] == [
        "cn-nip-2021.yaml",
        "cn-nip-2025-11.yaml",
        "cn-nip-2025.yaml",
    ]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_is_valid(path: Path) -> None:
    sched = load_schedule(path)
    assert sched.version and sched.effective and sched.source
    codes = [v.code for v in sched.vaccines]
    assert len(codes) == len(set(codes))
    for v in sched.vaccines:
        assert v.name_zh and v.name_en and v.protects_zh and v.protects_en
        for d in v.doses:
            assert d.no_longer_given is not None and d.no_longer_given.cite
            assert d.complete_by is None or d.complete_by.cite
            assert all(iv.cite for iv in d.intervals)


def test_the_shipped_editions_form_one_set() -> None:
    sset = load_schedule_set(SCHEDULE_DIR)
    old, new, hpv = sset.schedules
    assert (old.version, new.version, hpv.version) == ("2021", "2025", "2025-11")
    assert new.effective == date(2025, 1, 1)
    assert hpv.effective == date(2025, 11, 10)
    assert {v.code for v in hpv.vaccines} == CODES - {"DT"} | {"HPV"}
    cohort = hpv.vaccine("HPV").cohort  # type: ignore[union-attr]
    assert cohort is not None and (cohort.born_from, cohort.sex) == (date(2011, 11, 10), "female")
    assert {v.code for v in old.vaccines} == CODES
    assert {v.code for v in new.vaccines} == CODES - {"DT"}
    assert [str(d.age) for d in old.vaccine("DTaP").doses] == [  # type: ignore[union-attr]
        "3 months",
        "4 months",
        "5 months",
        "18 months",
    ]
    assert [str(d.age) for d in new.vaccine("DTaP").doses] == [  # type: ignore[union-attr]
        "2 months",
        "4 months",
        "6 months",
        "18 months",
        "6 years",
    ]
    assert new.dose("DTaP-5").replaces == ("DT-1",)  # type: ignore[union-attr]
    assert sset.choice_groups == {"JE": ("inactivated", "live"), "HepA": ("inactivated", "live")}
    bcg = old.dose("BCG-1")
    assert bcg is not None and bcg.no_longer_given is not None
    assert bcg.no_longer_given.age == Age(years=4) and "≥4岁" in bcg.no_longer_given.cite


# ---------------------------------------------------------------------------------------------
# Broken files: start from a small valid file and break one thing at a time.

VALID: dict[str, Any] = {
    "series": "test",
    "version": "1",
    "effective": "2030-01-01",
    "title_zh": "测试程序",
    "title_en": "Test schedule",
    "source": "a test",
    "defaults": {"no_longer_given": {"years": 18, "cite": "general rule"}},
    "vaccines": [
        {
            "code": "AB",
            "name_zh": "甲乙疫苗",
            "name_en": "AB vaccine",
            "protects_zh": "甲乙病",
            "protects_en": "AB disease",
            "doses": [
                {"dose": 1, "age": {"months": 2}},
                {
                    "dose": 2,
                    "age": {"months": 4},
                    "interval": {"days": 28, "cite": "interval rule"},
                    "complete_by": {"months": 12, "cite": "deadline rule"},
                },
            ],
        }
    ],
}


def write(tmp_path: Path, data: Any, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    change(data)
    return data


def dose(data: dict[str, Any], i: int) -> dict[str, Any]:
    return data["vaccines"][0]["doses"][i]


def test_the_small_valid_file_is_valid(tmp_path: Path) -> None:
    sched = load_schedule(write(tmp_path, VALID))
    assert sched.dose("AB-2").complete_by.age == Age(months=12)  # type: ignore[union-attr]


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no version", lambda d: d.pop("version"), "'version' is required"),
    ("no effective date", lambda d: d.pop("effective"), "effective: must be a date"),
    ("bad effective date", lambda d: d.update(effective="2030-02-30"), "must be a date"),
    ("no source", lambda d: d.pop("source"), "'source' is required"),
    ("no vaccines", lambda d: d.update(vaccines=[]), "'vaccines' must be a non-empty list"),
    ("unknown key", lambda d: d.update(vaccine=[]), "unknown key(s) vaccine"),
    ("no Chinese name", lambda d: d["vaccines"][0].pop("name_zh"), "'name_zh' is required"),
    (
        "Chinese name not Chinese",
        lambda d: d["vaccines"][0].update(name_zh="AB"),
        "'name_zh' must be Chinese text",
    ),
    ("no English name", lambda d: d["vaccines"][0].pop("name_en"), "'name_en' is required"),
    (
        "no English 'protects'",
        lambda d: d["vaccines"][0].pop("protects_en"),
        "'protects_en' is required",
    ),
    (
        "duplicate code",
        lambda d: d["vaccines"].append(copy.deepcopy(d["vaccines"][0])),
        "AB: vaccine code appears more than once",
    ),
    ("bad code", lambda d: d["vaccines"][0].update(code="AB-1"), "'code' must be letters"),
    ("ages decrease", lambda d: dose(d, 1).update(age={"months": 1}), "must not be earlier"),
    (
        "negative interval",
        lambda d: dose(d, 1).update(interval={"days": -1, "cite": "x"}),
        "'days' must be a whole number ≥ 0",
    ),
    (
        "missing interval",
        lambda d: dose(d, 1).pop("interval"),
        "'interval' (minimum interval to the previous dose) is required",
    ),
    ("misnumbered dose", lambda d: dose(d, 1).update(dose=3), "'dose' must be 2"),
    ("age without units", lambda d: dose(d, 0).update(age={}), "needs at least one of"),
    ("age in weeks", lambda d: dose(d, 0).update(age={"weeks": 8}), "unknown key(s) weeks"),
    (
        "limit without cite",
        lambda d: dose(d, 1).update(complete_by={"months": 12}),
        "'cite' is required",
    ),
    (
        "deadline before the age",
        lambda d: dose(d, 1).update(complete_by={"months": 3, "cite": "x"}),
        "complete_by (3 months) must be later than the age (4 months)",
    ),
    (
        "reference to an unknown dose",
        lambda d: dose(d, 0).update(also_after=[{"dose": "XY-1", "days": 1, "cite": "x"}]),
        "refers to XY-1, which is not in this file",
    ),
    (
        "circular references",
        lambda d: dose(d, 0).update(also_after=[{"dose": "AB-2", "days": 1, "cite": "x"}]),
        "in a circle",
    ),
    (
        "only one option of a choice",
        lambda d: d["vaccines"][0].update(choice={"group": "AB", "option": "live"}),
        "a choice needs at least two options",
    ),
    (
        "half a note",
        lambda d: dose(d, 0).update(note_zh="注意"),
        "'note_zh' and 'note_en' must both be given",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_files_are_refused(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = write(tmp_path, broken(change))
    with pytest.raises(ScheduleError) as err:
        load_schedule(path)
    assert any(message in p for p in err.value.problems), err.value.problems
    assert all(p.startswith(str(path)) for p in err.value.problems)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    def two_faults(d: dict[str, Any]) -> None:
        d.pop("version")
        d["vaccines"][0].pop("name_en")

    with pytest.raises(ScheduleError) as err:
        load_schedule(write(tmp_path, broken(two_faults)))
    assert len(err.value.problems) == 2


def test_not_yaml_and_missing_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("series: [unclosed", encoding="utf-8")
    with pytest.raises(ScheduleError, match="not valid YAML"):
        load_schedule(bad)
    with pytest.raises(ScheduleError, match="cannot read"):
        load_schedule(tmp_path / "absent.yaml")


def test_editions_of_a_set_must_fit_together(tmp_path: Path) -> None:
    a = write(tmp_path, VALID, "a.yaml")
    b = write(tmp_path, broken(lambda d: d.update(version="2")), "b.yaml")
    _good, problems = validate_files([a, b])
    assert problems == ["versions 1 and 2 share the effective date"]
    c = write(tmp_path, broken(lambda d: d.update(version="3", effective="2031-01-01")), "c.yaml")
    d_ = write(tmp_path, broken(lambda d: d.update(series="other", version="4")), "d.yaml")
    good, problems = validate_files([a, c, d_])
    assert problems == [] and len(good) == 3  # different series are checked separately
    e = broken(lambda d: d.update(version="5", effective="2032-01-01"))
    dose(e, 1)["replaces"] = ["ZZ-1"]
    _good, problems = validate_files([a, write(tmp_path, e, "e.yaml")])
    assert problems == ["AB-2 (5): replaces unknown dose ZZ-1"]


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic


@pytest.mark.parametrize(
    ("start", "span", "expected"),
    [
        ("2024-01-31", Age(months=1), "2024-02-29"),  # leap February
        ("2025-01-31", Age(months=1), "2025-02-28"),
        ("2025-03-31", Age(months=1), "2025-04-30"),
        ("2025-03-31", Age(months=6), "2025-09-30"),
        ("2024-02-29", Age(years=1), "2025-02-28"),  # leap day → 28 Feb in a common year
        ("2024-02-29", Age(years=4), "2028-02-29"),
        ("2024-08-31", Age(months=18), "2026-02-28"),
        ("2025-12-15", Age(months=1), "2026-01-15"),  # across the year end
        ("2025-01-31", Age(months=1, days=1), "2025-03-01"),  # months first, then days
        ("2025-01-01", Age(days=0), "2025-01-01"),
    ],
)
def test_calendar_arithmetic(start: str, span: Age, expected: str) -> None:
    assert span.after(date.fromisoformat(start)) == date.fromisoformat(expected)


@given(st.dates(date(1990, 1, 1), date(2100, 1, 1)), st.integers(0, 240))
def test_adding_months_lands_in_the_right_month(start: date, months: int) -> None:
    end = add_span(start, months, 0)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    # Same day of month, or the month's last day when the month is shorter.
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)


def test_choices_come_from_the_deployment_settings() -> None:
    assert choices_from_settings(Settings.from_env({})) == {"JE": "live", "HepA": "live"}
    env = {"DOORSTEP_VACCINE_JE": "inactivated", "DOORSTEP_VACCINE_HEPA": "Live"}
    assert choices_from_settings(Settings.from_env(env)) == {"JE": "inactivated", "HepA": "live"}
    with pytest.raises(ConfigError, match="DOORSTEP_VACCINE_JE must be live or inactivated"):
        choices_from_settings(Settings.from_env({"DOORSTEP_VACCINE_JE": "oral"}))
