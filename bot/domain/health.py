"""Chronic-disease records: conditions, readings, doctor flags and the follow-up facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

CONDITIONS = ("hypertension", "diabetes2")
EVENT_KINDS = ("followup", "referral", "side_effect", "annual_check")
SETTERS = ("resident", "doctor")
PREGNANCY = ("pregnant", "breastfeeding")


@dataclass(frozen=True, slots=True)
class Condition:
    resident_id: int
    condition: str
    set_by: str
    doctor_id: str | None
    since: date


@dataclass(frozen=True, slots=True)
class Reading:
    id: int
    resident_id: int
    kind: str  # 'bp' or 'glucose'
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    glucose: float | None  # mmol/L
    taken_at: datetime  # aware, UTC
    controlled: bool
    danger: bool
    context: str | None = None  # glucose: 'fasting' / 'after_meal'
    setting: str = "home"
    meter_display: str | None = None  # 'HI' / 'LO': the meter showed no number
    action: str | None = None  # what the clinical rules decided (None before issue 15)
    direction: str | None = None
    # The measure that decided (blood_pressure / pulse / glucose; None before migration 0022)
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class NewReading:
    kind: str
    taken_at: datetime
    controlled: bool
    danger: bool
    systolic: int | None = None
    diastolic: int | None = None
    pulse: int | None = None
    glucose: float | None = None
    context: str | None = None
    setting: str = "home"
    meter_display: str | None = None
    action: str | None = None
    direction: str | None = None
    rules: str = ""  # ids of the rules that decided, comma-separated
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """A reading as written: its id and the flag raised with it (None: no flag row)."""

    reading_id: int
    flag_id: int | None


@dataclass(frozen=True, slots=True)
class Flag:
    id: int
    resident_id: int
    reason: str
    created_at: datetime
    seen_at: datetime | None
    reading: Reading | None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the follow-up plan needs about one resident, as stored."""

    resident_id: int
    birth_year: int | None = None
    conditions: tuple[str, ...] = ()
    condition_since: date | None = None
    last_event: dict[str, date] = field(default_factory=dict)  # kind -> newest on_date
    last_uncontrolled_at: datetime | None = None
    last_uncontrolled_direction: str | None = None  # 'low' / 'high' (None: before issue 15)
    # The newest follow-up visits (newest first, at most 2) and whether each was uncontrolled.
    followups: tuple[tuple[date, bool], ...] = ()
