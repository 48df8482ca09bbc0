"""`doorstep content check` (validate every content folder) and `doorstep content report`
(every clinical statement with its source and review date, for a district doctor's sign-off)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.services.clinical_rules import RulesError
from bot.services.content_review import check, render, statements
from bot.services.faq import FaqFileError
from bot.services.redflags import SignFileError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("content", help="clinical content: check it, or print it for sign-off")
    csub = p.add_subparsers(dest="content_command", required=True)
    c = csub.add_parser(
        "check",
        help="validate rules, advice, vaccines, tips and broadcasts",
        description="Refuses a rule without a source, overlapping or gapped ranges, unknown "
        "actions, advice without a translation, and invalid tips, broadcasts or schedules.",
    )
    c.set_defaults(func=check_command)
    r = csub.add_parser(
        "report",
        help="every clinical statement with its source and review date",
        description="Print the review report a district doctor reads and signs.",
    )
    r.add_argument("--lang", choices=("zh_Hans", "en"), default="zh_Hans")
    r.add_argument("--output", type=Path, help="write to this file instead of stdout")
    r.set_defaults(func=report_command)


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    read, problems = check(settings)
    for line in read:
        print(f"read {line}")
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        print(f"doorstep content: {len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("all content is valid")
    return 0


def report_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        items = statements(settings)
    except (RulesError, SignFileError, FaqFileError) as exc:
        print(
            "doorstep content: the content is invalid; run `doorstep content check`:",
            file=sys.stderr,
        )
        print(str(exc), file=sys.stderr)
        return 1
    text = render(items, args.lang)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {len(items)} statements to {args.output}")
    else:
        sys.stdout.write(text)
    return 0
