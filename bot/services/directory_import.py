"""Loading the district directory from CSV (and writing it back): matching rows by id against
what the database holds, and the report operators read.

`DirectoryService.import_csv` / `export_csv` / `load_sample` are the entry points; they also
make the running process see an import at once.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from pathlib import Path
from typing import Any, BinaryIO

from bot.services import directory_csv
from bot.services.directory_csv import RowError
from bot.storage.directory import DirectoryStore

SAMPLE_FILES = ("stations", "doctors", "communities")
CHUNK = 500  # rows compared and written per transaction


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
    source: bytes | Path,
    *,
    dry_run: bool = False,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and load a CSV of stations, doctors or communities.

    Rows are matched by id: new ones are added, changed ones updated. With `replace`,
    rows whose id is not in the file are removed (rejected rows' ids are kept).
    Raises directory_csv.FileError when the file as a whole is unusable; nothing is
    imported then.

    The file is streamed, twice: the first pass validates it and keeps only ids and
    rejections, the second writes it CHUNK rows at a time, comparing each chunk with the
    rows of the same ids in the database. A 100 MB file never sits in memory (issue 16).
    """
    report = ImportReport(kind, dry_run=dry_run)
    towns = await store.station_towns() if kind == "doctors" else {}
    # Ids are unique across the deployment: a row whose id another district holds is refused,
    # never moved into this district.
    foreign = await store.foreign_ids(kind)
    # Pass 1: validate everything before anything is written.
    keep: set[str] = set()
    for _line, item in _valid(kind, source, report, towns, progress, foreign):
        keep.add(item.id)
    report.rejected.sort(key=lambda e: e.line)
    remove: list[str] = []
    if replace:
        keep |= {e.id for e in report.rejected if e.id}
        remove = [i for i in await store.ids(kind) if i not in keep]
        report.removed = len(remove)
    del keep
    # Pass 2: compare and write, chunk by chunk.
    chunk: list[Any] = []
    quiet = ImportReport(kind)  # the second pass's rejections are the first pass's again
    for _, item in _valid(kind, source, quiet, towns, None, foreign):
        chunk.append(item)
        if len(chunk) >= CHUNK:
            await _write(store, kind, chunk, [], towns, report, dry_run)
            chunk = []
    await _write(store, kind, chunk, remove, towns, report, dry_run)
    return report


def _open(source: bytes | Path) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")


def _valid(
    kind: str,
    source: bytes | Path,
    report: ImportReport,
    towns: dict[str, str],
    progress: Callable[[int], None] | None,
    foreign: dict[str, str],
) -> Iterator[tuple[int, Any]]:
    """The valid rows of the file, as it is read; rejections and the total go to `report`."""
    with _open(source) as stream:
        for item in directory_csv.scan(kind, stream, progress):
            if isinstance(item, directory_csv.Header):
                continue
            report.total += 1
            if isinstance(item, RowError):
                report.rejected.append(item)
                continue
            line, row = item
            if row.id in foreign:
                report.rejected.append(
                    RowError(line, f"id {row.id!r} belongs to district {foreign[row.id]!r}", row.id)
                )
                continue
            if kind == "doctors" and row.centre_id not in towns:
                report.rejected.append(
                    RowError(line, f"centre_id {row.centre_id!r} is not a known station", row.id)
                )
                continue
            yield line, row


async def _write(
    store: DirectoryStore,
    kind: str,
    chunk: list[Any],
    remove: list[str],
    towns: dict[str, str],
    report: ImportReport,
    dry_run: bool,
) -> None:
    # The rows as this district would store them, so that comparing sees real changes only.
    chunk = [with_fields(item, district_code=store.write_district) for item in chunk]
    existing = await store.by_ids(kind, [item.id for item in chunk])
    upserts = []
    for item in chunk:
        old = existing.get(item.id)
        if old is None:
            report.added += 1
            upserts.append(item)
        elif old != item:
            report.updated += 1
            upserts.append(item)
        else:
            report.unchanged += 1
    if dry_run or not (upserts or remove):
        return
    if kind == "stations":
        report.dropped_doctors += await store.apply_stations(upserts, remove)
    elif kind == "doctors":
        served = [(d.id, towns[d.centre_id], c) for d in upserts for c in d.community_names]
        await store.apply_doctors(upserts, remove, served)
    else:
        await store.apply_communities(upserts, remove)


async def export_csv(store: DirectoryStore, kind: str) -> str:
    if kind == "stations":
        items: list[object] = list(await store.stations())
    elif kind == "doctors":
        items = list(await store.doctors())
    else:
        items = list(await store.communities())
    return directory_csv.write(kind, items)
