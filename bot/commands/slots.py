"""`doorstep slots list DOCTOR_ID [--date D]` and `doorstep slots close DOCTOR_ID DATE --reason R`.

Closing a day cancels its bookings; each affected resident gets a message (through the
outbox, so quiet hours apply) offering the nearest free times with buttons, and the command
says, per booking, what became of that message (read back from its outbox row). Listing
only reads: it never makes slots.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta

from bot.commands.common import iso_date, open_runtime
from bot.config import Settings
from bot.runtime import Runtime
from bot.services.booking import (
    CLOSE_REASONS,
    HORIZON_DAYS,
    BookingError,
    BookingService,
    close_reason_text,
    closed_key,
)
from handlers import promises


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("slots", help="doctors' booking slots: list, close a day")
    ssub = p.add_subparsers(dest="slots_command", required=True)
    ls = ssub.add_parser("list", help="a doctor's slots and bookings")
    ls.add_argument("doctor_id")
    ls.add_argument("--date", type=iso_date, help="one day in detail (default: a 14-day summary)")
    ls.set_defaults(func=list_slots)
    close = ssub.add_parser("close", help="close a doctor's clinic day, cancelling its bookings")
    close.add_argument("doctor_id")
    close.add_argument("date", type=iso_date)
    close.add_argument(
        "--reason",
        required=True,
        help="shown to the residents affected, in their language for a preset key ("
        + ", ".join(CLOSE_REASONS)
        + "); other text is shown as typed",
    )
    close.set_defaults(func=close_day)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # operator English, any host locale


def _hhmm(at: datetime, settings: Settings) -> str:
    return at.astimezone(settings.tz).strftime("%H:%M")


async def list_slots(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        try:
            await _print_slots(args, settings, rt.services.booking, rt.now())
        except BookingError as exc:
            print(f"doorstep slots: {exc}", file=sys.stderr)
            return 1
    return 0


async def _print_slots(
    args: argparse.Namespace, settings: Settings, svc: BookingService, now: datetime
) -> None:
    today = now.astimezone(settings.tz).date()
    days = [args.date] if args.date else [today + timedelta(days=i) for i in range(HORIZON_DAYS)]
    shown = 0
    for day in days:
        slots = await svc.day_slots(args.doctor_id, day, now, make=False)
        if args.date is None:
            if slots:
                shown += 1
                booked = sum(s.taken for s in slots)
                places = sum(s.capacity for s in slots if not s.closed)
                shut = " (closed)" if all(s.closed for s in slots) else ""
                print(
                    f"{day.isoformat()} {_DAYS[day.weekday()]}: {len(slots)} slots, "
                    f"{booked} booked of {places} places{shut}"
                )
            continue
        if not slots:
            print(f"{day.isoformat()}: {await svc.why_no_slots(args.doctor_id, day, now)}")
        for s in slots:
            state = (
                f"closed: {close_reason_text(str, s.closed_reason)}"
                if s.closed
                else f"{s.taken}/{s.capacity}"
            )
            print(f"{_hhmm(s.start_at, settings)}-{_hhmm(s.end_at, settings)}  {state}")
    if args.date is None and not shown:
        # Listing makes nothing: say why the window is empty instead of printing nothing.
        why = await svc.why_no_slots(args.doctor_id, today, now)
        print(f"no slots stored in the next {HORIZON_DAYS} days: {why}")


async def close_day(args: argparse.Namespace, settings: Settings) -> int:
    reason = " ".join(args.reason.split())
    if not reason:
        print("doorstep slots: --reason must not be empty", file=sys.stderr)
        return 2
    async with open_runtime(args, settings) as rt:
        try:
            lines = await close_report(rt, args.doctor_id, args.date, reason)
        except BookingError as exc:
            print(f"doorstep slots: {exc}", file=sys.stderr)
            return 1
    print("\n".join(lines))
    return 0


async def close_report(rt: Runtime, doctor_id: str, day: date, reason: str) -> list[str]:
    """Close the day and say what was done: the slots, the bookings cancelled and, for each,
    what became of the resident's notice, read back from its outbox row (the wording the
    doctor's desk uses: sent, held by quiet hours until a time, or not sent)."""
    result = await rt.services.booking.close_day(doctor_id, day, reason, rt.now())
    shown = result.day.isoformat()
    if result.already_closed and not result.slots:
        # Nothing changed: say so instead of reporting "0 cancelled" as if it had closed now.
        return [
            f"{result.doctor.id} on {shown} was already closed "
            f"(reason: {'; '.join(result.earlier_reasons) or '-'}); nothing changed"
        ]
    lines = [
        f"closed {result.slots} slot(s) of {result.doctor.id} on {shown}"
        + (f" ({result.already_closed} were already closed)" if result.already_closed else "")
        + f"; {len(result.cancelled)} booking(s) cancelled"
        + (", each resident is offered another time:" if result.cancelled else "")
    ]
    t = rt.catalogs.get("en")
    for a in result.cancelled:
        state = await rt.services.send_times.state(closed_key(a.id))
        said = promises.delivery(t, state, rt.now(), "The message to them was sent.")
        lines.append(f"  resident #{a.resident_id}, visit {_hhmm(a.start_at, rt.settings)}: {said}")
    return lines
