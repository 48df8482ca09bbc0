"""Reading and writing the directory's CSV files: validation row by row, with line numbers.

A bad row is reported (line number and reason) and skipped; the good rows still load. A file
whose leading `#` comment says "sample data" marks its rows as sample rows, which the bot
labels "sample data — your district's operator replaces it".
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from bot.domain.directory import SERVICE_KEYS, STATION_KINDS, Community, Doctor, Station
from bot.services.hours import HoursError, parse_hours

STATION_COLUMNS = (
    "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services"
).split(",")
DOCTOR_COLUMNS = (
    "id,name_zh,name_en,team,team_en,centre_id,phone,clinic_hours,communities,languages"
).split(",")
COMMUNITY_COLUMNS = "id,town,town_en,name_zh,name_en,lat,lon".split(",")
COLUMNS = {"stations": STATION_COLUMNS, "doctors": DOCTOR_COLUMNS, "communities": COMMUNITY_COLUMNS}
# Columns a file may leave out (files made before they existed): read as empty.
OPTIONAL = {"team_en"}
SAMPLE_MARK = "# SAMPLE DATA — your district's operator replaces it (doorstep import --replace)"
_SERVICE_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# CSV injection (OWASP): a spreadsheet runs a cell that begins with one of these as a formula.
# Exported, such a cell gets a leading apostrophe (shown as text); imported, the apostrophe
# is taken off again, so a file round-trips to the same text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


def _needs_quote(value: str) -> bool:
    if value.startswith("'"):
        return True  # so that a value that really begins with one survives the round trip
    return value.startswith(FORMULA_START) and not _NUMBER.match(value)


def neutralise(value: str) -> str:
    """A cell safe to open in a spreadsheet."""
    return "'" + value if _needs_quote(value) else value


def restore(value: str) -> str:
    """The text of a cell written by `neutralise` (other cells are left as they are)."""
    return value[1:] if value.startswith("'") and _needs_quote(value[1:]) else value


class FileError(ValueError):
    """The whole file cannot be read (encoding, header); nothing was imported."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str
    id: str = ""


@dataclass
class Parsed:
    """Valid rows (with their line numbers) and rejected ones, in file order."""

    rows: list[tuple[int, Any]] = field(default_factory=list)
    rejected: list[RowError] = field(default_factory=list)
    sample: bool = False
    total: int = 0


def _text(source: BinaryIO) -> TextIO:
    # newline="": the csv module sees quoted line breaks as they are.
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline="")


def _records(stream: TextIO) -> tuple[bool, int, Iterator[tuple[int, list[str]]]]:
    """Skip leading comment lines; return (is_sample, header line number, records), read
    from the stream as they are needed (a file is never held in memory whole)."""
    skip = 0
    sample = False
    first: str | None = None
    for line in stream:
        if line.startswith("#") or not line.strip():
            sample = sample or "sample data" in line.lower()
            skip += 1
            continue
        first = line
        break
    reader = csv.reader(itertools.chain([first] if first is not None else [], stream))

    def gen() -> Iterator[tuple[int, list[str]]]:
        prev = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # A field over the csv module's limit, or broken quoting: the rest of the
                # file cannot be trusted to line up, so the file as a whole is refused.
                raise FileError(
                    f"line {skip + reader.line_num}: unreadable CSV "
                    f"({_csv_reason(exc)}); nothing was imported"
                ) from None
            except UnicodeDecodeError as exc:
                raise FileError(
                    f"after line {skip + reader.line_num}: the file is not UTF-8 (byte "
                    f"{exc.start} of a block); save it as 'CSV UTF-8' and try again"
                ) from None
            start = skip + prev + 1
            prev = reader.line_num
            yield start, record

    return sample, skip + 1, gen()


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    return "broken quoting"


def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} {value} is outside {low:g}..{high:g}")
    return number


def _hours(value: str, name: str) -> str:
    try:
        parse_hours(value)
    except HoursError as exc:
        raise ValueError(f"{name}: {exc}") from None
    return value.strip()


def _station(v: dict[str, str], sample: bool) -> Station:
    if v["kind"] not in STATION_KINDS:
        raise ValueError(f"unknown kind {v['kind']!r} (use one of {', '.join(STATION_KINDS)})")
    if not v["name_zh"]:
        raise ValueError("name_zh is empty")
    services = [s.strip() for s in v["services"].split(";") if s.strip()]
    for key in services:
        if not _SERVICE_KEY.match(key):
            raise ValueError(f"service {key!r} is not a key like vaccination or self_check_bp")
        if key not in SERVICE_KEYS:
            raise ValueError(f"unknown service {key!r} (use one of {', '.join(SERVICE_KEYS)})")
    return Station(
        id=v["id"],
        kind=v["kind"],
        name_zh=v["name_zh"],
        name_en=v["name_en"],
        district=v["district"],
        town=v["town"],
        address_zh=v["address_zh"],
        address_en=v["address_en"],
        lat=_float(v["lat"], "lat", -90, 90),
        lon=_float(v["lon"], "lon", -180, 180),
        phone=v["phone"],
        hours=_hours(v["hours"], "hours"),
        services=";".join(services),
        sample=sample,
    )


