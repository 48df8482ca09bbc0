"""Benchmark: nearest-3 lookups over 10,000 imported stations, and CSV import speed.

Run: python bench/stations.py [--stations 10000] [--lookups 2000]
Targets (issue 4): lookup p99 ≤ 5 ms, import ≥ 5,000 rows/s. Baselines measured in the same
run: a brute-force haversine scan over every station (lookups) and one transaction per row
(import). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.directory_csv import STATION_COLUMNS
from bot.services.geo import brute_force_nearest

N = 10_000
LOOKUPS = 2_000
BASELINE_LOOKUPS = 200
BASELINE_IMPORT_ROWS = 1_000
KINDS = ("centre", "station", "village_clinic", "smart_station", "hospital")
HOURS = ("Mon-Fri 08:00-16:30; Sat 08:00-11:30", "Mon-Sat 08:00-11:00", "Daily 07:30-20:00")
SERVICES = ("vaccination;chronic_disease;self_check_bp", "self_check_bp;self_check_glucose", "tcm")


def make_csv(rng: random.Random, n: int) -> bytes:
    """`n` (10,000) stations spread over a 1° x 1° square around Shanghai's Jinshan district."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(STATION_COLUMNS)
    for i in range(n):
        w.writerow(
            [
                f"b{i:05d}",
                KINDS[i % 5],
                f"站点{i}",
                f"Station {i}",
                "金山区",
                f"镇{i % 40}",
                f"地址{i}",
                f"Address {i}",
                f"{30.4 + rng.random():.6f}",
                f"{120.8 + rng.random():.6f}",
                f"021-{i:08d}",
                HOURS[i % 3],
                SERVICES[i % 3],
            ]
        )
    return buf.getvalue().encode()


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def run(n: int, lookups: int) -> None:
    rng = random.Random(2026)
    data = make_csv(rng, n)
    baseline_lookups = min(BASELINE_LOOKUPS, lookups)
    baseline_import_rows = min(BASELINE_IMPORT_ROWS, n)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({}, db_path=Path(tmp) / "bench.sqlite3")
        rt = Runtime(settings)
        await rt.start()
        try:
            service = rt.services.directory
            t0 = time.perf_counter()
            report = await service.import_csv("stations", data)
            import_s = time.perf_counter() - t0
            assert report.added == n and not report.rejected, report
            import_rate = n / import_s

            # Baseline import: the naive way, one statement and transaction per row.
            store = rt.stores.directory
            stations = await store.stations()
            t0 = time.perf_counter()
            for s in stations[:baseline_import_rows]:
                await rt.db.execute(
                    "UPDATE stations SET name_en = ? WHERE id = ?", (s.name_en + "x", s.id)
                )
            baseline_import_rate = baseline_import_rows / (time.perf_counter() - t0)
            await rt.db.execute("UPDATE directory_meta SET value = value + 1 WHERE key = 'version'")

            now = datetime(2026, 11, 24, 10, 0, tzinfo=settings.tz)
            t0 = time.perf_counter()
            await service.snapshot()  # build the index once (what start-up / import does)
            index_build_ms = (time.perf_counter() - t0) * 1000
            queries = [(30.4 + rng.random(), 120.8 + rng.random()) for _ in range(lookups)]
            points = [(s.lat, s.lon, s) for s in await store.stations()]
            timings: list[float] = []
            mismatches = 0
            t_all = time.perf_counter()
            for lat, lon in queries:
                t0 = time.perf_counter()
                nearby = await service.nearest(lat, lon, now)
                timings.append((time.perf_counter() - t0) * 1000)
                if len(nearby.places) != 3:
                    mismatches += 1
            lookups_per_s = lookups / (time.perf_counter() - t_all)
            # Exactness: the same answers as a full scan (checked outside the timed loop).
            for lat, lon in queries[:baseline_lookups]:
                got = [p.station.id for p in (await service.nearest(lat, lon, now)).places]
                want = [h.item.id for h in brute_force_nearest(points, lat, lon, 3)]
                mismatches += got != want
            base_timings: list[float] = []
            for lat, lon in queries[:baseline_lookups]:
                t0 = time.perf_counter()
                brute_force_nearest(points, lat, lon, 3)
                base_timings.append((time.perf_counter() - t0) * 1000)
            filtered: list[float] = []
            for lat, lon in queries[:baseline_lookups]:
                t0 = time.perf_counter()
                await service.nearest(lat, lon, now, need="open")
                filtered.append((time.perf_counter() - t0) * 1000)
        finally:
            await rt.stop()
    result = {
        "stations": n,
        "lookup_p99_ms": round(p99(timings), 3),
        "lookup_median_ms": round(statistics.median(timings), 3),
        "lookups_per_s": round(lookups_per_s),
        "lookup_open_now_p99_ms": round(p99(filtered), 3),
        "baseline_full_scan_p99_ms": round(p99(base_timings), 3),
        "lookup_speedup_vs_full_scan_p99": round(p99(base_timings) / p99(timings), 1),
        "index_build_ms": round(index_build_ms, 1),
        "import_rows_per_s": round(import_rate),
        "baseline_row_by_row_import_rows_per_s": round(baseline_import_rate),
        "import_speedup_vs_row_by_row": round(import_rate / baseline_import_rate, 1),
        "mismatches_vs_full_scan": mismatches,
        "targets_met": p99(timings) <= 5.0 and import_rate >= 5000 and mismatches == 0,
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=N)
    parser.add_argument("--lookups", type=int, default=LOOKUPS, help="at least 2 (for p99)")
    args = parser.parse_args()
    asyncio.run(run(args.stations, max(2, args.lookups)))


if __name__ == "__main__":
    main()
