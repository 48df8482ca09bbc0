"""Vaccine records: children, their guardians and doses, adults' vaccine records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

OWNER = "owner"
GUARDIAN = "guardian"


@dataclass(frozen=True, slots=True)
class Child:
    id: int
    owner_id: int
    nickname: str
    born: date
    created_at: datetime
    sex: str | None = None  # 'female' / 'male'; None: not recorded


@dataclass(frozen=True, slots=True)
class ChildRecord:
    """A child with everything planning needs: who looks after it and the doses given."""

    child: Child
    guardians: tuple[int, ...]  # resident ids, the owner first
    given: dict[str, date]


@dataclass(frozen=True, slots=True)
class ChildDoses:
    """A child as the daily planning job reads it: birth date and doses still as stored text.

    Children with equal (born, doses) have the same plan, so the job plans each such cohort
    once and parses the text (`parse_doses`) only then.
    """

    child_id: int
    guardians: tuple[int, ...]  # resident ids, the owner first, then by id
    born: str  # ISO date
    doses: str  # "CODE@YYYY-MM-DD CODE@YYYY-MM-DD ..." as stored; '' if none
    sex: str = ""  # as stored; '' when not recorded


@dataclass(frozen=True, slots=True)
class AdultRecord:
    resident_id: int
    vaccine: str  # 'flu' | 'ppv23'
    season: int  # the autumn's year for flu, 0 for ppv23
    outcome: str  # 'done' | 'declined'
    recorded_on: date
