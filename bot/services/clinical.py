"""Readings meet the clinical rules: who the resident is (diabetes, age 65+, pregnancy), what
was measured (home blood pressure with its pulse, fasting or after-meal glucose, a meter's
HI/LO), and the engine's decision. No chat library: handlers render the Decision.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from pathlib import Path

from bot.domain.clinical import Decision, Person
from bot.services import clinical_engine as engine
from bot.services.clinical_rules import ClinicalContent, load_content
from bot.services.readings import BloodPressure, Glucose, ReadingError

HOME = "home"
# A blood pressure typed in a message: "血压160/100", "BP 160 over 100", "高压160低压100",
# "160/100 mmHg". A bare "160/100" is left to the reading flows (it could be anything).
_BP_TYPED = (
    re.compile(
        r"(?:血压|bp|blood pressure|pressure)\D{0,12}?(\d{2,3}) ?(?:/|\\|over|比) ?(\d{2,3})"
    ),
    re.compile(r"(\d{2,3}) ?/ ?(\d{2,3}) ?mm ?hg"),
    re.compile(r"高压\D{0,4}?(\d{2,3})\D{0,6}?低压\D{0,4}?(\d{2,3})"),
)


def typed_blood_pressures(text: str) -> tuple[tuple[int, int], ...]:
    """The blood pressures (systolic, diastolic) typed in free text, in order, once each."""
    norm = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower())
    found: list[tuple[int, int]] = []
    for pattern in _BP_TYPED:
        for m in pattern.finditer(norm):
            pair = (int(m.group(1)), int(m.group(2)))
            if pair not in found:
                found.append(pair)
    return tuple(found)


class ClinicalRules:
    """The deployment's clinical content, loaded (and validated) once."""

    def __init__(self, content_dir: Path) -> None:
        self.directory = content_dir / "clinical"
        self._content: ClinicalContent | None = None

    @property
    def content(self) -> ClinicalContent:
        if self._content is None:
            self._content = load_content(self.directory)
        return self._content

    def judge(
        self, reading: BloodPressure | Glucose, person: Person, setting: str = HOME
    ) -> Decision:
        c = self.content
        if isinstance(reading, BloodPressure):
            bp = engine.decide(
                c,
                "blood_pressure",
                {"systolic": Decimal(reading.systolic), "diastolic": Decimal(reading.diastolic)},
                setting,
                person,
            )
            if reading.pulse is None:
                return bp
            pulse = engine.decide(c, "pulse", {"pulse": Decimal(reading.pulse)}, "rest", person)
            return engine.combine(bp, pulse)
        if reading.display is not None:
            return engine.decide_display(c, "glucose", reading.display)
        return engine.decide(
            c, "glucose", {"glucose": Decimal(reading.tenths) / 10}, reading.context, person
        )

    def beyond(self, error: ReadingError) -> Decision | None:
        """For a value outside the entry range: the rules' word on it (check the meter; if it
        really shows this, call 120), or None for any other input problem."""
        if error.beyond is None:
            return None
        measure, values = error.beyond
        return engine.outside(self.content, measure, values)

    def target_line(
        self, measure: str, quantity: str, setting: str, person: Person
    ) -> float | None:
        """The first value above this person's on-target band (135 for a home systolic under
        65), for a chart's dashed line; None if the rules have no such band."""
        m = self.content.measure(measure)
        q = m.quantity(quantity)
        for r in m.rules:
            if (
                r.quantity == quantity
                and r.action.value == "on_target"
                and r.applies(person, setting)
            ):
                return float(r.high + (q.step if q else 0))
        return None

    def side_effect(self) -> Decision:
        return engine.decide_event(self.content, "side_effect", "side_effect")
