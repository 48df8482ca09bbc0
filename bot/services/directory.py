"""The district directory: nearest places, towns and communities, family doctor teams and
residents' homes. Signing requests live in bot/services/signing.py and the CSV import / export
in bot/services/directory_import.py: this service's methods for them delegate there, and
`HomeChange` / `ImportReport` stay importable from here, so callers need not know.

SQLite is the source of truth. Lookups run on an in-memory, read-only snapshot (a grid index
of station coordinates and a few dictionaries) that is rebuilt whenever the directory version
in the database moves, so an import from the command line reaches a running bot too.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain.clock import Clock
from bot.domain.directory import Community, Doctor, Home, SigningRequest, Station
from bot.domain.districts import ALL_DISTRICTS
from bot.services import directory_import
from bot.services.directory_import import SAMPLE_FILES as SAMPLE_FILES
from bot.services.directory_import import ImportReport as ImportReport
from bot.services.geo import GridIndex, haversine_m
from bot.services.hours import Hours, OpenStatus, next_opening, open_status, parse_hours
from bot.services.signing import HomeChange as HomeChange
from bot.services.signing import SigningService
from bot.storage.directory import DirectoryStore
from bot.storage.districts import DistrictStore

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

WALK_M_PER_MIN = 80.0
CIRCLE_MINUTES = 15
CIRCLE_M = WALK_M_PER_MIN * CIRCLE_MINUTES  # the "15-minute health service circle": 1,200 m
FAR_M = 30_000.0  # farther than this from every station: not in this district
NEEDS = {
    "vaccination": "vaccination",
    "bp": "self_check_bp",
    "open": "",  # open now: a time test, not a service key
}


def short_key(text: str) -> str:
    """A stable 10-hex-digit key for callback data (ids and names may be long or odd)."""
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


@dataclass(frozen=True, slots=True)
class Place:
    station: Station
    distance_m: float
    status: OpenStatus

    @property
    def walk_minutes(self) -> int:
        return max(1, math.ceil(self.distance_m / WALK_M_PER_MIN - 1e-9))

    @property
    def within_circle(self) -> bool:
        return self.distance_m <= CIRCLE_M + 1e-6


@dataclass(frozen=True, slots=True)
class Nearby:
    """The answer to "what is near me": places nearest first, or `far` with the main centre."""

    places: tuple[Place, ...]
    far: bool
    main_centre: Station | None
    empty: bool = False  # no station imported at all: nothing is "near" or "far"


@dataclass(frozen=True, slots=True)
class Team:
    """A resident's family doctor team with the "1+1+1" combination where known."""

    doctor: Doctor
    centre: Station | None
    district_hospital: Station | None
    city_hospital: Station | None
    signed: bool


@dataclass(frozen=True, slots=True)
class CommunityRef:
    town: str
    name: str
    name_en: str
    key: str


@dataclass(frozen=True, slots=True)
class TownRef:
    name: str
    name_en: str
    key: str


@dataclass(frozen=True)
class Snapshot:
    """Everything lookups need, built once per directory version."""

    version: int
    stations: dict[str, Station]
    station_keys: dict[str, str]
    hours: dict[str, Hours]
    grid: GridIndex[Station]
    doctors: dict[str, Doctor]
    doctor_keys: dict[str, str]
    served: dict[tuple[str, str], tuple[str, ...]]
    towns: tuple[TownRef, ...]
    town_keys: dict[str, str]
    communities: dict[str, tuple[CommunityRef, ...]]
    community_keys: dict[str, CommunityRef]
    community_grid: GridIndex[CommunityRef]
    main_district: str
    main_centre: Station | None
    sample: bool


