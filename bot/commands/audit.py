"""`doorstep audit --since YYYY-MM-DD`: what doctors did (and what was refused)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.doctors import DoctorService


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit log of doctors' actions")
    p.add_argument("--db", type=Path, help="SQLite file (default: $DOORSTEP_DB)")
    p.add_argument("--since", type=_day, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--doctor", help="only this doctor's entries")
    p.set_defaults(func=audit)


async def audit(args: argparse.Namespace, settings: Settings) -> int:
    if args.db is not None:
        settings = replace(settings, db_path=args.db)
    rt = Runtime(settings)
    await rt.start()
    try:
        start = datetime.combine(args.since, time(0), tzinfo=settings.tz)
        entries = await rt.service(DoctorService).audit_since(int(start.timestamp()), args.doctor)
    finally:
        await rt.stop()
    print("time (local)         doctor           action              resident  details")
    for e in entries:
        when = datetime.fromtimestamp(e.at, UTC).astimezone(settings.tz)
        target = str(e.target_resident_id) if e.target_resident_id is not None else "-"
        print(
            f"{when:%Y-%m-%d %H:%M:%S}  {e.doctor_id or '-':<16} {e.action:<19} "
            f"{target:>8}  {e.details}"
        )
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    return 0
