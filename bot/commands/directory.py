"""`doorstep import stations|doctors|communities FILE.csv` and `doorstep export ...`.

Exit status of import: 0 all rows good, 1 some rows rejected (the good ones were loaded unless
--dry-run), 2 the file could not be read at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.commands.common import add_db_option, open_runtime
from bot.config import Settings
from bot.services.directory import ImportReport
from bot.services.directory_csv import COLUMNS, FileError

KINDS = tuple(COLUMNS)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="load the district directory from CSV (stations, doctors, communities)",
        description="Rows are matched by id: new ones added, changed ones updated. "
        "Import stations first, then doctors (their centre_id must be a station).",
    )
    p.add_argument("kind", choices=KINDS)
    p.add_argument("file", type=Path, help="CSV file, UTF-8 with or without BOM")
    p.add_argument("--dry-run", action="store_true", help="validate only, change nothing")
    p.add_argument(
        "--replace",
        action="store_true",
        help="also remove rows whose id is not in the file (use it to replace the sample)",
    )
    add_db_option(p)
    p.set_defaults(func=import_)

    e = sub.add_parser("export", help="write the district directory back as CSV")
    e.add_argument("kind", choices=KINDS)
    e.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    add_db_option(e)
    e.set_defaults(func=export)


def format_report(report: ImportReport) -> str:
    head = "dry run (nothing changed) — " if report.dry_run else ""
    lines = [
        f"{head}{report.kind}: {report.total} row(s): added {report.added}, "
        f"updated {report.updated}, unchanged {report.unchanged}, removed {report.removed}, "
        f"rejected {len(report.rejected)}"
    ]
    if report.dropped_doctors:
        lines.append(f"removed {report.dropped_doctors} doctor(s) whose centre is gone")
    lines.extend(f"  line {e.line}: {e.reason}" for e in report.rejected)
    return "\n".join(lines)


async def import_(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with args.file.open("rb"):  # readable? (the import streams it, never reads it whole)
            pass
    except OSError as exc:
        print(f"doorstep import: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    async with open_runtime(args, settings) as rt:
        try:
            report = await rt.services.directory.import_csv(
                args.kind,
                args.file,
                dry_run=args.dry_run,
                replace=args.replace,
                progress=lambda n: print(f"… {n} rows read", file=sys.stderr, flush=True),
            )
        except FileError as exc:
            print(f"doorstep import: {args.file}: {exc}", file=sys.stderr)
            return 2
    print(format_report(report))
    return 1 if report.rejected else 0


async def export(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        text = await rt.services.directory.export_csv(args.kind)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
