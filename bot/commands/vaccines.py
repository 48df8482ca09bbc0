"""`doorstep vaccines plan` (a child's doses from the shell) and `doorstep vaccines validate`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from bot.commands.common import Column, iso_date, table_row
from bot.config import Settings
from bot.services.vaccines import (
    PlanInputError,
    Planner,
    ScheduleError,
    choices_from_settings,
    load_schedule_set,
    parse_given,
    validate_files,
)
from bot.services.vaccines.dose_state import dose_state

PLAN_COLUMNS = (
    Column(11, gap=0),
    Column(12, gap=0),
    Column(13, gap=0),
    Column(12, gap=0),
    Column(13, gap=0),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("vaccines", help="childhood immunisation schedule: plan and validate")
    vsub = p.add_subparsers(dest="vaccines_command", required=True)

    plan = vsub.add_parser(
        "plan",
        help="plan a child's doses",
        description="Status and dates of every dose for one child.",
    )
    plan.add_argument("--born", type=iso_date, required=True, help="birth date YYYY-MM-DD")
    plan.add_argument(
        "--given",
        action="extend",
        nargs="+",
        default=[],
        metavar="CODE-N@YYYY-MM-DD",
        help="a dose already given, e.g. HepB-1@2025-03-31 (repeatable)",
    )
    plan.add_argument("--today", type=iso_date, help="plan as of this date (default: today)")
    plan.add_argument("--je", choices=("live", "inactivated"), help="JE vaccine used")
    plan.add_argument("--hepa", choices=("live", "inactivated"), help="HepA vaccine used")
    plan.add_argument("--sex", choices=("female", "male"), help="for vaccines of one sex (HPV)")
    plan.add_argument("--schedules", type=Path, help="folder of schedule files")
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.set_defaults(func=plan_command)

    val = vsub.add_parser(
        "validate",
        help="check schedule files",
        description="Check schedule files, one by one and as a set of editions.",
    )
    val.add_argument("files", nargs="*", type=Path, help="files (default: the deployment's)")
    val.set_defaults(func=validate_command)


def _schedule_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return args.schedules or settings.content_dir / "vaccines"


def plan_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the plan; bad input gets a one-line explanation and exit status 2."""
    try:
        schedules = load_schedule_set(_schedule_dir(args, settings))
    except ScheduleError as exc:
        print("doorstep vaccines: the schedule files are invalid:", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 1
    choices = choices_from_settings(settings)
    if args.je:
        choices["JE"] = args.je
    if args.hepa:
        choices["HepA"] = args.hepa
    today = args.today or datetime.now(settings.tz).date()
    try:
        planner = Planner(schedules, choices)
        plan = planner.plan(args.born, parse_given(args.given), today, sex=args.sex)
    except PlanInputError as exc:
        print(f"doorstep vaccines: {exc}", file=sys.stderr)
        return 2
    # "shown" is the state every screen (resident, doctor, reminders, export) shows, from
    # dose_state; "status" is the planner's own, kept for checking schedule files.
    shown = {d.dose: dose_state(d, plan.today) for d in plan.doses}
    if args.json:
        out = plan.as_json()
        for item in out["doses"]:  # type: ignore[attr-defined]
            s = shown[item["dose"]]
            item["shown"], item["give_from"] = str(s.shown), s.give_from.isoformat()
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"born {plan.born}  today {plan.today}  schedule version(s) {', '.join(plan.versions)}")
    print(f"choices: {', '.join(f'{k} {v}' for k, v in plan.choices.items())}")
    print(table_row(PLAN_COLUMNS, ("dose", "status", "shown", "due", "complete by", "vaccine")))
    for d in plan.doses:
        vaccine = schedules.vaccine(d.vaccine)
        name = vaccine.name_en if vaccine else d.vaccine
        if d.given_too_early:
            extra = f" (given {d.given_too_early}: too early to count, ask the centre)"
        else:
            extra = f" (given {d.given})" if d.given else f" ({d.reason})" if d.reason else ""
        complete_by = str(d.complete_by) if d.complete_by else "-"
        cells = (d.dose, d.status, shown[d.dose].shown, d.due, complete_by, name + extra)
        print(table_row(PLAN_COLUMNS, cells))
    return 0


def validate_command(args: argparse.Namespace, settings: Settings) -> int:
    """Validate files; print every problem; exit status 1 if there is any."""
    files = args.files or sorted((settings.content_dir / "vaccines").glob("*.yaml"))
    if not files:
        print("doorstep vaccines: no schedule files to check", file=sys.stderr)
        return 1
    good, problems = validate_files(files)
    for s in good:
        doses = sum(len(v.doses) for v in s.vaccines)
        print(
            f"read {s.path}: {s.series} version {s.version}, effective {s.effective}, "
            f"{len(s.vaccines)} vaccines, {doses} doses"
        )
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("all schedule files are valid")
    return 0
