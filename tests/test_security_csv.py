"""Issue 16: CSV exports are safe to open in a spreadsheet and import back as the same text;
a huge field is a clean error; imports stream. Through the real `doorstep` command line."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.runtime import Runtime
from bot.services.directory_csv import neutralise, restore
from tests.test_directory_import import HEADER

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "'plain apostrophe",
]


def doorstep(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def station(i: int, name: str = "站", phone: str = "021-1", address: str = "地址") -> str:
    cells = [
        f"s{i}",
        "station",
        name,
        "Station",
        "金山区",
        "朱泾",
        address,
        "Addr",
        "30.9",
        "121.16",
        phone,
        "",
        "",
    ]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def test_exported_cells_cannot_run_as_formulas_and_import_back_the_same(tmp_path: Path) -> None:
    """Finding: `doorstep export stations` wrote cells beginning with = + - @ verbatim."""
    db = tmp_path / "d.sqlite3"
    source = tmp_path / "in.csv"
    source.write_text(
        HEADER + "\n" + "".join(station(i, name=v, phone=v) for i, v in enumerate(HOSTILE)),
        encoding="utf-8",
    )
    assert doorstep("import", "stations", str(source), db=db).returncode == 0
    out = doorstep("export", "stations", db=db)
    assert out.returncode == 0
    rows = list(csv.reader(io.StringIO(out.stdout)))[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), cell
    again = tmp_path / "again.csv"
    again.write_text(out.stdout, encoding="utf-8")
    db2 = tmp_path / "d2.sqlite3"
    assert doorstep("import", "stations", str(again), db=db2).returncode == 0
    assert doorstep("export", "stations", db=db2).stdout == out.stdout
    names = {r[0]: r[2] for r in rows}
    # What is stored is the text typed (a hand-written "'=x" is read as a neutralised "=x").
    assert {restore(names[f"s{i}"]) for i in range(len(HOSTILE))} == {restore(v) for v in HOSTILE}
    assert "-2+3" in {restore(n) for n in names.values()}


@pytest.mark.parametrize("value", [*HOSTILE, "\tTab", "\rCR", "-12.5", "plain", ""])
def test_neutralise_and_restore_round_trip(value: str) -> None:
    assert restore(neutralise(value)) == value
    if value[:1] in ("=", "+", "@", "\t", "\r"):
        assert neutralise(value).startswith("'")


def test_a_huge_field_is_a_clean_error(tmp_path: Path) -> None:
    """Finding: a 200 KB CSV field gave a raw _csv.Error traceback."""
    source = tmp_path / "huge.csv"
    source.write_text(HEADER + "\n" + station(1, name="x" * 200_000), encoding="utf-8")
    done = doorstep("import", "stations", str(source), db=tmp_path / "d.sqlite3")
    assert done.returncode == 2
    assert "line 2" in done.stderr and "longer than" in done.stderr
    assert "Traceback" not in done.stderr


async def test_imports_stream_rather_than_hold_the_file(rt: Runtime, tmp_path: Path) -> None:
    """Finding: a 100 MB CSV peaked at 1.2 GB. The streaming property, on a smaller file: the
    Python memory an import takes at its peak stays well under the file's own size (reading
    it whole took several times its size). bench/import_memory.py measures 100 MB."""
    source = tmp_path / "many.csv"
    with source.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(8_000):
            f.write(station(i, name=f"站点{i:06d}" * 10, address="金山区朱泾镇某路" * 40))
    size = source.stat().st_size
    service = rt.services.directory
    tracemalloc.start()
    try:
        report = await service.import_csv("stations", source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.added == 8_000 and not report.rejected
    assert peak < size / 2, f"peak {peak:,} bytes for a {size:,}-byte file"