def build_snapshot(
    version: int,
    stations: list[Station],
    doctors: list[Doctor],
    served_rows: list[tuple[str, str, str]],
    places: list[Community],
) -> Snapshot:
    by_id = {s.id: s for s in stations}
    hours = {}
    for s in stations:
        try:
            hours[s.id] = parse_hours(s.hours)
        except ValueError:
            hours[s.id] = parse_hours("")  # validated on import; never break lookups
    served: dict[tuple[str, str], list[str]] = {}
    for doctor_id, town, community in served_rows:
        served.setdefault((town, community), []).append(doctor_id)
    place_by_name = {(c.town, c.name_zh): c for c in places}
    town_en = {c.town: c.town_en for c in places if c.town_en}
    # Towns in the order of their stations' ids (operators number them as they like them).
    order: dict[str, str] = {}
    for s in stations:
        if s.town and (s.town not in order or s.id < order[s.town]):
            order[s.town] = s.id
    for town, _ in served:
        order.setdefault(town, "\uffff" + town)
    towns = tuple(
        TownRef(t, town_en.get(t, ""), short_key("t" + t))
        for t in sorted(order, key=order.__getitem__)
    )
    communities: dict[str, list[CommunityRef]] = {}
    names = set(served) | set(place_by_name)

    # Communities in the order of the communities file, then the rest by name.
    def community_order(item: tuple[str, str]) -> tuple[str, str]:
        place = place_by_name.get(item)
        return (item[0], place.id if place else "\uffff" + item[1])

    for town, name in sorted(names, key=community_order):
        place = place_by_name.get((town, name))
        ref = CommunityRef(town, name, place.name_en if place else "", short_key(f"c{town}|{name}"))
        communities.setdefault(town, []).append(ref)
    community_keys = {ref.key: ref for refs in communities.values() for ref in refs}
    community_grid = GridIndex(
        (
            (place_by_name[(r.town, r.name)].lat, place_by_name[(r.town, r.name)].lon, r)
            for r in community_keys.values()
            if (r.town, r.name) in place_by_name and (r.town, r.name) in served
        ),
        cell_deg=0.02,
    )
    districts = Counter(s.district for s in stations if s.district)
    main_district = districts.most_common(1)[0][0] if districts else ""
    centres = [s for s in stations if s.kind == "centre" and s.district == main_district]
    # The district's main centre is its first centre by id: operators choose it by numbering.
    main_centre = min(centres, key=lambda s: s.id) if centres else None
    return Snapshot(
        version=version,
        stations=by_id,
        station_keys={short_key(s.id): s.id for s in stations},
        hours=hours,
        grid=GridIndex((s.lat, s.lon, s) for s in stations),
        doctors={d.id: d for d in doctors},
        doctor_keys={short_key(d.id): d.id for d in doctors},
        served={k: tuple(v) for k, v in served.items()},
        towns=towns,
        town_keys={t.key: t.name for t in towns},
        communities={t: tuple(v) for t, v in communities.items()},
        community_keys=community_keys,
        community_grid=community_grid,
        main_district=main_district,
        main_centre=main_centre,
        sample=any(s.sample for s in stations) or any(d.sample for d in doctors),
    )


