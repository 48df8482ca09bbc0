"""CSV import and export: line-numbered rejections, re-import by id, dry run, replace,
BOM, round trip, and the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main as cli
from bot.config import Settings
from bot.runtime import Runtime
from bot.services import directory_csv
from bot.services.directory_csv import FileError

HEADER = "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services"
GOOD = [
    "a1,centre,甲中心,A Centre,金山区,朱泾,地址,Addr,30.9,121.16,021-1,Mon-Fri 08:00-16:30,"
    "vaccination",
    "a2,station,乙站,B Station,金山区,朱泾,地址,Addr,30.91,121.17,021-2,,self_check_bp",
]
DOCTORS = "id,name_zh,name_en,team,centre_id,phone,clinic_hours,communities,languages"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


async def test_bad_rows_rejected_with_line_numbers_good_rows_load(rt: Runtime) -> None:
    service = rt.services.directory
    data = "\ufeff".encode() + _csv(
        GOOD[0],
        "b1,centre,x,,,,,,95,121,,,",  # line 3: latitude out of range
        "b2,castle,x,,,,,,30,121,,,",  # line 4: unknown kind
        GOOD[1],
        "a1,centre,dup,,,,,,30,121,,,",  # line 6: duplicate id
        "b3,centre,short",  # line 7: missing columns
        "b4,centre,x,,,,,,30,200,,,",  # line 8: longitude
        "b5,centre,x,,,,,,30,121,,Mon-Fri 17:00-08:00,",  # line 9: hours cross midnight
        "",
        "b6,centre,x,,,,,,abc,121,,,",  # line 11: not a number
    )
    report = await service.import_csv("stations", data)
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    reasons = {e.line: e.reason for e in report.rejected}
    assert sorted(reasons) == [3, 4, 6, 7, 8, 9, 11]
    assert "lat 95" in reasons[3] and "-90..90" in reasons[3]
    assert "unknown kind 'castle'" in reasons[4]
    assert "duplicate id 'a1' (first on line 2)" in reasons[6]
    assert "missing column" in reasons[7]
    assert "lon 200" in reasons[8]
    assert "ends before it starts" in reasons[9]
    assert "not a number" in reasons[11]
    assert [s.id for s in await rt.stores.directory.stations()] == ["a1", "a2"]


async def test_reimport_updates_by_id_and_dry_run_changes_nothing(rt: Runtime) -> None:
    service = rt.services.directory
    await service.import_csv("stations", _csv(*GOOD))
    again = await service.import_csv("stations", _csv(*GOOD))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    changed = GOOD[1].replace("乙站", "乙站新")
    extra = GOOD[1].replace("a2,", "a3,")
    dry = await service.import_csv("stations", _csv(GOOD[0], changed, extra), dry_run=True)
    assert (dry.added, dry.updated, dry.unchanged) == (1, 1, 1)
    assert len(await rt.stores.directory.stations()) == 2
    real = await service.import_csv("stations", _csv(GOOD[0], changed, extra))
    assert (real.added, real.updated, real.unchanged) == (1, 1, 1)
    names = {s.id: s.name_zh for s in await rt.stores.directory.stations()}
    assert names == {"a1": "甲中心", "a2": "乙站新", "a3": "乙站"}


async def test_doctors_must_reference_a_station_and_replace_removes(rt: Runtime) -> None:
    service = rt.services.directory
    await service.import_csv("stations", _csv(*GOOD))
    doctors = _csv(
        "d1,王医生,Dr Wang,一团队,a1,139,Mon 08:00-11:00,东林居委;西林居委,普通话",
        "d2,李医生,Dr Li,二团队,zz,139,,待泾村,普通话",
        header=DOCTORS,
    )
    report = await service.import_csv("doctors", doctors)
    assert report.added == 1
    assert [(e.line, e.reason) for e in report.rejected] == [
        (3, "centre_id 'zz' is not a known station")
    ]
    assert await service.teams_for("朱泾", "西林居委")
    # Replacing the stations without a1 removes it, and the doctor whose centre it was.
    replaced = await service.import_csv("stations", _csv(GOOD[1]), replace=True)
    assert replaced.removed == 1 and replaced.dropped_doctors == 1
    assert await rt.stores.directory.doctors() == []
    assert await service.teams_for("朱泾", "西林居委") == []


async def test_replace_keeps_ids_of_rejected_rows(rt: Runtime) -> None:
    service = rt.services.directory
    await service.import_csv("stations", _csv(*GOOD))
    broken_a1 = GOOD[0].replace("30.9,", "99,")
    report = await service.import_csv("stations", _csv(broken_a1, GOOD[1]), replace=True)
    assert report.removed == 0 and report.rejected[0].line == 2
    assert len(await rt.stores.directory.stations()) == 2


async def test_whole_file_errors(rt: Runtime) -> None:
    service = rt.services.directory
    with pytest.raises(FileError, match="lacks column"):
        await service.import_csv("stations", b"id,kind,name_zh\na,centre,x\n")
    with pytest.raises(FileError, match="not UTF-8"):
        await service.import_csv("stations", HEADER.encode() + b"\n\xff\xfe,centre\n")
    with pytest.raises(FileError, match="empty"):
        await service.import_csv("stations", b"")


async def test_sample_round_trip(rt: Runtime, settings: Settings) -> None:
    service = rt.services.directory
    folder = settings.content_dir / "district"
    reports = await service.load_sample(folder)
    assert [r.kind for r in reports] == ["stations", "doctors", "communities"]
    assert all(not r.rejected for r in reports), [r.rejected for r in reports]
    assert await service.is_sample()
    towns = [t.name for t in await service.towns()]
    assert towns[:3] == ["朱泾", "枫泾", "张堰"] and len(towns) == 11
    for kind in ("stations", "doctors", "communities"):
        text = await service.export_csv(kind)
        assert text.startswith(directory_csv.SAMPLE_MARK)
        original = directory_csv.parse(kind, (folder / f"{kind}.csv").read_bytes())
        exported = directory_csv.parse(kind, text.encode())
        assert [i for _, i in exported.rows] == sorted(
            (i for _, i in original.rows), key=lambda i: i.id
        )
        again = await service.import_csv(kind, text.encode())
        assert again.unchanged == again.total and not again.rejected


async def test_real_import_replaces_the_sample(rt: Runtime, settings: Settings) -> None:
    service = rt.services.directory
    await service.load_sample(settings.content_dir / "district")
    await service.import_csv("stations", _csv(*GOOD), replace=True)
    await service.import_csv(
        "doctors", _csv("d1,王医生,,一团队,a1,139,,东林居委,", header=DOCTORS), replace=True
    )
    await service.import_csv(
        "communities", b"id,town,town_en,name_zh,name_en,lat,lon\n", replace=True
    )
    assert not await service.is_sample()
    assert [t.name for t in await service.towns()] == ["朱泾"]


def test_progress_is_reported_for_large_files() -> None:
    rows = [GOOD[0].replace("a1,", f"x{i},") for i in range(12)]
    seen: list[int] = []
    parsed = directory_csv.parse("stations", _csv(*rows), progress=seen.append, every=5)
    assert seen == [5, 10] and parsed.total == 12 and not parsed.rejected


def test_command_line_import_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.sqlite3"
    good = tmp_path / "stations.csv"
    good.write_bytes(_csv(*GOOD))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(GOOD[0], "b1,centre,x,,,,,,95,121,,,"))
    assert cli(["import", "stations", str(bad), "--dry-run", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "dry run" in out and "line 3: lat 95 is outside -90..90" in out
    assert cli(["import", "stations", str(good), "--db", str(db)]) == 0
    assert "added 2" in capsys.readouterr().out
    assert cli(["import", "stations", str(good), "--db", str(db)]) == 0
    assert "unchanged 2" in capsys.readouterr().out
    exported = tmp_path / "out.csv"
    assert cli(["export", "stations", "-o", str(exported), "--db", str(db)]) == 0
    assert exported.read_text("utf-8").splitlines()[0] == HEADER
    assert cli(["import", "doctors", str(tmp_path / "missing.csv"), "--db", str(db)]) == 2
    assert "cannot read" in capsys.readouterr().err
