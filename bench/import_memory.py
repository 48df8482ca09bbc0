"""Benchmark: memory of `doorstep import stations` on a 100 MB CSV (issue 16).

The import used to read the file whole and copy it several times over (1.2 GB at its peak
for 100 MB); it now streams the file twice (validate, then write 500 rows at a time). Peak
resident memory of the import process (ru_maxrss) for the large file is compared with the
same command on a two-row file, in the same run.

    python bench/import_memory.py                 # 100 MB
    python bench/import_memory.py --mb 20 --tree /tmp/old   # another checkout

Target: peak under 300 MB for 100 MB. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "id,kind,name_zh,name_en,district,town,address_zh,address_en,lat,lon,phone,hours,services"
TARGET_MB = 300.0


def write_csv(path: Path, megabytes: float, rng: random.Random) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        out = csv.writer(f, lineterminator="\n")
        while f.tell() < megabytes * 1024 * 1024:
            rows += 1
            out.writerow(
                [
                    f"st-{rows:07d}",
                    "station",
                    f"健康服务站{rows}",
                    f"Health station {rows}",
                    "金山区",
                    rng.choice(["朱泾", "枫泾", "亭林", "吕巷"]),
                    f"金山区某镇某路{rng.randint(1, 999)}号",
                    f"{rng.randint(1, 999)} Some Road, Jinshan",
                    f"{30.7 + rng.random() * 0.3:.6f}",
                    f"{121.0 + rng.random() * 0.4:.6f}",
                    f"021-{rng.randint(10000000, 99999999)}",
                    "Mon-Fri 08:00-16:30",
                    "self_check_bp;vaccination",
                ]
            )
    return rows


def peak_of_import(tree: Path, source: Path, db: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit code) of one `doorstep import` process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import", "stations", str(source), "--db", str(db)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode not in (0, 1):
        print(done.stderr[-2000:], file=sys.stderr)
    # ru_maxrss of children is the largest child so far: run the small one first.
    return max(peak, before) / 1024, seconds, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0)
    parser.add_argument("--tree", type=Path, default=ROOT)
    args = parser.parse_args()
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small.csv", Path(tmp) / "large.csv"
        write_csv(small, 0.0001, rng)
        rows = write_csv(large, args.mb, rng)
        base, _, _ = peak_of_import(args.tree, small, Path(tmp) / "a.sqlite3")
        peak, seconds, code = peak_of_import(args.tree, large, Path(tmp) / "b.sqlite3")
        size = large.stat().st_size / 1024 / 1024
    result = {
        "file_mb": round(size, 1),
        "rows": rows,
        "baseline_rss_mb": round(base, 1),
        "peak_rss_mb": round(peak, 1),
        "ratio_to_baseline": round(peak / base, 2),
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "exit": code,
        "target_mb": TARGET_MB,
        "ok": code == 0 and peak < TARGET_MB,
        "tree": "this checkout" if args.tree == ROOT else str(args.tree),
    }
    print(
        f"import of {result['file_mb']} MB ({rows:,} rows): peak {result['peak_rss_mb']} MB "
        f"(two-row file: {result['baseline_rss_mb']} MB), {result['seconds']} s",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
