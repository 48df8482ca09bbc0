"""Channel-neutral message types: what a resident sent, and what the bot answers.

Handlers and services only ever see these; each channel (Telegram, the console sandbox, later
WeChat and the web chat) translates its own wire format to and from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    LOCATION = "location"
    CONTACT = "contact"
    MEDIA = "media"  # stickers, photos, voice...: things we cannot read
    EDITED = "edited"  # an edited earlier message


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Contact:
    phone: str
    name: str = ""
    is_own: bool = True  # the contact shared is the sender's own number


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a user did: typed, tapped, shared."""

    channel: str
    user_id: str
    kind: Kind
    text: str = ""
    command: str | None = None
    args: str = ""
    data: str | None = None
    location: Location | None = None
    contact: Contact | None = None
    language_code: str | None = None
    media: str | None = None
    message_ref: str | None = None
    # Where it came from, where the channel knows (the web chat: the client's IP), for limits
    # per address; never stored or logged as such.
    address: str | None = None
    # A typed option number that matches no option (channels that number their buttons): the
    # screen the resident was answering, so that it is shown again with a hint, never lost.
    screen_text: str = ""
    screen_buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: it carries callback data, or opens a URL."""

    label: str
    data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button has exactly one of data and url")
        # A character is at most 4 bytes in UTF-8: short data needs no encoding to check.
        data = self.data
        if (
            data is not None
            and len(data) > MAX_CALLBACK_BYTES // 4
            and len(data.encode()) > MAX_CALLBACK_BYTES
        ):
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


class Request(StrEnum):
    LOCATION = "location"
    CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class KeyButton:
    """A reply-keyboard button: sends its label as text, or shares location / contact."""

    label: str
    request: Request | None = None


@dataclass(frozen=True, slots=True)
class Keyboard:
    rows: tuple[tuple[KeyButton, ...], ...]
    persistent: bool = True
    one_time: bool = False


@dataclass(frozen=True, slots=True)
class Venue:
    lat: float
    lon: float
    title: str
    address: str


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/octet-stream"
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot. `buttons` and `keyboard` are exclusive (Telegram allows one)."""

    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: Keyboard | None = None
    venue: Venue | None = None
    document: Attachment | None = None
    photo: Attachment | None = None
    edit: bool = False
    toast: str | None = None
    # The screen asks for a typed value (a reading, a number): text channels that number
    # their options must then pass typed numbers to the handler, not take them as choices.
    wants_text: bool = False
    # The screen waits for typed words (a question, a name, a comment): a typed number that
    # is one of its options still presses that option, as on any screen, but the screen
    # replaces the older offer even without options, so a number never presses an older one.
    free_text: bool = False

    def __post_init__(self) -> None:
        if self.buttons and self.keyboard is not None:
            raise ValueError("a reply has inline buttons or a keyboard, not both")

    def all_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(slots=True)
class Outcome:
    """What a handler run produced: the replies plus a short notice for a button press."""

    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split text into chunks of at most `limit` characters, preferring line breaks."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= limit // 2:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n") if cut < limit else rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks
