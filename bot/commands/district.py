"""`doorstep district list` and `doorstep district add CODE`: the deployment's districts."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import with_db
from bot.config import Settings, district_code
from bot.runtime import Runtime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("district", help="the districts of this deployment")
    dsub = p.add_subparsers(dest="district_command", required=True)
    ls = dsub.add_parser("list", help="districts and how many rows each holds")
    ls.add_argument("--db", type=Path, help="SQLite file (default: $DOORSTEP_DB)")
    ls.set_defaults(func=list_)
    a = dsub.add_parser("add", help="add a district (or rename one)")
    a.add_argument("--db", type=Path, help="SQLite file (default: $DOORSTEP_DB)")
    a.add_argument("code", help="1-32 lower-case letters, digits, '-' or '_'")
    a.add_argument("--name-zh", required=True, help="the name residents read in Chinese")
    a.add_argument("--name-en", default="", help="the name in English")
    a.set_defaults(func=add)


async def list_(args: argparse.Namespace, settings: Settings) -> int:
    rt = Runtime(with_db(args, settings))
    await rt.start()
    try:
        store = rt.stores.districts
        head = ("code", "stations", "doctors", "communities", "residents")
        print(f"{head[0]:<16} {head[1]:>8} {head[2]:>8} {head[3]:>11} {head[4]:>9}  name")
        districts = await store.all()
        for d in districts:
            n = await store.counts(d.code)
            name = d.name_zh + (f" ({d.name_en})" if d.name_en else "")
            print(
                f"{d.code:<16} {n['stations']:>8} {n['doctors']:>8} {n['communities']:>11} "
                f"{n['residents']:>9}  {name}"
            )
    finally:
        await rt.stop()
    print(f"{len(districts)} district{'' if len(districts) == 1 else 's'}")
    return 0


async def add(args: argparse.Namespace, settings: Settings) -> int:
    code = district_code(args.code)
    rt = Runtime(with_db(args, settings))
    await rt.start()
    try:
        new = await rt.stores.districts.add(
            code, args.name_zh.strip(), args.name_en.strip(), rt.now()
        )
    finally:
        await rt.stop()
    print(f"district {code!r} {'added' if new else 'renamed'}")
    return 0
