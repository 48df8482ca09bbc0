"""`doorstep audit --since YYYY-MM-DD`: what doctors did (and what was refused)."""

from __future__ import annotations

import argparse
from datetime import datetime, time

from bot.commands.common import Column, add_db_option, iso_date, open_runtime, table_row
from bot.config import Settings

COLUMNS = (Column(19, gap=2), Column(16), Column(19), Column(8, right=True, gap=2))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="the audit log of doctors' actions")
    add_db_option(p)
    p.add_argument("--since", type=iso_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--doctor", help="only this doctor's entries")
    p.set_defaults(func=audit)


async def audit(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        start = datetime.combine(args.since, time(0), tzinfo=settings.tz)
        entries = await rt.services.doctors.audit_since(int(start.timestamp()), args.doctor)
    print(table_row(COLUMNS, ("time (local)", "doctor", "action", "resident", "details")))
    for e in entries:
        when = e.at.astimezone(settings.tz)
        target = str(e.target_resident_id) if e.target_resident_id is not None else "-"
        print(
            table_row(
                COLUMNS,
                (f"{when:%Y-%m-%d %H:%M:%S}", e.doctor_id or "-", e.action, target, e.details),
            )
        )
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    return 0
