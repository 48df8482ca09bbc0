"""`doorstep announce --district D --text-file F [--en-file F] [--urgent] [--at TIME]`: an
operator's announcement to every resident of a district, through the outbox.

Planning prints its progress; then the report is read from the stored outbox rows (sent,
failed, blocked, pending). With --wait the command follows the running bot's sending until
nothing is pending. Running the same command again plans nothing twice (dedupe keys) and
prints the report again; `doorstep announce --report ID` prints it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from bot.commands.common import add_db_option, open_runtime
from bot.config import Settings
from bot.domain.districts import AnnouncementCounts
from bot.services.announcements import AnnounceError, PastTime
from bot.storage.districts import group_key

POLL_S = 2.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "announce",
        help="send an announcement to every resident of a district",
        description="The text is sent as written, under a heading naming the district in "
        "each resident's language. --at is a local time (DOORSTEP_TZ, Asia/Shanghai).",
    )
    add_db_option(p)
    p.add_argument("--text-file", type=Path, help="the announcement, UTF-8 (Chinese)")
    p.add_argument(
        "--en-file", type=Path, help="optional: the same in English, for English readers"
    )
    p.add_argument(
        "--urgent",
        action="store_true",
        help="send through quiet hours (and paid broadcasts where enabled)",
    )
    p.add_argument(
        "--at", metavar="'YYYY-MM-DD HH:MM'", help="send at this local time (default: now)"
    )
    p.add_argument(
        "--wait", action="store_true", help="follow the sending until nothing is pending"
    )
    p.add_argument("--report", type=int, metavar="ID", help="print the report of announcement ID")
    p.set_defaults(func=announce)


def parse_at(text: str, settings: Settings) -> datetime:
    """A local time on the command line (in the deployment's zone, Asia/Shanghai)."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise AnnounceError(f"--at {text!r}: write the time as 'YYYY-MM-DD HH:MM'") from None
    return naive.replace(tzinfo=settings.tz)


def format_counts(announcement_id: int, c: AnnouncementCounts) -> str:
    line = (
        f"announcement #{announcement_id}: {c.total} resident(s): sent {c.sent}, "
        f"failed {c.failed}, blocked {c.blocked}, pending {c.pending}"
    )
    return line + (f", other {c.other} (expired or cancelled)" if c.other else "")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise AnnounceError(f"cannot read the {what} {path}: {reason}") from None


async def announce(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.report is None and args.text_file is None:
            raise AnnounceError("give --text-file FILE (or --report ID)")
        text_zh = _read(args.text_file, "text file") if args.text_file else ""
        text_en = _read(args.en_file, "English file") if args.en_file else ""
        async with open_runtime(args, settings) as rt:
            service = rt.services.announcements
            if args.report is not None:
                made = await service.get(args.report)
                if made is None:
                    raise AnnounceError(f"no announcement #{args.report}")
                print(format_counts(made.id, await service.counts(made.id)))
                return 0
            if rt.settings.district == "*":
                raise AnnounceError("choose the district: --district CODE")
            at = parse_at(args.at, rt.settings) if args.at else None
            planning = await service.announce(
                rt.settings.district,
                text_zh,
                text_en,
                urgent=args.urgent,
                at=at,
                progress=lambda done, total: print(
                    f"… planned {done} of {total}", file=sys.stderr, flush=True
                ),
            )
            made = planning.announcement
            # When the rows really go: the planned time moved past each resident's quiet
            # hours (delivery's own rule), not the time asked for.
            span = await rt.services.send_times.of_group(group_key(made.id))
            tz = rt.settings.tz
            first, last = [f"{t.astimezone(tz):%Y-%m-%d %H:%M}" for t in span] if span else ["", ""]
            if not span:
                going = "nothing waiting to send"
            elif first == last:
                going = f"sending from {first}"
            else:
                going = f"sending from {first} to {last} (residents' quiet hours)"
            print(
                f"announcement #{made.id} to district {planning.district.code!r} "
                f"({'new' if planning.new else 'the same as before: nothing planned twice'}), "
                f"{'urgent, ' if made.urgent else ''}{going} ({rt.settings.tz_name})"
            )
            counts = await service.counts(made.id)
            print(format_counts(made.id, counts))
            while args.wait and not counts.finished:
                await asyncio.sleep(POLL_S)
                counts = await service.counts(made.id)
                print(format_counts(made.id, counts), flush=True)
            if counts.pending:
                print(
                    "a running bot (doorstep run / serve) sends the pending rows; see progress "
                    f"with: doorstep announce --report {made.id}"
                )
    except PastTime as exc:
        tz = settings.tz
        print(
            f"doorstep announce: --at {exc.at.astimezone(tz):%Y-%m-%d %H:%M} ({settings.tz_name}) "
            f"is in the past; it is {exc.now.astimezone(tz):%Y-%m-%d %H:%M} now. Nothing was sent.",
            file=sys.stderr,
        )
        return 2
    except AnnounceError as exc:
        print(f"doorstep announce: {exc}", file=sys.stderr)
        return 2
    return 0