def _doctor(v: dict[str, str], sample: bool) -> Doctor:
    if not v["name_zh"]:
        raise ValueError("name_zh is empty")
    if not v["centre_id"]:
        raise ValueError("centre_id is empty")
    communities = [c.strip() for c in v["communities"].split(";") if c.strip()]
    return Doctor(
        id=v["id"],
        name_zh=v["name_zh"],
        name_en=v["name_en"],
        team=v["team"],
        team_en=v["team_en"],
        centre_id=v["centre_id"],
        phone=v["phone"],
        clinic_hours=_hours(v["clinic_hours"], "clinic_hours"),
        communities=";".join(communities),
        languages=v["languages"],
        sample=sample,
    )


def _community(v: dict[str, str], sample: bool) -> Community:
    if not v["town"] or not v["name_zh"]:
        raise ValueError("town and name_zh are required")
    return Community(
        id=v["id"],
        town=v["town"],
        town_en=v["town_en"],
        name_zh=v["name_zh"],
        name_en=v["name_en"],
        lat=_float(v["lat"], "lat", -90, 90),
        lon=_float(v["lon"], "lon", -180, 180),
        sample=sample,
    )


_BUILDERS: dict[str, Callable[[dict[str, str], bool], Any]] = {
    "stations": _station,
    "doctors": _doctor,
    "communities": _community,
}


@dataclass(frozen=True, slots=True)
class Header:
    sample: bool


def scan(
    kind: str,
    source: BinaryIO,
    progress: Callable[[int], None] | None = None,
    every: int = 5000,
) -> Iterator[Header | RowError | tuple[int, Any]]:
    """Validate a CSV of `kind` (stations, doctors, communities) as it is read: first the
    Header, then each row as (line, item) or a RowError, in file order. Raises FileError
    when the file as a whole is unusable (before the Header, or where reading fails)."""
    columns = COLUMNS[kind]
    build = _BUILDERS[kind]
    try:
        sample, header_line, records = _records(_text(source))
        _, header = next(records)
    except StopIteration:
        raise FileError("the file is empty") from None
    except UnicodeDecodeError as exc:
        raise FileError(
            f"the file is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' and try again"
        ) from None
    header = [h.strip().lower() for h in header]
    missing = [c for c in columns if c not in header and c not in OPTIONAL]
    if missing:
        raise FileError(
            f"line {header_line}: the header lacks column(s) {', '.join(missing)}; "
            f"expected {','.join(columns)}"
        )
    yield Header(sample)
    columns = [c for c in columns if c in header]
    where = [header.index(c) for c in columns]
    width = len(header)
    first_seen: dict[str, int] = {}
    total = 0
    for line, record in records:
        if not any(cell.strip() for cell in record):
            continue
        total += 1
        if progress is not None and total % every == 0:
            progress(total)
        row_id = restore(record[where[0]].strip()) if len(record) > where[0] else ""
        if len(record) < width:
            yield RowError(line, f"missing column(s): {len(record)} of {width} fields", row_id)
            continue
        values = dict.fromkeys(OPTIONAL, "")
        values.update({c: restore(record[i].strip()) for c, i in zip(columns, where, strict=True)})
        if not row_id:
            yield RowError(line, "id is empty")
            continue
        if row_id in first_seen:
            yield RowError(line, f"duplicate id {row_id!r} (first on line {first_seen[row_id]})")
            continue
        first_seen[row_id] = line
        try:
            yield line, build(values, sample)
        except ValueError as exc:
            yield RowError(line, str(exc), row_id)


def parse(
    kind: str,
    data: bytes,
    progress: Callable[[int], None] | None = None,
    every: int = 5000,
) -> Parsed:
    """`scan` of a file held in memory, collected (small files and tests)."""
    out = Parsed()
    for item in scan(kind, io.BytesIO(data), progress, every):
        if isinstance(item, Header):
            out.sample = item.sample
        elif isinstance(item, RowError):
            out.total += 1
            out.rejected.append(item)
        else:
            out.total += 1
            out.rows.append(item)
    return out


def write(kind: str, items: list[Any]) -> str:
    """The rows back as CSV in the import format (a sample mark if every row is sample)."""
    columns = COLUMNS[kind]
    buf = io.StringIO()
    if items and all(getattr(i, "sample", False) for i in items):
        buf.write(SAMPLE_MARK + "\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(getattr(item, c)) for c in columns])
    return buf.getvalue()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return neutralise(str(value))
