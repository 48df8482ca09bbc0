"""Home readings: parse what a resident typed or tapped, validate it, classify it.

Thresholds are those of the National Basic Public Health Service Specification (3rd edition,
2017), the hypertension and type-2 diabetes management sections:
- danger signs needing an urgent referral: systolic >= 180 and/or diastolic >= 110 mmHg;
  blood glucose >= 16.7 or <= 3.9 mmol/L;
- controlled ("控制满意"): blood pressure < 140/90 mmHg; fasting glucose < 7.0 mmol/L.

Glucose is handled in tenths of a mmol/L (integers), so 16.7 compares exactly at the boundary.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bot.i18n import N_
from bot.router import UserError

SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)
PULSE_RANGE = (30, 220)
GLUCOSE_TENTHS_RANGE = (10, 350)  # 1.0 to 35.0 mmol/L: what home meters can show

DANGER_SYSTOLIC = 180
DANGER_DIASTOLIC = 110
DANGER_GLUCOSE_HIGH = 167  # tenths: 16.7 mmol/L
DANGER_GLUCOSE_LOW = 39  # tenths: 3.9 mmol/L
CONTROLLED_SYSTOLIC = 140
CONTROLLED_DIASTOLIC = 90
CONTROLLED_GLUCOSE = 70  # tenths: 7.0 mmol/L


class ReadingError(UserError, ValueError):
    """Input that is not a plausible reading; `msgid` is a correction prompt (English msgid)."""


@dataclass(frozen=True, slots=True)
class BloodPressure:
    systolic: int
    diastolic: int
    pulse: int | None = None


@dataclass(frozen=True, slots=True)
class Glucose:
    tenths: int  # fasting glucose in tenths of a mmol/L

    @property
    def mmol(self) -> float:
        return self.tenths / 10


@dataclass(frozen=True, slots=True)
class Assessment:
    controlled: bool
    danger: bool


LETTERS = N_("Please send numbers only, for example 135/85 (blood pressure) or 6.1 (glucose).")
BP_SHAPE = N_(
    "Please send blood pressure as two numbers with a slash, for example 135/85, "
    "optionally followed by your pulse: 135/85 72."
)
SYSTOLIC_OUT = N_("The upper number (systolic) must be between {low} and {high}. Please check it.")
DIASTOLIC_OUT = N_(
    "The lower number (diastolic) must be between {low} and {high}. Please check it."
)
DIASTOLIC_NOT_LOWER = N_(
    "The lower number (diastolic) must be smaller than the upper number (systolic). "
    "Please check the order, for example 135/85."
)
PULSE_OUT = N_("The pulse must be between {low} and {high}. Please check it.")
GLUCOSE_SHAPE = N_("Please send fasting glucose as one number in mmol/L, for example 6.1.")
GLUCOSE_OUT = N_(
    "Fasting glucose must be between {low} and {high} mmol/L. If your meter shows mg/dL, "
    "divide by 18."
)

# ASCII digits only, after NFKC (which turns full-width, superscript and circled digits into
# ASCII ones): what these match, int() and Decimal() always accept.
_INT = re.compile(r"^\d{1,3}$", re.ASCII)
_WHOLE = re.compile(r"^\d{1,6}$", re.ASCII)
_BP = re.compile(r"^(\d{1,3})\s*/\s*(\d{1,3})(?:\s*[ ,;]\s*(\d{1,3}))?$", re.ASCII)
_GLUCOSE = re.compile(r"^(\d{1,2}(?:[.,]\d{1,2})?)\s*(?:mmol(?:/l)?)?$", re.ASCII)


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and "／" (common on Chinese keyboards) into ASCII.
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return text.replace("，", ",").replace("。", ".")


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text.replace("mmol", "").replace("/l", ""))


def whole_number(text: str) -> int | None:
    """A lone whole number as typed ("135", full-width "１３５", "¹³⁵"), or None for anything
    else. Never raises, so a typed value cannot end up in an error log."""
    norm = _normalise(text)
    return int(norm) if _WHOLE.match(norm) else None


def check_systolic(systolic: int) -> int:
    """The upper number alone (the keypad asks for it first); ReadingError if implausible."""
    low, high = SYSTOLIC_RANGE
    if not low <= systolic <= high:
        raise ReadingError(SYSTOLIC_OUT, low=low, high=high)
    return systolic


def check_bp(systolic: int, diastolic: int, pulse: int | None = None) -> BloodPressure:
    """Validate numbers (typed or from the keypad); ReadingError with a correction prompt."""
    check_systolic(systolic)
    low, high = DIASTOLIC_RANGE
    if not low <= diastolic <= high:
        raise ReadingError(DIASTOLIC_OUT, low=low, high=high)
    if diastolic >= systolic:
        raise ReadingError(DIASTOLIC_NOT_LOWER)
    if pulse is not None:
        low, high = PULSE_RANGE
        if not low <= pulse <= high:
            raise ReadingError(PULSE_OUT, low=low, high=high)
    return BloodPressure(systolic, diastolic, pulse)


def check_glucose(tenths: int) -> Glucose:
    low, high = GLUCOSE_TENTHS_RANGE
    if not low <= tenths <= high:
        raise ReadingError(GLUCOSE_OUT, low=f"{low / 10:.1f}", high=f"{high / 10:.1f}")
    return Glucose(tenths)


def parse_bp(text: str) -> BloodPressure:
    """'135/85' or '135/85 72' (pulse) → BloodPressure; ReadingError otherwise."""
    norm = _normalise(text)
    if _has_letters(norm):
        raise ReadingError(LETTERS)
    m = _BP.match(norm)
    if m is None:
        raise ReadingError(BP_SHAPE)
    pulse = int(m.group(3)) if m.group(3) else None
    return check_bp(int(m.group(1)), int(m.group(2)), pulse)


def glucose_tenths(text: str) -> int:
    """'6.1' → 61, rounding half up to one decimal; ValueError if not a decimal number."""
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        # Not the text itself in the message: exception messages reach the error log.
        raise ValueError("not a decimal number") from None
    if not value.is_finite():
        raise ValueError("not a finite number")
    return int((value * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_glucose(text: str) -> Glucose:
    """'6.1' (mmol/L) → Glucose; ReadingError otherwise."""
    norm = _normalise(text)
    if _has_letters(norm):
        raise ReadingError(LETTERS)
    m = _GLUCOSE.match(norm)
    if m is None:
        raise ReadingError(GLUCOSE_SHAPE)
    return check_glucose(glucose_tenths(m.group(1)))


def parse_any(text: str) -> BloodPressure | Glucose:
    """A typed reading of either kind: a slash means blood pressure, else glucose."""
    norm = _normalise(text)
    if "/" in norm.replace("mmol/l", ""):
        return parse_bp(norm)
    if _has_letters(norm):
        raise ReadingError(LETTERS)
    if _INT.match(norm) and int(norm) >= 40:
        # A lone number like 135 is a blood pressure missing its second half, not a glucose.
        raise ReadingError(BP_SHAPE)
    return parse_glucose(norm)


def assess_bp(bp: BloodPressure) -> Assessment:
    danger = bp.systolic >= DANGER_SYSTOLIC or bp.diastolic >= DANGER_DIASTOLIC
    controlled = bp.systolic < CONTROLLED_SYSTOLIC and bp.diastolic < CONTROLLED_DIASTOLIC
    return Assessment(controlled=controlled, danger=danger)


def assess_glucose(g: Glucose) -> Assessment:
    danger = g.tenths >= DANGER_GLUCOSE_HIGH or g.tenths <= DANGER_GLUCOSE_LOW
    # A low (<= 3.9) reading is a danger sign, so it never counts as controlled.
    controlled = DANGER_GLUCOSE_LOW < g.tenths < CONTROLLED_GLUCOSE
    return Assessment(controlled=controlled, danger=danger)


def assess(reading: BloodPressure | Glucose) -> Assessment:
    return assess_bp(reading) if isinstance(reading, BloodPressure) else assess_glucose(reading)
