"""Home readings: parse what a resident typed or tapped and check it is plausible.

What a reading means (targets, danger signs, for whom) is not decided here: the clinical rules
in content/clinical/*.yaml decide (bot/services/clinical.py). The entry ranges below are the
`quantities` of those files (a test keeps them equal); a value outside them is refused with a
correction prompt, and the rules add what to do if the meter really shows it.

Glucose is handled in tenths of a mmol/L (integers), so 16.7 compares exactly at the boundary.
A meter that shows HI or LO instead of a number is a Glucose with `display` set.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bot.i18n import N_
from bot.router import UserError

SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)
PULSE_RANGE = (30, 220)
GLUCOSE_TENTHS_RANGE = (10, 350)  # 1.0 to 35.0 mmol/L: what home meters can show
CONTEXTS = ("fasting", "after_meal")
DISPLAYS = ("HI", "LO")


class ReadingError(UserError, ValueError):
    """Input that is not a plausible reading; `msgid` is a correction prompt (English msgid).
    `beyond` names the measure and values when a number was outside the entry range."""

    def __init__(
        self,
        msgid: str,
        beyond: tuple[str, Mapping[str, Decimal]] | None = None,
        **params: object,
    ) -> None:
        super().__init__(msgid, **params)
        self.beyond = beyond


@dataclass(frozen=True, slots=True)
class BloodPressure:
    systolic: int
    diastolic: int
    pulse: int | None = None


@dataclass(frozen=True, slots=True)
class Glucose:
    tenths: int  # glucose in tenths of a mmol/L (HI/LO: the entry range's end)
    context: str = "fasting"  # or 'after_meal' (2 hours after a meal)
    display: str | None = None  # 'HI' / 'LO' when the meter showed no number

    @property
    def mmol(self) -> float:
        return self.tenths / 10


def meter_display(display: str, context: str = "fasting") -> Glucose:
    """A meter showing HI or LO: stored at the entry range's end, always shown as the word."""
    if display not in DISPLAYS:
        raise ValueError(f"unknown meter display {display!r}")
    low, high = GLUCOSE_TENTHS_RANGE
    return Glucose(high if display == "HI" else low, context, display)


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
GLUCOSE_SHAPE = N_(
    "Please send glucose as one number in mmol/L, for example 6.1, or HI / LO if the meter "
    "shows that."
)
GLUCOSE_OUT = N_(
    "Glucose must be between {low} and {high} mmol/L. If your meter shows mg/dL, divide by 18."
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
        beyond = ("blood_pressure", {"systolic": Decimal(systolic)})
        raise ReadingError(SYSTOLIC_OUT, beyond, low=low, high=high)
    return systolic


def check_bp(systolic: int, diastolic: int, pulse: int | None = None) -> BloodPressure:
    """Validate numbers (typed or from the keypad); ReadingError with a correction prompt."""
    check_systolic(systolic)
    low, high = DIASTOLIC_RANGE
    if not low <= diastolic <= high:
        beyond = ("blood_pressure", {"diastolic": Decimal(diastolic)})
        raise ReadingError(DIASTOLIC_OUT, beyond, low=low, high=high)
    if diastolic >= systolic:
        raise ReadingError(DIASTOLIC_NOT_LOWER)
    if pulse is not None:
        low, high = PULSE_RANGE
        if not low <= pulse <= high:
            raise ReadingError(PULSE_OUT, ("pulse", {"pulse": Decimal(pulse)}), low=low, high=high)
    return BloodPressure(systolic, diastolic, pulse)


def check_glucose(tenths: int, context: str = "fasting") -> Glucose:
    if context not in CONTEXTS:
        raise ValueError(f"unknown glucose context {context!r}")
    low, high = GLUCOSE_TENTHS_RANGE
    if not low <= tenths <= high:
        beyond = ("glucose", {"glucose": Decimal(tenths) / 10})
        raise ReadingError(GLUCOSE_OUT, beyond, low=f"{low / 10:.1f}", high=f"{high / 10:.1f}")
    return Glucose(tenths, context)


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


def parse_glucose(text: str, context: str = "fasting") -> Glucose:
    """'6.1' (mmol/L), or 'HI' / 'LO' as the meter shows → Glucose; ReadingError otherwise."""
    norm = _normalise(text)
    if norm.upper() in DISPLAYS:
        return meter_display(norm.upper(), context)
    if _has_letters(norm):
        raise ReadingError(LETTERS)
    m = _GLUCOSE.match(norm)
    if m is None:
        raise ReadingError(GLUCOSE_SHAPE)
    return check_glucose(glucose_tenths(m.group(1)), context)


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
