"""Loading the district directory from CSV (and writing it back): matching rows by id against
what the database holds, and the report operators read.

`DirectoryService.import_csv` / `export_csv` / `load_sample` are the entry points; they also
make the running process see an import at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.services import directory_csv
from bot.services.directory_csv import RowError
from bot.storage.directory import DirectoryStore

SAMPLE_FILES = ("stations", "doctors", "communities")


@dataclass
class ImportReport:
    kind: str
    total: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    dropped_doctors: int = 0
    rejected: list[RowError] = field(default_factory=list)
    dry_run: bool = False


async def import_csv(
    store: DirectoryStore,
    kind: str,
    data: bytes,
    *,
    dry_run: bool = False,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and load a CSV of stations, doctors or communities.

    Rows are matched by id: new ones are added, changed ones updated. With `replace`,
    rows whose id is not in the file are removed (rejected rows' ids are kept).
    Raises directory_csv.FileError when the file as a whole is unusable.
    """
    parsed = directory_csv.parse(kind, data, progress)
    report = ImportReport(kind, total=parsed.total, rejected=parsed.rejected, dry_run=dry_run)
    if kind == "stations":
        existing: dict[str, object] = {s.id: s for s in await store.stations()}
    elif kind == "doctors":
        existing = {d.id: d for d in await store.doctors()}
        station_towns = {s.id: s.town for s in await store.stations()}
        good = []
        for line, doc in parsed.rows:
            if doc.centre_id not in station_towns:
                report.rejected.append(
                    RowError(line, f"centre_id {doc.centre_id!r} is not a known station", doc.id)
                )
            else:
                good.append((line, doc))
        parsed.rows = good
        report.rejected.sort(key=lambda e: e.line)
    else:
        existing = {c.id: c for c in await store.communities()}
    upserts = []
    for _, item in parsed.rows:
        old = existing.get(item.id)
        if old is None:
            report.added += 1
            upserts.append(item)
        elif old != item:
            report.updated += 1
            upserts.append(item)
        else:
            report.unchanged += 1
    remove: list[str] = []
    if replace:
        keep = {item.id for _, item in parsed.rows} | {e.id for e in report.rejected if e.id}
        remove = [i for i in existing if i not in keep]
        report.removed = len(remove)
    if dry_run:
        return report
    if kind == "stations":
        report.dropped_doctors = await store.apply_stations(upserts, remove)
    elif kind == "doctors":
        served = [(d.id, station_towns[d.centre_id], c) for d in upserts for c in d.community_names]
        await store.apply_doctors(upserts, remove, served)
    else:
        await store.apply_communities(upserts, remove)
    return report


async def export_csv(store: DirectoryStore, kind: str) -> str:
    if kind == "stations":
        items: list[object] = list(await store.stations())
    elif kind == "doctors":
        items = list(await store.doctors())
    else:
        items = list(await store.communities())
    return directory_csv.write(kind, items)
