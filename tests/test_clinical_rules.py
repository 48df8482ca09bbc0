"""The clinical rules: every band at its edges for every kind of person (the table in
tests/data/clinical_boundaries.csv, typed from the guidelines, not from the YAML), the special
cases, and the validator refusing broken content."""

from __future__ import annotations

import csv
import itertools
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from bot.config import ROOT
from bot.domain.clinical import Action, Direction, Person, Pregnancy
from bot.services import clinical_engine as engine
from bot.services.clinical_advice import ADVICE
from bot.services.clinical_rules import RulesError, load_content

CONTENT = ROOT / "content" / "clinical"
TABLE = Path(__file__).parent / "data" / "clinical_boundaries.csv"
ATTRS = {
    "diabetes": ("yes", "no"),
    "age65": ("yes", "no"),
    "pregnancy": ("none", "pregnant", "breastfeeding"),
}


def _rows() -> list[dict[str, str]]:
    lines = [ln for ln in TABLE.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _people(row: dict[str, str]) -> list[Person]:
    choices = [ATTRS[a] if row[a] == "*" else (row[a],) for a in ATTRS]
    return [
        Person(diabetes=d == "yes", age65=a == "yes", pregnancy=Pregnancy(p))
        for d, a, p in itertools.product(*choices)
    ]


CASES = [
    pytest.param(
        row,
        person,
        id=f"{row['measure']}-{row['quantity']}-{row['setting']}-"
        f"{row['value']}-dm{int(person.diabetes)}-65{int(person.age65)}-"
        f"{person.pregnancy.value}",
    )
    for row in _rows()
    for person in _people(row)
]


@pytest.fixture(scope="module")
def content():  # type: ignore[no-untyped-def]
    return load_content(CONTENT)


def _decide(content, row: dict[str, str], person: Person):  # type: ignore[no-untyped-def]
    """A value inside the entry range by its band; beyond it, by the rules' word on it."""
    values = {row["quantity"]: Decimal(row["value"])}
    beyond = engine.outside(content, row["measure"], values)
    if beyond is not None:
        return beyond
    return engine.decide(content, row["measure"], values, row["setting"], person)


@pytest.mark.parametrize(("row", "person"), CASES)
def test_boundary_table(content, row: dict[str, str], person: Person) -> None:  # type: ignore[no-untyped-def]
    decision = _decide(content, row, person)
    assert (decision.action, decision.direction) == (
        Action(row["action"]),
        Direction(row["direction"]),
    ), row["source"]


def test_every_rule_is_in_the_boundary_table(content) -> None:  # type: ignore[no-untyped-def]
    """Each rule of the content is hit by at least one row, at both of its edges."""
    hit: dict[str, set[Decimal]] = {}
    for row, person in ((r, p) for r in _rows() for p in _people(r)):
        d = _decide(content, row, person)
        hit.setdefault(d.rule_ids[0], set()).add(Decimal(row["value"]))
    for m in content.measures.values():
        for special in m.specials:
            if special.kind in ("below", "above"):
                assert special.id in hit, f"{special.id} has no row in the boundary table"
        for rule in m.rules:
            assert rule.id in hit, f"{rule.id} has no row in the boundary table"
            assert rule.low in hit[rule.id] and rule.high in hit[rule.id], (
                f"{rule.id}: the table misses an edge ({rule.low}, {rule.high})"
            )


def test_counts_over_every_person(content) -> None:  # type: ignore[no-untyped-def]
    assert len(CASES) > 900  # every row expanded to each kind of person it covers


@pytest.mark.parametrize(
    ("measure", "values", "action", "direction"),
    [
        # Issue 15 item 3: beyond what a meter can show, if it really shows it: call 120.
        ("glucose", {"glucose": Decimal("0.9")}, "call_120", "low"),
        ("glucose", {"glucose": Decimal("35.1")}, "call_120", "high"),
        ("blood_pressure", {"systolic": Decimal(261)}, "call_120", "high"),
        ("blood_pressure", {"diastolic": Decimal(161)}, "call_120", "high"),
        # Audit finding 2: below 60 systolic is told what 60 is told (today; 120 with
        # confusion, 高血压基层诊疗指南2019), never less and never a different level.
        ("blood_pressure", {"systolic": Decimal(59)}, "come_today", "low"),
        ("blood_pressure", {"diastolic": Decimal(29)}, "come_today", "low"),
    ],
)
def test_values_beyond_the_entry_range_take_the_action_of_their_end(  # type: ignore[no-untyped-def]
    content, measure, values, action, direction
) -> None:
    d = engine.outside(content, measure, values)
    assert d is not None
    assert (d.action, d.direction) == (Action(action), Direction(direction))


def test_inside_the_entry_range_is_not_outside(content) -> None:  # type: ignore[no-untyped-def]
    assert engine.outside(content, "glucose", {"glucose": Decimal("35.0")}) is None
    assert engine.outside(content, "glucose", {"glucose": Decimal("1.0")}) is None


def test_meter_displays_and_side_effects(content) -> None:  # type: ignore[no-untyped-def]
    hi = engine.decide_display(content, "glucose", "HI")
    lo = engine.decide_display(content, "glucose", "LO")
    assert (hi.action, hi.direction) == (Action.CALL_120, Direction.HIGH)
    assert (lo.action, lo.direction) == (Action.CALL_120, Direction.LOW)
    se = engine.decide_event(content, "side_effect", "side_effect")
    assert se.action is Action.RECHECK
    assert set(se.advice) == {"se.dont.stop", "se.signs.120"}


def test_low_glucose_is_treated_first_not_sent_to_the_bp_symptoms(content) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide(content, "glucose", {"glucose": Decimal("3.2")}, "fasting", Person(True))
    assert d.advice[0] == "gl.low.treat"
    assert "bp.signs.high" not in d.advice and "gl.signs.high" not in d.advice


def test_blood_pressure_takes_the_more_urgent_quantity(content) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide(
        content,
        "blood_pressure",
        {"systolic": Decimal(150), "diastolic": Decimal(112)},
        "home",
        Person(),
    )
    assert d.action is Action.COME_TODAY and d.rule_ids[0] == "bp-dia-danger"
    pulse = engine.decide(content, "pulse", {"pulse": Decimal(110)}, "rest", Person(True))
    both = engine.combine(
        engine.decide(
            content,
            "blood_pressure",
            {"systolic": Decimal(120), "diastolic": Decimal(80)},
            "home",
            Person(True),
        ),
        pulse,
    )
    assert both.action is Action.COME_TODAY and both.advice[0] == "pulse.fast.dm"


# -- the validator ----------------------------------------------------------------------------
def _broken(tmp_path: Path, measure: str, change) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "clinical"
    shutil.copytree(CONTENT, folder)
    path = folder / f"{measure}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder


def _rule(raw, rid):  # type: ignore[no-untyped-def]
    return next(r for r in raw["rules"] if r["id"] == rid)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: _rule(raw, "bp-sys-home-ok").pop("cite"), "has no source"),
        (lambda raw: _rule(raw, "bp-sys-home-ok")["cite"].pop("source"), "has no source"),
        (lambda raw: _rule(raw, "bp-sys-home-ok")["cite"].pop("quote"), "must be quoted"),
        (lambda raw: _rule(raw, "bp-sys-home-ok").pop("last_reviewed"), "no 'last_reviewed'"),
        (lambda raw: _rule(raw, "bp-sys-home-ok").update(action="relax"), "unknown action"),
        (lambda raw: _rule(raw, "bp-sys-home-ok").update(range=[90, 135]), "overlap at 135"),
        (lambda raw: _rule(raw, "bp-sys-home-ok").update(range=[90, 133]), "gap 134–134"),
        (lambda raw: _rule(raw, "bp-sys-home-ok").update(advice=["bp.nope"]), "unknown advice"),
        (lambda raw: _rule(raw, "bp-sys-home-ok").update(who={"smoker": True}), "unknown person"),
        (lambda raw: _rule(raw, "bp-sys-home-ok")["cite"].update(source="blog"), "unknown source"),
        (lambda raw: raw["rules"].remove(_rule(raw, "bp-sys-65-high")), "gap 150–179"),
    ],
)
def test_content_check_refuses(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = _broken(tmp_path, "blood_pressure", change)
    with pytest.raises(RulesError) as err:
        load_content(folder)
    assert any(message in p for p in err.value.problems), err.value.problems


def test_gap_for_one_kind_of_person_is_named(tmp_path: Path) -> None:
    folder = _broken(
        tmp_path, "glucose", lambda raw: raw["rules"].remove(_rule(raw, "gl-meal-bf-high"))
    )
    with pytest.raises(RulesError) as err:
        load_content(folder)
    assert any("after_meal" in p and "pregnancy=breastfeeding" in p for p in err.value.problems)


def test_every_advice_text_is_translated() -> None:
    with (ROOT / "locales" / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    for key, msgid in ADVICE.items():
        message = catalog.get(msgid)
        assert message is not None and message.string and not message.fuzzy, key


def test_no_praise_rides_along_with_a_warning(content) -> None:  # type: ignore[no-untyped-def]
    d = engine.decide(
        content,
        "blood_pressure",
        {"systolic": Decimal(80), "diastolic": Decimal(50)},
        "home",
        Person(),
    )
    assert d.action is Action.COME_TODAY and "bp.ok.home" not in d.advice
    both = engine.combine(
        engine.decide(
            content,
            "blood_pressure",
            {"systolic": Decimal(120), "diastolic": Decimal(80)},
            "home",
            Person(True),
        ),
        engine.decide(content, "pulse", {"pulse": Decimal(120)}, "rest", Person(True)),
    )
    assert both.advice == ("pulse.fast.dm",)
