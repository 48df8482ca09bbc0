"""The clinical rules engine: a pure function from a reading (or event) and the person to a
Decision. No I/O and no chat library; the rules are data (bot.services.clinical_rules).

A reading with several quantities (blood pressure: systolic and diastolic) is judged on each:
the decision takes the most urgent action of the bands it falls in, the direction of that
band, and the advice of every band, most urgent first, without repeats; an on-target band's
advice ("well done") is left out when another band is off target.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bot.domain.clinical import (
    SEVERITY,
    Action,
    Decision,
    Direction,
    Person,
    Rule,
    Special,
)
from bot.services.clinical_rules import ClinicalContent


class NoRule(LookupError):
    """No rule matched: the content check would have refused this content."""


def _merge(measure: str, matched: list[Rule | Special]) -> Decision:
    if not matched:
        raise NoRule(measure)
    ordered = sorted(matched, key=lambda r: -SEVERITY[r.action])  # stable: file order
    first = ordered[0]
    advice: list[str] = []
    for r in ordered:
        if r.action is Action.ON_TARGET and first.action is not Action.ON_TARGET:
            continue  # "well done" for one number never rides along with a warning
        advice.extend(a for a in r.advice if a not in advice)
    direction = first.direction
    if first.action is Action.ON_TARGET:
        direction = Direction.IN_RANGE
    return Decision(measure, first.action, direction, tuple(r.id for r in ordered), tuple(advice))


def outside(
    content: ClinicalContent, measure: str, values: Mapping[str, Decimal]
) -> Decision | None:
    """The decision for a value beyond what can be entered (a typo, or a meter showing
    something extreme), or None when every value is inside its quantity's range."""
    m = content.measure(measure)
    matched: list[Rule | Special] = []
    for name, value in values.items():
        q = m.quantity(name)
        if q is None:
            raise KeyError(name)
        kind = "below" if value < q.low else "above" if value > q.high else None
        if kind is None:
            continue
        matched.extend(s for s in m.specials if s.kind == kind and s.key == name)
    # Two values beyond the range (systolic and diastolic) share their special: once each.
    unique = list({s.id: s for s in matched}.values())
    return _merge(measure, unique) if unique else None


def decide(
    content: ClinicalContent,
    measure: str,
    values: Mapping[str, Decimal],
    setting: str,
    person: Person,
) -> Decision:
    """What the rules say about these values (each inside its entry range)."""
    m = content.measure(measure)
    if setting not in m.settings:
        raise ValueError(f"unknown setting {setting!r} for {measure}")
    matched: list[Rule | Special] = []
    for name, value in values.items():
        found = [
            r
            for r in m.rules
            if r.quantity == name and r.applies(person, setting) and r.contains(value)
        ]
        if len(found) != 1:
            raise NoRule(f"{measure}/{name}={value}: {len(found)} rules")
        matched.append(found[0])
    return _merge(measure, matched)


def decide_display(content: ClinicalContent, measure: str, display: str) -> Decision:
    """A meter that shows HI or LO instead of a number."""
    m = content.measure(measure)
    return _merge(measure, [s for s in m.specials if s.kind == "display" and s.key == display])


def decide_event(content: ClinicalContent, measure: str, event: str) -> Decision:
    """An event with no value (a medicine side effect recorded)."""
    m = content.measure(measure)
    return _merge(measure, [s for s in m.specials if s.kind == "event" and s.key == event])


def combine(*decisions: Decision) -> Decision:
    """Two measures read together (blood pressure and its pulse): the more urgent leads."""
    ordered = sorted(decisions, key=lambda d: -SEVERITY[d.action])
    first = ordered[0]
    advice: list[str] = []
    rules: list[str] = []
    for d in ordered:
        rules.extend(d.rule_ids)
        if d.action is Action.ON_TARGET and first.action is not Action.ON_TARGET:
            continue
        advice.extend(a for a in d.advice if a not in advice)
    return Decision(first.measure, first.action, first.direction, tuple(rules), tuple(advice))
