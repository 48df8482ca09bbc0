"""Buttons for channels without inline keyboards (WeChat, the web chat): numbered options.

Each turn's buttons are numbered across all its replies, the way the console sandbox shows
them; the offer is stored per resident in SQLite (`ChannelStore.save_options`), so "3" sent to
any worker, even after a restart, maps back to the third button's callback data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.core import Attachment, Contact, Incoming, Kind, Reply, Request, Venue

_PHONE = re.compile(r"^\+?[\d\s\-()]{7,24}$")


@dataclass(frozen=True, slots=True)
class Option:
    n: int
    label: str
    data: str | None = None  # an inline button: comes back as a button press
    text: str | None = None  # a main-menu (keyboard) button: comes back as its label


@dataclass(frozen=True, slots=True)
class Block:
    """One reply, flattened for a text channel."""

    text: str
    options: tuple[Option, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # URL buttons: (label, url)
    venue: Venue | None = None
    document: Attachment | None = None
    photo: Attachment | None = None
    ask_location: str | None = None  # label of a "share my location" key
    ask_contact: str | None = None  # label of a "share my phone number" key


def flatten(replies: list[Reply]) -> list[Block]:
    """The replies of one turn with their buttons numbered 1, 2, 3... across the turn."""
    blocks: list[Block] = []
    n = 0
    for reply in replies:
        options: list[Option] = []
        links: list[tuple[str, str]] = []
        ask_location = ask_contact = None
        for button in reply.all_buttons():
            if button.url is not None:
                links.append((button.label, button.url))
            else:
                n += 1
                options.append(Option(n, button.label, data=button.data))
        if reply.keyboard is not None:
            for row in reply.keyboard.rows:
                for key in row:
                    if key.request is Request.LOCATION:
                        ask_location = key.label
                    elif key.request is Request.CONTACT:
                        ask_contact = key.label
                    else:
                        n += 1
                        options.append(Option(n, key.label, text=key.label))
        blocks.append(
            Block(
                text=reply.text or (reply.document.caption if reply.document else ""),
                options=tuple(options),
                links=tuple(links),
                venue=reply.venue,
                document=reply.document,
                photo=reply.photo,
                ask_location=ask_location,
                ask_contact=ask_contact,
            )
        )
    return blocks


def offer(blocks: list[Block]) -> dict[str, Any] | None:
    """What to remember of this turn's options, or None when it offered none (the previous
    offer stays valid, as older buttons do on Telegram)."""
    options = [o for b in blocks for o in b.options]
    contact = any(b.ask_contact for b in blocks)
    if not options and not contact:
        return None
    return {
        "options": [{"n": o.n, "label": o.label, "data": o.data, "text": o.text} for o in options],
        "contact": contact,
    }


def _norm(text: str) -> str:
    # NFKC folds full-width digits ("３") typed on Chinese keyboards into ASCII ones.
    return unicodedata.normalize("NFKC", text).strip().casefold()


def pick(text: str, offered: dict[str, Any]) -> Option | None:
    """The offered option a typed number or label stands for."""
    wanted = _norm(text).rstrip(".。、")
    for raw in offered.get("options", []):
        if wanted == str(raw["n"]) or wanted == _norm(raw["label"]):
            return Option(raw["n"], raw["label"], data=raw.get("data"), text=raw.get("text"))
    return None


def option_by_number(n: int, offered: dict[str, Any]) -> Option | None:
    return pick(str(n), offered)


def text_to_incoming(
    channel: str,
    user_id: str,
    text: str,
    offered: dict[str, Any],
    language_code: str | None = None,
) -> Incoming:
    """Typed text: an offered option's number or label, a /command, a phone number when one
    was asked for, or plain text."""
    base: dict[str, Any] = {"channel": channel, "user_id": user_id, "language_code": language_code}
    option = pick(text, offered)
    if option is not None:
        return option_incoming(option, base)
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        head, _, args = stripped[1:].partition(" ")
        return Incoming(
            kind=Kind.COMMAND, text=stripped, command=head.lower(), args=args.strip(), **base
        )
    folded = unicodedata.normalize("NFKC", stripped)
    if offered.get("contact") and _PHONE.match(folded):
        return Incoming(kind=Kind.CONTACT, contact=Contact(folded), **base)
    return Incoming(kind=Kind.TEXT, text=text, **base)


def option_incoming(option: Option, base: dict[str, Any]) -> Incoming:
    if option.data is not None:
        return Incoming(kind=Kind.BUTTON, data=option.data, message_ref=None, **base)
    return Incoming(kind=Kind.TEXT, text=option.text or option.label, **base)


def map_link(venue: Venue) -> str:
    """A map page for a place that opens on any phone (Amap's URI API takes WGS-84)."""
    return (
        f"https://uri.amap.com/marker?position={venue.lon:.6f},{venue.lat:.6f}"
        f"&name={quote(venue.title)}&coordinate=wgs84"
    )
