"""`doorstep wechat menu push`: set the Official Account's custom menu from the main menu."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands.common import open_runtime
from bot.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("wechat", help="WeChat Official Account tools")
    wsub = p.add_subparsers(dest="wechat_command", required=True)
    menu = wsub.add_parser("menu", help="the account's custom menu")
    msub = menu.add_subparsers(dest="menu_command", required=True)
    push = msub.add_parser("push", help="build the custom menu from the main menu and set it")
    push.add_argument("--locale", default=None, help="menu language (default: the default locale)")
    push.add_argument("--dry-run", action="store_true", help="print the menu JSON, send nothing")
    push.set_defaults(func=push_menu)


async def push_menu(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.wechat import WeChatChannel
    from bot.channels.wechat_api import WeChatError, WeChatUnavailable
    from bot.channels.wechat_menu import build_menu
    from bot.i18n import SUPPORTED

    locale = args.locale or settings.default_locale
    if locale not in SUPPORTED:
        print(f"doorstep: --locale must be one of {', '.join(SUPPORTED)}", file=sys.stderr)
        return 2
    async with open_runtime(args, settings) as rt:
        menu = build_menu(rt.catalogs.get(locale))
        if args.dry_run:
            print(json.dumps(menu, ensure_ascii=False, indent=2))
            return 0
        channel = WeChatChannel.from_settings(rt, settings)
        try:
            await channel.api.create_menu(menu)
        except (WeChatError, WeChatUnavailable) as exc:
            print(f"doorstep: WeChat refused the menu: {exc}", file=sys.stderr)
            return 1
        finally:
            await channel.close()
    names = [b["name"] for b in menu["button"]]
    print(f"custom menu set: {' | '.join(names)}")
    return 0
