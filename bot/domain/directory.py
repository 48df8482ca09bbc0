"""The district directory: stations, doctors, communities, homes, signing requests, signings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

STATION_KINDS = ("centre", "station", "village_clinic", "smart_station", "hospital")
# The services a station may list: the ones the bot can name to residents (in both languages,
# handlers/resident/directory_view.py) and filter by. An unknown key is refused on import.
SERVICE_KEYS = (
    "vaccination",
    "chronic_disease",
    "rehabilitation",
    "tcm",
    "fever_clinic",
    "self_check_bp",
    "self_check_glucose",
    "emergency",
)


@dataclass(frozen=True, slots=True)
class Station:
    id: str
    kind: str
    name_zh: str
    name_en: str
    district: str
    town: str
    address_zh: str
    address_en: str
    lat: float
    lon: float
    phone: str
    hours: str
    services: str
    sample: bool = False
    district_code: str = "default"  # the deployment's district (issue 14), not `district`

    @property
    def service_keys(self) -> tuple[str, ...]:
        return tuple(s for s in (p.strip() for p in self.services.split(";")) if s)


@dataclass(frozen=True, slots=True)
class Doctor:
    id: str
    name_zh: str
    name_en: str
    team: str
    centre_id: str
    phone: str
    clinic_hours: str
    communities: str
    languages: str
    sample: bool = False
    team_en: str = ""  # optional in doctors.csv; empty: the Chinese team name is shown
    district_code: str = "default"

    @property
    def community_names(self) -> tuple[str, ...]:
        return tuple(c for c in (p.strip() for p in self.communities.split(";")) if c)


@dataclass(frozen=True, slots=True)
class Community:
    id: str
    town: str
    town_en: str
    name_zh: str
    name_en: str
    lat: float
    lon: float
    sample: bool = False
    district_code: str = "default"


@dataclass(frozen=True, slots=True)
class Home:
    resident_id: int
    town: str
    community: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SigningRequest:
    id: int
    resident_id: int
    doctor_id: str
    name: str
    phone: str
    status: str
    reason: str
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class Signing:
    resident_id: int
    doctor_id: str
    request_id: int | None
    signed_at: datetime
