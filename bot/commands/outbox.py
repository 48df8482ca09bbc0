"""`doorstep outbox status` and `doorstep outbox retry-failed`: the delivery queue for operators."""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.commands.common import add_db_option, open_runtime
from bot.config import Settings
from bot.domain.outbox import FINAL, PENDING, SENDING, OutboxStatus

_ORDER = (PENDING, SENDING, *FINAL)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("outbox", help="the delivery queue: status and retries")
    add_db_option(p)
    osub = p.add_subparsers(dest="outbox_command", required=True)
    st = osub.add_parser("status", help="counts by status, what is due, recent failures")
    st.add_argument("--failed", type=int, default=20, metavar="N", help="failed rows to list")
    st.set_defaults(func=status)
    rf = osub.add_parser("retry-failed", help="send failed rows again (fresh attempts)")
    rf.add_argument("--kind", help="only rows of this notification kind")
    rf.add_argument("--id", type=int, action="append", default=[], help="only this row (repeat)")
    rf.set_defaults(func=retry_failed)


def _when(at: datetime | None, settings: Settings) -> str:
    if at is None:
        return "-"
    # With the zone: operators read this next to UTC logs and other hosts' clocks.
    return at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S %z") + f" ({settings.tz.key})"


def format_status(st: OutboxStatus, settings: Settings) -> str:
    """The operator's report (plain English: operators read logs and runbooks in English)."""
    lines = ["outbox:"]
    for name in _ORDER:
        lines.append(f"  {name:<10} {st.by_status.get(name, 0):>9}")
    lines.append(f"due now: {st.due_now} (oldest due {_when(st.oldest_due, settings)})")
    lines.append(f"next due: {_when(st.next_due, settings)}")
    if st.open_by_kind:
        lines.append("open rows by kind:")
        for (kind, name), count in st.open_by_kind.items():
            lines.append(f"  {kind:<20} {name:<8} {count:>9}")
    if st.recent_failed:
        lines.append("recent failures (row, resident, kind, attempts, error):")
        for f in st.recent_failed:
            lines.append(
                f"  #{f.id} resident {f.resident_id} {f.kind} x{f.attempts} "
                f"{_when(f.updated_at, settings)}: {f.last_error or '-'}"
            )
        lines.append("send them again with: doorstep outbox retry-failed")
    return "\n".join(lines)


async def status(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        st = await rt.stores.delivery.status(int(rt.now().timestamp()), args.failed)
        print(format_status(st, rt.settings))
    return 0


async def retry_failed(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        n = await rt.stores.delivery.retry_failed(
            int(rt.now().timestamp()), kind=args.kind, ids=args.id
        )
    print(f"{n} failed row(s) queued again; a running bot sends them within a second")
    return 0
