"""Two districts side by side in one database (issue 14): the sample district (the default
one) and a second district made from it with its own ids, towns and places 150 km north."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path

from bot.config import Settings
from bot.runtime import Runtime
from tests.conftest import Clock
from tests.doctor_fixtures import WANG, load_district, signed_resident

SECOND = "songjiang"
SECOND_WANG = "sj-01-zj-d1"  # the second district's copy of WANG's team
NORTH = 1.35  # degrees of latitude the second district lies north of the sample (~150 km)


def _second(text: str, kind: str) -> str:
    """The sample file rewritten as another district's: every id and town renamed."""
    head, _, body = text.partition("\n")
    rows = list(csv.DictReader(io.StringIO(body)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        row["id"] = "sj-" + row["id"].split("-", 1)[1]
        if "town" in row:
            row["town"] = row["town"] + "镇B" if row["town"] else ""
        if "centre_id" in row:
            row["centre_id"] = "sj-" + row["centre_id"].split("-", 1)[1]
        if "lat" in row:
            row["lat"] = f"{float(row['lat']) + NORTH:.4f}"
        if kind == "stations":
            row["district"] = "松江区"
        writer.writerow(row)
    return head + "\n" + out.getvalue()


def second_files(content: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("stations", "doctors", "communities"):
        text = (content / "district" / f"{kind}.csv").read_text(encoding="utf-8")
        (folder / f"{kind}.csv").write_text(_second(text, kind), encoding="utf-8")
    return folder


@dataclass
class TwoDistricts:
    a: Runtime  # the sample (default) district's process
    b: Runtime  # the second district's process (its own bot)
    a_resident: int
    b_resident: int


async def start_two(settings: Settings, clock: Clock, tmp: Path) -> TwoDistricts:
    """Both processes on one database file, each district loaded and one signed resident in
    each (through the real request and approval)."""
    a = Runtime(settings, clock=clock)
    await a.start()
    await load_district(a)
    await a.stores.districts.add(SECOND, "松江区", "Songjiang", clock())
    b = Runtime(replace(settings, district=SECOND), clock=clock)
    await b.start()
    folder = second_files(settings.content_dir, tmp / "second")
    for kind in ("stations", "doctors", "communities"):
        report = await b.services.directory.import_csv(kind, folder / f"{kind}.csv")
        # The shared city hospital keeps its sample id: it belongs to the first district.
        assert len(report.rejected) <= 1, report.rejected
    a_res = await signed_resident(a, "a1", WANG)
    b_res = await _signed_b(b, "b1")
    return TwoDistricts(a, b, a_res, b_res)


async def _signed_b(rt: Runtime, user_id: str) -> int:
    resident = await rt.stores.residents.create("test", user_id)
    resident = await rt.stores.residents.update(resident, locale="en")
    directory = rt.services.directory
    await directory.set_home(resident.id, "朱泾镇B", "东林居委")
    req = await directory.request_signing(resident.id, SECOND_WANG, "Resident B", "13900000000")
    assert await directory.decide(req.id, SECOND_WANG, True) is not None
    return resident.id


async def stop_two(two: TwoDistricts) -> None:
    await two.b.stop()
    await two.a.stop()
