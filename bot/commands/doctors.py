"""`doorstep doctors invite|revoke|list`: family doctors' accounts, for the operator."""

from __future__ import annotations

import argparse

from bot.commands.common import Column, add_db_option, open_runtime, table_row
from bot.config import Settings
from bot.services.doctors import INVITE_TTL


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctors", help="family doctors' accounts: invite codes, unlinking")
    add_db_option(p)
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


COLUMNS = (Column(16), Column(26))


async def invite(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        try:
            code = await rt.services.doctors.invite(args.doctor_id)
        except KeyError:
            print(
                f"doorstep: no doctor {args.doctor_id!r} in the directory (doorstep doctors list)"
            )
            return 1
    hours = int(INVITE_TTL.total_seconds() // 3600)
    print(f"invite code for {args.doctor_id}: {code}")
    print(f"single use, valid {hours} hours. The doctor sends to the bot:  /doctor {code}")
    return 0


async def revoke(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        done = await rt.services.doctors.revoke(args.doctor_id)
    state = "unlinked" if done.unlinked else "was not linked"
    print(
        f"{args.doctor_id}: {state}; {done.voided} unused invite code(s) voided; "
        f"{len(done.broadcasts)} open broadcast(s) cancelled"
    )
    return 0


async def list_doctors(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(args, settings) as rt:
        snap = await rt.services.directory.snapshot()
        links = {link.doctor_id: link for link in await rt.services.doctors.links()}
    print(table_row(COLUMNS, ("doctor id", "linked", "team")))
    for doctor in sorted(snap.doctors.values(), key=lambda d: d.id):
        link = links.pop(doctor.id, None)
        when = link.linked_at.astimezone(settings.tz) if link else None
        linked = f"{link.channel} since {when:%Y-%m-%d}" if link and when else "-"
        print(table_row(COLUMNS, (doctor.id, linked, doctor.team)))
    for doctor_id in sorted(links):
        print(table_row(COLUMNS, (doctor_id, "linked, not in directory", "(revoke it)")))
    return 0
