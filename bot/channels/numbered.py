"""Buttons for channels without inline keyboards (WeChat, the web chat): numbered options.

Each turn's buttons are numbered across all its replies, the way the console sandbox shows
them; the offer is stored per resident in SQLite (`ChannelStore.save_options`), so "3" sent to
any worker, even after a restart, maps back to the third button's callback data.

A screen that waits for typed words (`Reply.free_text`: a question, a name, a comment) numbers
its options as any screen does, so "1" typed there presses option 1 (Back, Skip...), never
sends "1" as the words.

A screen that asks for a typed value (`Reply.wants_text`: the reading keypads) keys its
options with letters instead (a, b, c...), and there a typed number is always the value: "12"
is a glucose of 12, never option 12, and "7" is 7 even though a keypad key is labelled "7".
Letters and non-numeric labels ("✅") still choose; a tapped option (web chat, WeChat msgmenu)
still arrives by its number.

A notification that arrives on its own (a tip, a reminder) never renumbers the screen the
resident is answering: its options are numbered after the ones on screen and added to the
stored offer (`flatten(replies, after=offer)`, `merge`), so "2" still means what it meant.
The next answer of the bot numbers from 1 again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.callbacks import cb
from bot.core import Attachment, Button, Contact, Incoming, Kind, Reply, Request, Venue

_PHONE = re.compile(r"^\+?[\d\s\-()]{7,24}$")
# Typed text made of digits and the marks numbers are written with ("6.1", "135/85 72"):
# on a screen that wants a value this is the value, whatever labels the options carry.
_NUMERIC = re.compile(r"[\d\s.,/:;+\-]*\d[\d\s.,/:;+\-]*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Option:
    n: int
    label: str
    data: str | None = None  # an inline button: comes back as a button press
    text: str | None = None  # a main-menu (keyboard) button: comes back as its label
    key: str = ""  # what to type to choose it: the number, or a letter (see `option_key`)
    row: int = 0  # its row in the reply (the phone's layout: a keypad 3 to a row, elder mode 2)


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
    wants_text: bool = False  # the turn asks for a typed value: options are keyed by letter
    free_text: bool = False  # the turn waits for typed words: numbers still choose options


def option_key(n: int, wants_text: bool) -> str:
    """What a resident types to choose option `n`: "3", or on a screen that wants a typed
    value a letter ("c"; after "z" comes "aa"), so every number stays free for the value."""
    if not wants_text:
        return str(n)
    key = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        key = chr(ord("a") + rest) + key
    return key


def flatten(replies: list[Reply], after: dict[str, Any] | None = None) -> list[Block]:
    """The replies of one turn with their buttons numbered 1, 2, 3... across the turn.

    `after` is the offer on the screen when these replies arrive on their own (a reminder, a
    tip): their buttons are then numbered after that offer's, keyed the same way (numbers or
    letters), so that every number on the screen the resident is answering keeps its meaning.
    Save `merge(after, blocks)` as the new offer."""
    if after is not None:
        wants_text = bool(after.get("wants_text"))
        n = max((o["n"] for o in after.get("options", [])), default=0)
    else:
        # One turn, one way of choosing: if any reply wants a typed value, all use letters.
        wants_text = any(reply.wants_text for reply in replies)
        n = 0
    blocks: list[Block] = []
    for reply in replies:
        options: list[Option] = []
        links: list[tuple[str, str]] = []
        ask_location = ask_contact = None
        for row_index, row in enumerate(reply.buttons):
            for button in row:
                if button.url is not None:
                    links.append((button.label, button.url))
                else:
                    n += 1
                    key = option_key(n, wants_text)
                    options.append(
                        Option(n, button.label, data=button.data, key=key, row=row_index)
                    )
        if reply.keyboard is not None:
            for key_row_index, key_row in enumerate(reply.keyboard.rows):
                for kb in key_row:
                    if kb.request is Request.LOCATION:
                        ask_location = kb.label
                    elif kb.request is Request.CONTACT:
                        ask_contact = kb.label
                    else:
                        n += 1
                        key = option_key(n, wants_text)
                        options.append(
                            Option(n, kb.label, text=kb.label, key=key, row=key_row_index)
                        )
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
                wants_text=wants_text,
                free_text=reply.free_text,
            )
        )
    return blocks


def offer(blocks: list[Block]) -> dict[str, Any] | None:
    """What to remember of this turn's options, or None when it offered none (the previous
    offer stays valid, as older buttons do on Telegram). A turn that wants a typed value is
    always remembered, even without options, so a number typed next is never taken for an
    older option; so is one that waits for typed words (`Reply.free_text`)."""
    options = [o for b in blocks for o in b.options]
    contact = any(b.ask_contact for b in blocks)
    wants_text = any(b.wants_text for b in blocks)
    free_text = any(b.free_text for b in blocks)
    if not options and not contact and not wants_text and not free_text:
        return None
    prompt = next((b.text for b in reversed(blocks) if b.options and b.text), "")
    return {
        "options": [{"n": o.n, "label": o.label, "data": o.data, "text": o.text} for o in options],
        "contact": contact,
        "wants_text": wants_text,
        "prompt": prompt,
    }


def merge(current: dict[str, Any], blocks: list[Block]) -> dict[str, Any] | None:
    """The offer after a notification (flattened with `after=current`) arrived: the current
    offer with the notification's options added, or None when it brought none."""
    added = offer(blocks)
    if added is None or not added["options"]:
        return None
    return {
        "options": [*current.get("options", []), *added["options"]],
        "contact": bool(current.get("contact")),
        "wants_text": bool(current.get("wants_text")),
    }


