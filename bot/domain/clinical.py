"""Records of the clinical rules: what a rule says, who it is for, and what it decided.

The rules themselves are data (content/clinical/<measure>.yaml); these records are what the
loader builds from them and what the engine (bot/services/clinical_engine.py) returns. No I/O,
no chat library: the bottom layer every other layer may import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Action(StrEnum):
    """What the resident is told to do, most urgent first in SEVERITY."""

    CALL_120 = "call_120"  # an emergency: call 120 now
    COME_TODAY = "come_today"  # urgent referral: see a doctor now / today
    RECHECK = "recheck"  # above or below target: recheck (2-week follow-up for the managed)
    ON_TARGET = "on_target"


SEVERITY = {Action.ON_TARGET: 0, Action.RECHECK: 1, Action.COME_TODAY: 2, Action.CALL_120: 3}


class Direction(StrEnum):
    LOW = "low"
    IN_RANGE = "in_range"
    HIGH = "high"


class Pregnancy(StrEnum):
    NONE = "none"
    PREGNANT = "pregnant"
    BREASTFEEDING = "breastfeeding"


@dataclass(frozen=True, slots=True)
class Person:
    """The facts about a resident that rules depend on. Unknown counts as no (the birth year
    not given: under 65; pregnancy not recorded: none)."""

    diabetes: bool = False
    age65: bool = False
    pregnancy: Pregnancy = Pregnancy.NONE


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    title_zh: str
    title_en: str
    edition: str
    year: int
    publisher: str


@dataclass(frozen=True, slots=True)
class Citation:
    """A rule's source: which document, and the rule in its words."""

    source: Source
    quote: str
    where: str  # section or chapter
    verbatim: bool  # False: a close rendering, to be checked word for word at sign-off
    interpretation: str | None = None  # where the project reads or fills in the source


@dataclass(frozen=True, slots=True)
class Rule:
    """One band of one quantity, for one kind of person in one setting."""

    id: str
    measure: str
    quantity: str
    low: Decimal  # inclusive
    high: Decimal  # inclusive
    settings: tuple[str, ...]
    who: tuple[tuple[str, tuple[str, ...]], ...]  # attribute -> allowed values ("true", ...)
    direction: Direction
    action: Action
    advice: tuple[str, ...]
    citation: Citation
    last_reviewed: date

    def applies(self, person: Person, setting: str) -> bool:
        if setting not in self.settings:
            return False
        facts = person_facts(person)
        return all(facts[attr] in allowed for attr, allowed in self.who)

    def contains(self, value: Decimal) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Special:
    """A rule that is not a band: a meter display (HI/LO), a value outside what can be
    entered, or an event (a recorded medicine side effect)."""

    id: str
    measure: str
    kind: str  # 'display', 'below', 'above' or 'event'
    key: str  # the display (HI / LO), the quantity, or the event name
    direction: Direction
    action: Action
    advice: tuple[str, ...]
    citation: Citation
    last_reviewed: date


@dataclass(frozen=True, slots=True)
class Quantity:
    name: str
    low: Decimal
    high: Decimal
    step: Decimal
    unit: str


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    settings: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    rules: tuple[Rule, ...]
    specials: tuple[Special, ...]

    def quantity(self, name: str) -> Quantity | None:
        return next((q for q in self.quantities if q.name == name), None)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules decided about one reading or event: the most urgent action of the rules
    that matched (one per quantity), and every advice text id, in order, without repeats."""

    measure: str
    action: Action
    direction: Direction
    rule_ids: tuple[str, ...]
    advice: tuple[str, ...]

    @property
    def on_target(self) -> bool:
        return self.action is Action.ON_TARGET

    @property
    def urgent(self) -> bool:
        """An urgent-referral or emergency decision: flagged for the resident's doctor."""
        return self.action in (Action.COME_TODAY, Action.CALL_120)


PERSON_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "diabetes": ("true", "false"),
    "age65": ("true", "false"),
    "pregnancy": tuple(p.value for p in Pregnancy),
}


def person_facts(person: Person) -> dict[str, str]:
    return {
        "diabetes": "true" if person.diabetes else "false",
        "age65": "true" if person.age65 else "false",
        "pregnancy": person.pregnancy.value,
    }


def every_person() -> tuple[Person, ...]:
    """Every kind of person the rules must cover (2 x 2 x 3)."""
    return tuple(
        Person(diabetes=d, age65=a, pregnancy=p)
        for d in (False, True)
        for a in (False, True)
        for p in Pregnancy
    )
