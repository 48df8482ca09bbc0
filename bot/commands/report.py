"""`doorstep report tickets|satisfaction`: first-response and resolution times per team, and
satisfaction per team and per centre (groups of fewer than 5 answers are never shown)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict

from bot.commands.common import Column, add_db_option, open_runtime, table_row
from bot.config import Settings
from bot.domain.questions import TicketTimes
from bot.services.satisfaction import MIN_GROUP


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="reports: ticket times, satisfaction")
    add_db_option(p)
    p.add_argument("what", choices=("tickets", "satisfaction"))
    p.add_argument("--days", type=int, help="look back this many days (90 / 365)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=report)


def hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"


def ticket_table(rows: Sequence[TicketTimes]) -> list[str]:
    """The tickets report as aligned lines, and a count of what the rows are: teams (a
    (centre, team) pair with a team name) and the duty desk, which is not a team."""
    cols = (Column(22), Column(16), *(Column(8, right=True) for _ in range(6)))
    head = ("centre", "team", "tickets", "answered", "closed", "1st med", "1st p90", "resolved")
    lines = [table_row(cols, head)]
    for r in rows:
        lines.append(
            table_row(
                cols,
                (
                    r.centre_id,
                    r.team or "(duty desk)",
                    r.tickets,
                    r.answered,
                    r.closed,
                    hours(r.first_response_median_s),
                    hours(r.first_response_p90_s),
                    hours(r.resolution_median_s),
                ),
            )
        )
    teams = len({(r.centre_id, r.team) for r in rows if r.team})
    duty = sum(r.tickets for r in rows if not r.team)
    tickets = sum(r.tickets for r in rows)
    summary = (
        f"{tickets} ticket{'' if tickets == 1 else 's'} to {teams} team{'' if teams == 1 else 's'}"
    )
    if duty:
        summary += f" and {duty} to the duty desk"
    return [*lines, summary]


async def report(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        if args.what == "tickets":
            rows = await rt.services.tickets.report(args.days or 90)
            if args.json:
                for r in rows:
                    print(json.dumps(asdict(r), ensure_ascii=False))
                return 0
            print("\n".join(ticket_table(rows)))
            return 0
        groups = await rt.services.satisfaction.report(args.days or 365)
    if args.json:
        for g in groups:
            out = (
                asdict(g) if g.shown else {"centre_id": g.centre_id, "team": g.team, "shown": False}
            )
            print(json.dumps(out, ensure_ascii=False))
        return 0
    if not groups:
        # As the desk says it: an empty table under a header reads as a broken report.
        print(f"no satisfaction answers yet in the last {args.days or 365} days")
        return 0
    cols = (
        Column(14),
        Column(24),
        Column(8, right=True),
        *(Column(5, right=True) for _ in range(5)),
    )
    print(table_row(cols, ("centre", "team", "average", "1", "2", "3", "4", "5")))
    for g in groups:
        team = g.team or "(whole centre)"
        if not g.shown:
            print(
                table_row(
                    cols[:3], (g.centre_id, team, f"not shown (a group under {MIN_GROUP} answers)")
                )
            )
            continue
        print(
            table_row(
                cols,
                (g.centre_id, team, f"{g.average:.2f}", *(str(c) for c in g.counts)),
            )
        )
    return 0