def _norm(text: str) -> str:
    # NFKC folds full-width digits ("３") typed on Chinese keyboards into ASCII ones.
    return unicodedata.normalize("NFKC", text).strip().casefold()


def choose(text: str, labels: Sequence[tuple[int, str]], wants_text: bool) -> int | None:
    """The number of the option typed text stands for, given the offer's (number, label)
    pairs: its key (number or letter) or its label. On a screen that wants a typed value,
    numeric text ("12", "7", "6.1", "135/85") chooses nothing: it is the value."""
    wanted = _norm(text).rstrip(".。、")
    if not wanted or (wants_text and _NUMERIC.fullmatch(wanted)):
        return None
    for n, label in labels:
        if wanted == option_key(n, wants_text) or wanted == _norm(label):
            return n
    return None


def pick(text: str, offered: dict[str, Any]) -> Option | None:
    """The offered option typed text stands for (see `choose`), or None."""
    options = offered.get("options", [])
    n = choose(text, [(o["n"], o["label"]) for o in options], bool(offered.get("wants_text")))
    return None if n is None else option_by_number(n, offered)


def option_by_number(n: int, offered: dict[str, Any]) -> Option | None:
    """The option numbered `n`: a tap (web chat, WeChat msgmenu) sends the number itself,
    which is never read as a typed value."""
    wants_text = bool(offered.get("wants_text"))
    for raw in offered.get("options", []):
        if raw["n"] == n:
            return Option(
                n,
                raw["label"],
                data=raw.get("data"),
                text=raw.get("text"),
                key=option_key(n, wants_text),
            )
    return None


def text_to_incoming(
    channel: str,
    user_id: str,
    text: str,
    offered: dict[str, Any],
    language_code: str | None = None,
) -> Incoming:
    """Typed text: an offered option's key or label, a /command, a phone number when one
    was asked for, or plain text (on a screen that wants a typed value, every number)."""
    base: dict[str, Any] = {"channel": channel, "user_id": user_id, "language_code": language_code}
    option = pick(text, offered)
    if option is not None:
        return option_incoming(option, base)
    missed = no_such_option(
        text,
        [(o.get("label", ""), o.get("data")) for o in offered.get("options", [])],
        bool(offered.get("wants_text")),
        str(offered.get("prompt", "")),
        base,
    )
    if missed is not None:
        return missed
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


BARE_NUMBER = re.compile(r"\d{1,3}", re.ASCII)  # option numbers, not values


def no_such_option(
    text: str,
    options: Sequence[tuple[str, str | None]],
    wants_text: bool,
    prompt: str,
    base: dict[str, Any],
) -> Incoming | None:
    """A bare number that chooses none of the (label, data) options on screen ("12" on a
    list of 11): not text for the handlers to guess at, but a request to show the same
    screen again with a hint (handlers/menu.py). None for anything else. On a screen that
    wants a typed value a number is that value, never an option."""
    folded = _norm(text).rstrip(".。、")
    if wants_text or not options or not BARE_NUMBER.fullmatch(folded):
        return None
    buttons = tuple(Button(label, data) for label, data in options if data is not None)
    return Incoming(
        kind=Kind.BUTTON,
        data=cb("menu", "nooption", int(folded)),
        screen_text=prompt,
        screen_buttons=buttons,
        **base,
    )


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