class DirectoryService:
    def __init__(
        self,
        store: DirectoryStore,
        signing: SigningService,
        clock: Clock,
        districts: DistrictStore | None = None,
    ) -> None:
        self.store = store
        self.signing = signing
        self.clock = clock
        self.districts = districts
        self._snap: Snapshot | None = None
        # How often to ask the database whether an import (maybe by another process) changed
        # the directory; in between, lookups touch memory only.
        self.recheck_s = 1.0
        self._checked_at = 0.0
        self._warned_empty = False

    # -- the snapshot -------------------------------------------------------------------
    async def snapshot(self) -> Snapshot:
        """The current directory; rebuilt when an import (in any process) changed it."""
        if self._snap is not None and time.monotonic() - self._checked_at < self.recheck_s:
            return self._snap
        version = await self.store.version()
        self._checked_at = time.monotonic()
        if self._snap is None or self._snap.version != version:
            self._snap = build_snapshot(
                version,
                await self.store.stations(),
                await self.store.doctors(),
                await self.store.doctor_communities(),
                await self.store.communities(),
            )
            log.info("directory loaded: version %s, %s stations", version, len(self._snap.stations))
        return self._snap

    # -- places -------------------------------------------------------------------------
    async def nearest(
        self, lat: float, lon: float, now: datetime, k: int = 3, need: str | None = None
    ) -> Nearby:
        """The k nearest places to (lat, lon), optionally only those meeting `need`
        (a key of NEEDS). `now` is in the deployment's time zone."""
        snap = await self.snapshot()
        service = NEEDS.get(need or "", "")

        def accept(s: Station) -> bool:
            if service and service not in s.service_keys:
                return False
            return need != "open" or open_status(snap.hours[s.id], now).open

        if not snap.stations:
            self.warn_empty()
            return Nearby((), False, None, empty=True)
        hits = snap.grid.nearest(lat, lon, k, max_m=FAR_M, accept=accept if need else None)
        far = not hits and not snap.grid.nearest(lat, lon, 1, max_m=FAR_M)
        places = tuple(
            Place(h.item, h.distance_m, open_status(snap.hours[h.item.id], now)) for h in hits
        )
        return Nearby(places, far, snap.main_centre)

    async def station_by_key(self, key: str) -> Station | None:
        snap = await self.snapshot()
        station_id = snap.station_keys.get(key)
        return snap.stations.get(station_id) if station_id else None

    async def status(self, station: Station, now: datetime) -> OpenStatus:
        snap = await self.snapshot()
        return open_status(snap.hours.get(station.id) or parse_hours(""), now)

    async def next_opening(self, station: Station, now: datetime) -> datetime | None:
        """When the station next opens (`now` if open), from its hours; None if unknown."""
        snap = await self.snapshot()
        return next_opening(snap.hours.get(station.id) or parse_hours(""), now)

    async def town_point(self, town: str) -> tuple[float, float] | None:
        """Where to measure from for "near my town": its centre, else its first station."""
        snap = await self.snapshot()
        in_town = [s for s in snap.stations.values() if s.town == town]
        if not in_town:
            return None
        best = next((s for s in in_town if s.kind == "centre"), in_town[0])
        return best.lat, best.lon

    async def is_empty(self) -> bool:
        """No station imported yet (a new deployment): say so, never "far away"."""
        if (await self.snapshot()).stations:
            return False
        self.warn_empty()
        return True

    def warn_empty(self) -> None:
        # Once per process: the operator reads the log, the resident gets a plain answer.
        if not self._warned_empty:
            self._warned_empty = True
            log.warning(
                "the district directory is empty: residents asking for a station or their "
                "doctor are told there is no data yet. Import it with `doorstep import "
                "stations FILE.csv`, then doctors and communities (README: The district "
                "directory)"
            )

    async def is_sample(self) -> bool:
        return (await self.snapshot()).sample

    async def main_centre(self) -> Station | None:
        return (await self.snapshot()).main_centre

    # -- towns and communities ----------------------------------------------------------
    async def towns(self) -> tuple[TownRef, ...]:
        return (await self.snapshot()).towns

    async def town_by_key(self, key: str) -> str | None:
        return (await self.snapshot()).town_keys.get(key)

    async def communities(self, town: str) -> tuple[CommunityRef, ...]:
        return (await self.snapshot()).communities.get(town, ())

    async def community_by_key(self, key: str) -> CommunityRef | None:
        return (await self.snapshot()).community_keys.get(key)

    async def community_ref(self, town: str, name: str) -> CommunityRef | None:
        return (await self.snapshot()).community_keys.get(short_key(f"c{town}|{name}"))

    async def nearest_community(self, lat: float, lon: float) -> CommunityRef | None:
        """The served community whose recorded location is nearest, within the district."""
        hits = (await self.snapshot()).community_grid.nearest(lat, lon, 1, max_m=FAR_M)
        return hits[0].item if hits else None

    # -- teams --------------------------------------------------------------------------
    async def doctor(self, doctor_id: str) -> Doctor | None:
        return (await self.snapshot()).doctors.get(doctor_id)

    async def doctor_by_key(self, key: str) -> Doctor | None:
        snap = await self.snapshot()
        doctor_id = snap.doctor_keys.get(key)
        return snap.doctors.get(doctor_id) if doctor_id else None

    async def teams_for(self, town: str, community: str) -> list[Doctor]:
        snap = await self.snapshot()
        return [
            snap.doctors[i] for i in snap.served.get((town, community), ()) if i in snap.doctors
        ]

    async def team(self, doctor: Doctor, signed: bool) -> Team:
        """The doctor with their centre and the "1+1+1" hospitals nearest to that centre."""
        snap = await self.snapshot()
        centre = snap.stations.get(doctor.centre_id)
        district_h = city_h = None
        if centre is not None:
            hospitals = [s for s in snap.stations.values() if s.kind == "hospital"]

            def dist(s: Station) -> float:
                return haversine_m(centre.lat, centre.lon, s.lat, s.lon)

            local = [s for s in hospitals if s.district == centre.district]
            city = [s for s in hospitals if s.district != centre.district]
            district_h = min(local, key=dist) if local else None
            city_h = min(city, key=dist) if city else None
        return Team(doctor, centre, district_h, city_h, signed)

    async def signed_doctor(self, resident_id: int) -> Doctor | None:
        """The doctor the resident is signed with, if that doctor is still in the directory."""
        signing = await self.store.signing(resident_id)
        return await self.doctor(signing.doctor_id) if signing else None

    async def team_for_resident(self, resident_id: int) -> Team | None:
        """The signed team, else the (first) team serving the resident's community, else None."""
        signed = await self.signed_doctor(resident_id)
        if signed is not None:
            return await self.team(signed, signed=True)
        home = await self.store.home(resident_id)
        if home is None:
            return None
        teams = await self.teams_for(home.town, home.community)
        return await self.team(teams[0], signed=False) if teams else None

    # -- homes --------------------------------------------------------------------------
    async def home(self, resident_id: int) -> Home | None:
        return await self.store.home(resident_id)

    async def set_home(self, resident_id: int, town: str, community: str) -> HomeChange:
        """Record where the resident lives; an open signing request follows them to the
        new community's team (or is withdrawn when no team serves it)."""
        now = self.clock()
        await self.store.set_home(resident_id, town, community, now)
        if self.districts is not None:
            # A resident's district follows from their community (issue 14). A process that
            # serves one district offers only that district's communities.
            district: str | None = self.store.district
            if district == ALL_DISTRICTS:
                district = await self.districts.community_district(town, community)
            if district is not None:
                await self.districts.set_resident_district(resident_id, district)
        home = Home(resident_id, town, community, now)
        return await self.signing.follow_home(home, await self.teams_for(town, community))

    # -- signing (bot/services/signing.py) ----------------------------------------------
    async def request_signing(
        self, resident_id: int, doctor_id: str, name: str, phone: str
    ) -> SigningRequest:
        return await self.signing.request(resident_id, doctor_id, name, phone)

    async def latest_request(self, resident_id: int) -> SigningRequest | None:
        return await self.signing.latest(resident_id)

    async def withdraw(self, resident_id: int) -> bool:
        return await self.signing.withdraw(resident_id)

    async def list_pending(self, doctor_id: str) -> list[SigningRequest]:
        return await self.signing.pending_for(doctor_id)

    async def decide(
        self, request_id: int, doctor_id: str, approve: bool, reason: str = ""
    ) -> SigningRequest | None:
        return await self.signing.decide(request_id, doctor_id, approve, reason)

    # -- import / export (bot/services/directory_import.py) ------------------------------
    async def import_csv(
        self,
        kind: str,
        data: bytes | Path,
        *,
        dry_run: bool = False,
        replace: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Validate and load a CSV (see `directory_import.import_csv`); lookups in this
        process see the change at once."""
        report = await directory_import.import_csv(
            self.store, kind, data, dry_run=dry_run, replace=replace, progress=progress
        )
        if not dry_run:
            self._snap = None
        return report

    async def export_csv(self, kind: str) -> str:
        return await directory_import.export_csv(self.store, kind)

    async def load_sample(self, folder: Path) -> list[ImportReport]:
        """Import the sample district (stations, then doctors, then communities)."""
        reports = []
        for kind in SAMPLE_FILES:
            path = folder / f"{kind}.csv"
            if path.exists():
                reports.append(await self.import_csv(kind, path.read_bytes()))
        return reports


async def load_sample_in_sandbox(rt: Runtime) -> None:
    """Start-up hook: the sandbox (`doorstep chat`) gets the sample district if it has none.
    Production never loads sample data by itself."""
    if not rt.sandbox:
        return
    service = rt.services.directory
    if await service.store.count_stations() > 0:
        return
    folder = rt.settings.content_dir / "district"
    reports = await service.load_sample(folder)
    log.info(
        "sandbox: loaded the sample district (%s)",
        ", ".join(f"{r.kind} {r.added}" for r in reports),
    )
