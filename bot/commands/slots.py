"""`doorstep slots list DOCTOR_ID [--date D]` and `doorstep slots close DOCTOR_ID DATE --reason R`.

Closing a day cancels its bookings; each affected resident gets a message (through the
outbox, so quiet hours apply) offering the nearest free times with buttons.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from bot.commands.common import iso_date, open_runtime
from bot.config import Settings
from bot.services.booking import HORIZON_DAYS, BookingError, BookingService


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
    close.add_argument("--reason", required=True, help="shown to the residents affected")
    close.set_defaults(func=close_day)


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
    for day in days:
        slots = await svc.day_slots(args.doctor_id, day, now)
        if args.date is None:
            if slots:
                booked = sum(s.taken for s in slots)
                places = sum(s.capacity for s in slots if not s.closed)
                shut = " (closed)" if all(s.closed for s in slots) else ""
                print(
                    f"{day.isoformat()} {day:%a}: {len(slots)} slots, "
                    f"{booked} booked of {places} places{shut}"
                )
            continue
        if not slots:
            print(f"{day.isoformat()}: {await svc.why_no_slots(args.doctor_id, day, now)}")
        for s in slots:
            state = f"closed: {s.closed_reason}" if s.closed else f"{s.taken}/{s.capacity}"
            print(f"{_hhmm(s.start_at, settings)}-{_hhmm(s.end_at, settings)}  {state}")


async def close_day(args: argparse.Namespace, settings: Settings) -> int:
    reason = " ".join(args.reason.split())
    if not reason:
        print("doorstep slots: --reason must not be empty", file=sys.stderr)
        return 2
    async with open_runtime(args, settings) as rt:
        try:
            result = await rt.services.booking.close_day(
                args.doctor_id, args.date, reason, rt.now()
            )
        except BookingError as exc:
            print(f"doorstep slots: {exc}", file=sys.stderr)
            return 1
    day = result.day.isoformat()
    if result.already_closed and not result.slots:
        # Nothing changed: say so instead of reporting "0 cancelled" as if it had closed now.
        print(
            f"{result.doctor.id} on {day} was already closed "
            f"(reason: {'; '.join(result.earlier_reasons) or '-'}); nothing changed, "
            "the residents affected were told when it was closed"
        )
        return 0
    print(
        f"closed {result.slots} slot(s) of {result.doctor.id} on {day}"
        + (f" ({result.already_closed} were already closed)" if result.already_closed else "")
        + f"; {len(result.cancelled)} booking(s) cancelled; each resident's notice with an "
        "offer of another time is queued (quiet hours may hold it until the morning)"
    )
    return 0
