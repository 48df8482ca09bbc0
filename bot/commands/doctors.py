"""`doorstep doctors invite|revoke|list`: family doctors' accounts, for the operator."""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings
from bot.runtime import Runtime
from bot.services.directory import DirectoryService
from bot.services.doctors import INVITE_TTL, DoctorService


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctors", help="family doctors' accounts: invite codes, unlinking")
    p.add_argument("--db", type=Path, help="SQLite file (default: $DOORSTEP_DB)")
    dsub = p.add_subparsers(dest="doctors_command", required=True)
    inv = dsub.add_parser("invite", help="print a single-use invite code for a doctor")
    inv.add_argument("doctor_id", metavar="DOCTOR_ID", help="the doctor's id in the directory")
    inv.set_defaults(func=invite)
    rev = dsub.add_parser(
        "revoke", help="unlink a doctor's account at once and cancel their open broadcasts"
    )
    rev.add_argument("doctor_id", metavar="DOCTOR_ID")
    rev.set_defaults(func=revoke)
    ls = dsub.add_parser("list", help="doctors in the directory and whether they are linked")
    ls.set_defaults(func=list_doctors)


async def _runtime(args: argparse.Namespace, settings: Settings) -> Runtime:
    if args.db is not None:
        settings = replace(settings, db_path=args.db)
    rt = Runtime(settings)
    await rt.start()
    return rt


async def invite(args: argparse.Namespace, settings: Settings) -> int:
    rt = await _runtime(args, settings)
    try:
        try:
            code = await rt.service(DoctorService).invite(args.doctor_id)
        except KeyError:
            print(
                f"doorstep: no doctor {args.doctor_id!r} in the directory (doorstep doctors list)"
            )
            return 1
    finally:
        await rt.stop()
    hours = int(INVITE_TTL.total_seconds() // 3600)
    print(f"invite code for {args.doctor_id}: {code}")
    print(f"single use, valid {hours} hours. The doctor sends to the bot:  /doctor {code}")
    return 0


async def revoke(args: argparse.Namespace, settings: Settings) -> int:
    rt = await _runtime(args, settings)
    try:
        done = await rt.service(DoctorService).revoke(args.doctor_id)
    finally:
        await rt.stop()
    state = "unlinked" if done.unlinked else "was not linked"
    print(
        f"{args.doctor_id}: {state}; {done.voided} unused invite code(s) voided; "
        f"{len(done.broadcasts)} open broadcast(s) cancelled"
    )
    return 0


async def list_doctors(args: argparse.Namespace, settings: Settings) -> int:
    rt = await _runtime(args, settings)
    try:
        snap = await rt.service(DirectoryService).snapshot()
        links = {link.doctor_id: link for link in await rt.service(DoctorService).links()}
    finally:
        await rt.stop()
    print(f"{'doctor id':<16} {'linked':<26} team")
    for doctor in sorted(snap.doctors.values(), key=lambda d: d.id):
        link = links.pop(doctor.id, None)
        when = datetime.fromtimestamp(link.linked_at, UTC).astimezone(settings.tz) if link else None
        linked = f"{link.channel} since {when:%Y-%m-%d}" if link and when else "-"
        print(f"{doctor.id:<16} {linked:<26} {doctor.team}")
    for doctor_id in sorted(links):
        print(f"{doctor_id:<16} {'linked, not in directory':<26} (revoke it)")
    return 0
