"""Chronic-disease records: conditions, readings, doctor flags and the follow-up facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

CONDITIONS = ("hypertension", "diabetes2")
EVENT_KINDS = ("followup", "referral", "side_effect", "annual_check")
SETTERS = ("resident", "doctor")


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
